r"""Discounted returns.

The return from step :math:`t` of an episode with rewards :math:`r_0, \dots, r_{T-1}` is

.. math::
    G_t = \sum_{k=t}^{T-1} \gamma^{k-t} r_k = r_t + \gamma\, G_{t+1}, \qquad G_T = 0,

the *reward-to-go*: only rewards after the action count, which is what makes REINFORCE's
estimator use :math:`G_t` rather than the whole return :math:`G_0` (Sutton & Barto 2018,
section 13.3).
"""
from __future__ import annotations

import numpy as np


def reward_to_go(rewards: np.ndarray, gamma: float, mask: np.ndarray | None = None) -> np.ndarray:
    r"""The discounted reward-to-go :math:`G_t = r_t + \gamma G_{t+1}` along the first axis.

    Args:
        rewards: ``(T,)`` for one episode, or ``(T, N)`` for ``N`` episodes side by side.
        gamma: discount factor in ``[0, 1]``.
        mask: optional ``(T, N)`` (or ``(T,)``) array, 1 while the episode runs and 0 after
            it ended; rewards where it is 0 count as 0 and their :math:`G_t` is 0.

    Returns:
        :math:`G`, the shape and floating dtype of ``rewards`` (float64 for integer rewards).

    The backward recursion costs one pass over :math:`T`; computing each sum afresh would
    cost :math:`T^2/2`.
    """
    r = np.asarray(rewards)
    if r.ndim not in (1, 2):
        raise ValueError(f"reward_to_go: rewards must have shape (T,) or (T, N), got {r.shape}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"reward_to_go: gamma must be in [0, 1], got {gamma}")
    dtype = r.dtype if np.issubdtype(r.dtype, np.floating) else np.float64
    r = r.astype(dtype)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != r.shape:
            raise ValueError(f"reward_to_go: mask must have the rewards' shape {r.shape}, "
                             f"got {mask.shape}")
        r = r * mask
    out = np.zeros_like(r)
    running = np.zeros_like(r[0]) if len(r) else np.zeros((), dtype)
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


def discounted_return(rewards: np.ndarray, gamma: float) -> float:
    r""":math:`G_0 = \sum_t \gamma^t r_t` of one episode (``rewards`` of shape ``(T,)``)."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"discounted_return: rewards must have shape (T,), got {r.shape}")
    return float(reward_to_go(r, gamma)[0]) if len(r) else 0.0


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
        terminated: np.ndarray, alive: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    r"""Generalised advantage estimates (Schulman et al. 2016), ``(T, N)`` arrays in and out.

    With the TD error :math:`\delta_t = r_t + \gamma (1 - d_t) V(s_{t+1}) - V(s_t)`
    (:math:`d_t` = ``terminated``; a truncated episode still bootstraps),

    .. math::
        \hat A_t = \delta_t + \gamma\lambda\, \hat A_{t+1}
        = \sum_{k \ge 0} (\gamma\lambda)^k \delta_{t+k},

    summed within each episode (``alive`` masks the steps after its end). :math:`\lambda = 0`
    is the one-step TD error; :math:`\lambda = 1` is :math:`G_t - V(s_t)` for an episode that
    terminated: the REINFORCE-with-baseline weight.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"gae: lam must be in [0, 1], got {lam}")
    delta = rewards + gamma * (1.0 - terminated) * next_values - values
    return reward_to_go(delta, gamma * lam, mask=alive)
