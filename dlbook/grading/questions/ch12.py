"""Chapter 12 exercises: a GCN layer forward with the normalised adjacency, the FedAvg server
step, and integrated gradients of a small tanh model.

Every reference here is independent of solutions/ch12_beyond.ipynb and of ``dlbook``: torch
with explicit diagonal matrices for the GCN, ``torch.tensordot`` for FedAvg, and torch
autograd for the path gradients of integrated gradients.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# -- ch12.gcn_forward --------------------------------------------------------------------------


def _graph(n: int, rng: np.random.Generator) -> np.ndarray:
    upper = np.triu(rng.random((n, n)) < 0.4, k=1)
    return (upper | upper.T).astype(np.float64)


def _gcn_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(5, 3, 2, np.float64), (1, 4, 3, np.float64), (7, 2, 5, np.float32)],
             "hidden": [(9, 4, 4, np.float64), (3, 1, 2, np.float32)]}
    rng = np.random.default_rng(1201) if rng is None else rng
    return [Case({"x": rng.normal(size=(n, f)).astype(dt), "adj": _graph(n, rng).astype(dt),
                  "weight": rng.normal(size=(o, f)).astype(dt),
                  "bias": rng.normal(size=o).astype(dt)})
            for n, f, o, dt in specs.get(suite, [])]


def _gcn_reference(x: np.ndarray, adj: np.ndarray, weight: np.ndarray,
                   bias: np.ndarray) -> dict[str, Any]:
    import torch

    a = torch.tensor(adj) + torch.eye(len(adj), dtype=torch.tensor(adj).dtype)
    d = torch.diag(a.sum(1) ** -0.5)
    out = d @ a @ d @ torch.tensor(x) @ torch.tensor(weight).T + torch.tensor(bias)
    return {"out": out.numpy()}


register(Question(
    id="ch12.gcn_forward",
    points=3,
    description="A GCN layer forward: D^-1/2 (A+I) D^-1/2 X W^T + b.",
    signature="gcn_forward(x, adj, weight, bias) -> out",
    outputs=("out",),
    **split_suites(_gcn_cases),
    reference=_gcn_reference,
    needs=("torch",),
))

# -- ch12.fedavg -------------------------------------------------------------------------------


def _fedavg_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(3, (4, 2)), (1, (5,)), (4, (2, 3, 2))], "hidden": [(6, (3, 3))]}
    rng = np.random.default_rng(1202) if rng is None else rng
    return [Case({"client_weights": rng.normal(size=(k, *shape)),
                  "sizes": rng.integers(1, 50, size=k)})
            for k, shape in specs.get(suite, [])]


def _fedavg_reference(client_weights: np.ndarray, sizes: np.ndarray) -> dict[str, Any]:
    import torch

    p = torch.tensor(sizes, dtype=torch.float64)
    return {"avg": torch.tensordot(p / p.sum(), torch.tensor(client_weights), dims=1).numpy()}


register(Question(
    id="ch12.fedavg",
    points=2,
    description="The FedAvg server step: client weights averaged in proportion to data size.",
    signature="fedavg(client_weights, sizes) -> avg",
    outputs=("avg",),
    **split_suites(_fedavg_cases),
    reference=_fedavg_reference,
    needs=("torch",),
))

# -- ch12.integrated_gradients -----------------------------------------------------------------


def _ig_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(4, 3, 16), (1, 2, 1), (6, 5, 50)], "hidden": [(3, 7, 8)]}
    rng = np.random.default_rng(1203) if rng is None else rng
    return [Case({"x": rng.normal(size=d), "baseline": rng.normal(size=d) * 0.1,
                  "w": rng.normal(size=(h, d)), "v": rng.normal(size=h), "steps": steps})
            for d, h, steps in specs.get(suite, [])]


def _ig_reference(x: np.ndarray, baseline: np.ndarray, w: np.ndarray, v: np.ndarray,
                  steps: int) -> dict[str, Any]:
    import torch

    xt, bt = torch.tensor(x), torch.tensor(baseline)
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    path = (bt + alphas[:, None] * (xt - bt)).requires_grad_()
    (torch.tanh(path @ torch.tensor(w).T) @ torch.tensor(v)).sum().backward()
    return {"ig": ((xt - bt) * path.grad.mean(0)).numpy()}


register(Question(
    id="ch12.integrated_gradients",
    points=3,
    description="Integrated gradients (midpoint rule) of f(x) = v . tanh(W x).",
    signature="integrated_gradients(x, baseline, w, v, steps) -> ig",
    outputs=("ig",),
    **split_suites(_ig_cases),
    reference=_ig_reference,
    needs=("torch",),
))
