"""The shipped karate club against the published counts (Zachary 1977)."""
from __future__ import annotations

import numpy as np

from dlbook.data.graphs import load_karate_club

# Degrees of members 0..33 in Zachary (1977), Fig. 1 / Table 1 (published, not computed here).
DEGREES = [16, 9, 10, 6, 3, 4, 4, 4, 5, 2, 3, 1, 2, 5, 2, 2, 2, 2, 2, 3, 2, 2, 2, 5, 3, 3,
           2, 4, 3, 4, 4, 6, 12, 17]


def test_counts_and_degrees() -> None:
    g = load_karate_club()
    assert g.num_nodes == 34
    assert g.edges.shape == (78, 2)
    assert len({tuple(sorted(e)) for e in g.edges.tolist()}) == 78
    adj = g.adjacency()
    np.testing.assert_array_equal(adj, adj.T)
    assert np.all(np.diag(adj) == 0)
    np.testing.assert_array_equal(adj.sum(axis=1), DEGREES)


def test_labels_two_factions() -> None:
    g = load_karate_club()
    assert set(g.labels.tolist()) == {0, 1}
    assert g.labels[0] == 0 and g.labels[33] == 1  # Mr. Hi and the administrator
    assert (g.labels == 0).sum() == 17 and (g.labels == 1).sum() == 17
