"""A dlbook optimiser and its torch.optim twin follow the same trajectory for 100 steps.

Each optimiser (with the options that change its update rule) runs in float64 on two
problems: the Rosenbrock function, where dlbook gets the analytic gradient and torch its
own autograd gradient, and a small tanh MLP on the moons, where each side computes the
cross-entropy gradient with its own library. Every point of the path, every loss and the final
weights must agree to rounding error; the per-step tests in tests/optim check single steps,
these check that nothing drifts over a whole run (state, step counts, bias correction).
"""
from __future__ import annotations

import numpy as np
import pytest

from dlbook import nn, optim
from dlbook.data import make_moons
from dlbook.viz.optimisers import ROSENBROCK, trajectory

torch = pytest.importorskip("torch")

STEPS = 100

# name -> (dlbook class, torch class, constructor arguments shared by both)
OPTIMISERS = {
    "SGD": (optim.SGD, torch.optim.SGD, dict(lr=1e-3)),
    "SGD momentum dampening": (optim.SGD, torch.optim.SGD,
                               dict(lr=1e-3, momentum=0.9, dampening=0.1)),
    "SGD nesterov weight_decay": (optim.SGD, torch.optim.SGD,
                                  dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "Adagrad": (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.3)),
    "Adagrad lr_decay": (optim.Adagrad, torch.optim.Adagrad,
                         dict(lr=0.3, lr_decay=0.01, initial_accumulator_value=0.1)),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    "RMSprop centered momentum": (optim.RMSprop, torch.optim.RMSprop,
                                  dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    "Adam": (optim.Adam, torch.optim.Adam, dict(lr=0.05)),
    "Adam amsgrad weight_decay": (optim.Adam, torch.optim.Adam,
                                  dict(lr=0.05, betas=(0.8, 0.99), amsgrad=True,
                                       weight_decay=0.01)),
    "AdamW": (optim.AdamW, torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1)),
}
CASES = pytest.mark.parametrize("name", list(OPTIMISERS))


def torch_trajectory(make, steps: int) -> np.ndarray:
    """The same path by torch.optim, with the gradient from torch autograd."""
    p = torch.tensor(ROSENBROCK.start, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    path = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        ROSENBROCK.f(p).backward()
        opt.step()
        path.append(p.detach().clone().numpy())
    return np.array(path)


@CASES
def test_rosenbrock_paths_agree(name):
    ours, theirs, kwargs = OPTIMISERS[name]
    path = trajectory(ROSENBROCK, lambda params: ours(params, **kwargs), STEPS)
    ref = torch_trajectory(lambda params: theirs(params, **kwargs), STEPS)
    assert path.shape == ref.shape == (STEPS + 1, 2)
    assert np.all(np.isfinite(ref)), "the test's settings should keep torch's path finite"
    assert not np.allclose(path[-1], path[0]), "the optimiser should move"
    np.testing.assert_allclose(path, ref, rtol=1e-10, atol=1e-12)


def mlp_pair(seed: int = 0):
    torch.manual_seed(seed)
    t_net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 2)).double()
    np_net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    np_net.load_state_dict(t_net.state_dict())
    return np_net, t_net


@CASES
def test_mlp_training_runs_agree(name):
    ours, theirs, kwargs = OPTIMISERS[name]
    X, y = make_moons(48, noise=0.2, seed=1)
    np_net, t_net = mlp_pair()
    np_opt, t_opt = ours(np_net.parameters(), **kwargs), theirs(t_net.parameters(), **kwargs)
    crit, Xt, yt = nn.CrossEntropyLoss(), torch.from_numpy(X), torch.from_numpy(y)
    np_losses, t_losses = [], []
    for step in range(STEPS):
        idx = slice(0, None) if step % 2 == 0 else slice(step % 48, None)  # vary the batch
        np_losses.append(crit(np_net(X[idx]), y[idx]))
        np_opt.zero_grad()
        np_net.backward(crit.backward())
        np_opt.step()
        loss = torch.nn.functional.cross_entropy(t_net(Xt[idx]), yt[idx])
        t_opt.zero_grad()
        loss.backward()
        t_opt.step()
        t_losses.append(loss.item())
    np.testing.assert_allclose(np_losses, t_losses, rtol=1e-10, atol=1e-12)
    assert np_losses[-1] < np_losses[0], "100 steps should lower the loss"
    for (key, value), t_value in zip(np_net.state_dict().items(),
                                     t_net.state_dict().values(), strict=True):
        np.testing.assert_allclose(value, t_value.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
