"""Chapter 5 exercises: a confusion matrix, macro-F1, ROC AUC by the rank (Mann-Whitney)
formula, the indices of a k-fold split, exact bias and variance, an early-stopping rule and
an expected calibration error (each of the last two with a planted bug).

Every reference here is independent of solutions/ch05_evaluation.ipynb and of
``dlbook.metrics``: the confusion matrix by broadcasting one-hot comparisons, the others by
scikit-learn (``f1_score``, ``roc_auc_score``, ``KFold``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.registry import Case, Question, register, split_suites

# -- the catalogue of common mistakes (issue 18) ------------------------------------------------
# Each question's requirement recomputes the answer with one named mistake (a mutant) in NumPy
# and, when the student's outputs equal a mutant's and not the right answer, names the mistake.
# Entries are checked in the order the quantities are computed, so the first message points at
# the first wrong quantity. tests/grading/test_catalogue_ch04_06.py plants each mistake.


CM_TRANSPOSED = ("cm is transposed: rows are the TRUE classes and columns the predicted ones, "
                 "cm[i, j] = #(y_true == i and y_pred == j)")
CM_NORMALISED = "cm holds counts (integers), not fractions: do not divide by the number of examples"


def _cm(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


_cm_catalogue = _catalogue(lambda **a: {"cm": _cm(**a)}, [
    (CM_TRANSPOSED, lambda **a: {"cm": _cm(**a).T}),
    (CM_NORMALISED, lambda **a: {"cm": _cm(**a) / len(a["y_true"])}),
])

F1_MICRO = ("that is micro-F1 (pooled counts), which equals the accuracy for single-label "
            "problems: macro-F1 is the plain mean of the per-class F1")
F1_WEIGHTED = "that is the support-weighted mean of the per-class F1; macro is the plain mean"
F1_SKIPPED = ("a class whose F1 is undefined (never predicted or never present) was left out "
              "of the mean: it counts as 0, over all num_classes classes")
F1_MEAN_PR = ("that is the harmonic mean of macro precision and macro recall; macro-F1 averages "
              "the per-class F1 values")


def _per_class(y_true, y_pred, num_classes):
    cm = _cm(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    return p, r, f1, cm.sum(axis=1)


def _f1_mutant(kind: str) -> Callable:
    def mutant(y_true, y_pred, num_classes):
        p, r, f1, support = _per_class(y_true, y_pred, num_classes)
        if kind == "micro":
            return {"f1": np.mean(y_true == y_pred)}
        if kind == "weighted":
            return {"f1": np.sum(np.nan_to_num(f1) * support) / support.sum()}
        if kind == "skipped":
            defined = (support > 0) & ~np.isnan(f1)
            return {"f1": np.nanmean(np.where(defined, f1, np.nan))}
        mp, mr = p.mean(), r.mean()
        return {"f1": 2 * mp * mr / (mp + mr) if mp + mr > 0 else 0.0}
    return mutant


_f1_catalogue = _catalogue(
    lambda **a: {"f1": np.nan_to_num(_per_class(**a)[2]).mean()},
    [(F1_MICRO, _f1_mutant("micro")), (F1_WEIGHTED, _f1_mutant("weighted")),
     (F1_SKIPPED, _f1_mutant("skipped")), (F1_MEAN_PR, _f1_mutant("harmonic"))])

AUC_TIES_ZERO = ("tied scores between a positive and a negative count as 0 here: a tie counts "
                 "one half (give tied scores their mean rank)")
AUC_TIES_ONE = ("tied scores between a positive and a negative count as 1 here: a tie counts "
                "one half (give tied scores their mean rank)")
AUC_REVERSED = ("that is 1 - AUC: rank the scores in ascending order (rank 1 = lowest score) and "
                "sum the ranks of the positives")


def _auc_pairs(y_true, scores, tie):
    pos, neg = scores[y_true == 1][:, None], scores[y_true == 0][None, :]
    return {"auc": np.mean((pos > neg) + tie * (pos == neg))}


_auc_catalogue = _catalogue(lambda **a: _auc_pairs(**a, tie=0.5), [
    (AUC_TIES_ZERO, lambda **a: _auc_pairs(**a, tie=0.0)),
    (AUC_TIES_ONE, lambda **a: _auc_pairs(**a, tie=1.0)),
    (AUC_REVERSED, lambda **a: {"auc": 1 - _auc_pairs(**a, tie=0.5)["auc"]}),
])

KFOLD_LAST_LARGER = ("the extra samples went to the last fold: with n % k left over, the FIRST "
                     "n % k folds are one sample larger (as scikit-learn's KFold)")
KFOLD_DROPPED = ("some samples are in no validation fold: with n % k left over, the first n % k "
                 "folds are one sample larger, so every sample is validated on exactly once")
KFOLD_STRIDED = ("the folds are contiguous blocks of the unshuffled indices, not every k-th "
                 "sample")


def _kfold(n_samples, n_splits, fold, kind=""):
    idx = np.arange(n_samples)
    if kind == "strided":
        val = idx[fold::n_splits]
    else:
        sizes = np.full(n_splits, n_samples // n_splits)
        if kind == "last":
            sizes[n_splits - n_samples % n_splits:] += 1
        elif kind != "dropped":
            sizes[:n_samples % n_splits] += 1
        start = sizes[:fold].sum()
        val = idx[start:start + sizes[fold]]
    return {"train_idx": np.setdiff1d(idx, val), "val_idx": val}


_kfold_catalogue = _catalogue(lambda **a: _kfold(**a), [
    (KFOLD_LAST_LARGER, lambda **a: {"val_idx": _kfold(**a, kind="last")["val_idx"]}),
    (KFOLD_DROPPED, lambda **a: {"val_idx": _kfold(**a, kind="dropped")["val_idx"]}),
    (KFOLD_STRIDED, lambda **a: {"val_idx": _kfold(**a, kind="strided")["val_idx"]}),
])

# -- ch05.confusion_matrix ---------------------------------------------------------------------


def _label_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(20, 3), (12, 5), (1, 2), (30, 4)],  # (n, k); and one with a class absent
             "hidden": [(50, 6), (7, 3), (2, 10)]}
    rng = np.random.default_rng(5) if rng is None else rng
    cases = []
    for n, k in specs.get(suite, []):
        y_true = rng.integers(0, k, n)
        y_true[: min(n, k)] = np.arange(min(n, k))  # most classes present in y_true
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k - 1, n))  # never k-1
        cases.append(Case({"y_true": y_true, "y_pred": y_pred, "num_classes": k}))
    if suite == "public":  # class 3 never occurs and is never predicted: its F1 counts 0
        y_true = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
        cases.insert(0, Case({"y_true": y_true, "y_pred": np.array([0, 1, 2, 1, 1, 2, 0, 0, 2,
                                                                    1]), "num_classes": 4}))
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
    requirements=(_cm_catalogue,),
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
    requirements=(_f1_catalogue,),
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
    requirements=(_auc_catalogue,),
))

# -- ch05.kfold_split --------------------------------------------------------------------------


def _kfold_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(10, 5, 0), (10, 3, 2), (10, 3, 0), (7, 7, 6), (23, 4, 1)]}
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
    requirements=(_kfold_catalogue,),
))

# -- ch05.early_stopping_epochs ----------------------------------------------------------------

ES_NO_MIN_DELTA = ("an epoch improves only when it beats the best so far by MORE than min_delta; "
                   "your answer treats any decrease as an improvement")
ES_LATE = ("training stops after `patience` epochs in a row without improvement: the epoch that "
           "completes the run of `patience` is the stopping epoch, not the one after it")
ES_LAST = ("best_epoch is the epoch of the best validation loss (the weights restored), not the "
           "last epoch before stopping")


def _es(val_losses, patience, min_delta, late=0, strict=True):
    best, best_epoch, bad = np.inf, -1, 0
    for epoch, loss in enumerate(val_losses):
        if (loss < best - min_delta) if strict else (loss < best):
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience + late:
                return {"best_epoch": best_epoch, "stopped_epoch": epoch}
    return {"best_epoch": best_epoch, "stopped_epoch": -1}


_es_catalogue = _catalogue(lambda **a: _es(**a), [
    (ES_NO_MIN_DELTA, lambda **a: _es(**a, strict=False)),
    (ES_LATE, lambda **a: {"stopped_epoch": _es(**a, late=1)["stopped_epoch"]}),
    (ES_LAST, lambda **a: {"best_epoch": (lambda r: r["stopped_epoch"] - 1 if
                                          r["stopped_epoch"] > 0 else r["best_epoch"])(_es(**a))}),
])


def _es_case(rng: np.random.Generator, n: int, patience: int, min_delta: float) -> Case:
    curve = 1 / (1 + np.arange(n)) + 0.02 * np.arange(n) / n * rng.uniform(2, 8)
    noise = np.round(rng.normal(0, 0.01, size=n), 3)
    losses = np.round(curve + noise, 3)
    return Case({"val_losses": losses, "patience": patience, "min_delta": min_delta})


def _es_public() -> list[Case]:
    rng = np.random.default_rng(53)
    cases = [_es_case(rng, 40, 5, 0.0), _es_case(rng, 60, 3, 0.01), _es_case(rng, 30, 10, 0.002)]
    plateau = np.array([1.0, 0.8, 0.7, 0.695, 0.69, 0.689, 0.7, 0.71, 0.72, 0.73, 0.74])
    cases.append(Case({"val_losses": plateau, "patience": 3, "min_delta": 0.01}))
    cases.append(Case({"val_losses": np.linspace(1, 0.1, 8), "patience": 2, "min_delta": 0.0}))
    return cases


def _es_hidden(rng: np.random.Generator) -> list[Case]:
    return [_es_case(rng, int(rng.integers(10, 80)), int(rng.integers(1, 8)),
                     float(rng.choice([0.0, 0.001, 0.01]))) for _ in range(3)]


def _es_reference(val_losses: np.ndarray, patience: int, min_delta: float) -> dict[str, Any]:
    from dlbook.callbacks import EarlyStopping  # the chapter's callback, tested on its own

    stopper, stopped = EarlyStopping(patience=patience, min_delta=min_delta, mode="min"), -1
    for epoch, loss in enumerate(val_losses):
        if stopper.step(float(loss)):
            stopped = epoch
            break
    return {"best_epoch": np.int64(stopper.best_epoch), "stopped_epoch": np.int64(stopped)}


register(Question(
    id="ch05.early_stopping_epochs",
    points=2,
    description="Early stopping on a validation-loss curve: the epoch restored and the epoch "
                "training stops (-1 if it never does).",
    signature="early_stopping_epochs(val_losses, patience, min_delta) -> "
              "(best_epoch, stopped_epoch)",
    outputs=("best_epoch", "stopped_epoch"),
    public=_es_public,
    hidden=_es_hidden,
    reference=_es_reference,
    requirements=(_es_catalogue,),
))

# -- ch05.bias_variance (predict, then measure) ---------------------------------------------------

BV_MONTE_CARLO = ("bias2 looks like the squared error of an average of noisy fits (bias^2 plus "
                  "variance / #fits): fit the noiseless targets f(x) instead; least squares is "
                  "linear in the targets, so that fit is the average fit exactly")


def _bv_case(x_train: np.ndarray, degree: int, noise_sd: float) -> Case:
    return Case({"x_train": x_train, "degree": degree, "noise_sd": noise_sd,
                 "x_grid": np.linspace(0, 1, 101)})


def _bv_public() -> list[Case]:
    return [_bv_case(np.linspace(0, 1, 12), k, 0.3) for k in (1, 3, 6)] + [
        _bv_case(np.linspace(0, 1, 30), 4, 0.1)]


def _bv_hidden(rng: np.random.Generator) -> list[Case]:
    return [_bv_case(np.sort(rng.uniform(0, 1, size=int(rng.integers(10, 40)))),
                     int(rng.integers(0, 7)), float(rng.uniform(0.05, 0.5))) for _ in range(2)]


def _bv_reference(x_train: np.ndarray, degree: int, noise_sd: float,
                  x_grid: np.ndarray) -> dict[str, np.float64]:
    design = np.vander(x_train, degree + 1)
    hat = np.vander(x_grid, degree + 1) @ np.linalg.pinv(design)  # fit(targets) on the grid
    f_train, f_grid = np.sin(2 * np.pi * x_train), np.sin(2 * np.pi * x_grid)
    return {"bias2": np.float64(np.mean((hat @ f_train - f_grid) ** 2)),
            "variance": np.float64(noise_sd**2 * np.mean(np.sum(hat**2, axis=1)))}


BV_NOISE = ("variance includes the noise: it is the spread of the fitted curve, "
            "E[(f_hat - E f_hat)^2]; the noise sigma^2 of a fresh target is a third term")


def _bv_catalogue(got: dict[str, Any], case: Case) -> str | None:
    ref = _bv_reference(**case.args)
    try:
        bias2, variance = float(got["bias2"]), float(got["variance"])
    except (KeyError, TypeError, ValueError):
        return None
    if np.isclose(variance, ref["variance"] + case.args["noise_sd"] ** 2, rtol=1e-6) and \
            not np.isclose(variance, ref["variance"], rtol=1e-6):
        return BV_NOISE
    off = abs(bias2 - ref["bias2"])  # an average of noisy fits: off by about variance / #fits
    if not np.isclose(bias2, ref["bias2"], rtol=1e-6, atol=1e-12) and off <= 0.2 * ref["variance"]:
        return BV_MONTE_CARLO
    return None


register(Question(
    id="ch05.bias_variance",
    points=3,
    description="Exact bias^2 and variance of a least-squares polynomial fit to sin(2 pi x) plus "
                "Gaussian noise, averaged over a grid.",
    signature="bias_variance(x_train, degree, noise_sd, x_grid) -> (bias2, variance)",
    outputs=("bias2", "variance"),
    public=_bv_public,
    hidden=_bv_hidden,
    reference=_bv_reference,
    requirements=(_bv_catalogue,),
))

# -- ch05.calibration_find_the_bug (a planted weighting bug a calibrated sample exposes) --------

CAL_EDGE = ("counts differ where a probability sits exactly on a bin edge: the bins are "
            "(lo, hi], so p = 0.5 with 4 bins belongs to the bin (0.25, 0.5], and the first bin "
            "also holds p = 0 (scikit-learn's calibration_curve, the chapter's rule)")
CAL_UNWEIGHTED = ("ece still carries the planted bug: it is the plain mean of the non-empty "
                  "bins' gaps; weight each gap by its bin's share of the points, |B_b| / N")
CAL_ALL_BINS = ("ece is the sum of the gaps divided by the number of bins: weight each gap by "
                "its bin's share of the points, |B_b| / N")
CAL_SIGNED = ("ece matches the signed gaps acc - conf: without the absolute value, "
              "overconfident and underconfident bins cancel")
CAL_TOP_LABEL = ("that is the top-label ECE (confidence max(p, 1 - p) against the accuracy of "
                 "the thresholded prediction); here the bins hold p, the probability of the "
                 "positive class, against the fraction of positives, as in the reliability "
                 "diagram")


def _cal_bins(y_true, p, n_bins, edge_up=False):
    """Bin ids, counts and per-bin (fraction of positives, mean p)."""
    if edge_up:
        ids = np.minimum(np.floor(p * n_bins).astype(np.int64), n_bins - 1)
    else:
        ids = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)
    counts = np.bincount(ids, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        acc = np.bincount(ids, y_true, minlength=n_bins) / counts
        conf = np.bincount(ids, p, minlength=n_bins) / counts
    return counts, acc, conf


def _cal_mutant(y_true, p, n_bins, weighting="size", gap=np.abs, edge_up=False):
    counts, acc, conf = _cal_bins(y_true, p, n_bins, edge_up)
    full = counts > 0
    gaps = gap(acc[full] - conf[full])
    ece = {"size": np.sum(gaps * counts[full]) / len(p), "plain": np.mean(gaps),
           "bins": np.sum(gaps) / n_bins}[weighting]
    return {"counts": counts, "ece": np.float64(ece)}


def _cal_top_label(y_true, p, n_bins):
    conf = np.maximum(p, 1 - p)
    right = ((p > 0.5) == (y_true == 1)).astype(np.float64)
    return _cal_mutant(right, conf, n_bins)


_cal_catalogue = _catalogue(lambda **a: _cal_mutant(**a), [
    (CAL_EDGE, lambda **a: {"counts": _cal_mutant(**a, edge_up=True)["counts"]}),
    (CAL_UNWEIGHTED, lambda **a: {"ece": _cal_mutant(**a, weighting="plain")["ece"]}),
    (CAL_ALL_BINS, lambda **a: {"ece": _cal_mutant(**a, weighting="bins")["ece"]}),
    (CAL_SIGNED, lambda **a: {"ece": _cal_mutant(**a, gap=lambda d: d)["ece"]}),
    (CAL_SIGNED, lambda **a: {"ece": np.abs(_cal_mutant(**a, gap=lambda d: d)["ece"])}),
    (CAL_TOP_LABEL, _cal_top_label),  # binned by confidence, or ...
    (CAL_TOP_LABEL, lambda **a: {"ece": _cal_top_label(**a)["ece"]}),  # ... counts of p
])


def _cal_case(rng: np.random.Generator, n: int, n_bins: int, spread: float) -> Case:
    p = rng.beta(spread, spread, size=n)
    # 0 and 1 once each and, where the edges k / n_bins are exact binary fractions (n_bins a
    # power of 2), every edge once: there the tie rule decides
    exact = n_bins & (n_bins - 1) == 0
    p[: n_bins + 1 if exact else 2] = np.linspace(0, 1, n_bins + 1) if exact else (0.0, 1.0)
    y = (rng.uniform(size=n) < np.clip(1.3 * (p - 0.5) + 0.5, 0, 1)).astype(np.int64)
    return Case({"y_true": y, "p": p, "n_bins": n_bins})


def _cal_public() -> list[Case]:
    rng = np.random.default_rng(2505)
    hand = Case({"y_true": np.array([0, 1, 1, 0, 1, 0, 0, 1]),  # 0.1, 0.9: one top-label bin
                 "p": np.array([0.1, 0.2, 0.5, 0.5, 0.5, 0.75, 0.9, 1.0]), "n_bins": 8})
    return [hand, _cal_case(rng, 40, 4, 0.5), _cal_case(rng, 200, 10, 0.3),
            _cal_case(rng, 25, 8, 2.0)]


def _cal_hidden(rng: np.random.Generator) -> list[Case]:
    return [_cal_case(rng, int(rng.integers(20, 300)), n_bins, float(rng.uniform(0.2, 2.0)))
            for n_bins in (int(rng.choice([4, 8, 16])), int(rng.choice([5, 10, 15])))]


def _cal_reference(y_true: np.ndarray, p: np.ndarray, n_bins: int) -> dict[str, Any]:
    # Loops over the bins (lo, hi], the first closed at 0: independent of the vectorised
    # binning above and of dlbook.metrics.
    edges = np.linspace(0, 1, n_bins + 1)
    counts, ece = np.zeros(n_bins, dtype=np.int64), 0.0
    for b in range(n_bins):
        inside = (p > edges[b]) & (p <= edges[b + 1]) if b else p <= edges[1]
        counts[b] = inside.sum()
        if counts[b]:
            ece += counts[b] / len(p) * abs(y_true[inside].mean() - p[inside].mean())
    return {"ece": np.float64(ece), "counts": counts}


register(Question(
    id="ch05.calibration_find_the_bug",
    points=3,
    description="The expected calibration error of binary probabilities over n_bins equal bins "
                "(lo, hi], and the number of points in each bin, after finding a planted bug.",
    signature="expected_calibration_error(y_true, p, n_bins) -> (ece, counts)",
    outputs=("ece", "counts"),
    public=_cal_public,
    hidden=_cal_hidden,
    reference=_cal_reference,
    requirements=(_cal_catalogue,),
))
