"""Metrics of hard predictions: accuracy, the confusion matrix, precision, recall, F1, and
the log loss of predicted probabilities.

Names, arguments and edge cases are scikit-learn's (``sklearn.metrics``), which the tests
use as the independent reference. For one class :math:`c`, with true positives
:math:`TP_c`, false positives :math:`FP_c` and false negatives :math:`FN_c`:

.. math::

    P_c = \\frac{TP_c}{TP_c + FP_c}, \\qquad R_c = \\frac{TP_c}{TP_c + FN_c}, \\qquad
    F1_c = \\frac{2 P_c R_c}{P_c + R_c} = \\frac{2\\,TP_c}{2\\,TP_c + FP_c + FN_c}.

A ratio whose denominator is 0 is undefined: it is set to ``zero_division`` (``"warn"``
means 0 with an :class:`UndefinedMetricWarning`). F1 uses the last form, so it is undefined
only when the class is neither present nor predicted.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.metrics._validation import (
    binary,
    labels,
    probabilities,
    same_length,
    scores,
    warn_undefined,
)

AVERAGES = ("binary", "micro", "macro", "weighted", None)
WARN_FOR = ("precision", "recall", "F-score")


def accuracy_score(y_true: Any, y_pred: Any) -> float:
    """The fraction of predictions equal to the true labels.

    Shape: ``y_true``, ``y_pred``: ``(N,)`` integer labels.
    """
    y_true, y_pred = labels("y_true", y_true), labels("y_pred", y_pred)
    same_length(y_true=y_true, y_pred=y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]``: the number of examples of true class ``i`` predicted as class ``j``.

    Labels are ``0 .. num_classes - 1``; ``num_classes`` defaults to the largest label + 1.
    The diagonal holds the correct predictions; row sums are the class counts of ``y_true``,
    column sums those of ``y_pred``.

    Shape: ``y_true``, ``y_pred``: ``(N,)`` integer labels; out: ``(K, K)`` int64.
    """
    y_true, y_pred = labels("y_true", y_true), labels("y_pred", y_pred)
    same_length(y_true=y_true, y_pred=y_pred)
    low = min(y_true.min(), y_pred.min())
    if low < 0:
        raise ValueError(f"confusion_matrix: labels must be 0 .. num_classes - 1, got {low}")
    high = int(max(y_true.max(), y_pred.max()))
    k = high + 1 if num_classes is None else int(num_classes)
    if high >= k:
        raise ValueError(f"confusion_matrix: label {high} does not fit num_classes={k}")
    flat = np.bincount(k * y_true.astype(np.int64) + y_pred, minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def _divide(num: np.ndarray, den: np.ndarray, what: str, zero_division: Any,
            warn_for: tuple[str, ...]) -> np.ndarray:
    """``num / den`` with the undefined 0/0 entries set to ``zero_division``."""
    undefined = den == 0
    out = num / np.where(undefined, 1, den)
    if undefined.any():
        if zero_division == "warn" and what in warn_for:
            warn_undefined(f"{what} is ill-defined (0/0) for {int(undefined.sum())} label(s) "
                           "and set to 0.0; use zero_division to choose the value")
        zero_division = 0.0 if zero_division == "warn" else zero_division
        out = np.where(undefined, float(zero_division), out)
    return out


def _check_zero_division(zero_division: Any) -> None:
    ok = zero_division == "warn" or (isinstance(zero_division, (int, float))
                                     and (zero_division in (0, 1) or np.isnan(zero_division)))
    if not ok:
        raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got "
                         f"{zero_division!r}")


def _counts(y_true: np.ndarray, y_pred: np.ndarray, average: str | None):
    """The labels scored and their TP, predicted and true counts (summed for ``micro``)."""
    if average == "binary":
        present = np.union1d(y_true, y_pred)
        if len(present) > 2 or np.setdiff1d(present, [0, 1]).size:
            raise ValueError(f"average='binary' needs labels in {{0, 1}} (1 = positive), got "
                             f"{present.tolist()}; choose average='macro', 'micro', "
                             "'weighted' or None for several classes")
        scored = np.array([1])
    else:
        scored = np.union1d(y_true, y_pred)
    is_true, is_pred = y_true[:, None] == scored, y_pred[:, None] == scored
    tp = (is_true & is_pred).sum(axis=0)
    pred, true = is_pred.sum(axis=0), is_true.sum(axis=0)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    return tp, pred, true


