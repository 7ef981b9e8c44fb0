r"""Policy gradients: REINFORCE (Williams 1992), a learned baseline, and actor-critic.

For a policy :math:`\pi_\theta(a \mid s)` the policy-gradient theorem (Sutton et al. 2000)
gives

.. math::
    \nabla_\theta J(\theta) = \mathbb E_\pi\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)
    \, \Psi_t\Big],

with :math:`\Psi_t` the reward-to-go :math:`G_t` (REINFORCE), :math:`G_t - V(s_t)` (with a
baseline: same expectation, less variance) or the TD error :math:`r_t + \gamma V(s_{t+1}) -
V(s_t)` (one-step actor-critic; Sutton & Barto 2018, section 13.5). A batch estimate is the
gradient of the surrogate loss

.. math::
    L(\theta) = -\frac1M \sum_{n=1}^{M} \Psi_n \log \pi_\theta(a_n \mid s_n)
    = \frac1M \sum_n \Psi_n\, \mathrm{CE}(\text{logits}_n, a_n),

a cross entropy weighted by :math:`\Psi` (held fixed), whose gradient with respect to the
logits is :math:`\Psi_n(\mathrm{softmax}(\text{logits}_n) - \mathrm{onehot}(a_n)) / M`.

:func:`reinforce_update` takes one full step of that loss in NumPy (``dlbook.nn`` and
``dlbook.optim``), equal to torch's in float64; :func:`train_policy_gradient` trains in torch
on Gymnasium's CartPole.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.nn.functional import softmax
from dlbook.rl.envs import EpisodeBatch, collect_episodes, make_vector_env
from dlbook.rl.returns import gae, reward_to_go

METHODS = ("reinforce", "baseline", "actor_critic")


def reinforce_loss(logits: np.ndarray, actions: np.ndarray,
                   weights: np.ndarray) -> tuple[float, np.ndarray]:
    r"""The surrogate loss :math:`-\frac1M\sum_n \Psi_n \log\pi(a_n|s_n)` and its gradient
    with respect to the logits, :math:`\Psi_n(\mathrm{softmax}(\ell_n) - \mathrm{onehot}(a_n))/M`.

    Shape: logits ``(M, A)``, actions ``(M,)`` integers, weights ``(M,)``; the gradient
    ``(M, A)``.
    """
    ce = nn.CrossEntropyLoss(reduction="none")
    nll = ce(logits, actions)                           # -log pi(a_n | s_n), (M,)
    w = np.asarray(weights, dtype=nll.dtype)
    if w.shape != nll.shape:
        raise ValueError(f"reinforce_loss: weights must have shape {nll.shape}, got {w.shape}")
    m = len(w)
    return float(np.sum(w * nll) / m), ce.backward(w / m)


def reinforce_update(policy: nn.Module, opt: Any, obs: np.ndarray, actions: np.ndarray,
                     weights: np.ndarray) -> float:
    """One full policy-gradient step in NumPy: forward, :func:`reinforce_loss`, backward
    through ``policy``, ``opt.step()``. Returns the loss."""
    opt.zero_grad()
    loss, grad_logits = reinforce_loss(policy(obs), actions, weights)
    policy.backward(grad_logits)
    opt.step()
    return loss


def value_update(critic: nn.Module, opt: Any, obs: np.ndarray, targets: np.ndarray) -> float:
    r"""One regression step of a value network in NumPy: minimise
    :math:`\frac1M\sum_n (V(s_n) - y_n)^2` (``MSELoss``). ``targets`` ``(M,)``."""
    mse = nn.MSELoss()
    opt.zero_grad()
    values = critic(obs)
    loss = mse(values, np.asarray(targets, dtype=values.dtype).reshape(values.shape))
    critic.backward(mse.backward())
    opt.step()
    return loss


def reinforce_loss_torch(logits: Any, actions: Any, weights: Any) -> Any:
    """:func:`reinforce_loss`'s value in torch (a tensor; autograd gives the gradient)."""
    import torch

    nll = torch.nn.functional.cross_entropy(logits, actions, reduction="none")
    return (weights * nll).mean()


def advantages(method: str, rewards: np.ndarray, alive: np.ndarray, terminated: np.ndarray,
               values: np.ndarray | None, next_values: np.ndarray | None,
               gamma: float, lam: float = 0.95) -> tuple[np.ndarray, np.ndarray | None]:
    r"""The weights :math:`\Psi` of the policy-gradient loss and the critic's targets.

    All arrays ``(T, N)`` (time-major episodes, see :class:`~dlbook.rl.envs.EpisodeBatch`):

    - ``"reinforce"``: :math:`\Psi_t = G_t`, no critic (``values`` unused; targets None).
    - ``"baseline"``: :math:`\Psi_t = G_t - V(s_t)`; the critic regresses on :math:`G_t`.
    - ``"actor_critic"``: :math:`\Psi_t = \hat A_t`, the generalised advantage
      (:func:`~dlbook.rl.returns.gae`) built from the critic's TD errors
      :math:`r_t + \gamma (1 - d_t) V(s_{t+1}) - V(s_t)`; the critic regresses on
      :math:`\hat A_t + V(s_t)`, the :math:`\lambda`-return. ``lam=0`` is the one-step
      actor-critic of Sutton & Barto (2018, section 13.5).
    """
    if method not in METHODS:
        raise ValueError(f"advantages: method must be one of {METHODS}, got {method!r}")
    if method == "reinforce":
        return reward_to_go(rewards, gamma, mask=alive), None
    if values is None or (method == "actor_critic" and next_values is None):
        raise ValueError(f"advantages: method {method!r} needs the critic's values")
    if method == "baseline":
        returns = reward_to_go(rewards, gamma, mask=alive)
        return returns - values, returns
    adv = gae(rewards, values, next_values, terminated, alive, gamma, lam)
    return adv, adv + values


