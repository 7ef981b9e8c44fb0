"""dlbook.optim.SGD against torch.optim.SGD: every option, 100 steps, float64 and float32."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlbook.nn as nn
from dlbook.optim import SGD

OPTIONS = [dict(momentum=m, dampening=d, nesterov=n, weight_decay=w, maximize=x)
           for m, d, n, w, x in itertools.product([0, 0.9], [0, 0.3], [False, True], [0, 1e-2],
                                                  [False, True])
           if not (n and (m == 0 or d != 0))]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=str)
def test_sgd_follows_torch_for_100_steps(train, kwargs, device):
    assert train("SGD", dict(lr=0.02, **kwargs), device=device) < 1e-10


def test_sgd_default_lr_and_float32(train):
    assert train("SGD", dict(momentum=0.9), steps=30, dtype=np.float32) < 1e-4
    assert train("SGD", {}) < 1e-10  # lr=1e-3, torch's default


def test_sgd_momentum_by_hand():
    """Two steps of the docstring's rule on one weight: b1 = g1, b2 = mu b1 + (1 - tau) g2."""
    p = nn.Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.5, dampening=0.2)
    p.grad = np.array([2.0])
    opt.step()
    assert p.data[0] == pytest.approx(1.0 - 0.1 * 2.0)
    p.grad = np.array([4.0])
    opt.step()
    assert p.data[0] == pytest.approx(0.8 - 0.1 * (0.5 * 2.0 + 0.8 * 4.0))


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-0.1), "Invalid learning rate"),
    (dict(momentum=-0.5), "Invalid momentum value"),
    (dict(weight_decay=-1e-4), "Invalid weight_decay value"),
    (dict(nesterov=True), "Nesterov momentum requires a momentum"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), "zero dampening"),
])
def test_sgd_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(nn.Linear(2, 2).parameters(), **kwargs)
