r"""Exact dynamic programming on a small gridworld, and the maximisation bias of Q-learning.

A finite Markov decision process is a set of states :math:`\mathcal S`, actions
:math:`\mathcal A`, transition probabilities :math:`P(s' \mid s, a)`, expected rewards
:math:`R(s, a)` and a discount :math:`\gamma`. :class:`GridWorld` builds :math:`P` and
:math:`R` as arrays, so the Bellman equations become array expressions:

.. math::
    V^\pi = R_\pi + \gamma P_\pi V^\pi \quad\text{(expectation: a linear system)}, \qquad
    V^*(s) = \max_a \Big(R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V^*(s')\Big)
    \quad\text{(optimality)}.

:func:`policy_evaluation` solves the first exactly; :func:`value_iteration` iterates the
second, a :math:`\gamma`-contraction in the max norm (Bellman 1957; Sutton & Barto 2018,
chapter 4). :func:`max_bias_experiment` is Sutton & Barto's example 6.7: Q-learning's
:math:`\max` over noisy estimates overestimates, double Q-learning (van Hasselt 2010) does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
ARROWS = ("↑", "→", "↓", "←")
DEFAULT_LAYOUT = ("....#...",
                  ".##.#.#G",
                  ".#.....P",
                  ".#.##.#.",
                  "S.......")


@dataclass
class GridWorld:
    """A gridworld MDP with slippery moves, as in Russell & Norvig's 4x3 world.

    Layout characters: ``.`` free cell, ``#`` wall, ``S`` start, ``G`` goal (terminal,
    reward ``goal_reward`` on entering), ``P`` pit (terminal, ``pit_reward``). Every move costs
    ``step_reward``. An action goes in its direction with probability ``1 - slip`` and to
    each perpendicular side with ``slip / 2``; a move into a wall or off the grid stays put.
    Episodes end on entering a terminal cell, whose value is 0.

    Attributes (after construction):
        states: ``(S, 2)`` row and column of each non-wall cell.
        P: ``(S, A, S)`` transition probabilities; the rows of terminal states are 0.
        R: ``(S, A)`` expected reward of taking ``a`` in ``s``.
        terminal: ``(S,)`` booleans.
    """

    layout: tuple[str, ...] = DEFAULT_LAYOUT
    slip: float = 0.2
    step_reward: float = -0.04
    goal_reward: float = 1.0
    pit_reward: float = -1.0
    states: np.ndarray = field(init=False, repr=False)
    P: np.ndarray = field(init=False, repr=False)
    R: np.ndarray = field(init=False, repr=False)
    terminal: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len({len(row) for row in self.layout}) != 1:
            raise ValueError("GridWorld: every row of the layout must have the same length")
        if not 0.0 <= self.slip <= 1.0:
            raise ValueError(f"GridWorld: slip must be in [0, 1], got {self.slip}")
        grid = np.array([list(row) for row in self.layout])
        if not set(np.unique(grid)) <= set(".#SGP"):
            raise ValueError("GridWorld: the layout may only use the characters . # S G P")
        self.shape = grid.shape
        self.states = np.argwhere(grid != "#")
        index = {tuple(rc): i for i, rc in enumerate(self.states)}
        kinds = grid[tuple(self.states.T)]
        self.terminal = np.isin(kinds, ["G", "P"])
        entry = np.where(kinds == "G", self.goal_reward,
                         np.where(kinds == "P", self.pit_reward, 0.0))
        n, m = len(self.states), len(ACTIONS)
        self.P, self.R = np.zeros((n, m, n)), np.zeros((n, m))
        for s, (row, col) in enumerate(self.states):
            if self.terminal[s]:
                continue
            for a in range(m):
                sides = ((a, 1 - self.slip), ((a + 1) % m, self.slip / 2),
                         ((a - 1) % m, self.slip / 2))
                for direction, prob in sides:
                    dr, dc = _MOVES[direction]
                    target = index.get((row + dr, col + dc), s)
                    self.P[s, a, target] += prob
                    self.R[s, a] += prob * (self.step_reward + entry[target])
        self.start = int(np.flatnonzero(kinds == "S")[0]) if (kinds == "S").any() else 0

    def to_grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Per-state ``values`` ``(S,)`` laid out on the grid ``(H, W)``; walls get ``fill``."""
        grid = np.full(self.shape, fill, dtype=float)
        grid[tuple(self.states.T)] = values
        return grid


