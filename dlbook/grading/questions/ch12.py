"""Chapter 12 exercises: a GCN layer whose bug a regular graph hides (find the bug); the
backward of a GraphSAGE mean-aggregator layer, whose M = D^-1 A is not symmetric (a transfer:
the GCN's symmetric A-hat hides a transpose); the FedAvg server step with a server learning
rate and momentum, FedAvgM (a transfer); and integrated gradients of a softplus model whose
gradient the student derives, with a prediction of how the completeness gap of two
quadrature rules shrinks (predict, then measure).

Every reference here is independent of solutions/ch12_beyond.ipynb and of ``dlbook``: torch
with explicit diagonal matrices for the GCN, torch autograd for GraphSAGE and for the path
gradients of integrated gradients, ``torch.tensordot`` for FedAvgM.

The catalogue of common mistakes (issue 19): each question's requirements recompute the
answer with one named mistake (a mutant) and, when the student's outputs equal a mutant's and
not the right answer, name the mistake; a float32 answer promoted to float64 gets its own
message. tests/grading/test_catalogue_ch12.py plants each one.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.questions.catalogue import dtype_kept as _dtype_kept
from dlbook.grading.registry import Case, Question, register, split_suites

GCN_ROW_NORM = ("A-hat is D^-1 (A + I), each row divided by its node's degree (a row "
                "average, not symmetric): D^-1/2 (A + I) D^-1/2 scales row i by 1/sqrt(d_i) "
                "and column j by 1/sqrt(d_j); check your broadcasting (d[:, None] scales "
                "rows, d[None, :] columns). On a regular graph the two agree")
GCN_COL_NORM = ("A-hat is (A + I) D^-1, each column divided by its node's degree (the "
                "transpose of a row average): D^-1/2 (A + I) D^-1/2 scales row i by "
                "1/sqrt(d_i) and column j by 1/sqrt(d_j)")
GCN_NO_SELF_LOOPS = ("A-hat has no self-loops: normalise A + I, not A, so that each node "
                     "keeps its own features (and an isolated node has degree 1, not 0)")
GCN_ONE_SIDED = ("A-hat is D^-1/2 (A + I), scaled on one side only: the GCN scales row i by "
                 "1/sqrt(d_i) and column j by 1/sqrt(d_j), D^-1/2 (A + I) D^-1/2")
GCN_NOT_NORMALISED = ("A + I is used as it is: the GCN normalises it, D^-1/2 (A + I) D^-1/2 "
                      "with D the degrees of A + I, so that a hub's sum does not grow with "
                      "its degree")
GCN_DEGREE_OF_A = ("the degrees are A's row sums: D-tilde counts the self-loop, "
                   "d_i = 1 + sum_j A_ij, the row sums of A + I")
GCN_FLOAT64 = ("np.eye(N) is float64 unless told otherwise: np.eye(N, dtype=adj.dtype) keeps "
               "a float32 graph in float32")
FED_UNWEIGHTED = ("the clients are averaged with equal weights: FedAvg weights client k by "
                  "its share n_k / n of the examples, so a client with 10 times the data has "
                  "10 times the say")
FED_NOT_NORMALISED = ("the update is sum_k n_k (w_k - w), not divided by n = sum_k n_k: the "
                      "weights n_k / n must sum to 1")
FED_SIGN = ("the server steps away from the clients: Delta = sum_k (n_k / n) (w_k - w) "
            "points where the clients went, and w <- w + lr v with v = beta v + Delta")
FED_OLD_VELOCITY = ("the step uses the old velocity: update v = beta v + Delta first, then "
                    "step w <- w + lr v with the new v (heavy-ball momentum, chapter 3)")
FED_PLAIN_AVERAGE = ("the new server weights are the clients' weighted average, plain FedAvg: "
                     "FedAvgM moves the server by lr v, with the momentum v = beta v + Delta")
FED_FLOAT64 = ("sizes / n is float64 (sizes are integers): float32 clients in, float32 out; "
               "cast the weights with .astype(clients.dtype)")
IG_LEFT = ("your path points are alpha = s/m, the left Riemann sum (what rule=\"left\" "
           "asks for); the default is the midpoint rule, alpha = (s + 1/2)/m, s = 0..m-1")
IG_RIGHT = ("your path points are alpha = (s + 1)/m (a right Riemann sum); the midpoint rule "
            "takes alpha = (s + 1/2)/m, s = 0..m-1")
IG_LINSPACE = ("your path points are np.linspace(0, 1, m), both ends included (neither a "
               "Riemann nor the midpoint rule); the midpoint rule takes alpha = (s + 1/2)/m")
IG_NO_BASELINE = ("the mean gradient is multiplied by x, not by x - x': the baseline must be "
                  "subtracted (IG_i = (x_i - x'_i) times the average of d f / d x_i)")
IG_PATH_FROM_ZERO = ("the path starts at 0, not at the baseline: the points are "
                     "x' + alpha (x - x')")
IG_NO_MEAN = ("the path gradients are summed, not averaged: the integral over alpha in "
              "[0, 1] is approximated by (1/m) sum_s")
IG_SIGMOID_PRIME = ("the derivative of softplus(z) = log(1 + e^z) is sigmoid(z) itself, not "
                    "sigmoid(z)(1 - sigmoid(z)) (that is the sigmoid's own derivative)")

# -- ch12.gcn_forward (find the bug) ------------------------------------------------------------


def _graph(n: int, rng: np.random.Generator, isolated: int = 0) -> np.ndarray:
    """A random symmetric 0/1 adjacency of ``n`` nodes without self-loops: node 0 is joined to
    every other node but the last ``isolated`` (which have no neighbours), and the last of
    those it is joined to has no other neighbour, so the graph is irregular from 3 nodes."""
    k = n - isolated
    upper = np.triu(rng.random((k, k)) < 0.35, k=1)
    if k > 1:
        upper[0, 1:] = True
        upper[1:, k - 1] = False
    adj = np.zeros((n, n))
    adj[:k, :k] = upper | upper.T
    return adj


def _gcn_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(1201) if rng is None else rng
    if suite == "public":
        specs = [(6, 3, 2, 0, np.float64), (1, 4, 3, 0, np.float64), (7, 2, 5, 0, np.float32),
                 (8, 3, 3, 2, np.float64)]
    else:
        specs = [(int(rng.integers(3, 13)), int(rng.integers(1, 6)), int(rng.integers(1, 6)),
                  int(rng.integers(0, 2)), np.float64),
                 (int(rng.integers(3, 9)), 3, 2, 0, np.float32)]
    return [Case({"x": rng.normal(size=(n, f)).astype(dt), "adj": _graph(n, rng, iso).astype(dt),
                  "weight": rng.normal(size=(o, f)).astype(dt),
                  "bias": rng.normal(size=o).astype(dt)})
            for n, f, o, iso, dt in specs]


def _gcn_right(x: np.ndarray, adj: np.ndarray, weight: np.ndarray, bias: np.ndarray,
               mistake: str = "") -> dict[str, Any]:
    a = adj if mistake == "loops" else adj + np.eye(len(adj))
    deg = adj.sum(axis=1) if mistake == "degree" else a.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):   # degree 0 without self-loops
        d = deg ** -0.5
        a_hat = {"row": a / deg[:, None], "col": a / deg[None, :], "raw": a,
                 "one": d[:, None] * a}.get(
            mistake, d[:, None] * a * d[None, :])
        return {"out": a_hat @ x @ weight.T + bias}


_gcn_catalogue = _catalogue(_gcn_right, [
    (GCN_ROW_NORM, lambda **a: _gcn_right(**a, mistake="row")),
    (GCN_COL_NORM, lambda **a: _gcn_right(**a, mistake="col")),
    (GCN_ONE_SIDED, lambda **a: _gcn_right(**a, mistake="one")),
    (GCN_NOT_NORMALISED, lambda **a: _gcn_right(**a, mistake="raw")),
    (GCN_NO_SELF_LOOPS, lambda **a: _gcn_right(**a, mistake="loops")),
    (GCN_DEGREE_OF_A, lambda **a: _gcn_right(**a, mistake="degree")),
])


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
    description="Find and fix the bug: a GCN layer D^-1/2 (A+I) D^-1/2 X W^T + b that passes "
                "on a ring.",
    signature="gcn_forward(x, adj, weight, bias) -> out",
    outputs=("out",),
    **split_suites(_gcn_cases),
    reference=_gcn_reference,
    requirements=(_gcn_catalogue, _dtype_kept("out", hint=GCN_FLOAT64)),
    needs=("torch",),
))

# -- ch12.sage_backward (transfer: the transpose the symmetric A-hat hides) ---------------------
SAGE_ISOLATED = ("a node with no neighbours divides 0 by 0 in the mean: the task sets its "
                 "neighbour mean to 0 (divide by max(degree, 1))")
SAGE_NO_TRANSPOSE = ("grad_x sends the neighbour gradient through M, not M^T: node j's "
                     "features reach every node i that averages them, with weight M_ij, so "
                     "grad_x = G W_self + M^T G W_neigh. The GCN's A-hat is symmetric and "
                     "hides the transpose; the mean M = D^-1 A is not")
SAGE_NO_SELF_PATH = ("grad_x misses the self path: x_i enters its own output through W_self "
                     "too, so grad_x = G W_self + M^T G W_neigh")
SAGE_W_NEIGH_OF_X = ("grad_w_neigh is G^T X: W_neigh multiplies the neighbour means M X, so "
                     "its gradient is G^T (M X)")
SAGE_SUM = ("the neighbours are summed, not averaged: divide row i of A by node i's degree, "
            "M = D^-1 A")
SAGE_SELF_IN_MEAN = ("the mean includes the node itself (A + I, as in the GCN): GraphSAGE "
                     "averages the neighbours only; the node's own features enter through "
                     "W_self")
SAGE_FLOAT64 = ("float32 in, float32 out: an np.eye, np.ones or np.zeros without dtype= (or "
                "a float64 division) promotes the arrays")


def _sage_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(1204) if rng is None else rng
    if suite == "public":
        specs = [(7, 3, 2, 1, np.float64), (1, 2, 3, 1, np.float64), (6, 4, 4, 0, np.float64),
                 (5, 2, 3, 1, np.float32)]
    else:
        specs = [(int(rng.integers(3, 13)), int(rng.integers(1, 6)), int(rng.integers(1, 6)),
                  int(rng.integers(0, 3)), np.float64),
                 (int(rng.integers(3, 9)), 3, 2, 1, np.float32)]
    return [Case({"x": rng.normal(size=(n, f)).astype(dt), "adj": _graph(n, rng, iso).astype(dt),
                  "w_self": rng.normal(size=(o, f)).astype(dt),
                  "w_neigh": rng.normal(size=(o, f)).astype(dt),
                  "bias": rng.normal(size=o).astype(dt),
                  "grad_out": rng.normal(size=(n, o)).astype(dt)})
            for n, f, o, iso, dt in specs]


def _sage_right(x: np.ndarray, adj: np.ndarray, w_self: np.ndarray, w_neigh: np.ndarray,
                bias: np.ndarray, grad_out: np.ndarray, mistake: str = "") -> dict[str, Any]:
    a = adj + np.eye(len(adj)) if mistake == "self" else adj
    m = a if mistake == "sum" else a / np.maximum(a.sum(axis=1, keepdims=True), 1)
    mx = m @ x
    through_m = (m if mistake == "transpose" else m.T) @ grad_out @ w_neigh
    return {"out": x @ w_self.T + mx @ w_neigh.T + bias,
            "grad_x": through_m + (0 if mistake == "no_self" else grad_out @ w_self),
            "grad_w_self": grad_out.T @ x,
            "grad_w_neigh": grad_out.T @ (x if mistake == "no_agg" else mx),
            "grad_b": grad_out.sum(axis=0)}


def _only(mistake: str, *names: str) -> Any:
    """The mutant's outputs ``names`` (those the mistake changes)."""
    return lambda **a: {k: v for k, v in _sage_right(**a, mistake=mistake).items() if k in names}


