"""dlbook.nn losses against torch: values, gradients, reductions, weights, errors, gradcheck."""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
REDUCTIONS = ["mean", "sum", "none"]
LOSSES = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


def to_torch(a, device="cpu"):
    return None if a is None else torch.tensor(np.asarray(a), device=device)


def run_both(name, kwargs, pred, target, grad=None, device="cpu"):
    """Loss and input gradient from torch and from dlbook, for the same arrays.

    ``kwargs`` holds NumPy arrays for ``weight``/``pos_weight``; torch gets tensors of them.
    ``grad`` is the upstream gradient (None: torch's implicit 1 for a scalar loss).
    """
    tkwargs = {k: to_torch(v, device) if isinstance(v, np.ndarray) else v
               for k, v in kwargs.items()}
    tp = torch.tensor(pred, device=device, requires_grad=True)
    tl = getattr(torch.nn, name)(**tkwargs)(tp, to_torch(target, device))
    tl.backward(None if grad is None else to_torch(grad, device))
    crit = getattr(nn, name)(**kwargs)
    pred_before, target_before = pred.copy(), np.array(target, copy=True)
    loss = crit(pred, target)
    gx = crit.backward() if grad is None else crit.backward(grad)
    np.testing.assert_array_equal(pred, pred_before)  # inputs are never modified
    np.testing.assert_array_equal(target, target_before)
    want = (tl.detach().cpu().numpy(), tp.grad.cpu().numpy())
    return (loss, gx), want


def assert_close(got, want, rtol=1e-10, atol=1e-12):
    (loss, gx), (want_loss, want_gx) = got, want
    if np.ndim(want_loss) == 0:
        assert isinstance(loss, float)
    else:
        assert isinstance(loss, np.ndarray) and loss.shape == want_loss.shape
    np.testing.assert_allclose(loss, want_loss, rtol=rtol, atol=atol)
    assert gx.shape == want_gx.shape
    np.testing.assert_allclose(gx, want_gx, rtol=rtol, atol=atol)


def upstream(reduction, shape, rng):
    """A random upstream gradient: an array for 'none', a number otherwise."""
    return rng.standard_normal(shape) if reduction == "none" else 0.7


