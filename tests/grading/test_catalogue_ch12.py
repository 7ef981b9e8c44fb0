"""The self-check catalogue of chapter 12: every named mistake is planted in an otherwise
right answer, and the check must fail with exactly that entry's message (no other entry's);
the right answers pass the public suite and two hidden draws. The catalogue lives in
dlbook/grading/questions/ch12.py."""
from __future__ import annotations

import numpy as np
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch12

# -- right answers (NumPy only, as a student would write them), each with its mistakes --------


def gcn_forward(x, adj, weight, bias, mistake=""):
    eye = np.eye(len(adj)) if mistake == "float64" else np.eye(len(adj), dtype=adj.dtype)
    a = adj if mistake == "loops" else adj + eye
    deg = adj.sum(axis=1) if mistake == "degree" else a.sum(axis=1)
    d = deg ** -0.5
    if mistake == "row":                       # the exercise's planted bug
        a_hat = d[:, None] * a * d[:, None]
    elif mistake == "one":
        a_hat = d[:, None] * a
    elif mistake == "raw":
        a_hat = a
    elif mistake == "col":
        a_hat = a / deg
    else:
        a_hat = d[:, None] * a * d[None, :]
    return a_hat @ x @ weight.T + bias


def sage_backward(x, adj, w_self, w_neigh, bias, grad_out, mistake=""):
    a = adj + np.eye(len(adj), dtype=adj.dtype) if mistake == "self" else adj
    deg = a.sum(axis=1, keepdims=True)
    if mistake == "isolated":
        with np.errstate(divide="ignore", invalid="ignore"):
            m = a / deg
    elif mistake == "float64":
        m = a / np.maximum(deg, np.ones(deg.shape))
    else:
        m = a if mistake == "sum" else a / np.maximum(deg, 1)
    mx = m @ x
    out = x @ w_self.T + mx @ w_neigh.T + bias
    grad_x = (m if mistake == "transpose" else m.T) @ grad_out @ w_neigh
    if mistake != "no_self":
        grad_x = grad_x + grad_out @ w_self
    grad_w_neigh = grad_out.T @ (x if mistake == "no_agg" else mx)
    return out, grad_x, grad_out.T @ x, grad_w_neigh, grad_out.sum(axis=0)


def fedavgm(server, velocity, clients, sizes, lr, beta, mistake=""):
    if mistake == "mean":
        p = np.full(len(sizes), 1 / len(sizes))
    elif mistake == "sum":
        p = sizes
    else:
        p = sizes / sizes.sum()
    if mistake != "float64":
        p = p.astype(clients.dtype)
    delta = np.tensordot(p, clients - server, axes=1)
    if mistake == "sign":
        delta = np.tensordot(p, server - clients, axes=1)
    if mistake == "old":
        return server + lr * velocity, beta * velocity + delta
    if mistake == "plain":
        return np.tensordot(p, clients, axes=1), beta * velocity + delta
    velocity = beta * velocity + delta
    return server + lr * velocity, velocity


def integrated_gradients(x, baseline, w, c, v, steps, mistake=""):
    alphas = (np.arange(steps) + 0.5) / steps
    if mistake == "left":
        alphas = np.arange(steps) / steps
    if mistake == "right":
        alphas = np.arange(1, steps + 1) / steps
    if mistake == "linspace":
        alphas = np.linspace(0, 1, steps)
    start = 0 * x if mistake == "zero" else baseline
    path = start + alphas[:, None] * (x - start)
    s = 1 / (1 + np.exp(-(path @ w.T + c)))
    grads = ((s * (1 - s) if mistake == "sigmoid" else s) * v) @ w
    avg = grads.sum(axis=0) if mistake == "sum" else grads.mean(axis=0)
    return (x if mistake == "baseline" else x - baseline) * avg


RIGHT = {"ch12.gcn_forward": gcn_forward, "ch12.sage_backward": sage_backward,
         "ch12.fedavgm": fedavgm,
         "ch12.integrated_gradients": integrated_gradients}

MUTANTS = [
    ("ch12.gcn_forward", "row", ch12.GCN_ROW_NORM),
    ("ch12.gcn_forward", "col", ch12.GCN_COL_NORM),
    ("ch12.gcn_forward", "one", ch12.GCN_ONE_SIDED),
    ("ch12.gcn_forward", "raw", ch12.GCN_NOT_NORMALISED),
    ("ch12.gcn_forward", "loops", ch12.GCN_NO_SELF_LOOPS),
    ("ch12.gcn_forward", "degree", ch12.GCN_DEGREE_OF_A),
    ("ch12.gcn_forward", "float64", ch12.GCN_FLOAT64),
    ("ch12.sage_backward", "isolated", ch12.SAGE_ISOLATED),
    ("ch12.sage_backward", "transpose", ch12.SAGE_NO_TRANSPOSE),
    ("ch12.sage_backward", "no_self", ch12.SAGE_NO_SELF_PATH),
    ("ch12.sage_backward", "no_agg", ch12.SAGE_W_NEIGH_OF_X),
    ("ch12.sage_backward", "sum", ch12.SAGE_SUM),
    ("ch12.sage_backward", "self", ch12.SAGE_SELF_IN_MEAN),
    ("ch12.sage_backward", "float64", ch12.SAGE_FLOAT64),
    ("ch12.fedavgm", "mean", ch12.FED_UNWEIGHTED),
    ("ch12.fedavgm", "sum", ch12.FED_NOT_NORMALISED),
    ("ch12.fedavgm", "sign", ch12.FED_SIGN),
    ("ch12.fedavgm", "old", ch12.FED_OLD_VELOCITY),
    ("ch12.fedavgm", "plain", ch12.FED_PLAIN_AVERAGE),
    ("ch12.fedavgm", "float64", ch12.FED_FLOAT64),
    ("ch12.integrated_gradients", "left", ch12.IG_LEFT),
    ("ch12.integrated_gradients", "right", ch12.IG_RIGHT),
    ("ch12.integrated_gradients", "linspace", ch12.IG_LINSPACE),
    ("ch12.integrated_gradients", "baseline", ch12.IG_NO_BASELINE),
    ("ch12.integrated_gradients", "zero", ch12.IG_PATH_FROM_ZERO),
    ("ch12.integrated_gradients", "sum", ch12.IG_NO_MEAN),
    ("ch12.integrated_gradients", "sigmoid", ch12.IG_SIGMOID_PRIME),
]


(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(RIGHT, MUTANTS, [ch12])


def test_the_graphs_are_irregular_and_the_clients_unequal():
    # a regular graph hides the row-normalisation bug, equal clients an unweighted mean
    from dlbook.grading.registry import get, iter_cases

    for suite, seed in [("public", None), ("hidden", 1), ("hidden", 2)]:
        for qid in ("ch12.gcn_forward", "ch12.sage_backward"):
            for case in iter_cases(get(qid), suite, seed):
                degrees = case.args["adj"].sum(axis=1)
                assert len(degrees) == 1 or np.ptp(degrees) > 0
        for case in iter_cases(get("ch12.fedavgm"), suite, seed):
            sizes = case.args["sizes"]
            assert len(sizes) == 1 or np.ptp(sizes) > 0