_sage_catalogue = _catalogue(_sage_right, [
    (SAGE_NO_TRANSPOSE, _only("transpose", "grad_x")),
    (SAGE_NO_SELF_PATH, _only("no_self", "grad_x")),
    (SAGE_W_NEIGH_OF_X, _only("no_agg", "grad_w_neigh")),
    (SAGE_SUM, _only("sum", "out", "grad_x", "grad_w_neigh")),
    (SAGE_SELF_IN_MEAN, _only("self", "out", "grad_x", "grad_w_neigh")),
])


def _finite(got: dict[str, Any], case: Case) -> str | None:
    for value in got.values():
        try:
            bad = not np.all(np.isfinite(np.asarray(value, dtype=np.float64)))
        except (TypeError, ValueError):
            return None
        if bad:
            return f"the outputs hold inf or nan: {SAGE_ISOLATED}"
    return None


def _sage_reference(x: np.ndarray, adj: np.ndarray, w_self: np.ndarray, w_neigh: np.ndarray,
                    bias: np.ndarray, grad_out: np.ndarray) -> dict[str, Any]:
    import torch

    leaves = [torch.tensor(a, requires_grad=True) for a in (x, w_self, w_neigh, bias)]
    xt, ws, wn, b = leaves
    a = torch.tensor(adj)
    mean = (a @ xt) / a.sum(1, keepdim=True).clamp(min=1)
    out = torch.nn.functional.linear(xt, ws, b) + torch.nn.functional.linear(mean, wn)
    out.backward(torch.tensor(grad_out))
    return {"out": out.detach().numpy(), "grad_x": xt.grad.numpy(),
            "grad_w_self": ws.grad.numpy(), "grad_w_neigh": wn.grad.numpy(),
            "grad_b": b.grad.numpy()}