def log_probs(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


# -- MSELoss and L1Loss ------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1,), (5, 4), (2, 3, 4), (1, 1, 1)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
def test_regression_losses_match_torch(name, reduction, shape, device):
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    g = upstream(reduction, shape, rng)
    assert_close(*run_both(name, {"reduction": reduction}, pred, target, g, device))
    assert_close(*run_both(name, {"reduction": reduction}, pred, target, None if
                           reduction != "none" else g, device))


def test_l1_subgradient_at_zero_is_zero_like_torch():
    pred = np.array([1.0, 2.0, 3.0])
    got, want = run_both("L1Loss", {}, pred, np.array([1.0, 0.0, 3.0]))
    assert_close(got, want)
    assert got[1][0] == 0.0


# -- NLLLoss and CrossEntropyLoss with class indices ---------------------------------------

# (input shape, target shape): batched, one sample, unbatched, spatial (N, C, d1[, d2]).
CLASS_SHAPES = [((5, 4), (5,)), ((1, 3), (1,)), ((4,), ()), ((2, 3, 5), (2, 5)),
                ((2, 4, 3, 2), (2, 3, 2))]
CLASS_IDS = [f"{i}->{t}" for i, t in CLASS_SHAPES]


def class_problem(in_shape, t_shape, rng, ignore=None):
    axis = 0 if len(in_shape) == 1 else 1
    n_classes = in_shape[axis]
    x = 2 * rng.standard_normal(in_shape)
    target = rng.integers(0, n_classes, size=t_shape)
    if ignore is not None:
        target = np.where(rng.random(t_shape) < 0.3, ignore, target)
    return x, target, n_classes, axis


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("in_shape", "t_shape"), CLASS_SHAPES, ids=CLASS_IDS)
def test_nll_loss_matches_torch(in_shape, t_shape, reduction, ignore_index, weighted, device):
    rng = np.random.default_rng(1)
    x, target, n_classes, axis = class_problem(in_shape, t_shape, rng, ignore_index)
    kwargs = {"reduction": reduction, "ignore_index": ignore_index,
              "weight": rng.random(n_classes) + 0.1 if weighted else None}
    g = upstream(reduction, t_shape, rng)
    assert_close(*run_both("NLLLoss", kwargs, log_probs(x, axis), target, g, device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("in_shape", "t_shape"), CLASS_SHAPES, ids=CLASS_IDS)
def test_cross_entropy_class_indices_match_torch(in_shape, t_shape, reduction, ignore_index,
                                                 weighted, label_smoothing, device):
    rng = np.random.default_rng(2)
    x, target, n_classes, _ = class_problem(in_shape, t_shape, rng, ignore_index)
    kwargs = {"reduction": reduction, "ignore_index": ignore_index,
              "label_smoothing": label_smoothing,
              "weight": rng.random(n_classes) + 0.1 if weighted else None}
    g = upstream(reduction, t_shape, rng)
    assert_close(*run_both("CrossEntropyLoss", kwargs, x, target, g, device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("in_shape", [(5, 4), (4,), (2, 3, 5), (2, 4, 3, 2)])
def test_cross_entropy_probabilities_match_torch(in_shape, reduction, weighted,
                                                 label_smoothing, device):
    rng = np.random.default_rng(3)
    axis = 0 if len(in_shape) == 1 else 1
    x = 2 * rng.standard_normal(in_shape)
    target = np.exp(log_probs(rng.standard_normal(in_shape), axis))
    kwargs = {"reduction": reduction, "label_smoothing": label_smoothing,
              "weight": rng.random(in_shape[axis]) + 0.1 if weighted else None}
    g = upstream(reduction, in_shape[:axis] + in_shape[axis + 1:], rng)
    assert_close(*run_both("CrossEntropyLoss", kwargs, x, target, g, device))


@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.3]), weighted=st.booleans(),
       reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
@settings(max_examples=15, deadline=None)
def test_cross_entropy_drawn_shapes(n, c, extra, smoothing, weighted, reduction, seed):
    rng = np.random.default_rng(seed)
    in_shape, t_shape = (n, c, *extra), (n, *extra)
    x, target, _, _ = class_problem(in_shape, t_shape, rng, ignore=-100)
    kwargs = {"reduction": reduction, "label_smoothing": smoothing,
              "weight": rng.random(c) + 0.1 if weighted else None}
    g = upstream(reduction, t_shape, rng)
    got, want = run_both("CrossEntropyLoss", kwargs, x, target, g)
    if np.all(target == -100) and reduction == "mean":  # 0/0: both nan, gradients 0
        assert np.isnan(got[0]) and np.isnan(want[0])
        np.testing.assert_array_equal(got[1], want[1])
    else:
        assert_close(got, want)


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_all_targets_ignored_gives_nan_and_zero_grad_like_torch(name):
    x, target = np.random.default_rng(4).standard_normal((3, 4)), np.array([1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (loss, gx), (want_loss, want_gx) = run_both(name, {"ignore_index": 1}, x, target)
    assert np.isnan(loss) and np.isnan(want_loss)
    np.testing.assert_array_equal(gx, want_gx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_extreme_logits_stay_finite(dtype):
    x = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, 0.0]], dtype=dtype)
    target = np.array([1, 1, 2])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        (loss, gx), (want_loss, want_gx) = run_both("CrossEntropyLoss", {}, x, target)
    assert np.isfinite(loss) and np.isfinite(gx).all() and gx.dtype == dtype
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-6, atol=1e-7)


# -- BCELoss and BCEWithLogitsLoss --------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("weight_shape", [None, (4,), (5, 4), (5, 1)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["BCELoss", "BCEWithLogitsLoss"])
def test_binary_losses_match_torch(name, reduction, weight_shape, device):
    rng = np.random.default_rng(5)
    logits = 3 * rng.standard_normal((5, 4))
    pred = 1 / (1 + np.exp(-logits)) if name == "BCELoss" else logits
    target = rng.random((5, 4))  # soft targets are allowed by both
    kwargs = {"reduction": reduction,
              "weight": None if weight_shape is None else rng.random(weight_shape) + 0.1}
    g = upstream(reduction, (5, 4), rng)
    assert_close(*run_both(name, kwargs, pred, target, g, device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4)])
def test_bce_with_logits_pos_weight_matches_torch(shape, reduction, device):
    rng = np.random.default_rng(6)
    x = 3 * rng.standard_normal(shape)
    target = rng.integers(0, 2, size=shape).astype(np.float64)
    kwargs = {"reduction": reduction, "pos_weight": rng.random(shape[-1]) * 3,
              "weight": rng.random(shape[-1]) + 0.5}
    g = upstream(reduction, shape, rng)
    assert_close(*run_both("BCEWithLogitsLoss", kwargs, x, target, g, device))