def _sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``probs`` ``(N, A)`` by inverting the cumulative distribution."""
    u = rng.random((len(probs), 1))
    return np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)


def _update_agent(agent: dict[str, Any], batch: EpisodeBatch, method: str, gamma: float,
                  lam: float, critic_steps: int) -> None:
    """One policy-gradient update of one agent in torch from its episodes ``batch``: the
    critic first (``critic_steps`` Adam steps towards fixed targets), then the policy."""
    import torch

    obs, next_obs = torch.as_tensor(batch.obs), torch.as_tensor(batch.next_obs)
    alive = batch.alive
    keep = torch.as_tensor(alive)
    critic = agent["critic"]

    def critic_values() -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            return (critic(obs)[..., 0].double().numpy(),
                    critic(next_obs)[..., 0].double().numpy())

    values = next_values = None
    if critic is not None:
        values, next_values = critic_values()
        _, targets = advantages(method, batch.rewards, alive, batch.terminated, values,
                                next_values, gamma, lam)
        y = torch.as_tensor(targets[alive], dtype=torch.float32)
        for _ in range(critic_steps):
            loss = torch.nn.functional.mse_loss(critic(obs[keep])[:, 0], y)
            agent["opt_critic"].zero_grad()
            loss.backward()
            agent["opt_critic"].step()
        values, next_values = critic_values()
    psi, _ = advantages(method, batch.rewards, alive, batch.terminated, values, next_values,
                        gamma, lam)
    loss = reinforce_loss_torch(agent["policy"](obs[keep]), torch.as_tensor(batch.actions[alive]),
                                torch.as_tensor(psi[alive], dtype=torch.float32))
    agent["opt"].zero_grad()
    loss.backward()
    agent["opt"].step()


def train_policy_gradient(method: str, seeds: tuple[int, ...] = (0,), n_updates: int = 40,
                          episodes_per_update: int = 16, lr: float = 0.01,
                          critic_lr: float = 0.01, critic_steps: int = 5,
                          gamma: float = 0.99, lam: float = 0.95,
                          hidden: int = 32) -> list[dict[str, Any]]:
    """Train one policy per seed on CartPole-v1 with ``method`` (see :func:`advantages`).

    Each update, every agent plays ``episodes_per_update`` episodes (all agents' carts step
    together in one vector env), then takes, in torch, ``critic_steps`` Adam steps of its
    critic (if it has one) and one Adam step of its policy on all its steps. The agents are
    independent: agent ``k`` is initialised by ``torch.manual_seed(seeds[k])`` and samples
    its actions with ``np.random.default_rng(seeds[k])``; the environment is seeded with
    ``seeds[0]``. Acting runs the torch policy in NumPy (:func:`~dlbook.models.rl.numpy_forward`).

    Returns, per seed, ``{"seed", "returns": (n_updates * episodes_per_update,) episode
    returns in order, "policy", "critic" (None for REINFORCE), "seconds": wall time of the
    whole run (all seeds)}``.
    """
    import torch

    from dlbook.models.rl import numpy_forward, policy_net_torch, value_net_torch

    if method not in METHODS:
        raise ValueError(f"train_policy_gradient: method must be one of {METHODS}, "
                         f"got {method!r}")
    start = time.perf_counter()
    agents = []
    for seed in seeds:
        torch.manual_seed(seed)
        policy = policy_net_torch(hidden=hidden)
        critic = value_net_torch(hidden=hidden) if method != "reinforce" else None
        agents.append({"seed": seed, "policy": policy, "critic": critic,
                       "opt": torch.optim.Adam(policy.parameters(), lr=lr),
                       "opt_critic": (torch.optim.Adam(critic.parameters(), lr=critic_lr)
                                      if critic is not None else None),
                       "act": numpy_forward(policy), "rng": np.random.default_rng(seed),
                       "returns": []})
    n = episodes_per_update
    env = make_vector_env(n * len(agents))

    def act(obs: np.ndarray) -> np.ndarray:
        return np.concatenate([
            _sample(softmax(a["act"](obs[k * n:(k + 1) * n]).astype(np.float64), 1), a["rng"])
            for k, a in enumerate(agents)])

    for update in range(n_updates):
        batch = collect_episodes(env, act, seed=seeds[0] if update == 0 else None)
        for k, agent in enumerate(agents):
            part = batch.select(slice(k * n, (k + 1) * n))
            agent["returns"].append(part.returns)
            _update_agent(agent, part, method, gamma, lam, critic_steps)
    env.close()
    seconds = time.perf_counter() - start
    return [{"seed": a["seed"], "returns": np.concatenate(a["returns"]), "policy": a["policy"],
             "critic": a["critic"], "seconds": seconds} for a in agents]
