"""Splitting a data set: train / validation / test, k-fold and stratified k-fold indices.

Randomness comes from an explicit ``np.random.Generator`` (or an integer seed for one), so
a split is reproducible and independent of any global state. Without shuffling, the folds
are exactly scikit-learn's ``KFold`` and ``StratifiedKFold`` folds (the tests' reference).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from dlbook.metrics._validation import labels

Rng = np.random.Generator | int | None


def _check_n_splits(n_splits: int, n_samples: int) -> None:
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits}")
    if n_splits > n_samples:
        raise ValueError(f"n_splits={n_splits} is more than the {n_samples} samples")


def _pairs(fold_of: np.ndarray, n_splits: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for k in range(n_splits):
        yield np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)


def kfold_indices(n_samples: int, n_splits: int = 5, shuffle: bool = False,
                  rng: Rng = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_idx, val_idx)`` for each of ``n_splits`` folds.

    The folds are consecutive blocks of ``0 .. n_samples - 1`` (after a permutation by
    ``rng`` when ``shuffle``); the first ``n_samples % n_splits`` folds have one extra
    sample. Every sample is in exactly one validation fold. Index arrays are sorted.
    """
    _check_n_splits(n_splits, n_samples)
    order = np.random.default_rng(rng).permutation(n_samples) if shuffle \
        else np.arange(n_samples)
    sizes = np.full(n_splits, n_samples // n_splits)
    sizes[: n_samples % n_splits] += 1
    fold_of = np.empty(n_samples, dtype=np.int64)
    fold_of[order] = np.repeat(np.arange(n_splits), sizes)
    yield from _pairs(fold_of, n_splits)


def stratified_kfold_indices(y: Any, n_splits: int = 5, shuffle: bool = False,
                             rng: Rng = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_idx, val_idx)`` for folds that keep each class's proportion.

    scikit-learn's allocation: number the classes in order of first appearance, sort the
    labels and deal them round-robin to the folds, which fixes how many of each class every
    fold gets; within a class, samples go to folds in
    their order (shuffled by ``rng`` when ``shuffle``). Fold sizes differ by at most one.
    """
    y = labels("y", y)
    _check_n_splits(n_splits, len(y))
    _, first, inverse, counts = np.unique(y, return_index=True, return_inverse=True,
                                          return_counts=True)
    rank = np.argsort(np.argsort(first))  # classes numbered in order of first appearance
    y_idx, counts = rank[inverse], counts[np.argsort(first)]
    if n_splits > counts.max():
        raise ValueError(f"n_splits={n_splits} is more than the members of every class")
    if n_splits > counts.min():
        warnings.warn(f"the smallest class has {counts.min()} members, fewer than "
                      f"n_splits={n_splits}: some folds miss it", UserWarning, stacklevel=2)
    generator = np.random.default_rng(rng)
    dealt = [np.bincount(np.sort(y_idx)[i::n_splits], minlength=len(counts))
             for i in range(n_splits)]
    allocation = np.asarray(dealt)  # (n_splits, n_classes): class c's members in fold k
    fold_of = np.empty(len(y), dtype=np.int64)
    for c in range(len(counts)):
        folds = np.repeat(np.arange(n_splits), allocation[:, c])
        if shuffle:
            folds = generator.permutation(folds)
        fold_of[y_idx == c] = folds
    yield from _pairs(fold_of, n_splits)


def train_val_test_split(*arrays: Any, val_size: float = 0.15, test_size: float = 0.15,
                         rng: Rng = 0, stratify: Any = None) -> list[np.ndarray]:
    """Split arrays (equal first dimension) into train, validation and test parts.

    Returns ``[a_train, a_val, a_test, b_train, b_val, b_test, ...]``, one triple per array
    (as ``sklearn.model_selection.train_test_split`` returns pairs). The test part has
    ``round(test_size * N)`` samples and the validation part ``round(val_size * N)``. With
    ``stratify`` (labels), each class is split in these proportions on its own, so the
    three parts keep the class balance. ``rng`` (default seed 0) fixes the permutation.
    """
    if not arrays:
        raise ValueError("train_val_test_split needs at least one array")
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays have different lengths: {[len(a) for a in arrays]}")
    if not (0 <= val_size < 1 and 0 <= test_size < 1 and val_size + test_size < 1):
        raise ValueError(f"val_size={val_size} and test_size={test_size} must be fractions "
                         "in [0, 1) with a sum below 1")
    generator = np.random.default_rng(rng)
    groups = [np.arange(n)] if stratify is None else \
        [np.flatnonzero(labels("stratify", stratify) == c) for c in np.unique(stratify)]
    parts: list[list[np.ndarray]] = [[], [], []]
    for idx in groups:
        idx = generator.permutation(idx)
        n_test, n_val = round(len(idx) * test_size), round(len(idx) * val_size)
        for part, chunk in zip(parts, (idx[n_test + n_val:], idx[n_test:n_test + n_val],
                                       idx[:n_test]), strict=True):
            part.append(chunk)
    order = [generator.permutation(np.concatenate(p)) for p in parts]
    return [a[i] for a in arrays for i in order]
