"""Zachary's karate club (Zachary 1977, "An Information Flow Model for Conflict and Fission in
Small Groups"), shipped as two text files: 34 members, 78 friendships, and the faction each
member joined when the club split (0 = Mr. Hi, 1 = Officer). Nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np


@dataclass(frozen=True)
class Graph:
    """An undirected graph: ``edges`` ``(E, 2)`` int, ``labels`` ``(N,)`` int, ``num_nodes``."""

    edges: np.ndarray
    labels: np.ndarray
    num_nodes: int

    def adjacency(self, dtype=np.float64) -> np.ndarray:
        """The symmetric 0/1 adjacency matrix ``(N, N)`` (no self-loops)."""
        adj = np.zeros((self.num_nodes, self.num_nodes), dtype=dtype)
        adj[self.edges[:, 0], self.edges[:, 1]] = 1
        adj[self.edges[:, 1], self.edges[:, 0]] = 1
        return adj


def _read(name: str) -> np.ndarray:
    text = resources.files("dlbook.data").joinpath(name).read_text()
    return np.loadtxt(text.splitlines(), dtype=np.int64, comments="#", ndmin=2)


def load_karate_club() -> Graph:
    """Zachary's karate club: 34 nodes, 78 edges, two-faction labels."""
    edges = _read("karate_club_edges.txt")
    nodes_labels = _read("karate_club_labels.txt")
    labels = nodes_labels[np.argsort(nodes_labels[:, 0]), 1]
    return Graph(edges=edges, labels=labels, num_nodes=len(labels))
