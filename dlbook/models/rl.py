r"""The networks of chapter 14, in NumPy (``dlbook.nn``) and torch with the same names.

All three are two-hidden-layer MLPs on CartPole's 4 observations (cart position and
velocity, pole angle and angular velocity):

- :func:`policy_net`: observation to action *logits*; :math:`\pi(a \mid s)` is their softmax
  (the REINFORCE and actor-critic policy).
- :func:`value_net`: observation to one number, :math:`V(s)` (the baseline and the critic).
- :func:`q_net`: observation to one :math:`Q(s, a)` per action (DQN).

Each is a ``Sequential`` of ``Linear``, ``Tanh``, ``Linear``, ``Tanh``, ``Linear``, so the
parameter names (``"0.weight"``, ..., ``"4.bias"``) are torch's and a ``state_dict`` loads
across in either direction. The ``*_torch`` builders return the same stack from ``torch.nn``.
torch is imported only inside them.
"""
from __future__ import annotations

from typing import Any

from dlbook import nn


def _mlp(lib: Any, n_in: int, hidden: int, n_out: int) -> Any:
    return lib.Sequential(lib.Linear(n_in, hidden), lib.Tanh(), lib.Linear(hidden, hidden),
                          lib.Tanh(), lib.Linear(hidden, n_out))


def _check(n_in: int, hidden: int, n_out: int, who: str) -> None:
    for name, value in (("obs_dim", n_in), ("hidden", hidden), ("outputs", n_out)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")


def policy_net(obs_dim: int = 4, n_actions: int = 2, hidden: int = 64) -> nn.Sequential:
    """A policy: ``(N, obs_dim)`` observations to ``(N, n_actions)`` logits, in NumPy."""
    _check(obs_dim, hidden, n_actions, "policy_net")
    return _mlp(nn, obs_dim, hidden, n_actions)


def value_net(obs_dim: int = 4, hidden: int = 64) -> nn.Sequential:
    """A state-value function: ``(N, obs_dim)`` to ``(N, 1)``, in NumPy."""
    _check(obs_dim, hidden, 1, "value_net")
    return _mlp(nn, obs_dim, hidden, 1)


def q_net(obs_dim: int = 4, n_actions: int = 2, hidden: int = 64) -> nn.Sequential:
    """An action-value function: ``(N, obs_dim)`` to ``(N, n_actions)`` values, in NumPy."""
    _check(obs_dim, hidden, n_actions, "q_net")
    return _mlp(nn, obs_dim, hidden, n_actions)


def policy_net_torch(obs_dim: int = 4, n_actions: int = 2, hidden: int = 64) -> Any:
    """:func:`policy_net` in torch (same layers, same parameter names)."""
    import torch

    _check(obs_dim, hidden, n_actions, "policy_net_torch")
    return _mlp(torch.nn, obs_dim, hidden, n_actions)


def value_net_torch(obs_dim: int = 4, hidden: int = 64) -> Any:
    """:func:`value_net` in torch."""
    import torch

    _check(obs_dim, hidden, 1, "value_net_torch")
    return _mlp(torch.nn, obs_dim, hidden, 1)


def q_net_torch(obs_dim: int = 4, n_actions: int = 2, hidden: int = 64) -> Any:
    """:func:`q_net` in torch."""
    import torch

    _check(obs_dim, hidden, n_actions, "q_net_torch")
    return _mlp(torch.nn, obs_dim, hidden, n_actions)
