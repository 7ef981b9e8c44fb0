"""Batches of CartPole episodes from Gymnasium, used as its documentation describes.

``gymnasium.make_vec("CartPole-v1", num_envs=N, vectorization_mode="vector_entry_point")`` is
Gymnasium's NumPy-vectorised CartPole: one ``step(actions)`` advances ``N`` independent carts.
:func:`collect_episodes` resets it, then steps until every cart's *first* episode has ended
(the pole fell: ``terminated``; or 500 steps passed: ``truncated``), keeping a mask of the
steps that belong to each episode. Gymnasium resets a finished cart on the following step
(autoreset mode ``NEXT_STEP``); those later steps are masked out, and the next batch starts
with a fresh ``reset()``.

gymnasium is imported only inside the functions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ENV_ID = "CartPole-v1"
SOLVED_RETURN = 475.0       # CartPole-v1's reward_threshold (mean over 100 episodes)
MAX_STEPS = 500             # CartPole-v1's max_episode_steps

Policy = Callable[[np.ndarray], np.ndarray]


def make_vector_env(num_envs: int) -> Any:
    """Gymnasium's vectorised ``CartPole-v1`` with ``num_envs`` carts."""
    import gymnasium as gym

    if num_envs < 1:
        raise ValueError(f"make_vector_env: num_envs must be >= 1, got {num_envs}")
    return gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point")


@dataclass
class EpisodeBatch:
    """``N`` episodes laid side by side over ``T`` time steps (``T`` = the longest).

    Attributes:
        obs: ``(T, N, 4)`` observation before each step's action.
        actions: ``(T, N)`` integer actions.
        rewards: ``(T, N)`` rewards (0 after an episode's end).
        next_obs: ``(T, N, 4)`` observation after the step.
        alive: ``(T, N)`` True for the steps that belong to the episode.
        terminated: ``(T, N)`` True at the step where the pole fell (not at a truncation:
            a truncated episode's last state still has a future, a terminated one's has none).
        returns: ``(N,)`` undiscounted return of each episode (its length, for CartPole).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    alive: np.ndarray
    terminated: np.ndarray
    returns: np.ndarray

    def select(self, episodes: slice) -> EpisodeBatch:
        """The batch of the episodes ``episodes`` (a slice of the ``N`` axis)."""
        return EpisodeBatch(*(getattr(self, k)[:, episodes] for k in (
            "obs", "actions", "rewards", "next_obs", "alive", "terminated")),
            returns=self.returns[episodes])

    def flat(self) -> dict[str, np.ndarray]:
        """The alive steps of every episode as flat arrays ``(M, ...)``, time-major."""
        keep = self.alive
        return {"obs": self.obs[keep], "actions": self.actions[keep],
                "rewards": self.rewards[keep], "next_obs": self.next_obs[keep],
                "terminated": self.terminated[keep]}


def collect_episodes(env: Any, act: Policy, seed: int | None = None) -> EpisodeBatch:
    """Run one episode on each of the vector env's carts with ``act(obs) -> actions``.

    ``seed`` seeds the reset (do it once, on the first batch; later batches continue the
    environment's random stream). ``act`` gets ``(N, 4)`` float32 observations and returns
    ``(N,)`` integer actions.
    """
    obs, _ = env.reset(seed=seed)
    n = len(obs)
    alive = np.ones(n, dtype=bool)
    steps: dict[str, list] = {k: [] for k in ("obs", "actions", "rewards", "next_obs",
                                              "alive", "terminated")}
    while alive.any():
        actions = np.asarray(act(obs))
        next_obs, rewards, terminated, truncated, _ = env.step(actions)
        for key, value in (("obs", obs), ("actions", actions), ("next_obs", next_obs),
                           ("rewards", np.where(alive, rewards, 0.0)), ("alive", alive.copy()),
                           ("terminated", terminated & alive)):
            steps[key].append(value)
        alive = alive & ~(terminated | truncated)
        obs = next_obs
    arrays = {k: np.stack(v) for k, v in steps.items()}
    return EpisodeBatch(**arrays, returns=arrays["rewards"].sum(axis=0))


def evaluate_policy(act: Policy, n_episodes: int = 100, seed: int = 10_000) -> np.ndarray:
    """The undiscounted returns of ``n_episodes`` episodes of ``act``, ``(n_episodes,)``."""
    env = make_vector_env(n_episodes)
    try:
        return collect_episodes(env, act, seed=seed).returns
    finally:
        env.close()


def random_policy_returns(n_episodes: int = 100, seed: int = 0) -> np.ndarray:
    """Returns of the uniformly random policy (CartPole's baseline), ``(n_episodes,)``."""
    rng = np.random.default_rng(seed)
    return evaluate_policy(lambda obs: rng.integers(0, 2, len(obs)), n_episodes, seed)


def record_rollout(act: Policy, seed: int = 0) -> np.ndarray:
    """One episode of ``act`` in a single ``gymnasium.make("CartPole-v1")``; the states
    ``(T + 1, 4)`` visited, from the reset state to the last one."""
    import gymnasium as gym

    env = gym.make(ENV_ID)
    try:
        obs, _ = env.reset(seed=seed)
        states, done = [obs], False
        while not done:
            action = int(np.asarray(act(obs[None]))[0])
            obs, _, terminated, truncated, _ = env.step(action)
            states.append(obs)
            done = terminated or truncated
        return np.stack(states)
    finally:
        env.close()


def episodes_to_solve(returns: np.ndarray, window: int = 100,
                      threshold: float = SOLVED_RETURN) -> int | None:
    """The number of episodes after which the mean of the last ``window`` returns first
    reaches ``threshold`` (CartPole-v1's definition of solved), or None."""
    r = np.asarray(returns, dtype=float)
    if len(r) < window:
        return None
    means = np.convolve(r, np.ones(window) / window, mode="valid")
    hits = np.flatnonzero(means >= threshold)
    return int(hits[0] + window) if len(hits) else None
