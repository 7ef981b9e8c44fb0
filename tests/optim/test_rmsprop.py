"""dlbook.optim.RMSprop against torch.optim.RMSprop: every option, 100 steps, float64/float32."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlbook.nn as nn
from dlbook.optim import RMSprop

OPTIONS = [dict(centered=c, momentum=m, weight_decay=w, maximize=x)
           for c, m, w, x in itertools.product([False, True], [0, 0.9], [0, 0.1], [False, True])]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=str)
def test_rmsprop_follows_torch_for_100_steps(train, kwargs, device):
    assert train("RMSprop", dict(lr=0.003, **kwargs), device=device) < 1e-10


def test_rmsprop_other_alpha_defaults_and_float32(train):
    assert train("RMSprop", dict(lr=0.003, alpha=0.8, eps=1e-6), steps=50) < 1e-10
    assert train("RMSprop", {}, steps=50) < 1e-10
    assert train("RMSprop", dict(lr=0.003, centered=True, momentum=0.5), steps=30,
                 dtype=np.float32) < 1e-4


def test_rmsprop_first_step_by_hand():
    """v_1 = (1 - alpha) g^2, so the first step is lr g / (sqrt(1 - alpha) |g| + eps)."""
    p = nn.Parameter(np.array([0.0, 0.0]))
    p.grad = np.array([2.0, -0.5])
    RMSprop([p], lr=0.1, alpha=0.75, eps=0.0).step()
    np.testing.assert_allclose(p.data, [-0.2, 0.2], rtol=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-0.1), "Invalid learning rate"),
    (dict(eps=-1.0), "Invalid epsilon value"),
    (dict(momentum=-0.9), "Invalid momentum value"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value"),
    (dict(alpha=-0.99), "Invalid alpha value"),
])
def test_rmsprop_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RMSprop(nn.Linear(2, 2).parameters(), **kwargs)