def test_bce_clamps_log_at_minus_100_like_torch():
    pred = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-50])
    target = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    g = np.ones(6)
    with np.errstate(divide="raise", invalid="raise"):
        (loss, gx), want = run_both("BCELoss", {"reduction": "none"}, pred, target, g)
    assert np.isfinite(loss).all() and loss[2] == loss[3] == 100.0
    assert_close((loss, gx), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_extreme_logits_stay_finite(dtype):
    x = np.array([-1e4, -1000.0, -50.0, 0.0, 50.0, 1000.0, 1e4], dtype=dtype)
    target = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        (loss, gx), (want_loss, want_gx) = run_both(
            "BCEWithLogitsLoss", {"reduction": "none", "pos_weight": np.array([2.0], dtype)},
            x, target, np.ones_like(x))
    assert np.isfinite(loss).all() and np.isfinite(gx).all()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-6)


# -- float32, gradcheck, state, signatures ------------------------------------------------

def loss_problem(name, rng, dtype=np.float64):
    """A (pred, target, kwargs) that exercises every option of ``name``."""
    x = rng.standard_normal((4, 3, 2)).astype(dtype)
    if name in ("CrossEntropyLoss", "NLLLoss"):
        kwargs = {"weight": (rng.random(3) + 0.5).astype(dtype), "ignore_index": 0}
        if name == "CrossEntropyLoss":
            kwargs["label_smoothing"] = 0.1
        pred = log_probs(x, 1) if name == "NLLLoss" else x
        return pred, rng.integers(0, 3, size=(4, 2)), kwargs
    target = rng.random((4, 3, 2)).astype(dtype)
    if name == "BCELoss":
        return (1 / (1 + np.exp(-x))).astype(dtype), target, {"weight": np.ones(2, dtype)}
    if name == "BCEWithLogitsLoss":
        return x, target, {"pos_weight": (rng.random(2) + 0.5).astype(dtype)}
    return x, rng.standard_normal((4, 3, 2)).astype(dtype), {}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_float32_matches_torch(name, reduction):
    rng = np.random.default_rng(7)
    pred, target, kwargs = loss_problem(name, rng, np.float32)
    t_shape = pred.shape if name not in ("CrossEntropyLoss", "NLLLoss") else target.shape
    g = upstream(reduction, t_shape, rng)
    g = g.astype(np.float32) if isinstance(g, np.ndarray) else g
    got, want = run_both(name, {**kwargs, "reduction": reduction}, pred, target, g)
    assert got[1].dtype == np.float32
    assert_close(got, want, rtol=2e-5, atol=1e-6)




@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_gradcheck_central_differences(name, reduction):
    rng = np.random.default_rng(8)
    pred, target, kwargs = loss_problem(name, rng)
    if name == "L1Loss":
        pred = np.where(np.abs(pred - target) < 0.05, pred + 0.1, pred)  # away from the kink
    crit = getattr(nn, name)(**kwargs, reduction=reduction)
    out = crit(pred, target)
    g = rng.standard_normal(np.shape(out)) if reduction == "none" else 0.7
    gx = crit.backward(g)
    numeric = numeric_grad(lambda: np.sum(crit(pred, target) * g), pred)
    np.testing.assert_allclose(gx, numeric, atol=1e-7)


def test_weight_is_a_buffer_like_torch():
    w = np.array([0.2, 1.0, 3.0])
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss"):
        ours, theirs = getattr(nn, name)(weight=w), getattr(torch.nn, name)(weight=torch.tensor(w))
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
        assert not getattr(nn, name)().state_dict() and not getattr(torch.nn, name)().state_dict()
    ours = nn.BCEWithLogitsLoss(pos_weight=w)
    assert list(ours.state_dict()) == ["pos_weight"]
    ours.load_state_dict({"pos_weight": torch.tensor(2 * w)})
    np.testing.assert_array_equal(ours.pos_weight, 2 * w)


@pytest.mark.parametrize("name", LOSSES)
def test_signature_and_repr_match_torch(name):
    ours = inspect.signature(getattr(nn, name)).parameters
    theirs = inspect.signature(getattr(torch.nn, name)).parameters
    assert list(ours) == list(theirs)
    assert all(ours[k].default == theirs[k].default for k in theirs)
    assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


@pytest.mark.parametrize(("flags", "expected"), [({"size_average": False}, "sum"),
                                                 ({"reduce": False}, "none"),
                                                 ({"size_average": True, "reduce": True}, "mean")])
def test_deprecated_flags_map_like_torch(flags, expected):
    with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
        assert torch.nn.MSELoss(**flags).reduction == expected
    with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
        assert nn.MSELoss(**flags).reduction == expected


# -- clear errors -------------------------------------------------------------------------

