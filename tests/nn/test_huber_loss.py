"""dlbook.nn.HuberLoss and SmoothL1Loss against torch: values and input gradients for every
reduction, delta and beta (beta = 0 included), float32, the kinks, gradcheck, signatures, errors.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
REDUCTIONS = ["mean", "sum", "none"]
# (loss name, its threshold argument, thresholds to try)
CASES = [("HuberLoss", "delta", [1.0, 0.3, 2.5]), ("SmoothL1Loss", "beta", [1.0, 0.3, 2.5, 0.0])]
PARAMS = [(name, arg, value) for name, arg, values in CASES for value in values]


def run_both(name, kwargs, pred, target, grad, device="cpu"):
    """(loss, grad input) from dlbook and from torch for the same arrays and upstream grad."""
    tp = torch.tensor(pred, device=device, requires_grad=True)
    tl = getattr(torch.nn, name)(**kwargs)(tp, torch.tensor(target, device=device))
    tl.backward(torch.tensor(grad, device=device, dtype=tl.dtype))
    crit = getattr(nn, name)(**kwargs)
    before = pred.copy(), target.copy()
    loss = crit(pred, target)
    gx = crit.backward(grad)
    np.testing.assert_array_equal(pred, before[0])  # inputs are never modified
    np.testing.assert_array_equal(target, before[1])
    return (loss, gx), (tl.detach().cpu().numpy(), tp.grad.cpu().numpy())


def upstream(reduction, shape, rng, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype) if reduction == "none" else 0.7


def problem(shape, threshold, rng, dtype=np.float64):
    """Differences spread over both sides of the threshold (and exactly at it and at 0)."""
    pred = 2 * rng.standard_normal(shape)
    target = 2 * rng.standard_normal(shape)
    flat_t = target.reshape(-1)
    flat_p = pred.reshape(-1)
    if flat_p.size >= 3:
        flat_p[0] = flat_t[0] + threshold     # exactly at the kink
        flat_p[1] = flat_t[1] - threshold
        flat_p[2] = flat_t[2]                 # zero difference
    return pred.astype(dtype), target.astype(dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1,), (7,), (5, 4), (2, 3, 4), (1, 1, 1)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "arg", "threshold"), PARAMS)
def test_float64_matches_torch(name, arg, threshold, reduction, shape, device):
    rng = np.random.default_rng(0)
    pred, target = problem(shape, threshold, rng)
    (loss, gx), (want_loss, want_gx) = run_both(
        name, {arg: threshold, "reduction": reduction}, pred, target,
        upstream(reduction, shape, rng), device)
    if reduction == "none":
        assert isinstance(loss, np.ndarray) and loss.shape == shape
    else:
        assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-12)
    assert gx.shape == shape
    np.testing.assert_allclose(gx, want_gx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "arg", "threshold"), PARAMS)
def test_float32_matches_torch(name, arg, threshold, reduction):
    rng = np.random.default_rng(1)
    pred, target = problem((6, 5), threshold, rng, np.float32)
    (loss, gx), (want_loss, want_gx) = run_both(
        name, {arg: threshold, "reduction": reduction}, pred, target,
        upstream(reduction, (6, 5), rng, np.float32))
    assert gx.dtype == np.float32
    if reduction == "none":
        assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, want_loss, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(gx, want_gx, rtol=2e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       threshold=st.floats(0.05, 3.0), seed=st.integers(0, 2**16),
       which=st.sampled_from(["HuberLoss", "SmoothL1Loss"]),
       reduction=st.sampled_from(REDUCTIONS))
def test_drawn_shapes_and_thresholds(shape, threshold, seed, which, reduction):
    rng = np.random.default_rng(seed)
    pred, target = problem(shape, threshold, rng)
    arg = "delta" if which == "HuberLoss" else "beta"
    (loss, gx), (want_loss, want_gx) = run_both(
        which, {arg: threshold, "reduction": reduction}, pred, target,
        upstream(reduction, shape, rng))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "arg", "threshold"), PARAMS)
def test_gradcheck_central_differences(name, arg, threshold, reduction):
    rng = np.random.default_rng(2)
    pred, target = 2 * rng.standard_normal((4, 3)), 2 * rng.standard_normal((4, 3))
    kinks = [0.0, threshold, -threshold]  # move differences away from the kinks
    for k in kinks:
        pred = np.where(np.abs(pred - target - k) < 0.05, pred + 0.2, pred)
    crit = getattr(nn, name)(**{arg: threshold, "reduction": reduction})
    out = crit(pred, target)
    g = rng.standard_normal(np.shape(out)) if reduction == "none" else 0.7
    gx = crit.backward(g)
    numeric = numeric_grad(lambda: np.sum(crit(pred, target) * g), pred)
    np.testing.assert_allclose(gx, numeric, atol=1e-7)


def test_the_two_losses_by_hand():
    """Values written out from the definitions: d = -3, -1, -0.25, 0, 0.5, 2, with delta=beta=1."""
    d = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0])
    zero = np.zeros_like(d)
    huber = nn.HuberLoss(reduction="none")
    np.testing.assert_allclose(huber(d, zero), [2.5, 0.5, 0.03125, 0.0, 0.125, 1.5])
    np.testing.assert_allclose(huber.backward(np.ones(6)), [-1.0, -1.0, -0.25, 0.0, 0.5, 1.0])
    wide = nn.HuberLoss(reduction="sum", delta=2.0)
    assert wide(d, zero) == pytest.approx(4.0 + 0.5 + 0.03125 + 0.125 + 2.0)
    np.testing.assert_allclose(wide.backward(), [-2.0, -1.0, -0.25, 0.0, 0.5, 2.0])
    smooth = nn.SmoothL1Loss(beta=2.0, reduction="none")
    np.testing.assert_allclose(smooth(d, zero), [2.0, 0.25, 0.015625, 0.0, 0.0625, 1.0])
    np.testing.assert_allclose(smooth.backward(np.ones(6)), [-1.0, -0.5, -0.125, 0.0, 0.25, 1.0])


def test_huber_is_delta_times_smooth_l1():
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal(20) * 3, rng.standard_normal(20)
    for delta in (0.5, 1.0, 2.0):
        assert nn.HuberLoss(delta=delta)(pred, target) == pytest.approx(
            delta * nn.SmoothL1Loss(beta=delta)(pred, target), rel=1e-12)


def test_smooth_l1_with_beta_zero_is_l1_with_sign_0_at_zero():
    pred, target = np.array([1.0, 2.0, -3.0]), np.array([1.0, 0.0, 0.0])
    crit, l1 = nn.SmoothL1Loss(beta=0.0), nn.L1Loss()
    assert crit(pred, target) == l1(pred, target)
    grad = crit.backward()  # one backward per forward
    np.testing.assert_array_equal(grad, l1.backward())
    assert grad[0] == 0.0


@pytest.mark.parametrize("name", ["HuberLoss", "SmoothL1Loss"])
def test_signature_and_repr_match_torch(name):
    ours = inspect.signature(getattr(nn, name)).parameters
    theirs = inspect.signature(getattr(torch.nn, name)).parameters
    assert list(ours) == list(theirs)
    assert all(ours[k].default == theirs[k].default for k in theirs)
    assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    assert not getattr(nn, name)().state_dict()


def test_deprecated_flags_of_smooth_l1_map_like_torch():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.SmoothL1Loss(size_average=False).reduction == "sum"


def test_clear_errors():
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(delta=0.0)
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(delta=-1.0)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        nn.SmoothL1Loss(beta=-0.5)
    for name in ("HuberLoss", "SmoothL1Loss"):
        with pytest.raises(ValueError, match="not a valid value for reduction"):
            getattr(nn, name)(reduction="avg")
        crit = getattr(nn, name)()
        with pytest.raises(RuntimeError, match="before forward"):
            crit.backward()
        with pytest.raises(ValueError, match=r"target must have the input's shape \(4, 1\)"):
            crit(np.zeros((4, 1)), np.zeros(4))
        with pytest.raises(TypeError, match="floating"):
            crit(np.zeros(3, dtype=np.int64), np.zeros(3))
        crit(np.zeros(3), np.ones(3))
        with pytest.raises(ValueError, match="the loss is a scalar"):
            crit.backward(np.ones(3))