register(Question(
    id="ch12.sage_backward",
    points=3,
    description="A GraphSAGE mean-aggregator layer X W_self^T + (D^-1 A X) W_neigh^T + b: "
                "the output and the gradients of all its inputs.",
    signature="sage_backward(x, adj, w_self, w_neigh, bias, grad_out) -> "
              "(out, grad_x, grad_w_self, grad_w_neigh, grad_b)",
    outputs=("out", "grad_x", "grad_w_self", "grad_w_neigh", "grad_b"),
    **split_suites(_sage_cases),
    reference=_sage_reference,
    requirements=(_finite, _sage_catalogue,
                  _dtype_kept("out", "grad_x", "grad_w_self", "grad_w_neigh", "grad_b",
                              hint=SAGE_FLOAT64)),
    needs=("torch",),
))

# -- ch12.fedavgm (transfer) --------------------------------------------------------------------


def _fedavgm_case(rng: np.random.Generator, k: int, shape: tuple[int, ...], sizes: np.ndarray,
                  lr: float, beta: float, dtype: type) -> Case:
    server = rng.normal(size=shape)
    return Case({"server": server.astype(dtype),
                 "velocity": (0.3 * rng.normal(size=shape) if beta else np.zeros(shape)
                              ).astype(dtype),
                 "clients": (server + 0.5 * rng.normal(size=(k, *shape))).astype(dtype),
                 "sizes": np.asarray(sizes, dtype=np.int64), "lr": lr, "beta": beta})