def _average(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The (weighted) mean that skips NaN entries, as scikit-learn's ``_nanaverage``."""
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is None or weights[keep].sum() == 0:
        return float(values[keep].mean())
    return float(np.average(values[keep], weights=weights[keep]))


def precision_recall_fscore_support(y_true: Any, y_pred: Any, average: str | None = None,
                                    zero_division: Any = "warn",
                                    warn_for: tuple[str, ...] = WARN_FOR):
    """Precision, recall, F1 and the support (true count) of each label, or their average.

    Labels scored: every label in ``y_true`` or ``y_pred`` (sorted); for ``"binary"``, only
    label 1 of 0/1 labels. ``average``:

    - ``None``: one value per label, and the support;
    - ``"binary"``: the positive class's values;
    - ``"macro"``: the plain mean over labels (every class counts the same);
    - ``"weighted"``: the mean weighted by support;
    - ``"micro"``: from TP, FP, FN summed over labels (for single-label problems, micro
      precision = micro recall = micro F1 = accuracy).

    ``warn_for``: which of ``"precision"``, ``"recall"``, ``"F-score"`` warn when undefined
    and ``zero_division="warn"``.

    Returns ``(precision, recall, f1, support)``: arrays ``(K,)`` for ``average=None``,
    else floats and ``support=None``.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    _check_zero_division(zero_division)
    y_true, y_pred = labels("y_true", y_true), labels("y_pred", y_pred)
    same_length(y_true=y_true, y_pred=y_pred)
    tp, pred, true = _counts(y_true, y_pred, average)
    precision = _divide(tp, pred, "precision", zero_division, warn_for)
    recall = _divide(tp, true, "recall", zero_division, warn_for)
    f1 = _divide(2 * tp, pred + true, "F-score", zero_division, warn_for)
    if average is None:
        return precision, recall, f1, true
    weights = true.astype(np.float64) if average == "weighted" else None
    return _average(precision, weights), _average(recall, weights), _average(f1, weights), None


def precision_score(y_true: Any, y_pred: Any, average: str | None = "binary",
                    zero_division: Any = "warn") -> float | np.ndarray:
    """:math:`TP / (TP + FP)`: of the examples predicted positive, the fraction that are.

    See :func:`precision_recall_fscore_support` for ``average`` and ``zero_division``.
    """
    return precision_recall_fscore_support(y_true, y_pred, average, zero_division,
                                           warn_for=("precision",))[0]


def recall_score(y_true: Any, y_pred: Any, average: str | None = "binary",
                 zero_division: Any = "warn") -> float | np.ndarray:
    """:math:`TP / (TP + FN)`: of the positive examples, the fraction found.

    See :func:`precision_recall_fscore_support` for ``average`` and ``zero_division``.
    """
    return precision_recall_fscore_support(y_true, y_pred, average, zero_division,
                                           warn_for=("recall",))[1]


def f1_score(y_true: Any, y_pred: Any, average: str | None = "binary",
             zero_division: Any = "warn") -> float | np.ndarray:
    """The harmonic mean of precision and recall, :math:`2TP / (2TP + FP + FN)`.

    See :func:`precision_recall_fscore_support` for ``average`` and ``zero_division``.
    """
    return precision_recall_fscore_support(y_true, y_pred, average, zero_division,
                                           warn_for=("F-score",))[2]


def log_loss(y_true: Any, y_prob: Any, num_classes: int | None = None) -> float:
    """The mean negative log-probability of the true class (the cross-entropy).

    .. math:: \\mathcal L = -\\frac1N \\sum_n \\log p_{n, y_n}

    ``y_prob`` is ``(N,)``, the probability of class 1 of binary labels, or ``(N, K)``, a
    distribution per row (rows must sum to 1). Probabilities are clipped to
    ``[eps, 1 - eps]`` (``eps`` of float64) so a confident mistake costs about 36, not
    infinity. Equal to ``sklearn.metrics.log_loss(y_true, y_prob, labels=range(K))``.

    Shape: ``y_true``: ``(N,)`` labels ``0 .. K-1``; ``y_prob``: ``(N,)`` or ``(N, K)``.
    """
    y_true = labels("y_true", y_true)
    p = np.asarray(y_prob, dtype=np.float64)
    if p.ndim == 1:
        binary("y_true", y_true, "log_loss with 1-D y_prob")
        p = np.stack([1 - p, p], axis=1)
    p = probabilities("y_prob", scores("y_prob", p, ndim=2))
    same_length(y_true=y_true, y_prob=p)
    k = p.shape[1] if num_classes is None else num_classes
    if p.shape[1] != k or y_true.min() < 0 or y_true.max() >= k:
        raise ValueError(f"log_loss: y_prob has {p.shape[1]} columns; labels must be in "
                         f"0 .. {p.shape[1] - 1} (num_classes={k})")
    if not np.allclose(p.sum(axis=1), 1.0, rtol=np.sqrt(np.finfo(np.float64).eps), atol=0):
        raise ValueError("log_loss: each row of y_prob must sum to 1")
    eps = np.finfo(np.float64).eps
    picked = np.clip(p[np.arange(len(p)), y_true], eps, 1 - eps)
    return float(-np.mean(np.log(picked)))
