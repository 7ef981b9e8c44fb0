"""Search-space sampling, mutation, counts, the two searches and the Pareto front."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.models.nas import (
    ACTIVATIONS,
    DEPTHS,
    LEARNING_RATES,
    WIDTHS,
    MLPConfig,
    mutate,
    pareto_front,
    random_search,
    regularized_evolution,
    sample_config,
)


def valid(c: MLPConfig) -> bool:
    return (len(c.widths) in DEPTHS and all(w in WIDTHS for w in c.widths)
            and c.activation in ACTIVATIONS and c.lr in LEARNING_RATES)


def test_sampling_covers_space() -> None:
    rng = np.random.default_rng(0)
    cs = [sample_config(rng) for _ in range(300)]
    assert all(valid(c) for c in cs)
    assert {len(c.widths) for c in cs} == set(DEPTHS)
    assert {c.activation for c in cs} == set(ACTIVATIONS)


def test_mutation_changes_one_thing() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        c = sample_config(rng)
        m = mutate(c, rng)
        assert valid(m) and m != c


def test_counts_by_hand() -> None:
    c = MLPConfig((32,), "relu", 0.1)
    assert c.params() == 64 * 32 + 32 + 32 * 10 + 10
    assert c.flops() == 2 * (64 * 32 + 32 * 10)


def test_searches_use_budget_and_evolution_improves() -> None:
    def score(c: MLPConfig) -> float:  # a toy objective: prefers wide, deep, lr 0.1
        return sum(c.widths) / 384 - abs(c.lr - 0.1)

    rs = random_search(score, 40, np.random.default_rng(0))
    ev = regularized_evolution(score, 40, np.random.default_rng(0), population=8, sample=3)
    assert len(rs) == len(ev) == 40
    assert max(s for _, s in ev) >= max(s for _, s in ev[:8])
    with pytest.raises(ValueError):
        regularized_evolution(score, 4, np.random.default_rng(0), population=8)


def test_pareto_front() -> None:
    costs = np.array([1, 2, 3, 2, 5])
    scores = np.array([0.5, 0.7, 0.6, 0.8, 0.9])
    np.testing.assert_array_equal(pareto_front(costs, scores), [0, 3, 4])
