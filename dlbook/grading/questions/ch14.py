"""Chapter 14 exercises: the discounted reward-to-go, the REINFORCE loss and its gradient for a
softmax policy, the DQN and double-DQN targets, value iteration (for a predict-then-measure
task on the discount), and one REINFORCE step of a linear softmax policy (the find-the-bug
exercise's fixed version).

Every reference here is independent of solutions/ch14_deep_rl.ipynb and of ``dlbook.rl``,
``dlbook.nn`` and ``dlbook.models``: the reward-to-go summed term by term, torch autograd
(``cross_entropy``) for every gradient, torch's ``max``/``gather`` for the targets, torch's
``SGD`` for the update, and *policy iteration* with exact linear solves (a different
algorithm) for the optimal values. Answers use NumPy only (``FROM_SCRATCH``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register

_PUBLIC_SEED = 1401


def _floats(dtype: Any, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v).astype(dtype) for k, v in arrays.items()}


# -- ch14.reward_to_go -------------------------------------------------------------------------
def _rtg_case(rng: np.random.Generator, t: int, dtype: Any) -> Case:
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99, 1.0]))
    return Case({**_floats(dtype, rewards=rng.normal(size=t)), "gamma": gamma})


def _rtg_public() -> list[Case]:
    rng = np.random.default_rng(_PUBLIC_SEED)
    cases = [Case({"rewards": np.ones(4), "gamma": 0.5}),
             Case({"rewards": np.array([0.0, 0.0, 1.0]), "gamma": 0.9})]
    cases += [_rtg_case(rng, t, dt) for t, dt in ((1, np.float64), (7, np.float64),
                                                  (12, np.float32))]
    return cases


def _rtg_hidden(rng: np.random.Generator) -> list[Case]:
    return [_rtg_case(rng, int(rng.integers(2, 40)), np.float64),
            _rtg_case(rng, int(rng.integers(1, 5)), np.float64),
            _rtg_case(rng, int(rng.integers(50, 200)), np.float32)]


def _rtg_reference(rewards: np.ndarray, gamma: float) -> dict[str, np.ndarray]:
    r = rewards.astype(np.float64)
    t = len(r)
    out = np.array([sum(gamma ** (k - i) * r[k] for k in range(i, t)) for i in range(t)])
    return {"returns": out.astype(rewards.dtype)}


register(Question(
    id="ch14.reward_to_go",
    points=2,
    description="The discounted reward-to-go G_t = sum_k gamma^(k-t) r_k of one episode.",
    signature="reward_to_go(rewards, gamma) -> returns",
    outputs=("returns",),
    public=_rtg_public,
    hidden=_rtg_hidden,
    reference=_rtg_reference,
))


# -- ch14.reinforce_loss -----------------------------------------------------------------------
def _pg_case(rng: np.random.Generator, m: int, a: int, dtype: Any) -> Case:
    return Case({**_floats(dtype, logits=2 * rng.normal(size=(m, a))),
                 "actions": rng.integers(0, a, m),
                 **_floats(dtype, weights=10 * rng.normal(size=m))})


def _pg_public() -> list[Case]:
    rng = np.random.default_rng(_PUBLIC_SEED + 1)
    return [_pg_case(rng, m, a, dt) for m, a, dt in ((5, 2, np.float64), (1, 2, np.float64),
                                                     (6, 4, np.float64), (9, 3, np.float32))]


def _pg_hidden(rng: np.random.Generator) -> list[Case]:
    return [_pg_case(rng, int(rng.integers(2, 30)), int(rng.integers(2, 6)), np.float64),
            _pg_case(rng, int(rng.integers(30, 100)), 2, np.float32)]


def _pg_reference(logits: np.ndarray, actions: np.ndarray,
                  weights: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    x = torch.tensor(logits, requires_grad=True)
    nll = torch.nn.functional.cross_entropy(x, torch.tensor(actions), reduction="none")
    loss = (torch.tensor(weights) * nll).mean()
    loss.backward()
    return {"loss": loss.detach().numpy(), "grad_logits": x.grad.numpy()}


register(Question(
    id="ch14.reinforce_loss",
    points=3,
    description="The REINFORCE surrogate loss -mean(w * log softmax(logits)[a]) and its "
                "gradient with respect to the logits.",
    signature="reinforce_loss(logits, actions, weights) -> (loss, grad_logits)",
    outputs=("loss", "grad_logits"),
    public=_pg_public,
    hidden=_pg_hidden,
    reference=_pg_reference,
    needs=("torch",),
))


# -- ch14.dqn_targets --------------------------------------------------------------------------
def _dqn_case(rng: np.random.Generator, n: int, a: int, dtype: Any) -> Case:
    return Case({**_floats(dtype, rewards=rng.normal(size=n),
                           terminated=(rng.random(n) < 0.3).astype(float),
                           next_q_target=3 * rng.normal(size=(n, a)),
                           next_q_online=3 * rng.normal(size=(n, a))),
                 "gamma": float(rng.choice([0.9, 0.99]))})


def _dqn_public() -> list[Case]:
    rng = np.random.default_rng(_PUBLIC_SEED + 2)
    worked = Case({"rewards": np.array([1.0, 1.0]), "terminated": np.array([0.0, 1.0]),
                   "next_q_target": np.array([[2.0, 5.0], [3.0, 1.0]]),
                   "next_q_online": np.array([[4.0, 1.0], [0.0, 2.0]]), "gamma": 0.9})
    return [worked] + [_dqn_case(rng, n, a, dt) for n, a, dt in (
        (1, 2, np.float64), (8, 3, np.float64), (16, 2, np.float32))]


def _dqn_hidden(rng: np.random.Generator) -> list[Case]:
    return [_dqn_case(rng, int(rng.integers(2, 40)), int(rng.integers(2, 7)), np.float64),
            _dqn_case(rng, 64, 2, np.float32)]


def _dqn_reference(rewards: np.ndarray, terminated: np.ndarray, next_q_target: np.ndarray,
                   next_q_online: np.ndarray, gamma: float) -> dict[str, np.ndarray]:
    import torch

    r, d = torch.tensor(rewards), torch.tensor(terminated)
    q_t, q_o = torch.tensor(next_q_target), torch.tensor(next_q_online)
    y = r + gamma * (1 - d) * q_t.max(dim=1).values
    y_double = r + gamma * (1 - d) * q_t.gather(1, q_o.argmax(dim=1, keepdim=True))[:, 0]
    return {"y_dqn": y.numpy(), "y_double": y_double.numpy()}


register(Question(
    id="ch14.dqn_targets",
    points=2,
    description="The DQN target r + gamma (1 - d) max_a' Q_target(s', a') and the double-DQN "
                "target r + gamma (1 - d) Q_target(s', argmax_a' Q_online(s', a')).",
    signature="dqn_targets(rewards, terminated, next_q_target, next_q_online, gamma) "
              "-> (y_dqn, y_double)",
    outputs=("y_dqn", "y_double"),
    public=_dqn_public,
    hidden=_dqn_hidden,
    reference=_dqn_reference,
    needs=("torch",),
))


# -- ch14.value_iteration ----------------------------------------------------------------------
def _mdp_case(rng: np.random.Generator, s: int, a: int) -> Case:
    """A random MDP: sparse-ish transition rows that sum to 1, rewards in [-1, 1]."""
    logits = 3 * rng.normal(size=(s, a, s))
    P = np.exp(logits - logits.max(axis=2, keepdims=True))
    P /= P.sum(axis=2, keepdims=True)
    return Case({"P": P, "R": rng.uniform(-1, 1, size=(s, a)),
                 "gamma": float(rng.choice([0.5, 0.8, 0.9]))})


def _vi_public() -> list[Case]:
    rng = np.random.default_rng(_PUBLIC_SEED + 3)
    chain = np.zeros((3, 2, 3))        # 0 <-> 1 <-> 2: action 0 left, action 1 right
    for s in range(3):
        chain[s, 0, max(s - 1, 0)] = chain[s, 1, min(s + 1, 2)] = 1.0
    reward = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    return [Case({"P": chain, "R": reward, "gamma": 0.9}),
            _mdp_case(rng, 4, 2), _mdp_case(rng, 6, 3)]


def _vi_hidden(rng: np.random.Generator) -> list[Case]:
    return [_mdp_case(rng, int(rng.integers(2, 10)), int(rng.integers(2, 5))),
            _mdp_case(rng, 1, 3)]


def _vi_reference(P: np.ndarray, R: np.ndarray, gamma: float) -> dict[str, np.ndarray]:
    """Policy iteration: evaluate exactly, improve greedily, until the policy is stable."""
    n = len(R)
    policy = np.zeros(n, dtype=np.int64)
    for _ in range(1000):
        P_pi, R_pi = P[np.arange(n), policy], R[np.arange(n), policy]
        V = np.linalg.solve(np.eye(n) - gamma * P_pi, R_pi)
        better = (R + gamma * P @ V).argmax(axis=1)
        if np.array_equal(better, policy):
            break
        policy = better
    return {"V": V, "policy": policy}


register(Question(
    id="ch14.value_iteration",
    points=2,
    description="Value iteration V <- max_a (R + gamma P V) from V = 0 to convergence, and "
                "the greedy policy of the converged values.",
    signature="value_iteration(P, R, gamma) -> (V, policy)",
    outputs=("V", "policy"),
    public=_vi_public,
    hidden=_vi_hidden,
    reference=_vi_reference,
))


# -- ch14.reinforce_step -----------------------------------------------------------------------
def _step_case(rng: np.random.Generator, m: int, d: int, a: int, dtype: Any) -> Case:
    return Case({**_floats(dtype, W=rng.normal(size=(d, a)), obs=rng.normal(size=(m, d))),
                 "actions": rng.integers(0, a, m),
                 **_floats(dtype, weights=5 * rng.normal(size=m)),
                 "lr": float(rng.choice([0.01, 0.1]))})


def _step_public() -> list[Case]:
    rng = np.random.default_rng(_PUBLIC_SEED + 4)
    return [_step_case(rng, m, d, a, dt) for m, d, a, dt in (
        (6, 4, 2, np.float64), (1, 3, 2, np.float64), (10, 5, 3, np.float32))]


def _step_hidden(rng: np.random.Generator) -> list[Case]:
    return [_step_case(rng, int(rng.integers(2, 30)), int(rng.integers(1, 8)),
                       int(rng.integers(2, 5)), np.float64),
            _step_case(rng, 50, 4, 2, np.float32)]


def _step_reference(W: np.ndarray, obs: np.ndarray, actions: np.ndarray, weights: np.ndarray,
                    lr: float) -> dict[str, np.ndarray]:
    import torch

    w = torch.nn.Parameter(torch.tensor(W))
    opt = torch.optim.SGD([w], lr=lr)
    nll = torch.nn.functional.cross_entropy(torch.tensor(obs) @ w, torch.tensor(actions),
                                            reduction="none")
    (torch.tensor(weights) * nll).mean().backward()
    opt.step()
    return {"W_new": w.detach().numpy()}


register(Question(
    id="ch14.reinforce_step",
    points=2,
    description="One gradient-descent step on the REINFORCE loss of the linear softmax policy "
                "logits = obs @ W (the find-the-bug exercise, fixed).",
    signature="reinforce_step(W, obs, actions, weights, lr) -> W_new",
    outputs=("W_new",),
    public=_step_public,
    hidden=_step_hidden,
    reference=_step_reference,
    needs=("torch",),
))