def _fedavgm_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    if suite == "public":
        rng = np.random.default_rng(1202) if rng is None else rng
        return [_fedavgm_case(rng, 4, (3, 2), np.array([12, 150, 31, 64]), 0.7, 0.9,
                              np.float64),
                _fedavgm_case(rng, 1, (5,), np.array([40]), 1.0, 0.0, np.float64),
                _fedavgm_case(rng, 3, (2, 3, 2), np.array([7, 0, 90]), 1.5, 0.5, np.float32),
                _fedavgm_case(rng, 5, (), np.array([1, 2, 3, 4, 200]), 1.0, 0.9, np.float64)]
    assert rng is not None
    k = int(rng.integers(2, 9))
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(0, 3))))
    sizes = rng.integers(1, 300, size=k)
    sizes[0] = 5 * sizes[1:].max()                   # unequal: the weighting always matters
    return [_fedavgm_case(rng, k, shape, rng.permutation(sizes), float(rng.uniform(0.3, 2)),
                          float(rng.uniform(0, 0.95)), np.float64),
            _fedavgm_case(rng, 3, (4,), rng.integers(1, 100, size=3) * [1, 3, 9],
                          float(rng.uniform(0.3, 2)), float(rng.uniform(0, 0.95)), np.float32)]


def _fedavgm_right(server: np.ndarray, velocity: np.ndarray, clients: np.ndarray,
                   sizes: np.ndarray, lr: float, beta: float,
                   mistake: str = "") -> dict[str, Any]:
    p = {"mean": np.ones(len(sizes)) / len(sizes), "sum": sizes.astype(float)}.get(
        mistake, sizes / sizes.sum())
    delta = np.tensordot(p, clients - server, axes=1)
    if mistake == "sign":
        delta = -delta
    new_velocity = beta * velocity + delta
    step = velocity if mistake == "old" else new_velocity
    return {"server": server + lr * step, "velocity": new_velocity}


_fedavgm_catalogue = _catalogue(_fedavgm_right, [
    (FED_UNWEIGHTED, lambda **a: _fedavgm_right(**a, mistake="mean")),
    (FED_NOT_NORMALISED, lambda **a: _fedavgm_right(**a, mistake="sum")),
    (FED_SIGN, lambda **a: _fedavgm_right(**a, mistake="sign")),
    (FED_OLD_VELOCITY, lambda **a: {"server": _fedavgm_right(**a, mistake="old")["server"]}),
    (FED_PLAIN_AVERAGE, lambda **a: {
        "server": _fedavgm_right(**{**a, "lr": 1.0, "beta": 0.0})["server"]}),
])