def q_from_v(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    r""":math:`Q(s, a) = R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V(s')`, shape ``(S, A)``."""
    return R + gamma * P @ V


def policy_evaluation(P: np.ndarray, R: np.ndarray, policy: np.ndarray,
                      gamma: float) -> np.ndarray:
    r"""The exact :math:`V^\pi`, solving the Bellman expectation equation
    :math:`(I - \gamma P_\pi) V = R_\pi` with :math:`P_\pi = \sum_a \pi(a|s) P(\cdot|s, a)`.

    Args:
        P: ``(S, A, S)``; R: ``(S, A)``; policy: ``(S, A)`` action probabilities per state.
    """
    if policy.shape != R.shape:
        raise ValueError(f"policy_evaluation: policy must have shape {R.shape}, "
                         f"got {policy.shape}")
    P_pi = np.einsum("sa,sat->st", policy, P)
    R_pi = np.sum(policy * R, axis=1)
    return np.linalg.solve(np.eye(len(R)) - gamma * P_pi, R_pi)


@dataclass
class ValueIterationResult:
    """``V`` ``(S,)``, ``Q`` ``(S, A)``, the greedy ``policy`` ``(S,)`` (action indices) and
    ``deltas``: :math:`\\max_s |V_{k+1}(s) - V_k(s)|` of every sweep."""

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    deltas: list[float]


def value_iteration(P: np.ndarray, R: np.ndarray, gamma: float, tol: float = 1e-10,
                    max_iter: int = 10_000) -> ValueIterationResult:
    r"""Iterate :math:`V_{k+1}(s) = \max_a \big(R(s,a) + \gamma \sum_{s'} P(s'|s,a)
    V_k(s')\big)` from :math:`V_0 = 0` until the largest change is below ``tol``.

    The update is a :math:`\gamma`-contraction in the max norm, so the error shrinks at least
    by :math:`\gamma` per sweep. Stops with an error after ``max_iter`` sweeps.
    """
    if not 0.0 <= gamma < 1.0 and gamma != 1.0:
        raise ValueError(f"value_iteration: gamma must be in [0, 1], got {gamma}")
    V = np.zeros(P.shape[0])
    deltas = []
    for _ in range(max_iter):
        Q = q_from_v(P, R, V, gamma)
        V_new = Q.max(axis=1)
        deltas.append(float(np.max(np.abs(V_new - V))))
        V = V_new
        if deltas[-1] < tol:
            Q = q_from_v(P, R, V, gamma)
            return ValueIterationResult(V, Q, Q.argmax(axis=1), deltas)
    raise RuntimeError(f"value_iteration: no convergence to {tol} in {max_iter} sweeps")


def _argmax_random_ties(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Argmax over the last axis, ties broken uniformly at random."""
    best = q == q.max(axis=-1, keepdims=True)
    return np.argmax(best * rng.random(q.shape), axis=-1)


def max_bias_experiment(double: bool, n_runs: int = 1000, n_episodes: int = 300,
                        n_b_actions: int = 10, epsilon: float = 0.1, alpha: float = 0.1,
                        seed: int = 0) -> np.ndarray:
    r"""Sutton & Barto's example 6.7, ``n_runs`` independent runs side by side in NumPy.

    From state A, *right* ends the episode with reward 0 and *left* leads to B with reward
    0; every one of B's ``n_b_actions`` actions ends the episode with a reward drawn from
    :math:`\mathcal N(-0.1, 1)`. Going left is worse (expected return :math:`-0.1`), but
    Q-learning's target :math:`\max_b Q(B, b)` is the maximum of noisy estimates, biased
    upwards, so early on it prefers left. Double Q-learning keeps two tables, picks the action
    with one and evaluates it with the other: an unbiased estimate. Undiscounted, ε-greedy
    behaviour (on :math:`Q_1 + Q_2` for double Q-learning), step size ``alpha``.

    Returns:
        ``(n_episodes,)``: the fraction of runs that went left from A in each episode.
    """
    rng = np.random.default_rng(seed)
    runs = np.arange(n_runs)
    n_tables = 2 if double else 1
    q_a = np.zeros((n_tables, n_runs, 2))               # A: 0 = left, 1 = right
    q_b = np.zeros((n_tables, n_runs, n_b_actions))
    went_left = np.zeros(n_episodes)

    def behave(q: np.ndarray) -> np.ndarray:
        greedy = _argmax_random_ties(q.sum(axis=0), rng)
        explore = rng.random(n_runs) < epsilon
        return np.where(explore, rng.integers(0, q.shape[-1], n_runs), greedy)

    for episode in range(n_episodes):
        a = behave(q_a)
        left = a == 0
        went_left[episode] = left.mean()
        b = behave(q_b)
        reward_b = rng.normal(-0.1, 1.0, n_runs)
        # which table learns this step (always table 0 for Q-learning)
        k = rng.integers(0, 2, n_runs) if double else np.zeros(n_runs, dtype=int)
        other = (1 - k) if double else k
        # step A -> B (left) or A -> end (right, target 0)
        best_b = _argmax_random_ties(q_b[k, runs], rng)
        bootstrap = q_b[other, runs, best_b]
        target_a = np.where(left, bootstrap, 0.0)
        q_a[k, runs, a] += alpha * (target_a - q_a[k, runs, a])
        # step B -> end, only for the runs that went left
        update_b = alpha * (reward_b - q_b[k, runs, b]) * left
        q_b[k, runs, b] += update_b
    return went_left
