"""dlbook.nn.Linear, Identity and Flatten against torch: forward, backward, gradcheck, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.parity import compare, gradcheck

SETTINGS = settings(max_examples=15, deadline=None)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}

leading = st.lists(st.integers(1, 4), min_size=0, max_size=3)  # () = unbatched input
features = st.integers(1, 7)


@SETTINGS
@given(lead=leading, n_in=features, n_out=features, bias=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_linear_matches_torch(device, lead, n_in, n_out, bias, dtype, seed):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(n_in, n_out, bias=bias).to(getattr(torch, np.dtype(dtype).name))
    x = np.random.default_rng(seed).standard_normal((*lead, n_in)).astype(dtype)
    ours = nn.Linear(n_in, n_out, bias=bias)
    report = compare(ours, theirs, x, device=device, seed=seed, **TOL[dtype])
    assert report.ok, report
    assert len(report.rows) == 3 + bias  # output, input grad, weight grad (, bias grad)
    assert ours(x).dtype == dtype


def test_linear_by_hand_batch_one(randn):
    """Independent of compare(): the formulas of the docstring on a batch of one."""
    m = nn.Linear(4, 3).double()
    x, g = randn(1, 4), randn(1, 3)
    x0, g0 = x.copy(), g.copy()
    out = m(x)
    grad_x = m.backward(g)
    W, b = m.weight.data, m.bias.data
    np.testing.assert_allclose(out, x @ W.T + b, rtol=1e-14)
    np.testing.assert_allclose(grad_x, g @ W, rtol=1e-14)
    np.testing.assert_allclose(m.weight.grad, g.T @ x, rtol=1e-14)
    np.testing.assert_allclose(m.bias.grad, g[0], rtol=1e-14)
    np.testing.assert_array_equal(x, x0)  # inputs and upstream gradients are not modified
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 5), (3, 5), (2, 3, 5)])
def test_linear_gradcheck(shape, bias, randn):
    report = gradcheck(nn.Linear(5, 4, bias=bias).double(), randn(*shape))
    assert report.ok, report


def test_linear_default_init_and_dtype_as_torch():
    m = nn.Linear(50, 20)
    assert m.weight.shape == (20, 50) and m.bias.shape == (20,)
    assert m.weight.dtype == np.float32
    bound = 1 / math.sqrt(50)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in))
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert np.abs(m.weight.data).max() > 0.9 * bound  # drawn from the whole range
    assert repr(m) == repr(torch.nn.Linear(50, 20))
    assert repr(nn.Linear(2, 3, bias=False)) == repr(torch.nn.Linear(2, 3, bias=False))


def test_linear_clear_errors(randn):
    m = nn.Linear(3, 2).double()
    with pytest.raises(ValueError, match="in_features = 3"):
        m(randn(4, 2))
    with pytest.raises(TypeError, match="floating"):
        m(np.ones((4, 3), dtype=int))
    m(randn(4, 3))
    with pytest.raises(ValueError, match=r"grad_out has shape \(4, 3\)"):
        m.backward(randn(4, 3))


def test_identity_passes_everything_through(randn):
    m = nn.Identity(54, unused_argument=0.1)  # torch's Identity ignores its arguments too
    x, g = randn(2, 3), randn(2, 3)
    np.testing.assert_array_equal(m(x), x)
    np.testing.assert_array_equal(m.backward(g), g)
    assert list(m.parameters()) == []


@pytest.mark.parametrize(("start", "end", "shape"), [
    (1, -1, (2, 3, 4, 5)), (0, -1, (2, 3, 4)), (1, 2, (2, 3, 4, 5)), (-3, -2, (2, 3, 4, 5)),
    (2, 2, (2, 3, 4)), (1, -1, (1, 6)),
])
def test_flatten_matches_torch(start, end, shape, device, randn):
    report = compare(nn.Flatten(start, end), torch.nn.Flatten(start, end), randn(*shape),
                     device=device)
    assert report.ok, report
    assert report["output"].shape == tuple(torch.nn.Flatten(start, end)(torch.zeros(shape))
                                           .shape)


def test_flatten_clear_errors(randn):
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        nn.Flatten(2, 1)(randn(2, 3, 4))
    m = nn.Flatten()
    m(randn(2, 3, 4))
    with pytest.raises(ValueError, match="grad_out has shape"):
        m.backward(randn(2, 3, 4))
