"""The depthwise shift-and-add path: equal to im2col's conv2d and to torch's Conv2d."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import nn
from dlbook.nn.depthwise import (
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    is_depthwise,
)
from dlbook.nn.im2col import conv2d_backward, conv2d_forward

CASES = [dict(kernel_size=3, padding=1), dict(kernel_size=3, stride=2),
         dict(kernel_size=(3, 2), dilation=2, padding=(2, 1)), dict(kernel_size=5, padding="same"),
         dict(kernel_size=1, bias=False)]


@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("n", [1, 3])
def test_depthwise_conv2d_matches_torch(kw, dtype, tol, n, device):
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(4, 4, groups=4, **kw).to(device=device, dtype=dtype)
    ours = nn.Conv2d(4, 4, groups=4, **kw)
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(n).standard_normal((n, 4, 9, 7)).astype(
        np.float64 if dtype == torch.float64 else np.float32)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    out, t_out = ours(x), theirs(x_t)
    np.testing.assert_allclose(out, t_out.detach().cpu().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(9).standard_normal(out.shape).astype(x.dtype)
    t_out.backward(torch.tensor(g, device=device))
    np.testing.assert_allclose(ours.backward(g), x_t.grad.cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.cpu().numpy(), rtol=tol,
                               atol=tol)


def test_shift_and_add_equals_im2col():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((3, 1, 3, 3)), \
        rng.standard_normal(3)
    kw = dict(stride=2, padding=1, dilation=1, groups=3)
    out, cache = depthwise_conv2d_forward(x, w, b, **kw)
    ref, ref_cache = conv2d_forward(x, w, b, **kw)
    np.testing.assert_allclose(out, ref, rtol=1e-13)
    g = rng.standard_normal(out.shape)
    for ours, theirs in zip(depthwise_conv2d_backward(g, cache), conv2d_backward(g, ref_cache),
                            strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def test_only_depthwise_weights_take_this_path():
    assert is_depthwise((8, 1, 3, 3), 8)
    assert not is_depthwise((16, 1, 3, 3), 8)   # a channel multiplier of 2
    assert not is_depthwise((8, 8, 3, 3), 1)
    with pytest.raises(ValueError, match="not depthwise"):
        depthwise_conv2d_forward(np.zeros((1, 4, 5, 5)), np.zeros((4, 2, 3, 3)), groups=2)