@pytest.mark.parametrize("name", LOSSES)
def test_generic_errors(name):
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        getattr(nn, name)(reduction="avg")
    crit = getattr(nn, name)()
    with pytest.raises(RuntimeError, match="before forward"):
        crit.backward()
    pred, target, _ = loss_problem(name, np.random.default_rng(9))
    with pytest.raises(TypeError, match="floating"):
        crit(pred.astype(np.int64), target)
    crit(pred, target)
    with pytest.raises(ValueError, match="the loss is a scalar"):
        crit.backward(np.ones(3))
    crit = getattr(nn, name)(reduction="none")
    loss = crit(pred, target)
    expected = re.escape(f"reduction='none' gave a loss of shape {loss.shape}")
    with pytest.raises(ValueError, match=expected):
        crit.backward()
    with pytest.raises(ValueError, match="grad_out has shape"):
        crit.backward(np.ones((7,)))


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"])
def test_target_shape_mismatch_names_the_expected_shape(name):
    with pytest.raises(ValueError, match=r"target must have the input's shape \(4, 1\)"):
        getattr(nn, name)()(np.full((4, 1), 0.5), np.full((4,), 0.5))


def test_class_target_errors():
    x = np.zeros((4, 3))
    with pytest.raises(IndexError, match=r"target 5 is out of bounds: expected 0 <= target < 3"):
        nn.NLLLoss()(x, np.array([0, 1, 5, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(x, np.array([0, -1, 2, 1]))
    nn.CrossEntropyLoss(ignore_index=-1)(x, np.array([0, -1, 2, 1]))  # ignored: no error
    with pytest.raises(TypeError, match=r"expected a class-index target of integers, shape \(4,\)"):
        nn.NLLLoss()(x, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected a class-index target of shape \(4,\)"):
        nn.NLLLoss()(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"shape \(4,\) \(N, d1, \.\.\.\) or class probabilities"):
        nn.CrossEntropyLoss()(x, np.array([[0, 1], [2, 1]]))
    with pytest.raises(ValueError, match=r"weight must have shape \(C,\) = \(3,\)"):
        nn.CrossEntropyLoss(weight=np.ones(4))(x, np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="ignore_index is not supported"):
        nn.CrossEntropyLoss(ignore_index=1)(x, np.full((4, 3), 1 / 3))
    with pytest.raises(TypeError, match="class-probability target"):
        nn.CrossEntropyLoss()(np.zeros(3), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


def test_binary_errors():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.BCELoss()(np.array([0.5, 1.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.BCELoss()(np.array([0.5, np.nan]), np.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="target must be a floating array"):
        nn.BCEWithLogitsLoss()(np.zeros(3), np.array([1, 0, 1]))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast"):
        nn.BCEWithLogitsLoss(pos_weight=np.ones(3))(np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 2, 4\) does not broadcast"):
        nn.BCELoss(weight=np.ones((2, 2, 4)))(np.full((2, 4), 0.5), np.zeros((2, 4)))


# -- one convention for every loss ------------------------------------------------------------
ELEMENTWISE = [("MSELoss", {}), ("L1Loss", {}), ("BCELoss", {}), ("BCEWithLogitsLoss", {}),
               ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}),
               ("HuberLoss", {"delta": 0.5})]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("name", "kwargs"), ELEMENTWISE)
def test_every_loss_returns_a_gradient_of_the_input_shape_and_dtype(name, kwargs, reduction,
                                                                    dtype):
    """Every elementwise loss (HuberLoss and SmoothL1Loss included) goes through the one base
    class: the same reduction, upstream scale and errors; the gradient is shaped as the input."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 0.95, (4, 3)).astype(dtype)
    t = rng.uniform(0.05, 0.95, (4, 3)).astype(dtype)
    crit = getattr(nn, name)(reduction=reduction, **kwargs)
    loss = crit(x, t)
    assert isinstance(crit, nn.loss._Loss)
    grad_out = np.full(x.shape, 2.0, dtype) if reduction == "none" else 2.0
    grad = crit.backward(grad_out)
    assert grad.shape == x.shape and grad.dtype == dtype
    if reduction == "none":
        assert loss.shape == x.shape and loss.dtype == dtype
        crit(x, t)
        with pytest.raises(ValueError, match="pass grad_out of that shape"):
            crit.backward(1.0)
    else:
        assert isinstance(loss, float)
        crit(x, t)
        with pytest.raises(ValueError, match="the loss is a scalar"):
            crit.backward(np.ones(3))
    with pytest.raises(ValueError, match="target must have the input's shape"):
        crit(x, t[:, :2])


def test_gaussian_kl_loss_goes_through_the_loss_base_class():
    crit = nn.GaussianKLLoss()
    assert isinstance(crit, nn.loss._Loss) and crit.reduction == "batchmean"
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.GaussianKLLoss(reduction="average")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="batchmean")  # only the KL loss has a per-example mean
