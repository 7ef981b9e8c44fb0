"""LeNet-5 in NumPy against its torch twin: names, shapes, gradients, training steps."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import nn, optim
from dlbook.models import lenet5, lenet5_torch


def twins(dtype=torch.float64):
    torch.manual_seed(0)
    theirs = lenet5_torch().to(dtype)
    ours = lenet5()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_names_and_shapes_match_torch():
    ours, theirs = twins()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours(np.zeros((2, 1, 8, 8))).shape == (2, 10)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("n", [1, 5])
def test_forward_and_backward_match_torch(dtype, tol, n):
    ours, theirs = twins(dtype)
    x = np.random.default_rng(n).random((n, 1, 8, 8)).astype(
        np.float64 if dtype == torch.float64 else np.float32)
    x_t = torch.tensor(x, requires_grad=True)
    out, t_out = ours(x), theirs(x_t)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.backward(g), x_t.grad.numpy(), rtol=tol, atol=tol)
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


def test_sgd_training_steps_stay_equal_in_float64():
    ours, theirs = twins()
    rng = np.random.default_rng(3)
    opt, t_opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(
        theirs.parameters(), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    for _ in range(5):
        x, y = rng.random((8, 1, 8, 8)), rng.integers(0, 10, 8)
        opt.zero_grad()
        loss = crit(ours(x), y)
        ours.backward(crit.backward())
        opt.step()
        t_opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        t_loss.backward()
        t_opt.step()
        assert abs(loss - t_loss.item()) < 1e-12
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours.state_dict()[name], p.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
