"""dlbook.data.load_digits_split: offline, scaled, stratified, fixed by the seed."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from dlbook.data import load_digits_split


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


def test_sizes_dtypes_and_scaling(split):
    parts = [(split.X_train, split.y_train), (split.X_val, split.y_val),
             (split.X_test, split.y_test)]
    assert sum(len(X) for X, _ in parts) == 1797
    for X, y in parts:
        assert X.dtype == np.float32 and X.shape == (len(y), 64) and y.dtype == np.int64
        assert X.min() >= 0 and X.max() <= 1
    assert split.X_train.max() == 1.0
    assert len(split.X_test) == pytest.approx(0.15 * 1797, abs=10)
    assert len(split.X_val) == pytest.approx(0.15 * 1797, abs=10)


def test_parts_are_disjoint_and_cover_every_image(split):
    digits = load_digits()
    rows = {tuple(r) for r in (digits.data / 16).astype(np.float32)}
    seen = [tuple(r) for X in (split.X_train, split.X_val, split.X_test) for r in X]
    assert set(seen) <= rows
    counts = np.bincount(np.concatenate([split.y_train, split.y_val, split.y_test]))
    np.testing.assert_array_equal(counts, np.bincount(digits.target))


def test_split_is_stratified(split):
    overall = np.bincount(load_digits().target) / 1797
    for y in (split.y_train, split.y_val, split.y_test):
        np.testing.assert_allclose(np.bincount(y, minlength=10) / len(y), overall, atol=0.01)


def test_same_seed_same_split_other_seed_other_split(split):
    again = load_digits_split(seed=0)
    np.testing.assert_array_equal(again.X_test, split.X_test)
    np.testing.assert_array_equal(again.y_train, split.y_train)
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_train, split.y_train)


def test_images_are_views_and_float64_option(split):
    assert split.images_train.shape == (len(split.X_train), 8, 8)
    assert np.shares_memory(split.images_test, split.X_test)
    np.testing.assert_array_equal(split.images_val[0].ravel(), split.X_val[0])
    d64 = load_digits_split(seed=0, dtype=np.float64)
    assert d64.X_train.dtype == np.float64
    np.testing.assert_allclose(d64.X_train, split.X_train, atol=1e-7)


def test_bad_arguments():
    with pytest.raises(ValueError, match="fractions"):
        load_digits_split(val_size=0.6, test_size=0.5)
    with pytest.raises(ValueError, match="dtype"):
        load_digits_split(dtype=np.int32)
