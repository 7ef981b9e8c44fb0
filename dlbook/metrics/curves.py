"""Metrics of scores, not hard predictions: the ROC and precision-recall curves, the areas
under them, and calibration (reliability) curves.

A binary classifier outputs a score :math:`s_n` per example; a threshold :math:`t` turns
it into the prediction :math:`s_n \\ge t`. Sweeping :math:`t` from :math:`+\\infty` down past
every distinct score traces the counts :math:`TP(t)` and :math:`FP(t)`, from which

- the ROC curve plots :math:`TPR = TP/P` against :math:`FPR = FP/N_{neg}` (Fawcett, 2006),
- the precision-recall curve plots :math:`TP/(TP+FP)` against :math:`TP/P`.

Thresholds, the points kept and every edge case are scikit-learn's (``roc_curve``,
``precision_recall_curve``, ``calibration_curve``), which the tests use as reference.
Labels are 0/1 with 1 the positive class.
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


def _binary_inputs(y_true: Any, y_score: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    y_true = binary("y_true", labels("y_true", y_true), what)
    y_score = scores("y_score", y_score)
    same_length(y_true=y_true, y_score=y_score)
    return y_true, y_score


def _counts_at_thresholds(y_true: np.ndarray, y_score: np.ndarray):
    """``fps, tps, thresholds``: the false and true positives when predicting positive for
    scores ``>= threshold``, one entry per distinct score, highest threshold first."""
    order = np.argsort(-y_score, kind="stable")
    s, y = y_score[order], y_true[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # tied scores go together
    tps = np.cumsum(y, dtype=np.float64)[last_of_tie]
    fps = 1.0 + last_of_tie - tps
    return fps, tps, s[last_of_tie]


def roc_curve(y_true: Any, y_score: Any, drop_intermediate: bool = True):
    """The receiver operating characteristic: ``(fpr, tpr, thresholds)``.

    ``thresholds[0]`` is ``inf`` (nothing predicted positive: the point (0, 0)); the others
    are the distinct scores in decreasing order. With ``drop_intermediate``, points that lie
    on a straight segment between their neighbours are dropped: they change neither the
    plotted curve nor its area. Without negatives (or positives) FPR (or TPR) is 0/0: NaN
    with an :class:`UndefinedMetricWarning`.

    Shape: ``y_true``: ``(N,)`` 0/1 labels; ``y_score``: ``(N,)``, higher means more
    positive; out: three ``(M,)`` arrays, ``M <= N + 1``.
    """
    y_true, y_score = _binary_inputs(y_true, y_score, "roc_curve")
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score)
    if drop_intermediate and len(fps) > 2:
        corner = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    return _rate(fps, "negative", "false"), _rate(tps, "positive", "true"), thresholds


def _rate(counts: np.ndarray, kind: str, which: str) -> np.ndarray:
    if counts[-1] <= 0:
        warn_undefined(f"no {kind} samples in y_true: the {which} positive rate is undefined")
        return np.full(counts.shape, np.nan)
    return counts / counts[-1]


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """The area under the ROC curve: the probability that a random positive scores above a
    random negative (ties count one half). 0.5 is chance, 1.0 a perfect ranking.

    Binary: ``y_score`` of shape ``(N,)``. Multiclass (one-vs-rest, macro): ``y_true``
    holds labels ``0 .. K-1``, each present, and ``y_score`` of shape ``(N, K)`` holds
    probabilities (rows sum to 1); the result is the mean over classes ``c`` of the binary
    AUC of ``y_true == c`` scored by ``y_score[:, c]``. With a single class in ``y_true``
    the AUC is undefined: NaN with an :class:`UndefinedMetricWarning` (as scikit-learn).
    """
    score = np.asarray(y_score)
    if score.ndim == 2 and score.shape[1] > 1:
        return _multiclass_auc(y_true, score)
    y_true, score = _binary_inputs(y_true, score, "roc_auc_score with 1-D y_score")
    if len(np.unique(y_true)) != 2:
        warn_undefined("only one class is present in y_true: ROC AUC is undefined")
        return float("nan")
    fpr, tpr, _ = roc_curve(y_true, score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)  # trapezoids


def _multiclass_auc(y_true: Any, y_score: np.ndarray) -> float:
    y_true, y_score = labels("y_true", y_true), scores("y_score", y_score, ndim=2)
    same_length(y_true=y_true, y_score=y_score)
    k = y_score.shape[1]
    if not np.array_equal(np.unique(y_true), np.arange(k)):
        raise ValueError(f"roc_auc_score: y_score has {k} columns, so y_true must hold every "
                         f"label 0 .. {k - 1}; it holds {np.unique(y_true).tolist()}")
    if not np.allclose(y_score.sum(axis=1), 1.0):
        raise ValueError("roc_auc_score: multiclass y_score must hold probabilities whose "
                         "rows sum to 1 (apply softmax to logits)")
    return float(np.mean([roc_auc_score(y_true == c, y_score[:, c]) for c in range(k)]))


def precision_recall_curve(y_true: Any, y_score: Any):
    """``(precision, recall, thresholds)``, recall decreasing.

    One point per distinct score (``thresholds`` increasing), then the point
    ``(precision=1, recall=0)`` that has no threshold. Precision is 0 where nothing is
    predicted positive; without positives, recall is 1 everywhere (scikit-learn's choice).

    Shape: ``y_true``: ``(N,)`` 0/1; ``y_score``: ``(N,)``; out: ``(M+1,), (M+1,), (M,)``.
    """
    y_true, y_score = _binary_inputs(y_true, y_score, "precision_recall_curve")
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warn_undefined("no positive samples in y_true: recall is set to 1 for all thresholds")
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision_score(y_true: Any, y_score: Any) -> float:
    """Average precision: :math:`\\sum_k (R_k - R_{k-1}) P_k`, the precision at each
    threshold weighted by the recall it adds (a step-wise area under the PR curve, with no
    interpolation). For a random scorer it is about the fraction of positives.
    """
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def calibration_curve(y_true: Any, y_prob: Any, n_bins: int = 5):
    """A reliability diagram's points: ``(prob_true, prob_pred)`` per non-empty bin.

    ``[0, 1]`` is cut into ``n_bins`` bins of equal width (a value on an inner edge goes to
    the lower bin); in each, ``prob_pred`` is the mean predicted probability and
    ``prob_true`` the fraction of positives. A calibrated model has ``prob_true ==
    prob_pred``: of the cases it gives 80 %, 80 % are positive. For a multiclass model pass
    ``y_true = (prediction == label)`` and ``y_prob`` = the top probability (confidence).
    """
    y_true, y_prob = _binary_inputs(y_true, y_prob, "calibration_curve")
    probabilities("y_prob", y_prob)
    total, true, pred = _bins(y_true, y_prob, n_bins)
    full = total > 0
    return true[full] / total[full], pred[full] / total[full]


def _bins(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int):
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], y_prob)
    return (np.bincount(ids, minlength=n_bins), np.bincount(ids, y_true, minlength=n_bins),
            np.bincount(ids, y_prob, minlength=n_bins))


def expected_calibration_error(y_true: Any, y_prob: Any, n_bins: int = 10) -> float:
    """ECE: the bin-size weighted mean gap :math:`\\sum_b \\frac{n_b}{N}
    |\\text{acc}_b - \\text{conf}_b|` over the bins of :func:`calibration_curve`
    (Naeini et al., 2015; Guo et al., 2017). 0 for a perfectly calibrated model.
    """
    y_true, y_prob = _binary_inputs(y_true, y_prob, "expected_calibration_error")
    probabilities("y_prob", y_prob)
    total, true, pred = _bins(y_true, y_prob, n_bins)
    return float(np.abs(true - pred).sum() / total.sum())
