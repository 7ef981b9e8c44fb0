"""dlbook.data synthetic sets: shapes, labels, reproducibility, and their defining property."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.data import make_blobs_separable, make_moons, make_spirals, make_xor

MAKERS = {
    "moons": lambda seed: make_moons(n=101, noise=0.1, seed=seed),
    "spirals": lambda seed: make_spirals(n_per_class=40, n_classes=3, noise=0.2, seed=seed),
    "xor": lambda seed: make_xor(n=101, noise=0.05, seed=seed),
    "blobs": lambda seed: make_blobs_separable(n=101, margin=1.0, seed=seed),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_shapes_labels_and_seeds(name):
    X, y = MAKERS[name](0)
    n_classes = 3 if name == "spirals" else 2
    assert X.ndim == 2 and X.shape[1] == 2 and X.dtype == np.float64
    assert y.shape == (len(X),) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(n_classes))
    assert np.abs(np.bincount(y) - len(y) / n_classes).max() <= 1  # balanced
    X2, y2 = MAKERS[name](0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(MAKERS[name](1)[0], X)


def test_moons_without_noise_lie_on_their_circles():
    X, y = make_moons(n=50, noise=0.0, seed=0)
    r0 = np.hypot(X[y == 0, 0], X[y == 0, 1])
    r1 = np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5)
    np.testing.assert_allclose(r0, 1)
    np.testing.assert_allclose(r1, 1)


def test_spirals_without_noise_grow_outwards():
    X, y = make_spirals(n_per_class=30, n_classes=2, noise=0.0, seed=0)
    radius = np.hypot(X[y == 1, 0], X[y == 1, 1])
    np.testing.assert_allclose(radius, np.linspace(0, 1, 30), atol=1e-12)


def test_xor_labels_are_exclusive_or_of_the_quadrant():
    X, y = make_xor(n=300, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(int))
    assert np.abs(X).min() >= 0.1 and np.abs(X).max() <= 1


@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
def test_blobs_are_separable_with_the_margin(margin):
    X, y = make_blobs_separable(n=200, margin=margin, seed=3)
    # the best direction is unknown to the test: search angles for one that separates
    angles = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    U = np.stack([np.cos(angles), np.sin(angles)])
    proj = X @ U
    gap = proj[y == 1].min(axis=0) - proj[y == 0].max(axis=0)
    assert gap.max() >= margin - 1e-9 and gap.max() > 0
    with pytest.raises(ValueError, match="margin"):
        make_blobs_separable(margin=-1.0)
