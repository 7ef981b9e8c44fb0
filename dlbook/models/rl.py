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
:func:`numpy_forward` runs a torch network in NumPy for acting (no copy), and
:func:`stacked_torch` trains ``K`` networks (one per seed) side by side with batched matrix
products. torch is imported only inside the functions that use it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.models.mlp import mlp


def _mlp(lib: Any, n_in: int, hidden: int, n_out: int) -> Any:
    """Two tanh hidden layers of width ``hidden``, as in the policy-gradient literature."""
    return mlp(lib, (n_in, hidden, hidden, n_out), lib.Tanh)


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


def numpy_forward(net: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy function computing the torch MLP ``net`` (from the builders above, or a
    :func:`stacked_torch` stack) on NumPy observations, for acting.

    It reads the parameters through NumPy views of torch's storage, so it stays equal to
    ``net`` while an optimiser updates ``net`` in place, and costs no copy. Acting needs no
    gradient, and for a batch of a few observations NumPy's calls are cheaper than torch's.
    Shapes: ``(N, obs_dim) -> (N, outputs)``, or ``(K, N, obs_dim) -> (K, N, outputs)`` for a
    stack of ``K`` networks.
    """
    params = [p.detach().numpy() for p in net.parameters()]
    if len(params) != 6:
        raise ValueError("numpy_forward: expected the 3-layer MLP of dlbook.models.rl")
    stacked = params[0].ndim == 3
    w0, b0, w1, b1, w2, b2 = params

    def layer(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        if stacked:                                    # w: (K, in, out), b: (K, out)
            return x @ w + b[:, None, :]
        return x @ w.T + b                             # torch's Linear: w (out, in)

    def forward(obs: np.ndarray) -> np.ndarray:
        h = np.tanh(layer(obs, w0, b0))
        h = np.tanh(layer(h, w1, b1))
        return layer(h, w2, b2)

    return forward


def stacked_torch(nets: list[Any]) -> Any:
    """``K`` torch MLPs of the same shape as one torch module that runs them side by side.

    Parameters ``weight{i}`` ``(K, in, out)`` (each layer's ``weight.T``, stacked) and
    ``bias{i}`` ``(K, out)``; ``forward`` maps ``(K, N, in)`` to ``(K, N, out)`` with one
    batched matrix product per layer (``torch.baddbmm``). Training the stack with the sum of
    the ``K`` networks' losses and an elementwise optimiser (Adam) is training the ``K``
    networks independently: each parameter's gradient comes from its own network's loss only.
    :func:`unstack_torch` gives the ``K`` networks back.
    """
    import torch

    linears = [[m for m in net if isinstance(m, torch.nn.Linear)] for net in nets]
    if len({tuple(tuple(m.weight.shape) for m in ls) for ls in linears}) != 1:
        raise ValueError("stacked_torch: the networks must all have the same shapes")

    class StackedMLP(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for i in range(len(linears[0])):
                weight = torch.stack([ls[i].weight.detach().T for ls in linears]).clone()
                bias = torch.stack([ls[i].bias.detach() for ls in linears]).clone()
                self.register_parameter(f"weight{i}", torch.nn.Parameter(weight))
                self.register_parameter(f"bias{i}", torch.nn.Parameter(bias))
            self.n_layers = len(linears[0])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for i in range(self.n_layers):
                x = torch.baddbmm(getattr(self, f"bias{i}")[:, None, :], x,
                                  getattr(self, f"weight{i}"))
                if i < self.n_layers - 1:
                    x = torch.tanh(x)
            return x

    return StackedMLP()


def unstack_torch(stack: Any, builder: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """The ``K`` networks of a :func:`stacked_torch` stack, each built by ``builder(**kwargs)``
    (e.g. :func:`q_net_torch`) and loaded with its slice of the stack's parameters."""
    import torch

    k = stack.weight0.shape[0]
    nets = []
    for j in range(k):
        net = builder(**kwargs).to(stack.weight0.dtype)
        layers = [m for m in net if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for i, m in enumerate(layers):
                m.weight.copy_(getattr(stack, f"weight{i}")[j].T)
                m.bias.copy_(getattr(stack, f"bias{i}")[j])
        nets.append(net)
    return nets
