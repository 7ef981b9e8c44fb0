"""Offline datasets: the scikit-learn digits, synthetic 2-D sets, mini-batches, and readers
for MNIST-style IDX files and CIFAR-10 python batches that a reader has on disk.

Nothing here downloads anything. Sources and licences: the digits are the UCI "Optical
Recognition of Handwritten Digits" set (Alpaydin & Kaynak 1998, CC BY 4.0), shipped by
scikit-learn (:mod:`dlbook.data.digits`); ``python_docs.txt`` is the Python documentation
(PSF-2.0, ``LICENSE-PSF.txt`` beside it; :mod:`dlbook.data.text`); the karate club is
Zachary's (1977) published graph (:mod:`dlbook.data.graphs`).
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
