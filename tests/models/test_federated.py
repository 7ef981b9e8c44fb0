"""FedAvg aggregation and client splits."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.models.federated import fedavg, split_iid, split_label_skew, state_bytes


def test_fedavg_weighted_average_by_hand() -> None:
    a = {"w": np.array([[1.0, 2.0]]), "b": np.array([0.0])}
    b = {"w": np.array([[4.0, 8.0]]), "b": np.array([3.0])}
    out = fedavg([a, b], [1, 2])  # weights 1/3 and 2/3
    np.testing.assert_allclose(out["w"], [[3.0, 6.0]])
    np.testing.assert_allclose(out["b"], [2.0])


def test_fedavg_equal_sizes_is_mean_and_keeps_dtype() -> None:
    rng = np.random.default_rng(0)
    states = [{"w": rng.standard_normal((3, 2)).astype(np.float32)} for _ in range(4)]
    out = fedavg(states, [5, 5, 5, 5])
    assert out["w"].dtype == np.float32
    np.testing.assert_allclose(out["w"], np.mean([s["w"] for s in states], axis=0), rtol=1e-6)


def test_fedavg_errors() -> None:
    with pytest.raises(ValueError, match="one size per state"):
        fedavg([{"w": np.zeros(1)}], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        fedavg([{"w": np.zeros(1)}], [0])
    with pytest.raises(ValueError, match="same parameter names"):
        fedavg([{"w": np.zeros(1)}, {"v": np.zeros(1)}], [1, 1])


def test_splits_partition_and_skew() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    for parts in (split_iid(len(labels), 7, rng), split_label_skew(labels, 10, 2, rng)):
        allidx = np.concatenate(parts)
        np.testing.assert_array_equal(np.sort(allidx), np.arange(len(labels)))
    skew = split_label_skew(labels, 10, 2, rng)
    assert all(len(np.unique(labels[p])) <= 2 for p in skew)


def test_state_bytes() -> None:
    assert state_bytes({"w": np.zeros((3, 4), np.float32), "b": np.zeros(4)}) == 48 + 32
