"""dlbook.optim.Adagrad against torch.optim.Adagrad: every option, 100 steps, float64/float32."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlbook.nn as nn
from dlbook.optim import Adagrad

OPTIONS = [dict(lr_decay=d, weight_decay=w, initial_accumulator_value=a, maximize=x)
           for d, w, a, x in itertools.product([0, 0.05], [0, 0.1], [0, 0.5], [False, True])]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=str)
def test_adagrad_follows_torch_for_100_steps(train, kwargs, device):
    assert train("Adagrad", dict(lr=0.05, **kwargs), device=device) < 1e-10


def test_adagrad_eps_defaults_and_float32(train):
    assert train("Adagrad", dict(lr=0.05, eps=1e-3), steps=50) < 1e-10
    assert train("Adagrad", {}, steps=50) < 1e-10
    assert train("Adagrad", dict(lr=0.05, lr_decay=0.01), steps=30, dtype=np.float32) < 1e-4


def test_adagrad_steps_by_hand():
    """s_t sums g^2: with g = 3 then 4, the steps are lr * 3/3 and lr/(1 + eta) * 4/5."""
    p = nn.Parameter(np.array([0.0]))
    opt = Adagrad([p], lr=0.1, lr_decay=0.5, eps=0.0)
    p.grad = np.array([3.0])
    opt.step()
    p.grad = np.array([4.0])
    opt.step()
    assert p.data[0] == pytest.approx(-0.1 - 0.1 / 1.5 * 0.8, rel=1e-14)
    assert opt.state[p]["step"] == 2


def test_adagrad_creates_state_with_each_group():
    m = nn.Linear(3, 2)
    opt = Adagrad([m.weight], initial_accumulator_value=0.25)
    opt.add_param_group({"params": [m.bias], "initial_accumulator_value": 1.0})
    np.testing.assert_array_equal(opt.state[m.weight]["sum"], np.full((2, 3), 0.25, np.float32))
    np.testing.assert_array_equal(opt.state[m.bias]["sum"], np.ones(2, np.float32))
    assert opt.state[m.bias]["step"] == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-0.1), "Invalid learning rate"),
    (dict(lr_decay=-0.1), "Invalid lr_decay value"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value"),
    (dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value"),
    (dict(eps=-1e-10), "Invalid epsilon value"),
])
def test_adagrad_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adagrad(nn.Linear(2, 2).parameters(), **kwargs)
