"""Regression metrics: mean absolute error, mean squared error and the coefficient of
determination :math:`R^2`, as scikit-learn defines them (the tests' reference).

Inputs are ``(N,)`` or ``(N, D)`` (``D`` outputs, averaged uniformly).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.metrics._validation import same_length, scores, warn_undefined


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim not in (1, 2):
        raise ValueError(f"y_true must be (N,) or (N, D), got shape {t.shape}")
    t, p = scores("y_true", t, ndim=t.ndim), scores("y_pred", p, ndim=p.ndim)
    same_length(y_true=t, y_pred=p)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t.reshape(len(t), -1), p.reshape(len(p), -1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """:math:`\\frac1N \\sum_n |y_n - \\hat y_n|`, in the units of ``y``."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """:math:`\\frac1N \\sum_n (y_n - \\hat y_n)^2`; its square root (RMSE) is in ``y``'s
    units. Punishes large errors more than MAE does."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """:math:`R^2 = 1 - \\sum_n (y_n - \\hat y_n)^2 / \\sum_n (y_n - \\bar y)^2`.

    1 is perfect, 0 is no better than predicting the mean of ``y_true``, and it is negative
    for worse. For a constant ``y_true`` the ratio is 0/0 or x/0: then :math:`R^2` is 1 for
    a perfect prediction and 0 otherwise; with fewer than two samples it is NaN with an
    :class:`UndefinedMetricWarning` (all as scikit-learn).
    """
    t, p = _pair(y_true, y_pred)
    if len(t) < 2:
        warn_undefined("R^2 is not well-defined with fewer than two samples")
        return float("nan")
    residual = np.sum((t - p) ** 2, axis=0)
    total = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(total != 0, 1 - residual / np.where(total != 0, total, 1), 0.0)
    r2 = np.where((total == 0) & (residual == 0), 1.0, r2)
    return float(np.mean(r2))
