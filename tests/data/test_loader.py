"""dlbook.data.batches: one epoch of mini-batches."""
from __future__ import annotations

import numpy as np
import pytest

import dlbook.random
from dlbook.data import batches


def test_every_row_once_in_order_without_shuffle():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    got = list(batches(X, y, batch_size=4, shuffle=False))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), X)


def test_shuffle_is_a_permutation_that_keeps_pairs_and_follows_rng():
    X, y = np.arange(10)[:, None] * 10, np.arange(10)
    got = list(batches(X, y, batch_size=3, rng=np.random.default_rng(0)))
    order = np.concatenate([yb for _, yb in got])
    assert sorted(order) == list(range(10)) and not np.array_equal(order, y)
    for xb, yb in got:
        np.testing.assert_array_equal(xb[:, 0], 10 * yb)
    again = np.concatenate([yb for _, yb in batches(X, y, 3, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(order, again)
    dlbook.random.manual_seed(4)
    a = np.concatenate([yb for _, yb in batches(X, y, 3)])
    dlbook.random.manual_seed(4)
    np.testing.assert_array_equal(a, np.concatenate([yb for _, yb in batches(X, y, 3)]))


def test_drop_last_and_x_only():
    X = np.zeros((10, 3))
    assert [len(b) for b in batches(X, batch_size=4, drop_last=True)] == [4, 4]
    assert [len(b) for b in batches(X, None, batch_size=5)] == [5, 5]


def test_clear_errors():
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        next(batches(np.zeros((10, 2)), np.zeros(9)))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(np.zeros((10, 2)), np.zeros(10), batch_size=0))
