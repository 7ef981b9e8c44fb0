"""The scikit-learn digits (1,797 images of 8 x 8 pixels, bundled: nothing is downloaded),
with a fixed stratified train / validation / test split.

The images are scikit-learn's copy of the test set of the UCI "Optical Recognition of
Handwritten Digits" data set: E. Alpaydin and C. Kaynak (1998), UCI Machine Learning
Repository, https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits,
licensed CC BY 4.0 (credit the authors when you reuse them). 32 x 32 bitmaps of digits
written by 43 people were reduced to 8 x 8 counts of set pixels (0-16) per 4 x 4 block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DigitsSplit:
    """A train / validation / test split of the digits.

    ``X_*``: ``(n, 64)`` pixels scaled to [0, 1]; ``y_*``: ``(n,)`` int64 labels 0-9.
    ``images_*``: the same pixels as ``(n, 8, 8)`` views (no copy).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def images_train(self) -> np.ndarray:
        return self.X_train.reshape(-1, 8, 8)

    @property
    def images_val(self) -> np.ndarray:
        return self.X_val.reshape(-1, 8, 8)

    @property
    def images_test(self) -> np.ndarray:
        return self.X_test.reshape(-1, 8, 8)


def load_digits_split(seed: int = 0, val_size: float = 0.15, test_size: float = 0.15,
                      dtype: type = np.float32) -> DigitsSplit:
    """The digits, split per class with NumPy's ``default_rng(seed)``.

    The split depends only on ``seed`` and the sizes, never on scikit-learn's random state,
    so it is the same across scikit-learn versions. Each class contributes
    ``round(n_c * test_size)`` test and ``round(n_c * val_size)`` validation images; each
    part is then shuffled.

    Args:
        seed: seed of the permutation.
        val_size, test_size: fractions of each class held out, each in [0, 1), sum below 1.
        dtype: ``np.float32`` (default) or ``np.float64`` for the pixels.
    """
    if not (0 <= val_size < 1 and 0 <= test_size < 1 and val_size + test_size < 1):
        raise ValueError(f"load_digits_split: val_size={val_size} and test_size={test_size} "
                         "must be fractions in [0, 1) with a sum below 1")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"load_digits_split: dtype must be float32 or float64, got {dtype}")
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (np.asarray(digits.data, dtype=np.float64) / 16.0).astype(dtype)
    y = np.asarray(digits.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test, n_val = round(len(idx) * test_size), round(len(idx) * val_size)
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    split = {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}
    return DigitsSplit(X[split["train"]], y[split["train"]], X[split["val"]], y[split["val"]],
                       X[split["test"]], y[split["test"]])
