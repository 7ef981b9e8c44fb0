"""Depthwise convolutions (groups = C_in = C_out) through im2col's grouped GEMM, against torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import nn

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
