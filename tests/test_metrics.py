"""dlbook.metrics against scikit-learn, the independent reference, on random and edge-case
inputs: ties in scores, a class never predicted, a single class present, drawn labels."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import metrics as M

sk = pytest.importorskip("sklearn.metrics")
model_selection = pytest.importorskip("sklearn.model_selection")
calibration = pytest.importorskip("sklearn.calibration")

SETTINGS = settings(max_examples=25, deadline=None)
AVERAGES = ["micro", "macro", "weighted", None]
ZERO_DIVISION = [0.0, 1.0, np.nan]


def label_pairs(max_classes: int = 5, max_n: int = 30):
    """Two equal-length label arrays with labels in 0 .. max_classes - 1."""
    return st.integers(1, max_n).flatmap(lambda n: st.tuples(
        st.lists(st.integers(0, max_classes - 1), min_size=n, max_size=n),
        st.lists(st.integers(0, max_classes - 1), min_size=n, max_size=n)))


def binary_scores(max_n: int = 30):
    """0/1 labels with both classes present and scores with many ties (few levels)."""
    return st.integers(2, max_n).flatmap(lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < n),
        st.lists(st.integers(0, 4).map(lambda k: k / 4) | st.floats(-3, 3), min_size=n,
                 max_size=n)))


def assert_close(ours, ref):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float),
                               rtol=1e-12, atol=1e-12)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# -- accuracy, confusion matrix, precision / recall / F1 ---------------------------------------
@SETTINGS
@given(label_pairs())
def test_accuracy_and_confusion_matrix_match_sklearn(pair):
    y_true, y_pred = map(np.array, pair)
    assert M.accuracy_score(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    k = int(max(y_true.max(), y_pred.max())) + 1
    cm = M.confusion_matrix(y_true, y_pred)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, quiet(sk.confusion_matrix, y_true, y_pred,
                                            labels=range(k)))
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred, num_classes=7),
                                  sk.confusion_matrix(y_true, y_pred, labels=range(7)))


@SETTINGS
@given(label_pairs(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISION))
def test_precision_recall_f1_match_sklearn(pair, average, zero_division):
    y_true, y_pred = map(np.array, pair)
    ours = M.precision_recall_fscore_support(y_true, y_pred, average=average,
                                             zero_division=zero_division)
    ref = sk.precision_recall_fscore_support(y_true, y_pred, average=average,
                                             zero_division=zero_division)
    for o, r in zip(ours[:3], ref[:3], strict=True):
        assert_close(o, r)
    if average is None:
        np.testing.assert_array_equal(ours[3], ref[3])
    for ours_fn, ref_fn in [(M.precision_score, sk.precision_score),
                            (M.recall_score, sk.recall_score), (M.f1_score, sk.f1_score)]:
        assert_close(ours_fn(y_true, y_pred, average=average, zero_division=zero_division),
                     ref_fn(y_true, y_pred, average=average, zero_division=zero_division))


@SETTINGS
@given(label_pairs(max_classes=2), st.sampled_from(ZERO_DIVISION + ["warn"]))
def test_binary_average_matches_sklearn(pair, zero_division):
    y_true, y_pred = map(np.array, pair)
    for ours_fn, ref_fn in [(M.precision_score, sk.precision_score),
                            (M.recall_score, sk.recall_score), (M.f1_score, sk.f1_score)]:
        assert_close(quiet(ours_fn, y_true, y_pred, zero_division=zero_division),
                     quiet(ref_fn, y_true, y_pred, zero_division=zero_division))


def test_class_never_predicted_warns_and_uses_zero_division():
    y_true, y_pred = np.array([0, 1, 2, 2, 1]), np.array([0, 1, 1, 1, 1])  # 2 never predicted
    with pytest.warns(M.UndefinedMetricWarning, match="precision"):
        p = M.precision_score(y_true, y_pred, average=None)
    assert_close(p, quiet(sk.precision_score, y_true, y_pred, average=None))
    assert p[2] == 0.0
    assert M.precision_score(y_true, y_pred, average="macro", zero_division=1.0) == \
        pytest.approx(sk.precision_score(y_true, y_pred, average="macro", zero_division=1.0))


def test_single_class_present():
    y = np.zeros(6, dtype=int)
    for fn in ("precision_score", "recall_score", "f1_score"):
        assert_close(quiet(getattr(M, fn), y, y), quiet(getattr(sk, fn), y, y))
    assert M.accuracy_score(y, y) == 1.0
    np.testing.assert_array_equal(M.confusion_matrix(y, y), [[6]])


# -- ROC, PR, AP -------------------------------------------------------------------------------
@SETTINGS
@given(binary_scores())
def test_roc_curve_and_auc_match_sklearn(data):
    y, s = map(np.array, data)
    for drop in (True, False):
        fpr, tpr, thr = M.roc_curve(y, s, drop_intermediate=drop)
        ref = sk.roc_curve(y, s, drop_intermediate=drop)
        assert_close(fpr, ref[0])
        assert_close(tpr, ref[1])
        assert thr[0] == np.inf
        assert_close(thr[1:], ref[2][1:])  # ref[2][0] is max + 1 before scikit-learn 1.3
    assert M.roc_auc_score(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)


@SETTINGS
@given(binary_scores())
def test_precision_recall_curve_and_ap_match_sklearn(data):
    y, s = map(np.array, data)
    for ours, ref in zip(M.precision_recall_curve(y, s), sk.precision_recall_curve(y, s),
                         strict=True):
        assert_close(ours, ref)
    assert M.average_precision_score(y, s) == pytest.approx(
        sk.average_precision_score(y, s), abs=1e-12)


def test_all_scores_tied_give_chance_auc_and_diagonal_roc():
    y, s = np.array([0, 1, 1, 0, 1]), np.full(5, 0.3)
    fpr, tpr, thr = M.roc_curve(y, s)
    assert_close(fpr, [0, 1])
    assert_close(tpr, [0, 1])
    assert M.roc_auc_score(y, s) == 0.5


def test_single_class_in_y_true_is_undefined_like_sklearn():
    y, s = np.ones(4, dtype=int), np.array([0.1, 0.4, 0.4, 0.9])
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.roc_auc_score(y, s))
    with pytest.warns(M.UndefinedMetricWarning):
        fpr, tpr, _ = M.roc_curve(y, s)
    ref = quiet(sk.roc_curve, y, s)
    assert_close(fpr, ref[0])
    assert_close(tpr, ref[1])
    y0 = np.zeros(4, dtype=int)
    for ours, ref in zip(quiet(M.precision_recall_curve, y0, s),
                         quiet(sk.precision_recall_curve, y0, s), strict=True):
        assert_close(ours, ref)
    assert M.average_precision_score(y, s) == pytest.approx(sk.average_precision_score(y, s))


@SETTINGS
@given(st.integers(3, 5), st.integers(0, 2**32 - 1))
def test_multiclass_ovr_auc_matches_sklearn(k, seed):
    rng = np.random.default_rng(seed)
    n = 4 * k + int(rng.integers(0, 10))
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]  # every class present
    logits = np.round(rng.normal(size=(n, k)), 1) + np.eye(k)[y]  # ties after rounding
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert M.roc_auc_score(y, p) == pytest.approx(
        sk.roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12)


# -- regression, log loss, calibration ---------------------------------------------------------
@SETTINGS
@given(st.integers(2, 30), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_regression_metrics_match_sklearn(n, d, seed):
    rng = np.random.default_rng(seed)
    shape = (n,) if d == 1 else (n, d)
    y, p = rng.normal(size=shape), rng.normal(size=shape)
    for ours, ref in [(M.mean_absolute_error, sk.mean_absolute_error),
                      (M.mean_squared_error, sk.mean_squared_error), (M.r2_score, sk.r2_score)]:
        assert ours(y, p) == pytest.approx(ref(y, p), rel=1e-12, abs=1e-12)
        assert ours(y, y) == pytest.approx(ref(y, y), abs=1e-12)


def test_r2_edge_cases_match_sklearn():
    const = np.full(5, 2.0)
    assert M.r2_score(const, const) == sk.r2_score(const, const) == 1.0
    assert M.r2_score(const, const + 1) == sk.r2_score(const, const + 1) == 0.0
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.r2_score([1.0], [2.0]))


def _sk_log_loss(y, p, labels):
    try:
        return sk.log_loss(y, y_proba=p, labels=labels)  # scikit-learn >= 1.9
    except TypeError:
        return sk.log_loss(y, p, labels=labels)


@SETTINGS
@given(st.integers(1, 30), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_log_loss_matches_sklearn(n, k, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), size=n)
    p[0] = np.eye(k)[(y[0] + 1) % k]  # a certain mistake: clipped, not infinite
    assert M.log_loss(y, p) == pytest.approx(_sk_log_loss(y, p, range(k)), rel=1e-12)
    yb, pb = (y > 0).astype(int), rng.uniform(size=n)
    assert M.log_loss(yb, pb) == pytest.approx(_sk_log_loss(yb, pb, [0, 1]), rel=1e-12)


@SETTINGS
@given(st.integers(2, 40), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_calibration_curve_matches_sklearn(n, n_bins, seed):
    rng = np.random.default_rng(seed)
    p = np.r_[rng.integers(0, 11, n) / 10, 0.0, 1.0]  # values on bin edges too
    y = np.r_[(rng.uniform(size=n) < p[:n]).astype(int), 0, 1]
    for ours, ref in zip(M.calibration_curve(y, p, n_bins=n_bins),
                         calibration.calibration_curve(y, p, n_bins=n_bins), strict=True):
        assert_close(ours, ref)


def test_ece_by_hand():
    # Bins of width 0.5: {0.2, 0.4} has mean 0.3 and 1 of 2 positive; {0.9} has 1 of 1.
    y, p = np.array([0, 1, 1]), np.array([0.2, 0.4, 0.9])
    assert M.expected_calibration_error(y, p, n_bins=2) == pytest.approx(
        2 / 3 * abs(0.5 - 0.3) + 1 / 3 * abs(1.0 - 0.9))
    assert M.expected_calibration_error([0, 1, 1, 1], [0.0, 1.0, 1.0, 1.0]) == 0.0


# -- splits ------------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(2, 40), st.integers(2, 6))
def test_kfold_matches_sklearn_without_shuffle(n, k):
    if k > n:
        with pytest.raises(ValueError, match="n_splits"):
            next(M.kfold_indices(n, k))
        return
    ours = list(M.kfold_indices(n, k))
    ref = list(model_selection.KFold(k).split(np.zeros(n)))
    assert len(ours) == len(ref) == k
    for (tr, va), (rtr, rva) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)


@SETTINGS
@given(st.lists(st.sampled_from([4, 1, 7]), min_size=6, max_size=40), st.integers(2, 4))
def test_stratified_kfold_matches_sklearn_without_shuffle(y, k):
    y = np.array(y)
    if k > np.bincount(y).max():
        return
    ours = quiet(lambda: list(M.stratified_kfold_indices(y, k)))
    ref = quiet(lambda: list(model_selection.StratifiedKFold(k).split(np.zeros(len(y)), y)))
    for (tr, va), (rtr, rva) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)


def test_shuffled_folds_partition_keep_strata_and_are_reproducible():
    y = np.repeat([0, 1, 2], [30, 15, 5])
    folds = list(M.stratified_kfold_indices(y, 5, shuffle=True, rng=3))
    val = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(val), np.arange(50))  # each sample once
    for tr, va in folds:
        assert np.intersect1d(tr, va).size == 0 and len(tr) + len(va) == 50
        np.testing.assert_array_equal(np.bincount(y[va]), [6, 3, 1])
    again = list(M.stratified_kfold_indices(y, 5, shuffle=True, rng=3))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    shuffled = [v for _, v in M.kfold_indices(50, 5, shuffle=True, rng=0)]
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(50))
    assert not np.array_equal(shuffled[0], np.arange(10))


def test_train_val_test_split_sizes_disjoint_stratified_reproducible():
    X, y = np.arange(200).reshape(100, 2), np.repeat([0, 1], [80, 20])
    parts = M.train_val_test_split(X, y, val_size=0.2, test_size=0.1, rng=0, stratify=y)
    X_tr, X_va, X_te, y_tr, y_va, y_te = parts
    assert (len(X_tr), len(X_va), len(X_te)) == (70, 20, 10)
    rows = np.concatenate([X_tr[:, 0], X_va[:, 0], X_te[:, 0]]) // 2
    np.testing.assert_array_equal(np.sort(rows), np.arange(100))
    np.testing.assert_array_equal(y_tr, y[X_tr[:, 0] // 2])  # X and y stay aligned
    assert (y_va.mean(), y_te.mean()) == (0.2, 0.2)
    again = M.train_val_test_split(X, y, val_size=0.2, test_size=0.1, rng=0, stratify=y)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


# -- clear errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: M.accuracy_score([0, 1], [0, 1, 1]), "inconsistent numbers of samples"),
    (lambda: M.confusion_matrix([[0, 1]], [[0, 1]]), "must be 1-D"),
    (lambda: M.confusion_matrix([0, 3], [0, 1], num_classes=3), "does not fit"),
    (lambda: M.confusion_matrix([0, -1], [0, 1]), "0 .. num_classes - 1"),
    (lambda: M.f1_score([0, 1, 2], [0, 1, 2]), "average='binary' needs labels in"),
    (lambda: M.f1_score([0, 1], [0, 1], average="samples"), "average must be one of"),
    (lambda: M.f1_score([0, 1], [0, 1], zero_division=0.5), "zero_division"),
    (lambda: M.precision_score([0.5, 1.0], [0, 1]), "integer class labels"),
    (lambda: M.roc_curve([0, 2, 1], [0.1, 0.2, 0.3]), "binary labels"),
    (lambda: M.roc_auc_score([0, 1], [0.1, np.nan]), "NaN"),
    (lambda: M.roc_auc_score([0, 1, 1], [[0.5, 0.5], [0.2, 0.8], [0.6, 0.6]]), "sum to 1"),
    (lambda: M.roc_auc_score([0, 1, 1], np.full((3, 3), 1 / 3)), "every label"),
    (lambda: M.log_loss([0, 1], [[0.2, 0.9], [0.5, 0.5]]), "sum to 1"),
    (lambda: M.log_loss([0, 1], [1.2, 0.5]), r"\[0, 1\]"),
    (lambda: M.log_loss([0, 3], [[0.5, 0.5], [0.5, 0.5]]), "labels must be in"),
    (lambda: M.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 1))), "shape"),
    (lambda: M.r2_score([], []), "empty"),
    (lambda: M.calibration_curve([0, 1], [0.2, 0.9], n_bins=0), "n_bins"),
    (lambda: next(M.kfold_indices(10, 1)), "at least 2"),
    (lambda: next(M.stratified_kfold_indices([0, 0, 1], 3)), "every class"),
    (lambda: M.train_val_test_split(np.zeros(4), np.zeros(5)), "different lengths"),
    (lambda: M.train_val_test_split(np.zeros(4), val_size=0.5, test_size=0.5), "fractions"),
])
def test_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_each_score_warns_only_about_itself():
    y_true, y_pred = np.array([0, 1, 1]), np.zeros(3, dtype=int)  # 1 is never predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.recall_score(y_true, y_pred) == 0.0  # precision is 0/0, recall is not
    with pytest.warns(M.UndefinedMetricWarning, match="precision"):
        M.precision_score(y_true, y_pred)
