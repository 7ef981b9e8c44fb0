"""dlbook.data.mixture: the ring of Gaussians and the mode-coverage metric."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.data import ModeCoverage, make_ring, mode_coverage, ring_centers


def test_centers_lie_evenly_on_the_circle():
    c = ring_centers(8, radius=2.0)
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 2.0)
    np.testing.assert_allclose(c[0], [2.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(c[2], [0.0, 2.0], atol=1e-15)
    gaps = np.linalg.norm(c - np.roll(c, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 2 * 2.0 * np.sin(np.pi / 8))


def test_ring_samples_have_the_stated_mean_and_std_per_mode():
    X, y = make_ring(8000, std=0.05, seed=1)
    assert X.shape == (8000, 2) and X.dtype == np.float64 and y.dtype == np.int64
    c = ring_centers()
    for k in range(8):
        pts = X[y == k]
        assert abs(len(pts) - 1000) < 150
        np.testing.assert_allclose(pts.mean(axis=0), c[k], atol=0.01)
        np.testing.assert_allclose(pts.std(axis=0), 0.05, rtol=0.1)
    np.testing.assert_array_equal(make_ring(50, seed=3)[0], make_ring(50, seed=3)[0])
    assert not np.array_equal(make_ring(50, seed=3)[0], make_ring(50, seed=4)[0])


def test_the_data_itself_covers_every_mode():
    X, _ = make_ring(2000, std=0.02, seed=0)
    cov = mode_coverage(X, ring_centers(), std=0.02)
    assert isinstance(cov, ModeCoverage)
    assert cov.modes_hit == 8
    # a 2-D standard normal lies within radius 3 with probability 1 - exp(-9/2)
    assert abs(cov.high_quality - (1 - np.exp(-4.5))) < 0.01
    assert cov.counts.sum() == round(cov.high_quality * 2000)
    assert "8/8 modes hit" in str(cov)


def test_a_collapsed_generator_hits_one_mode():
    c = ring_centers()
    rng = np.random.default_rng(0)
    collapsed = c[3] + 0.01 * rng.standard_normal((500, 2))
    cov = mode_coverage(collapsed, c, std=0.02)
    assert cov.modes_hit == 1 and cov.high_quality == 1.0 and cov.modes_reached == 1
    assert cov.counts[3] == 500 and cov.counts.sum() == 500 and cov.assigned[3] == 500


def test_blurry_samples_are_not_high_quality_and_stray_samples_do_not_count():
    c = ring_centers()
    blurry = c[np.arange(800) % 8] + 0.3 * np.random.default_rng(1).standard_normal((800, 2))
    cov = mode_coverage(blurry, c, std=0.02)
    assert cov.modes_hit == 0 and cov.high_quality < 0.04 and cov.modes_reached == 8
    assert cov.assigned.sum() == 800
    # 2 of 300 samples (< 1%) on mode 5, the rest at mode 0
    samples = np.concatenate([np.repeat(c[:1], 298, axis=0), np.repeat(c[5:6], 2, axis=0)])
    cov = mode_coverage(samples, c, std=0.02)
    assert cov.modes_hit == 1 and cov.counts[5] == 2
    assert mode_coverage(samples, c, std=0.02, min_fraction=0.005).modes_hit == 2


def test_threshold_is_in_units_of_std():
    c = ring_centers(4, radius=1.0)
    x = c[:1] + np.array([[0.25, 0.0]])  # 0.25 from mode 0
    assert mode_coverage(x, c, std=0.1).high_quality == 1.0   # 2.5 std
    assert mode_coverage(x, c, std=0.05).high_quality == 0.0  # 5 std


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="samples"):
        mode_coverage(np.zeros((3, 3)), ring_centers(), std=0.1)
    with pytest.raises(ValueError, match="no samples"):
        mode_coverage(np.zeros((0, 2)), ring_centers(), std=0.1)
    with pytest.raises(ValueError, match="positive"):
        mode_coverage(np.zeros((3, 2)), ring_centers(), std=0.0)
    with pytest.raises(ValueError, match="std"):
        make_ring(10, std=0.0)
    with pytest.raises(ValueError, match="n_modes"):
        ring_centers(0)
