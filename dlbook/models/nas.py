"""A tiny neural-architecture-search toolkit over MLP configurations: a search space, random
search, and regularised evolution (Real et al. 2019, "Regularized Evolution for Image Classifier
Architecture Search"), plus parameter/FLOP counts and the Pareto front of accuracy vs size.
Zoph & Le (2017) started the field with an RL controller; DARTS (Liu et al. 2019) relaxes the
choice to a continuous one and is described in the book, not implemented here.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

WIDTHS = (8, 16, 32, 64, 128)
DEPTHS = (1, 2, 3)
ACTIVATIONS = ("relu", "tanh")
LEARNING_RATES = (0.03, 0.1, 0.3)


@dataclass(frozen=True)
class MLPConfig:
    """One point of the search space: hidden ``widths`` (len = depth), ``activation``, ``lr``."""

    widths: tuple[int, ...]
    activation: str
    lr: float

    def sizes(self, n_in: int = 64, n_out: int = 10) -> list[int]:
        return [n_in, *self.widths, n_out]

    def params(self, n_in: int = 64, n_out: int = 10) -> int:
        """Weights plus biases of the Linear layers."""
        s = self.sizes(n_in, n_out)
        return sum(a * b + b for a, b in zip(s[:-1], s[1:], strict=True))

    def flops(self, n_in: int = 64, n_out: int = 10) -> int:
        """Multiply-adds counted as 2 FLOPs, per example, Linear layers only."""
        s = self.sizes(n_in, n_out)
        return sum(2 * a * b for a, b in zip(s[:-1], s[1:], strict=True))


def sample_config(rng: np.random.Generator) -> MLPConfig:
    """A uniformly random configuration."""
    depth = int(rng.choice(DEPTHS))
    widths = tuple(int(rng.choice(WIDTHS)) for _ in range(depth))
    return MLPConfig(widths, str(rng.choice(ACTIVATIONS)), float(rng.choice(LEARNING_RATES)))


def mutate(config: MLPConfig, rng: np.random.Generator) -> MLPConfig:
    """Change one thing: a width, the depth (add/drop a layer), the activation or the lr."""
    kind = rng.integers(4)
    widths = list(config.widths)
    if kind == 0:
        i = int(rng.integers(len(widths)))
        widths[i] = int(rng.choice([w for w in WIDTHS if w != widths[i]]))
        return replace(config, widths=tuple(widths))
    if kind == 1:
        if len(widths) < max(DEPTHS) and (len(widths) == min(DEPTHS) or rng.random() < 0.5):
            widths.insert(int(rng.integers(len(widths) + 1)), int(rng.choice(WIDTHS)))
        else:
            widths.pop(int(rng.integers(len(widths))))
        return replace(config, widths=tuple(widths))
    if kind == 2:
        return replace(config, activation=next(a for a in ACTIVATIONS if a != config.activation))
    others = [lr for lr in LEARNING_RATES if lr != config.lr]
    return replace(config, lr=float(rng.choice(others)))


Evaluate = Callable[[MLPConfig], float]


def random_search(evaluate: Evaluate, budget: int,
                  rng: np.random.Generator) -> list[tuple[MLPConfig, float]]:
    """``budget`` random configurations with their scores, in the order tried."""
    return [(c, evaluate(c)) for c in (sample_config(rng) for _ in range(budget))]


def regularized_evolution(evaluate: Evaluate, budget: int, rng: np.random.Generator,
                          population: int = 8, sample: int = 3) -> list[tuple[MLPConfig, float]]:
    """Real et al. (2019): start from ``population`` random models; then repeatedly pick the
    best of ``sample`` random members, add its mutant, and drop the OLDEST member. Returns
    every (config, score) tried, ``budget`` in all."""
    if not 1 <= sample <= population <= budget:
        raise ValueError(f"need 1 <= sample <= population <= budget, got {sample}, "
                         f"{population}, {budget}")
    history = random_search(evaluate, population, rng)
    alive = deque(history)
    while len(history) < budget:
        contenders = [alive[i] for i in rng.choice(len(alive), sample, replace=False)]
        child = mutate(max(contenders, key=lambda cs: cs[1])[0], rng)
        history.append((child, evaluate(child)))
        alive.append(history[-1])
        alive.popleft()
    return history


def pareto_front(costs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (cost <= and score >=, one strictly),
    sorted by cost."""
    costs, scores = np.asarray(costs), np.asarray(scores)
    keep = [i for i in range(len(costs))
            if not np.any((costs <= costs[i]) & (scores >= scores[i])
                          & ((costs < costs[i]) | (scores > scores[i])))]
    return np.array(sorted(keep, key=lambda i: costs[i]), dtype=np.int64)
