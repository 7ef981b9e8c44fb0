"""dlbook.nn.utils (clip_grad_norm_, clip_grad_value_) against torch.nn.utils."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dlbook.nn as nn
from dlbook.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm

SHAPES = [(3, 4), (4,), (2, 3, 5), (1,)]


def twins(grads: list[np.ndarray | None], device: str = "cpu"):
    """dlbook Parameters and torch leaf tensors holding copies of the same gradients."""
    ours, theirs = [], []
    for g in grads:
        shape = (2,) if g is None else g.shape
        p = nn.Parameter(np.zeros(shape))
        t = torch.zeros(shape, dtype=torch.float64, device=device, requires_grad=True)
        if g is not None:
            p.grad, t.grad = g.copy(), torch.tensor(g, device=device)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def assert_grads_equal(ours, theirs, **tol) -> None:
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, t.grad.cpu().numpy(), **tol)


@pytest.mark.parametrize("norm_type", [1, 2, 2.0, math.inf, "inf", 3.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clips, and leaves the gradients alone
def test_clip_grad_norm_matches_torch(norm_type, max_norm, randn, device):
    grads = [3 * randn(*s) for s in SHAPES] + [None]  # the last parameter has no gradient
    ours, theirs = twins(grads, device)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(want.item(), rel=1e-12)
    assert_grads_equal(ours, theirs, rtol=1e-12, atol=1e-15)
    if max_norm < total:
        assert get_total_norm([p.grad for p in ours[:-1]], norm_type) == pytest.approx(
            max_norm, rel=1e-5)  # 1e-6 is added to the norm before dividing
    else:
        np.testing.assert_array_equal(ours[0].grad, grads[0])


def test_total_norm_is_the_norm_of_all_entries(randn):
    grads = [randn(*s) for s in SHAPES]
    flat = np.concatenate([g.ravel() for g in grads])
    for p in (1, 2, 3.5, math.inf):
        assert get_total_norm(grads, p) == pytest.approx(np.linalg.norm(flat, p), rel=1e-13)


def test_clip_grad_norm_float32_and_single_parameter(randn):
    g = randn(5, 4, dtype=np.float32)
    p = nn.Parameter(np.zeros((5, 4), np.float32))
    p.grad = g.copy()
    t = torch.zeros(5, 4, requires_grad=True)
    t.grad = torch.tensor(g)
    total = clip_grad_norm_(p, 1.0)
    assert total == pytest.approx(torch.nn.utils.clip_grad_norm_(t, 1.0).item(), rel=1e-6)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_clips_in_place_and_accepts_a_generator(randn):
    model = nn.Linear(3, 2).double()
    model.weight.grad, model.bias.grad = 10 * randn(2, 3), 10 * randn(2)
    before = model.weight.grad
    clip_grad_norm_(model.parameters(), 1.0)
    assert model.weight.grad is before
    assert get_total_norm([model.weight.grad, model.bias.grad]) == pytest.approx(1.0, rel=1e-5)


def test_no_gradients_give_norm_zero():
    assert clip_grad_norm_([nn.Parameter(np.ones(3))], 1.0) == 0.0
    assert clip_grad_norm_([], 1.0) == 0.0


def test_nonfinite_norm_raises_or_propagates_like_torch():
    g = np.array([1.0, np.inf])
    ours, theirs = twins([g])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_(ours, 1.0) == math.inf == torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert_grads_equal(ours, theirs)  # [0, nan] in both: 1 * 0 and inf * 0


@pytest.mark.parametrize("clip_value", [0.3, 2, 1e3])
def test_clip_grad_value_matches_torch(clip_value, randn, device):
    grads = [2 * randn(*s) for s in SHAPES] + [None]
    ours, theirs = twins(grads, device)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_grads_equal(ours, theirs, rtol=0, atol=0)
    assert all(np.abs(p.grad).max() <= clip_value for p in ours[:-1])
