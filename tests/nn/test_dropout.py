"""dlbook.nn Dropout and Dropout2d: statistics of the masks, and torch's backward given the mask.

torch's random masks cannot equal ours, so the tests check what the masks must satisfy (keep
rate, scaling, unbiasedness, whole channels), that eval mode and p = 0 / p = 1 equal torch
exactly, and that the backward pass equals torch's own dropout backward kernel given our mask.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
import dlbook.random

SETTINGS = settings(max_examples=15, deadline=None)


def to_torch(x, device, requires_grad=False):
    """A torch tensor holding a copy of ``x`` (same dtype) on ``device``."""
    return torch.tensor(np.asarray(x), device=device, requires_grad=requires_grad)


def binomial_ok(kept: int, n: int, keep_prob: float, sigmas: float = 5.0) -> bool:
    """Is ``kept`` within ``sigmas`` standard deviations of Binomial(n, keep_prob)'s mean?"""
    sd = np.sqrt(n * keep_prob * (1 - keep_prob))
    return abs(kept - n * keep_prob) <= sigmas * sd


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_dropout_keep_rate_scaling_and_unbiasedness_like_torch(p, randn):
    x = randn(400, 500)
    m = nn.Dropout(p, generator=np.random.default_rng(0))
    out = m(x)
    keep = m.mask
    assert binomial_ok(int(keep.sum()), x.size, 1 - p)
    t_out = torch.nn.Dropout(p)(torch.tensor(x))  # torch's mask obeys the same law
    assert binomial_ok(int((t_out != 0).sum()), x.size, 1 - p)
    np.testing.assert_array_equal(out[~keep], 0)
    np.testing.assert_allclose(out[keep], x[keep] * (1 / (1 - p)), rtol=1e-15)
    ones = nn.Dropout(p, generator=np.random.default_rng(1))(np.ones(200_000))
    assert abs(ones.mean() - 1) < 5 * np.sqrt(p / (1 - p) / ones.size)  # E[y] = x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_backward_equals_torch_given_the_mask(device, p, dtype, randn):
    x, g = randn(7, 3, 5, dtype=dtype), randn(7, 3, 5, dtype=dtype)
    m = nn.Dropout(p, generator=np.random.default_rng(3))
    out = m(x)
    grad_x = m.backward(g)
    mask = to_torch(m.mask, device)
    scale = 1.0 / (1.0 - p)
    want = torch.ops.aten.native_dropout_backward(to_torch(g, device), mask, scale)
    rtol = 1e-15 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(grad_x, want.cpu().numpy(), rtol=rtol)
    tx = to_torch(x, device, requires_grad=True)
    t_out = tx * mask * scale  # torch's forward with our mask, and its autograd
    t_out.backward(to_torch(g, device))
    np.testing.assert_allclose(out, t_out.detach().cpu().numpy(), rtol=rtol)
    np.testing.assert_allclose(grad_x, tx.grad.cpu().numpy(), rtol=rtol)
    assert out.dtype == grad_x.dtype == dtype


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
def test_eval_mode_and_edge_probabilities_equal_torch(name, p, randn):
    x, g = randn(2, 3, 4, 5), randn(2, 3, 4, 5)
    cases = [False] + ([True] if p in (0.0, 1.0) else [])  # deterministic in these cases
    for training in cases:
        ours, theirs = getattr(nn, name)(p).train(training), getattr(torch.nn, name)(p)
        theirs.train(training)
        tx = torch.tensor(x, requires_grad=True)
        t_out = theirs(tx)
        t_out.backward(torch.tensor(g))
        np.testing.assert_array_equal(ours(x), t_out.detach().numpy())
        np.testing.assert_array_equal(ours.backward(g), tx.grad.numpy())


@pytest.mark.parametrize("p", [0.25, 0.5])
def test_dropout2d_zeroes_whole_channels(p, randn):
    x = randn(64, 50, 3, 4)
    m = nn.Dropout2d(p, generator=np.random.default_rng(5))
    out = m(x)
    kept = np.all(out != 0, axis=(2, 3))
    dropped = np.all(out == 0, axis=(2, 3))
    assert np.all(kept | dropped)  # every channel is kept whole or dropped whole
    assert binomial_ok(int(kept.sum()), kept.size, 1 - p)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-14)
    g = randn(*x.shape)
    want = torch.ops.aten.native_dropout_backward(
        torch.tensor(g), torch.tensor(kept)[:, :, None, None].expand(x.shape).contiguous(),
        1 / (1 - p))
    np.testing.assert_allclose(m.backward(g), want.numpy(), rtol=1e-15)


@SETTINGS
@given(shape=st.lists(st.integers(1, 6), min_size=0, max_size=4), p=st.floats(0.0, 0.95),
       seed=st.integers(0, 2**16))
def test_dropout_any_shape_backward_uses_the_forward_mask(shape, p, seed):
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    m = nn.Dropout(p, generator=np.random.default_rng(seed))
    out = m(x)
    noise = np.where(m.mask, 1 / (1 - p), 0.0)
    np.testing.assert_allclose(out, x * noise, rtol=1e-15)
    np.testing.assert_allclose(m.backward(g), g * noise, rtol=1e-15)


def test_masks_come_from_the_generator():
    x = np.ones((20, 30))
    a, b = (nn.Dropout(0.5, generator=np.random.default_rng(7)) for _ in range(2))
    np.testing.assert_array_equal(a(x), b(x))
    assert not np.array_equal(a(x), a(x))  # a new mask on every forward
    dlbook.random.manual_seed(11)
    first = nn.Dropout()(x)
    dlbook.random.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout()(x), first)


def test_dropout_errors_and_repr(randn):
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            torch.nn.Dropout(bad)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.Dropout2d()(randn(3, 4, 5))
    with pytest.raises(TypeError, match="floating"):
        nn.Dropout()(np.arange(6))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Dropout().backward(randn(3))
    m = nn.Dropout()
    m(randn(3, 4))
    with pytest.raises(ValueError, match="grad_out has shape"):
        m.backward(randn(4, 3))
    assert repr(nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))
    assert repr(nn.Dropout2d()) == repr(torch.nn.Dropout2d())
    assert list(nn.Dropout().state_dict()) == []
