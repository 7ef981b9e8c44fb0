r"""Deep Q-networks (Mnih et al. 2015) and double DQN (van Hasselt, Guez & Silver 2016).

DQN fits :math:`Q_\theta(s, a)` to the Bellman optimality target on transitions
:math:`(s, a, r, s', d)` drawn from a **replay buffer**, with a **target network**
:math:`Q_{\bar\theta}`, a copy of :math:`Q_\theta` refreshed every few hundred steps:

.. math::
    y = r + \gamma (1 - d) \max_{a'} Q_{\bar\theta}(s', a') \quad\text{(DQN)}, \qquad
    y = r + \gamma (1 - d)\, Q_{\bar\theta}\big(s', \arg\max_{a'} Q_\theta(s', a')\big)
    \quad\text{(double DQN)},

and the loss is the Huber loss of :math:`Q_\theta(s, a) - y` (``dlbook.nn.HuberLoss``), whose
gradient is the TD error clipped to :math:`[-1, 1]`. The max of noisy estimates is biased
upwards; double DQN selects the action with the online network and evaluates it with the
target network, which removes most of that bias.

:func:`dqn_update` is one full update in NumPy (``dlbook.nn`` and ``dlbook.optim``), equal to
torch's (:func:`dqn_loss_torch`) in float64; :func:`train_dqn` trains in torch on CartPole.
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.rl.envs import make_vector_env


class ReplayBuffer:
    """A ring buffer of transitions ``(obs, action, reward, next_obs, terminated)``.

    Args:
        capacity: the most transitions kept; the oldest are overwritten first.
        obs_dim: size of an observation.
        rng: the generator that draws minibatches (uniformly, with replacement).
    """

    def __init__(self, capacity: int, obs_dim: int, rng: np.random.Generator) -> None:
        if capacity < 1:
            raise ValueError(f"ReplayBuffer: capacity must be >= 1, got {capacity}")
        self.capacity, self.rng = capacity, rng
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.size = self.position = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
            next_obs: np.ndarray, terminated: np.ndarray) -> None:
        """Store ``K`` transitions: ``obs``/``next_obs`` ``(K, obs_dim)``, others ``(K,)``."""
        k = len(actions)
        if k > self.capacity:
            raise ValueError(f"ReplayBuffer.add: {k} transitions exceed the capacity "
                             f"{self.capacity}")
        idx = (self.position + np.arange(k)) % self.capacity
        self.obs[idx], self.next_obs[idx] = obs, next_obs
        self.actions[idx], self.rewards[idx], self.terminated[idx] = actions, rewards, terminated
        self.position = (self.position + k) % self.capacity
        self.size = min(self.size + k, self.capacity)

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly (with replacement) from those stored."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        idx = self.rng.integers(0, self.size, batch_size)
        return {"obs": self.obs[idx], "actions": self.actions[idx],
                "rewards": self.rewards[idx], "next_obs": self.next_obs[idx],
                "terminated": self.terminated[idx]}


def dqn_targets(rewards: np.ndarray, terminated: np.ndarray, next_q_target: np.ndarray,
                gamma: float, next_q_online: np.ndarray | None = None) -> np.ndarray:
    r"""The regression targets :math:`y` ``(N,)`` of DQN, or of double DQN when the online
    network's values at the next states, ``next_q_online`` ``(N, A)``, are given.

    ``next_q_target`` ``(N, A)``: the target network's values :math:`Q_{\bar\theta}(s', \cdot)`.
    """
    if next_q_online is None:
        bootstrap = next_q_target.max(axis=1)
    else:
        if next_q_online.shape != next_q_target.shape:
            raise ValueError("dqn_targets: next_q_online must have next_q_target's shape "
                             f"{next_q_target.shape}, got {next_q_online.shape}")
        best = next_q_online.argmax(axis=1)
        bootstrap = np.take_along_axis(next_q_target, best[:, None], axis=1)[:, 0]
    return rewards + gamma * (1.0 - terminated) * bootstrap


def dqn_update(q: nn.Module, q_target: nn.Module, opt: Any, batch: dict[str, np.ndarray],
               gamma: float, double: bool = False, delta: float = 1.0) -> float:
    r"""One full DQN update in NumPy; returns the Huber loss.

    1. Targets :math:`y` from :func:`dqn_targets` (no gradient flows into them).
    2. :math:`Q_\theta(s, \cdot)` ``(N, A)``; the chosen entries :math:`Q_\theta(s_n, a_n)`.
    3. ``HuberLoss(delta)`` of those against :math:`y`; its gradient ``(N,)`` goes back into
       column :math:`a_n` of row :math:`n` of an ``(N, A)`` zero gradient (the other actions'
       outputs did not enter the loss), then through ``q``, then ``opt.step()``.
    """
    next_q_online = q(batch["next_obs"]) if double else None
    y = dqn_targets(batch["rewards"], batch["terminated"], q_target(batch["next_obs"]), gamma,
                    next_q_online)
    opt.zero_grad()
    q_all = q(batch["obs"])
    rows = np.arange(len(q_all))
    huber = nn.HuberLoss(delta=delta)
    loss = huber(q_all[rows, batch["actions"]], y.astype(q_all.dtype))
    grad = np.zeros_like(q_all)
    grad[rows, batch["actions"]] = huber.backward()
    q.backward(grad)
    opt.step()
    return loss


def dqn_loss_torch(q: Any, q_target: Any, batch: dict[str, Any], gamma: float,
                   double: bool = False, delta: float = 1.0) -> Any:
    """:func:`dqn_update`'s loss in torch (tensors in ``batch``); autograd gives the update."""
    import torch

    with torch.no_grad():
        next_target = q_target(batch["next_obs"])
        if double:
            best = q(batch["next_obs"]).argmax(dim=1, keepdim=True)
            bootstrap = next_target.gather(1, best)[:, 0]
        else:
            bootstrap = next_target.max(dim=1).values
        y = batch["rewards"] + gamma * (1.0 - batch["terminated"]) * bootstrap
    chosen = q(batch["obs"]).gather(1, batch["actions"][:, None])[:, 0]
    return torch.nn.functional.huber_loss(chosen, y, delta=delta)


def epsilon_at(step: int, start: float, end: float, decay_steps: int) -> float:
    r""":math:`\varepsilon` decayed linearly from ``start`` to ``end`` over ``decay_steps``."""
    return end + (start - end) * max(0.0, 1.0 - step / decay_steps)


def dqn_loss_stacked_torch(q: Any, q_target: Any, batch: dict[str, Any], gamma: float,
                           double: bool = False, delta: float = 1.0) -> Any:
    """:func:`dqn_loss_torch` for ``K`` networks side by side (:func:`~dlbook.models.rl.
    stacked_torch`): batch arrays ``(K, B, ...)``; the sum of the ``K`` mean Huber losses."""
    import torch

    with torch.no_grad():
        next_target = q_target(batch["next_obs"])                       # (K, B, A)
        if double:
            best = q(batch["next_obs"]).argmax(dim=2, keepdim=True)
            bootstrap = next_target.gather(2, best)[..., 0]
        else:
            bootstrap = next_target.max(dim=2).values
        y = batch["rewards"] + gamma * (1.0 - batch["terminated"]) * bootstrap
    chosen = q(batch["obs"]).gather(2, batch["actions"][..., None])[..., 0]
    losses = torch.nn.functional.huber_loss(chosen, y, delta=delta, reduction="none")
    return losses.mean(dim=1).sum()


def train_dqn(seeds: tuple[int, ...] = (0,), total_steps: int = 30_000, num_envs: int = 4,
              double: bool = False, lr: float = 1e-3, gamma: float = 0.99,
              batch_size: int = 64, buffer_size: int = 50_000, learning_starts: int = 1_000,
              target_every: int = 250, eps_start: float = 1.0, eps_end: float = 0.05,
              eps_decay_steps: int = 10_000, hidden: int = 64) -> list[dict[str, Any]]:
    """Train DQN (or double DQN) on CartPole-v1 in torch, one agent per seed, side by side.

    Each agent has ``num_envs`` carts (all agents' carts step together in one vector env),
    its own replay buffer and ε-greedy actions, and runs ``total_steps`` environment steps.
    After ``learning_starts`` steps every vector step is followed by one Adam step on a
    minibatch from each agent's buffer (the ``K`` Q-networks are trained as one
    :func:`~dlbook.models.rl.stacked_torch` stack, which is ``K`` independent trainings), and
    each target network is copied from its online one every ``target_every`` updates. ε
    decays linearly over ``eps_decay_steps`` steps. A cart's step that Gymnasium spends
    resetting it (the step after its episode ended) is not stored. Agent ``k`` is initialised
    by ``torch.manual_seed(seeds[k])`` and draws with ``np.random.default_rng(seeds[k])``.

    Returns, per seed, ``{"seed", "returns": episode returns in the order they ended,
    "ends": the agent's environment step at which each ended, "q": its torch Q-network,
    "seconds": wall time of the whole run}``.
    """
    import torch

    from dlbook.models.rl import numpy_forward, q_net_torch, stacked_torch, unstack_torch

    start = time.perf_counter()
    k, n = len(seeds), num_envs
    nets = []
    for seed in seeds:
        torch.manual_seed(seed)
        nets.append(q_net_torch(hidden=hidden))
    q = stacked_torch(nets)
    q_target = copy.deepcopy(q)
    q_values = numpy_forward(q)
    opt = torch.optim.Adam(q.parameters(), lr=lr)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    buffers = [ReplayBuffer(buffer_size, 4, rng) for rng in rngs]
    env = make_vector_env(k * n)
    obs, _ = env.reset(seed=seeds[0])
    resetting = np.zeros(k * n, dtype=bool)
    running = np.zeros(k * n)
    returns: list[list[float]] = [[] for _ in seeds]
    ends: list[list[int]] = [[] for _ in seeds]
    updates = 0
    for step in range(0, total_steps, n):
        eps = epsilon_at(step, eps_start, eps_end, eps_decay_steps)
        greedy = q_values(obs.reshape(k, n, -1)).argmax(axis=2).reshape(-1)
        explore = np.concatenate([rng.random(n) < eps for rng in rngs])
        random = np.concatenate([rng.integers(0, 2, n) for rng in rngs])
        actions = np.where(explore, random, greedy)
        next_obs, rewards, terminated, truncated, _ = env.step(actions)
        keep = ~resetting
        for j, buffer in enumerate(buffers):
            part = slice(j * n, (j + 1) * n)
            m = keep[part]
            buffer.add(obs[part][m], actions[part][m], rewards[part][m], next_obs[part][m],
                       terminated[part][m])
        running += np.where(keep, rewards, 0.0)
        done = (terminated | truncated) & keep
        for i in np.flatnonzero(done):
            returns[i // n].append(running[i])
            ends[i // n].append(step + n)
            running[i] = 0.0
        resetting, obs = done, next_obs
        if step >= learning_starts:
            samples = [b.sample(batch_size) for b in buffers]
            batch = {key: torch.as_tensor(np.stack([s[key] for s in samples]))
                     for key in samples[0]}
            loss = dqn_loss_stacked_torch(q, q_target, batch, gamma, double)
            opt.zero_grad()
            loss.backward()
            opt.step()
            updates += 1
            if updates % target_every == 0:
                q_target.load_state_dict(q.state_dict())
    env.close()
    seconds = time.perf_counter() - start
    singles = unstack_torch(q, q_net_torch, hidden=hidden)
    return [{"seed": seed, "returns": np.array(returns[j]), "ends": np.array(ends[j]),
             "q": singles[j], "seconds": seconds} for j, seed in enumerate(seeds)]
