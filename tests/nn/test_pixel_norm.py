"""dlbook.nn.PixelNorm against torch.nn.RMSNorm without affine parameters (the same map):
forward and input gradient in float64 (1e-10) and float32, odd shapes, central differences,
errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import nn
from dlbook.parity import compare


def torch_twin(dim: int, eps: float, dtype: torch.dtype) -> torch.nn.Module:
    return torch.nn.RMSNorm(dim, eps=eps, elementwise_affine=False, dtype=dtype)


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), seed=st.integers(0, 2**16),
       eps=st.sampled_from([1e-8, 1e-5, 0.5]))
@settings(max_examples=25, deadline=None)
def test_matches_torch_rms_norm_float64(shape, seed, eps):
    x = np.random.default_rng(seed).standard_normal(shape)
    report = compare(nn.PixelNorm(eps), torch_twin(shape[-1], eps, torch.float64), x,
                     device="cpu")
    assert report.ok, report


def test_matches_torch_rms_norm_float32(randn):
    x = randn(5, 3, 7, dtype=np.float32)
    report = compare(nn.PixelNorm(), torch_twin(7, 1e-8, torch.float32), x, device="cpu",
                     rtol=2e-5, atol=2e-6)
    assert report.ok, report
    layer = nn.PixelNorm()
    y = layer(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_backward_equals_central_differences(randn):
    layer, x = nn.PixelNorm(eps=1e-3), randn(3, 5)
    g = randn(3, 5)
    layer(x)
    got = layer.backward(g)
    want = numeric_grad(lambda: float(np.sum(nn.PixelNorm(eps=1e-3)(x) * g)), x)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_rows_have_unit_root_mean_square_and_models_use_this_layer(randn):
    from dlbook.models import PixelNorm as FromModels
    from dlbook.models import gan

    y = nn.PixelNorm()(randn(4, 7))
    np.testing.assert_allclose(np.mean(y * y, axis=1), 1.0, rtol=1e-7)
    assert FromModels is gan.PixelNorm is nn.PixelNorm
    assert repr(nn.PixelNorm()) == "PixelNorm(eps=1e-08)"


def test_clear_errors(randn):
    with pytest.raises(RuntimeError, match="before forward"):
        nn.PixelNorm().backward(randn(2, 3))
    with pytest.raises(TypeError, match="floating"):
        nn.PixelNorm()(np.ones((2, 3), dtype=int))
    layer = nn.PixelNorm()
    layer(randn(2, 3))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(randn(3, 2))
