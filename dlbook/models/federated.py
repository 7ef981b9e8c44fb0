"""Federated averaging (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks
from Decentralized Data"): how to split data over simulated clients (IID or label-skewed), how
the server averages their weights, and how many bytes travel.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def split_iid(n: int, num_clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle ``range(n)`` and deal it into ``num_clients`` near-equal index arrays."""
    return [np.sort(part) for part in np.array_split(rng.permutation(n), num_clients)]


def split_label_skew(labels: np.ndarray, num_clients: int, shards_per_client: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """The non-IID split of McMahan et al.: sort by label, cut into ``num_clients *
    shards_per_client`` shards, give each client ``shards_per_client`` random shards, so each
    client sees only a few classes."""
    order = np.argsort(labels, kind="stable")
    shards = np.array_split(order, num_clients * shards_per_client)
    picks = rng.permutation(len(shards)).reshape(num_clients, shards_per_client)
    return [np.sort(np.concatenate([shards[i] for i in row])) for row in picks]


def fedavg(states: Sequence[Mapping[str, np.ndarray]], sizes: Sequence[int]) -> dict:
    r"""The FedAvg server step :math:`w = \sum_k \frac{n_k}{n} w_k` for each parameter name."""
    if len(states) != len(sizes) or not states:
        raise ValueError(f"fedavg: need one size per state, got {len(states)} states and "
                         f"{len(sizes)} sizes")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"fedavg: client sizes must be positive, got {list(sizes)}")
    names = set(states[0])
    if any(set(s) != names for s in states):
        raise ValueError("fedavg: every client state must have the same parameter names")
    weights = np.asarray(sizes, dtype=np.float64) / float(sum(sizes))
    pairs = list(zip(weights, states, strict=True))
    return {k: sum(w * np.asarray(s[k]) for w, s in pairs).astype(np.asarray(states[0][k]).dtype)
            for k in states[0]}


def state_bytes(state: Mapping[str, np.ndarray]) -> int:
    """Bytes needed to send ``state`` once (the sum of its arrays' ``nbytes``)."""
    return int(sum(np.asarray(v).nbytes for v in state.values()))
