"""AdaIN against a torch reference (float64 and float32) and central differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import nn
from dlbook.nn.adain import adain_stats

# (content shape, style shape): 1-D and 2-D spatial, batch 1, style of another size
SHAPES = [((2, 3, 4, 5), (2, 3, 4, 5)), ((1, 1, 3, 2), (1, 1, 5, 4)),
          ((3, 2, 7), (3, 2, 4)), ((2, 4, 2, 2, 3), (2, 4, 3, 1, 2))]
DTYPES = [(np.float64, 1e-10), (np.float32, 1e-4)]


def adain_torch(x, y, eps=1e-5):
    """The reference: torch's instance norm of x, scaled and shifted by y's statistics."""
    axes = tuple(range(2, y.dim()))
    mu_y = y.mean(dim=axes, keepdim=True)
    sigma_y = torch.sqrt(y.var(dim=axes, keepdim=True, unbiased=False) + eps)
    return sigma_y * torch.nn.functional.instance_norm(x, eps=eps) + mu_y


def _check(device, x, y, g, tol):
    layer = nn.AdaIN()
    out = layer(x, y)
    grad_x, grad_y = layer.backward(g)
    x_t, y_t = (torch.tensor(a, device=device, requires_grad=True) for a in (x, y))
    out_t = adain_torch(x_t, y_t)
    out_t.backward(torch.tensor(g, device=device))
    assert out.dtype == x.dtype and grad_x.dtype == x.dtype and grad_y.dtype == x.dtype
    for ours, theirs in ((out, out_t), (grad_x, x_t.grad), (grad_y, y_t.grad)):
        np.testing.assert_allclose(ours, theirs.detach().cpu().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape_x,shape_y", SHAPES)
def test_adain_matches_torch(device, randn, shape_x, shape_y, dtype, tol):
    x = randn(*shape_x, dtype=dtype)
    y = (2 * randn(*shape_y) + 1).astype(dtype)
    _check(device, x, y, randn(*shape_x, dtype=dtype), tol)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), hw=st.tuples(st.integers(1, 4),
                                                              st.integers(2, 4)),
       style_hw=st.tuples(st.integers(2, 4), st.integers(1, 3)), seed=st.integers(0, 2**16))
def test_adain_matches_torch_on_drawn_shapes(n, c, hw, style_hw, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, c, *hw)), 3 * rng.normal(size=(n, c, *style_hw))
    _check("cpu", x, y, rng.normal(size=x.shape), 1e-10)


def test_adain_gradients_by_central_differences(randn):
    x, y, g = randn(2, 3, 3, 4), randn(2, 3, 2, 5), randn(2, 3, 3, 4)
    layer = nn.AdaIN()
    layer(x, y)
    grad_x, grad_y = layer.backward(g)
    loss = lambda: float(np.sum(g * nn.AdaIN()(x, y)))  # noqa: E731
    np.testing.assert_allclose(grad_x, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad_y, numeric_grad(loss, y), rtol=1e-6, atol=1e-8)


def test_output_has_the_style_statistics(randn):
    x, y = randn(2, 3, 6, 6), 4 * randn(2, 3, 5, 5) - 2
    out = nn.AdaIN(eps=0.0)(x, y)
    np.testing.assert_allclose(out.mean(axis=(2, 3)), y.mean(axis=(2, 3)), atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(2, 3)), y.std(axis=(2, 3)), rtol=1e-12)
    mu, sigma = adain_stats(y, eps=0.0)
    assert mu.shape == sigma.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(sigma[..., 0, 0], y.std(axis=(2, 3)), rtol=1e-12)


def test_has_no_parameters_and_does_not_modify_its_inputs(randn):
    layer = nn.AdaIN()
    assert list(layer.parameters()) == [] and "eps=1e-05" in repr(layer)
    x, y, g = randn(1, 2, 3, 3), randn(1, 2, 3, 3), randn(1, 2, 3, 3)
    copies = x.copy(), y.copy(), g.copy()
    layer(x, y)
    layer.backward(g)
    for a, b in zip((x, y, g), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_input_gives_clear_errors(randn):
    layer = nn.AdaIN()
    with pytest.raises(RuntimeError):
        nn.AdaIN().backward(randn(1, 2, 3))
    with pytest.raises(ValueError, match="spatial"):
        layer(randn(2, 3), randn(2, 3))
    with pytest.raises(ValueError, match=r"same \(N, C\)"):
        layer(randn(2, 3, 4), randn(2, 4, 4))
    with pytest.raises(TypeError, match="floating"):
        layer(np.ones((1, 1, 2), dtype=int), randn(1, 1, 2))
    layer(randn(1, 2, 3), randn(1, 2, 5))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(randn(1, 2, 5))
