"""Input checks shared by the metrics: one clear ``ValueError`` per kind of bad input."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for this input (a 0/0), and a fallback value is returned.

    The name and meaning are scikit-learn's ``sklearn.exceptions.UndefinedMetricWarning``.
    """


def warn_undefined(message: str) -> None:
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def column(name: str, a: Any) -> np.ndarray:
    """``a`` as a 1-D array; a ``(n, 1)`` column is flattened, anything else is an error."""
    arr = np.asarray(a)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n,), got shape {arr.shape}")
    return arr


def labels(name: str, a: Any) -> np.ndarray:
    """A 1-D array of integer (or boolean) class labels."""
    arr = column(name, a)
    if arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) \
            and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)  # 0.0 / 1.0 labels, as in torch's float targets
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    return arr


def scores(name: str, a: Any, ndim: int = 1) -> np.ndarray:
    """A finite float64 array of scores or values with ``ndim`` dimensions."""
    arr = column(name, a) if ndim == 1 else np.asarray(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def same_length(**arrays: np.ndarray) -> int:
    """The common length of the arrays; a clear error when they differ or are empty."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listing = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"inconsistent numbers of samples: {listing}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError(f"{', '.join(lengths)}: empty input (0 samples)")
    return n


def binary(name: str, y: np.ndarray, what: str) -> np.ndarray:
    """Check that integer labels ``y`` are in {0, 1} (1 is the positive class)."""
    bad = np.setdiff1d(np.unique(y), [0, 1])
    if bad.size:
        raise ValueError(f"{what} needs binary labels in {{0, 1}} (1 = positive); {name} "
                         f"holds {np.unique(y).tolist()}")
    return y


def probabilities(name: str, p: np.ndarray) -> np.ndarray:
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values in "
                         f"[{p.min():.3g}, {p.max():.3g}]")
    return p