def _fedavgm_reference(server: np.ndarray, velocity: np.ndarray, clients: np.ndarray,
                       sizes: np.ndarray, lr: float, beta: float) -> dict[str, Any]:
    import torch

    n = torch.tensor(sizes, dtype=torch.float64)
    w, v = torch.tensor(server, dtype=torch.float64), torch.tensor(velocity, dtype=torch.float64)
    average = torch.tensordot(n / n.sum(), torch.tensor(clients, dtype=torch.float64), dims=1)
    v = beta * v + (average - w)                     # the weights n_k / n sum to 1
    return {"server": (w + lr * v).numpy().astype(server.dtype),
            "velocity": v.numpy().astype(server.dtype)}


register(Question(
    id="ch12.fedavgm",
    points=3,
    description="The FedAvgM server step: the clients' updates averaged by data size, then a "
                "momentum step with a server learning rate.",
    signature="fedavgm(server, velocity, clients, sizes, lr, beta) -> (server, velocity)",
    outputs=("server", "velocity"),
    **split_suites(_fedavgm_cases),
    reference=_fedavgm_reference,
    requirements=(_fedavgm_catalogue, _dtype_kept("server", "velocity", hint=FED_FLOAT64)),
    needs=("torch",),
))

# -- ch12.integrated_gradients (predict, then measure; a model the chapter did not use) --------


def _ig_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    if suite == "public":
        rng = np.random.default_rng(1203) if rng is None else rng
        specs = [(4, 3, 8), (2, 2, 1), (6, 5, 50), (1, 4, 3)]
    else:
        assert rng is not None
        specs = [(int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(2, 30))),
                 (int(rng.integers(1, 5)), 3, 1)]
    return [Case({"x": rng.normal(size=d), "baseline": 0.5 * rng.normal(size=d),
                  "w": rng.normal(size=(h, d)), "c": rng.normal(size=h),
                  "v": rng.normal(size=h), "steps": steps})
            for d, h, steps in specs]


def _ig_right(x: np.ndarray, baseline: np.ndarray, w: np.ndarray, c: np.ndarray, v: np.ndarray,
              steps: int, mistake: str = "") -> dict[str, Any]:
    alphas = {"left": np.arange(steps) / steps, "right": (np.arange(steps) + 1) / steps,
              "linspace": np.linspace(0, 1, steps)}.get(mistake, (np.arange(steps) + 0.5) / steps)
    start = np.zeros_like(x) if mistake == "zero" else baseline
    path = start + alphas[:, None] * (x - start)
    s = 1 / (1 + np.exp(-(path @ w.T + c)))
    grads = ((s * (1 - s) if mistake == "sigmoid" else s) * v) @ w
    avg = grads.sum(axis=0) if mistake == "sum" else grads.mean(axis=0)
    return {"ig": (x if mistake == "baseline" else x - baseline) * avg}


_ig_catalogue = _catalogue(_ig_right, [
    (IG_LEFT, lambda **a: _ig_right(**a, mistake="left")),
    (IG_RIGHT, lambda **a: _ig_right(**a, mistake="right")),
    (IG_LINSPACE, lambda **a: _ig_right(**a, mistake="linspace")),
    (IG_NO_BASELINE, lambda **a: _ig_right(**a, mistake="baseline")),
    (IG_PATH_FROM_ZERO, lambda **a: _ig_right(**a, mistake="zero")),
    (IG_NO_MEAN, lambda **a: _ig_right(**a, mistake="sum")),
    (IG_SIGMOID_PRIME, lambda **a: _ig_right(**a, mistake="sigmoid")),
])


def _ig_reference(x: np.ndarray, baseline: np.ndarray, w: np.ndarray, c: np.ndarray,
                  v: np.ndarray, steps: int) -> dict[str, Any]:
    import torch

    xt, bt = torch.tensor(x), torch.tensor(baseline)
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    path = (bt + alphas[:, None] * (xt - bt)).requires_grad_()
    score = torch.nn.functional.softplus(path @ torch.tensor(w).T + torch.tensor(c))
    (score @ torch.tensor(v)).sum().backward()
    return {"ig": ((xt - bt) * path.grad.mean(0)).numpy()}


register(Question(
    id="ch12.integrated_gradients",
    points=3,
    description="Integrated gradients (midpoint rule) of f(x) = v . softplus(W x + c), its "
                "gradient derived by hand.",
    signature="integrated_gradients(x, baseline, w, c, v, steps) -> ig",
    outputs=("ig",),
    **split_suites(_ig_cases),
    reference=_ig_reference,
    requirements=(_ig_catalogue,),
    needs=("torch",),
))
