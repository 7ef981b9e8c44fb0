"""Chapter 8 exercises: one LSTM step forward and backward, backpropagation through time for a
tanh RNN, and clipping gradients by their joint norm.

Every reference here is independent of solutions/ch08_rnns.ipynb and of ``dlbook.nn``: torch's
``LSTMCell`` and ``RNN`` with autograd, and ``torch.nn.utils.clip_grad_norm_``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites
from dlbook.grading.runners.ch08 import Grads, flatten

# -- shared inputs -----------------------------------------------------------------------------


def _lstm_arrays(rng: np.random.Generator, n: int | None, n_in: int, hidden: int,
                 dtype: type) -> dict[str, np.ndarray]:
    """x, h, c and the LSTM weights in torch's layout (gates i, f, g, o stacked)."""
    lead = () if n is None else (n,)
    bound = 1 / np.sqrt(hidden)
    return {"x": rng.normal(size=(*lead, n_in)).astype(dtype),
            "h": rng.normal(size=(*lead, hidden)).astype(dtype),
            "c": rng.normal(size=(*lead, hidden)).astype(dtype),
            "w_ih": rng.uniform(-bound, bound, size=(4 * hidden, n_in)).astype(dtype),
            "w_hh": rng.uniform(-bound, bound, size=(4 * hidden, hidden)).astype(dtype),
            "b_ih": rng.uniform(-bound, bound, size=4 * hidden).astype(dtype),
            "b_hh": rng.uniform(-bound, bound, size=4 * hidden).astype(dtype)}


def _torch_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """torch.nn.LSTMCell with these weights: (cell, tensors requiring grad, h', c')."""
    import torch

    t = {k: torch.tensor(v, requires_grad=True) for k, v in
         dict(x=x, h=h, c=c, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh).items()}
    cell = torch.nn.LSTMCell(x.shape[-1], h.shape[-1]).to(t["x"].dtype)
    with torch.no_grad():
        for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
            getattr(cell, name.replace("w_", "weight_").replace("b_", "bias_")).copy_(t[name])
    cell.zero_grad()
    h_new, c_new = cell(t["x"], (t["h"], t["c"]))
    return cell, t, h_new, c_new


# -- ch08.lstm_cell_forward --------------------------------------------------------------------

_LSTM_SPECS = {"public": [(3, 4, 5, np.float64), (1, 2, 3, np.float64), (None, 3, 2, np.float64),
                          (4, 5, 6, np.float32)],
               "hidden": [(2, 1, 1, np.float64), (5, 3, 8, np.float32)]}


def _lstm_forward_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(81) if rng is None else rng
    return [Case(_lstm_arrays(rng, n, i, h, dt)) for n, i, h, dt in _LSTM_SPECS.get(suite, [])]


def _lstm_forward_reference(x, h, c, w_ih, w_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    _, _, h_new, c_new = _torch_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return {"h_new": h_new.detach().numpy(), "c_new": c_new.detach().numpy()}


register(Question(
    id="ch08.lstm_cell_forward",
    points=3,
    description="One LSTM step in torch's gate order (i, f, g, o): the new h and c.",
    signature="lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih, b_hh) -> (h_new, c_new)",
    outputs=("h_new", "c_new"),
    **split_suites(_lstm_forward_cases),
    reference=_lstm_forward_reference,
    needs=("torch",),
))

# -- ch08.lstm_cell_backward -------------------------------------------------------------------


def _lstm_backward_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(82) if rng is None else rng
    cases = []
    for n, i, h, dt in _LSTM_SPECS.get(suite, []):
        args = _lstm_arrays(rng, n, i, h, dt)
        grads = {"grad_h": rng.normal(size=args["h"].shape).astype(dt),
                 "grad_c": rng.normal(size=args["c"].shape).astype(dt)}
        cases.append(Case(grads | args))
    return cases


def _lstm_backward_reference(grad_h, grad_c, x, h, c, w_ih, w_hh, b_ih,
                             b_hh) -> dict[str, np.ndarray]:
    import torch

    cell, t, h_new, c_new = _torch_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)
    ((h_new * torch.tensor(grad_h)).sum() + (c_new * torch.tensor(grad_c)).sum()).backward()
    return {"grad_x": t["x"].grad.numpy(), "grad_h_prev": t["h"].grad.numpy(),
            "grad_c_prev": t["c"].grad.numpy(), "grad_w_ih": cell.weight_ih.grad.numpy(),
            "grad_w_hh": cell.weight_hh.grad.numpy(), "grad_b": cell.bias_ih.grad.numpy()}


