"""dlbook.nn l1_penalty / l2_penalty against torch autograd, and L2 penalty versus weight decay."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dlbook.nn as nn
import dlbook.optim as optim


def pair(seed: int = 0):
    """A dlbook Linear(5, 3) and its torch twin (float64) with equal weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(5, 3).double()
    ours = nn.Linear(5, 3)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalty_value_and_grads_equal_torch_autograd(kind, randn):
    arrays = [randn(4, 3), randn(5), np.array([0.0, -2.0, 0.0, 3.0])]  # exact zeros for L1
    params = [nn.Parameter(a) for a in arrays]
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    lam = 0.37
    if kind == "l2":
        penalty = nn.l2_penalty(params, weight_decay=lam)
        t_value = lam / 2 * sum((t ** 2).sum() for t in tparams)
    else:
        penalty = nn.l1_penalty(params, strength=lam)
        t_value = lam * sum(t.abs().sum() for t in tparams)
    t_value.backward()
    assert penalty.value == pytest.approx(t_value.item(), rel=1e-14)
    for g, t in zip(penalty.grads, tparams, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-15)
    assert all(p.grad is None for p in params)  # computing a penalty does not touch .grad
    params[0].grad = np.ones((4, 3))
    penalty.backward()
    np.testing.assert_allclose(params[0].grad, 1 + tparams[0].grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(params[1].grad, tparams[1].grad.numpy(), rtol=1e-15)


def train(ours, theirs, opt, topt, penalty, t_penalty, steps: int = 25):
    """Train both on the same MSE batches, adding ``penalty`` on dlbook's side only as
    ``penalty(params).backward()`` and on torch's as ``t_penalty(params)`` in the loss."""
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
        opt.zero_grad()
        out = ours(x)
        ours.backward(2 * (out - y) / out.size)
        if penalty is not None:
            penalty(list(ours.parameters())).backward()
        opt.step()
        topt.zero_grad()
        loss = ((theirs(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        if t_penalty is not None:
            loss = loss + t_penalty(list(theirs.parameters()))
        loss.backward()
        topt.step()


def max_diff(ours, theirs) -> float:
    return max(float(np.max(np.abs(p.data - t.detach().numpy())))
               for p, t in zip(ours.parameters(), theirs.parameters(), strict=True))


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1)),
                                         ("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01))])
def test_l2_penalty_is_torch_weight_decay_for_sgd_and_adam(name, kwargs):
    lam = 0.05
    ours, theirs = pair()
    train(ours, theirs, getattr(optim, name)(ours.parameters(), **kwargs),
          getattr(torch.optim, name)(theirs.parameters(), **kwargs, weight_decay=lam),
          lambda ps: nn.l2_penalty(ps, lam), None)
    assert max_diff(ours, theirs) < 1e-12


def test_l2_penalty_with_adam_is_not_adamw():
    """Adam + L2 divides the decay by sqrt(v); AdamW does not (Loshchilov & Hutter 2019)."""
    lam = 0.5
    ours, theirs = pair()
    train(ours, theirs, optim.Adam(ours.parameters(), lr=0.01),
          torch.optim.AdamW(theirs.parameters(), lr=0.01, weight_decay=lam),
          lambda ps: nn.l2_penalty(ps, lam), None)
    assert max_diff(ours, theirs) > 1e-3


def test_l1_penalty_training_equals_torch():
    lam = 0.02
    ours, theirs = pair(1)
    train(ours, theirs, optim.SGD(ours.parameters(), lr=0.1),
          torch.optim.SGD(theirs.parameters(), lr=0.1),
          lambda ps: nn.l1_penalty(ps, lam), lambda ps: lam * sum(p.abs().sum() for p in ps))
    assert max_diff(ours, theirs) < 1e-12


def test_penalty_errors():
    p = nn.Parameter(np.ones(3))
    assert nn.l2_penalty(p, 2.0).value == 3.0  # a single Parameter is accepted
    with pytest.raises(ValueError, match=">= 0"):
        nn.l2_penalty([p], -1.0)
    with pytest.raises(ValueError, match=">= 0"):
        nn.l1_penalty([p], -1.0)
    with pytest.raises(TypeError, match="Parameters"):
        nn.l1_penalty([np.ones(3)], 1.0)
