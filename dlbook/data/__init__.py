"""Offline datasets: the scikit-learn digits, synthetic 2-D sets, mini-batches, and readers
for MNIST-style IDX files and CIFAR-10 python batches that a reader has on disk.

Nothing here downloads anything.
"""
from dlbook.data.digits import DigitsSplit, load_digits_split
from dlbook.data.graphs import Graph, load_karate_club
from dlbook.data.loader import batches
from dlbook.data.mixture import ModeCoverage, make_ring, mode_coverage, ring_centers
from dlbook.data.readers import read_cifar_batch, read_idx
from dlbook.data.synthetic import make_blobs_separable, make_moons, make_spirals, make_xor

__all__ = ["DigitsSplit", "Graph", "batches", "load_digits_split", "load_karate_club",
           "make_blobs_separable", "make_moons", "make_spirals", "make_xor", "read_cifar_batch",
           "read_idx"]
__all__ += ["ModeCoverage", "make_ring", "mode_coverage", "ring_centers"]