register(Question(
    id="ch08.lstm_cell_backward",
    points=4,
    description="Backward of one LSTM step: gradients of x, h, c, the weights and the bias.",
    signature=("lstm_cell_backward(grad_h, grad_c, x, h, c, w_ih, w_hh, b_ih, b_hh) -> "
               "(grad_x, grad_h_prev, grad_c_prev, grad_w_ih, grad_w_hh, grad_b)"),
    outputs=("grad_x", "grad_h_prev", "grad_c_prev", "grad_w_ih", "grad_w_hh", "grad_b"),
    **split_suites(_lstm_backward_cases),
    reference=_lstm_backward_reference,
    needs=("torch",),
))

# -- ch08.rnn_bptt -----------------------------------------------------------------------------


def _bptt_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(5, 2, 3, 4, np.float64), (1, 1, 2, 3, np.float64),
                        (12, 3, 2, 5, np.float64), (6, 4, 3, 3, np.float32)],
             "hidden": [(2, 5, 1, 2, np.float64), (9, 2, 4, 6, np.float32)]}
    rng = np.random.default_rng(83) if rng is None else rng
    cases = []
    for T, N, n_in, H, dt in specs.get(suite, []):
        cases.append(Case({"grad_out": rng.normal(size=(T, N, H)).astype(dt),
                           "x": rng.normal(size=(T, N, n_in)).astype(dt),
                           "h0": rng.normal(size=(N, H)).astype(dt),
                           "w_ih": rng.normal(0, 0.6, size=(H, n_in)).astype(dt),
                           "w_hh": rng.normal(0, 0.6 / np.sqrt(H), size=(H, H)).astype(dt),
                           "b": rng.normal(0, 0.3, size=H).astype(dt)}))
    return cases


def _bptt_reference(grad_out, x, h0, w_ih, w_hh, b) -> dict[str, np.ndarray]:
    import torch

    T, N, n_in = x.shape
    H = w_hh.shape[0]
    rnn = torch.nn.RNN(n_in, H).to(getattr(torch, x.dtype.name))
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(w_ih))
        rnn.weight_hh_l0.copy_(torch.tensor(w_hh))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    out, _ = rnn(xt, ht)
    out.backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_h0": ht.grad[0].numpy(),
            "grad_w_ih": rnn.weight_ih_l0.grad.numpy(), "grad_w_hh": rnn.weight_hh_l0.grad.numpy(),
            "grad_b": rnn.bias_ih_l0.grad.numpy()}


register(Question(
    id="ch08.rnn_bptt",
    points=3,
    description="Backpropagation through time for a tanh RNN, given the gradient of every output.",
    signature=("rnn_bptt(grad_out, x, h0, w_ih, w_hh, b) -> "
               "(grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b)"),
    outputs=("grad_x", "grad_h0", "grad_w_ih", "grad_w_hh", "grad_b"),
    **split_suites(_bptt_cases),
    reference=_bptt_reference,
    needs=("torch",),
))

# -- ch08.clip_grad_norm -----------------------------------------------------------------------


def _clip_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [([(3, 4), (4,)], 1.0, 1.0, np.float64),
                        ([(5,), (2, 2), (1,)], 100.0, 1.0, np.float64),  # norm below: unchanged
                        ([(2, 3)], 0.5, 1e4, np.float64),
                        ([(4, 4), (4,)], 2.0, 10.0, np.float32)],
             "hidden": [([(1,), (6,)], 0.1, 3.0, np.float64), ([(3, 3, 2)], 5.0, 50.0, np.float32)]}
    rng = np.random.default_rng(84) if rng is None else rng
    return [Case({"grads": Grads((scale * rng.normal(size=s)).astype(dt) for s in shapes),
                  "max_norm": max_norm})
            for shapes, max_norm, scale, dt in specs.get(suite, [])]


def _clip_reference(grads: list[np.ndarray], max_norm: float) -> dict[str, Any]:
    import torch

    params = [torch.zeros(g.shape, dtype=getattr(torch, g.dtype.name), requires_grad=True)
              for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return {"clipped": flatten([p.grad.numpy() for p in params]),
            "total_norm": np.asarray(total.item(), dtype=grads[0].dtype)}


register(Question(
    id="ch08.clip_grad_norm",
    points=2,
    description="Scale a list of gradients so that their joint 2-norm is at most max_norm.",
    signature="clip_grad_norm(grads, max_norm) -> (clipped, total_norm)",
    outputs=("clipped", "total_norm"),
    **split_suites(_clip_cases),
    reference=_clip_reference,
    runner="ch08.clip_grad_norm",
    needs=("torch",),
))
