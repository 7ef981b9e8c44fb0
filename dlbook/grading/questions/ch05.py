"""Chapter 5 exercises: a confusion matrix, macro-F1, ROC AUC by the rank (Mann-Whitney)
formula and the indices of a k-fold split.

Every reference here is independent of solutions/ch05_evaluation.ipynb and of
``dlbook.metrics``: the confusion matrix by broadcasting one-hot comparisons, the others by
scikit-learn (``f1_score``, ``roc_auc_score``, ``KFold``).
"""
from __future__ import annotations

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# -- ch05.confusion_matrix ---------------------------------------------------------------------


def _label_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(20, 3), (12, 5), (1, 2), (30, 4)],
             "hidden": [(50, 6), (7, 3), (2, 10)]}
    rng = np.random.default_rng(5) if rng is None else rng
    cases = []
    for n, k in specs.get(suite, []):
        y_true = rng.integers(0, k, n)
        y_true[: min(n, k)] = np.arange(min(n, k))  # most classes present in y_true
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k - 1, n))  # never k-1
        cases.append(Case({"y_true": y_true, "y_pred": y_pred, "num_classes": k}))
    return cases


def _confusion_reference(y_true: np.ndarray, y_pred: np.ndarray,
                         num_classes: int) -> dict[str, np.ndarray]:
    classes = np.arange(num_classes)
    is_true = y_true[:, None, None] == classes[None, :, None]  # (N, K, 1): row i
    is_pred = y_pred[:, None, None] == classes[None, None, :]  # (N, 1, K): column j
    return {"cm": (is_true & is_pred).sum(axis=0).astype(np.int64)}


register(Question(
    id="ch05.confusion_matrix",
    points=2,
    description="The confusion matrix: cm[i, j] counts examples of class i predicted as j.",
    signature="confusion_matrix(y_true, y_pred, num_classes) -> cm",
    outputs=("cm",),
    **split_suites(_label_cases),
    reference=_confusion_reference,
))

# -- ch05.macro_f1 -----------------------------------------------------------------------------


def _macro_f1_reference(y_true: np.ndarray, y_pred: np.ndarray,
                        num_classes: int) -> dict[str, np.float64]:
    from sklearn.metrics import f1_score

    return {"f1": np.float64(f1_score(y_true, y_pred, labels=np.arange(num_classes),
                                      average="macro", zero_division=0))}


register(Question(
    id="ch05.macro_f1",
    points=2,
    description="Macro-averaged F1 over classes 0 .. num_classes-1 (an undefined F1 counts 0).",
    signature="macro_f1(y_true, y_pred, num_classes) -> f1",
    outputs=("f1",),
    **split_suites(_label_cases),
    reference=_macro_f1_reference,
    needs=("sklearn",),
))

# -- ch05.roc_auc_rank -------------------------------------------------------------------------


def _auc_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(10, 0.5, 0), (40, 0.2, 3), (25, 0.6, 1), (2, 0.5, 0)],
             "hidden": [(60, 0.1, 2), (15, 0.7, 0)]}
    rng = np.random.default_rng(6) if rng is None else rng
    cases = []
    for n, pos, decimals in specs.get(suite, []):
        y = (rng.random(n) < pos).astype(np.int64)
        y[:2] = [0, 1]  # both classes present
        s = rng.normal(size=n) + y
        # decimals=0 or 1: heavy ties between positives and negatives; 3: a few
        cases.append(Case({"y_true": y, "scores": np.round(s, decimals) if decimals else
                           np.round(s * 2) / 2}))
    return cases


def _auc_reference(y_true: np.ndarray, scores: np.ndarray) -> dict[str, np.float64]:
    from sklearn.metrics import roc_auc_score

    return {"auc": np.float64(roc_auc_score(y_true, scores))}


register(Question(
    id="ch05.roc_auc_rank",
    points=3,
    description="ROC AUC from the ranks of the scores (Mann-Whitney U), ties given mean ranks.",
    signature="roc_auc_rank(y_true, scores) -> auc",
    outputs=("auc",),
    **split_suites(_auc_cases),
    reference=_auc_reference,
    needs=("sklearn",),
))

# -- ch05.kfold_split --------------------------------------------------------------------------


def _kfold_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(10, 5, 0), (10, 3, 0), (10, 3, 2), (7, 7, 6), (23, 4, 1)]}
    if suite == "hidden":  # (n_samples >= n_splits >= 2, fold < n_splits)
        specs["hidden"] = []
        for n in rng.integers(5, 120, size=3):
            k = int(rng.integers(2, min(int(n), 12) + 1))
            specs["hidden"].append((int(n), k, int(rng.integers(0, k))))
    return [Case({"n_samples": n, "n_splits": k, "fold": f}) for n, k, f in specs.get(suite, [])]


def _kfold_reference(n_samples: int, n_splits: int, fold: int) -> dict[str, np.ndarray]:
    from sklearn.model_selection import KFold

    train, val = list(KFold(n_splits).split(np.zeros(n_samples)))[fold]
    return {"train_idx": train.astype(np.int64), "val_idx": val.astype(np.int64)}


register(Question(
    id="ch05.kfold_split",
    points=2,
    description="Indices of fold `fold` of an unshuffled k-fold split (first folds one larger).",
    signature="kfold_split(n_samples, n_splits, fold) -> (train_idx, val_idx)",
    outputs=("train_idx", "val_idx"),
    **split_suites(_kfold_cases),
    reference=_kfold_reference,
    needs=("sklearn",),
))
