"""dlbook.optim.Adam and AdamW against torch: every option, 100 steps, float64 and float32."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlbook.nn as nn
from dlbook.optim import Adam, AdamW

ADAM = [dict(amsgrad=a, weight_decay=w, maximize=x, decoupled_weight_decay=d)
        for a, w, x, d in itertools.product([False, True], [0, 0.1], [False, True],
                                            [False, True])]
ADAMW = [dict(amsgrad=a, weight_decay=w, maximize=x)
         for a, w, x in itertools.product([False, True], [1e-2, 0.1], [False, True])]


@pytest.mark.parametrize("kwargs", ADAM, ids=str)
def test_adam_follows_torch_for_100_steps(train, kwargs, device):
    assert train("Adam", dict(lr=0.01, **kwargs), device=device) < 1e-10


@pytest.mark.parametrize("kwargs", ADAMW, ids=str)
def test_adamw_follows_torch_for_100_steps(train, kwargs, device):
    assert train("AdamW", dict(lr=0.01, **kwargs), device=device) < 1e-10


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_other_betas_defaults_and_float32(train, name):
    assert train(name, dict(lr=0.03, betas=(0.5, 0.9), eps=1e-6), steps=50) < 1e-10
    assert train(name, {}, steps=50) < 1e-10
    assert train(name, dict(lr=0.01, amsgrad=True), steps=30, dtype=np.float32) < 1e-4


def test_adam_first_step_is_lr_times_sign_of_gradient():
    """Bias correction makes m_hat = g and v_hat = g^2 at t = 1, so the step is lr * g / |g|."""
    p = nn.Parameter(np.array([0.0, 0.0, 0.0]))
    p.grad = np.array([3.0, -1e-3, 250.0])
    Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1], rtol=1e-14)


def test_adamw_decay_is_decoupled():
    """With a zero gradient Adam's moments stay 0, so AdamW only shrinks: theta (1 - lr wd)."""
    p = nn.Parameter(np.array([2.0]))
    p.grad = np.array([0.0])
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()
    opt.step()
    assert p.data[0] == pytest.approx(2.0 * (1 - 0.05) ** 2, rel=1e-14)
    assert AdamW(nn.Linear(2, 2).parameters()).defaults["weight_decay"] == 1e-2


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-1e-3), "Invalid learning rate"),
    (dict(eps=-1e-8), "Invalid epsilon value"),
    (dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value"),
])
def test_adam_invalid_arguments_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(nn.Linear(2, 2).parameters(), **kwargs)
