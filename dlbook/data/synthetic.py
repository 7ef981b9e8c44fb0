"""Small synthetic 2-D classification sets, drawn with NumPy's ``default_rng(seed)``.

Each returns ``X`` of shape ``(n, 2)`` (float64) and integer labels ``y`` of shape ``(n,)``.
"""
from __future__ import annotations

import numpy as np


def _balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % n_classes).astype(np.int64)


def make_moons(n: int = 200, noise: float = 0.1,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), Gaussian ``noise``.

    Class 0 is the upper moon centred at (0, 0), class 1 the lower one centred at (1, 0.5).
    """
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return X + noise * rng.standard_normal((n, 2)), y


def make_spirals(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms (as in cs231n); ``noise`` jitters the angle."""
    rng = np.random.default_rng(seed)
    r = np.linspace(0.0, 1.0, n_per_class)
    X, y = [], []
    for c in range(n_classes):
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n_per_class)
        t = t + noise * rng.standard_normal(n_per_class)
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        y.append(np.full(n_per_class, c, dtype=np.int64))
    return np.concatenate(X), np.concatenate(y)


def make_xor(n: int = 200, noise: float = 0.05,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in the four quadrants of [-1, 1]^2, class 1 where exactly one coordinate is
    positive (exclusive or), half of them in each class. Each coordinate is at least 0.1
    away from the axes before the Gaussian ``noise`` is added, so the axes separate the
    classes when ``noise`` is 0."""
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, 2, rng)
    first = rng.choice([-1.0, 1.0], size=n)
    signs = np.stack([first, np.where(y == 1, -first, first)], axis=1)
    X = signs * rng.uniform(0.1, 1.0, size=(n, 2))
    return X + noise * rng.standard_normal((n, 2)), y


def make_blobs_separable(n: int = 100, margin: float = 1.0,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two clouds (labels 0 and 1) that a line through the origin separates with ``margin``.

    Along a random unit direction :math:`u`, class 1 lies at distance at least ``margin / 2``
    on one side and class 0 on the other, so the perceptron converges (Novikoff).
    """
    if margin < 0:
        raise ValueError(f"make_blobs_separable: margin must be >= 0, got {margin}")
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, 2, rng)
    angle = rng.uniform(0.0, 2 * np.pi)
    u = np.array([np.cos(angle), np.sin(angle)])
    u_perp = np.array([-u[1], u[0]])
    along = np.maximum(margin / 2, margin / 2 + 1.0 + 0.4 * rng.standard_normal(n))
    across = rng.standard_normal(n)
    X = (2 * y - 1)[:, None] * along[:, None] * u + across[:, None] * u_perp
    return X, y
