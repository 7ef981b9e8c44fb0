"""Helpers for the optimizer tests: one small MLP trained side by side in dlbook and torch.

``train_both`` (a fixture returning a function) builds ``Linear(5, 7) -> Tanh -> Linear(7, 3)``
in torch, loads its state dict into the dlbook twin, and trains both on the same random
mini-batches with an MSE loss (negated when ``maximize``), each with its own optimizer; after
every step it asserts that every parameter is equal within ``rtol``/``atol``, and at the end
that every optimizer state entry is too. It returns the worst relative error seen.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import dlbook.nn as nn
import dlbook.optim as optim

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def make_pair(dtype: type = np.float64, device: str = "cpu", seed: int = 0):
    """The dlbook MLP and its torch twin with equal weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    theirs.to(device=device, dtype=getattr(torch, np.dtype(dtype).name))
    ours = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def backward_both(ours, theirs, x: np.ndarray, y: np.ndarray, sign: float = 1.0) -> None:
    """Add the gradient of ``sign`` times the mean squared error into both models' parameters."""
    device = next(theirs.parameters()).device
    loss = ((theirs(torch.tensor(x, device=device)) - torch.tensor(y, device=device)) ** 2).mean()
    (sign * loss).backward()
    out = ours(x)
    ours.backward(sign * 2 * (out - y) / out.size)


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def _check_state(opt, topt, ours, theirs, tol: dict[str, float]) -> None:
    for p, tp in zip(ours.parameters(), theirs.parameters(), strict=True):
        want = topt.state.get(tp, {})
        assert set(opt.state.get(p, {})) == set(want), "state entries differ from torch's"
        for key, value in want.items():
            got = opt.state[p][key]
            if key == "step":
                assert got == int(value.item())
            else:
                assert got.dtype == p.dtype
                np.testing.assert_allclose(got, value.cpu().numpy(), **tol, err_msg=key)


def train_both(name: str, kwargs: dict[str, Any], steps: int = 100, dtype: type = np.float64,
               device: str = "cpu", groups: Callable | None = None,
               drop_grad: Callable | None = None, seed: int = 0) -> float:
    """Train with ``dlbook.optim.<name>`` and ``torch.optim.<name>``; return the worst rel. error.

    With ``maximize=True`` the objective is the negated loss, so both runs still converge.
    ``groups(model)`` makes param groups (else ``model.parameters()``); ``drop_grad(model)``
    returns the parameters whose ``.grad`` is set to ``None`` before each step.
    """
    ours, theirs = make_pair(dtype, device, seed)
    make = groups or (lambda model: model.parameters())
    opt = getattr(optim, name)(make(ours), **kwargs)
    topt = getattr(torch.optim, name)(make(theirs), **kwargs)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(steps):
        x, y = rng.standard_normal((8, 5)).astype(dtype), rng.standard_normal((8, 3)).astype(dtype)
        opt.zero_grad()
        topt.zero_grad()
        backward_both(ours, theirs, x, y, -1.0 if kwargs.get("maximize") else 1.0)
        if drop_grad is not None:
            for p in [*drop_grad(ours), *drop_grad(theirs)]:
                p.grad = None
        opt.step()
        topt.step()
        for p, tp in zip(ours.parameters(), theirs.parameters(), strict=True):
            want = tp.detach().cpu().numpy()
            assert p.data.dtype == dtype
            np.testing.assert_allclose(p.data, want, **TOL[dtype])
            worst = max(worst, _rel_err(p.data, want))
    _check_state(opt, topt, ours, theirs, TOL[dtype])
    return worst


@pytest.fixture
def train() -> Callable[..., float]:
    """``train(name, kwargs, ...)``: see ``train_both``."""
    return train_both


@pytest.fixture
def pair() -> Callable[..., tuple]:
    """``pair(dtype=np.float64, device="cpu", seed=0)``: see ``make_pair``."""
    return make_pair


@pytest.fixture
def backward() -> Callable[..., None]:
    """``backward(ours, theirs, x, y)``: see ``backward_both``."""
    return backward_both
