"""Chapter 8 exercises: backpropagation through time for a tanh RNN, one step of the coupled
input-forget gate LSTM (a variant the chapter does not write), one LSTM step backward, and
clipping gradients by their joint norm.

Every reference here is independent of solutions/ch08_rnns.ipynb and of ``dlbook.nn``: torch's
tensor operations (CIFG), ``LSTMCell`` and ``RNN`` with autograd, and
``torch.nn.utils.clip_grad_norm_``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
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


# -- ch08.cifg_cell_forward --------------------------------------------------------------------
# The coupled input-forget gate LSTM (CIFG; Greff et al., 2017, "LSTM: A Search Space
# Odyssey"), without peepholes: i = 1 - f, so three gate blocks (f, g, o). The chapter writes
# the plain LSTM's forward; this is a variant it does not write.


def _cifg_arrays(rng: np.random.Generator, n: int | None, n_in: int, hidden: int,
                 dtype: type) -> dict[str, np.ndarray]:
    """x, h, c and the CIFG weights: three blocks (f, g, o) stacked along the first axis."""
    lead = () if n is None else (n,)
    return {"x": rng.normal(size=(*lead, n_in)).astype(dtype),
            "h": rng.normal(size=(*lead, hidden)).astype(dtype),
            "c": rng.normal(size=(*lead, hidden)).astype(dtype),
            "w_ih": rng.normal(0, 0.7, size=(3 * hidden, n_in)).astype(dtype),
            "w_hh": rng.normal(0, 0.7, size=(3 * hidden, hidden)).astype(dtype),
            "b_ih": rng.normal(0, 0.5, size=3 * hidden).astype(dtype),
            "b_hh": rng.normal(0, 0.5, size=3 * hidden).astype(dtype)}


def _cifg_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    if suite == "public":
        rng = np.random.default_rng(81)
        specs = [(3, 4, 5, np.float64), (1, 2, 3, np.float64), (None, 3, 2, np.float64),
                 (4, 5, 6, np.float32)]
    else:  # hidden: shapes drawn too, one float64 and one float32 case
        assert rng is not None
        specs = [(int(rng.integers(1, 6)) if rng.random() < 0.8 else None,
                  int(rng.integers(1, 7)), int(rng.integers(1, 7)), dt)
                 for dt in (np.float64, np.float32)]
    return [Case(_cifg_arrays(rng, n, i, h, dt)) for n, i, h, dt in specs]


def _cifg_reference(x, h, c, w_ih, w_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    """torch's tensor operations in the input's dtype."""
    import torch

    t = [torch.tensor(v) for v in (x, h, c, w_ih, w_hh, b_ih, b_hh)]
    x_, h_, c_, w_ih_, w_hh_, b_ih_, b_hh_ = t
    a = torch.nn.functional.linear(x_, w_ih_, b_ih_) + torch.nn.functional.linear(h_, w_hh_, b_hh_)
    a_f, a_g, a_o = a.chunk(3, dim=-1)
    f = torch.sigmoid(a_f)
    c_new = f * c_ + (1 - f) * torch.tanh(a_g)
    return {"h_new": (torch.sigmoid(a_o) * torch.tanh(c_new)).numpy(), "c_new": c_new.numpy()}


CIFG_COUPLING_REVERSED = ("the coupling is reversed: the forget gate f keeps the old cell "
                          "state and 1 - f writes the candidate, c' = f * c + (1 - f) * g")
CIFG_NOT_COUPLED = ("the input gate is not 1 - f: with i = f the cell state can grow without "
                    "bound; the coupled gate writes (1 - f) * g")
CIFG_GATE_ORDER = ("the three gate blocks are read in the wrong order: the rows of w_ih and "
                   "w_hh are f, g, o (the candidate g second, the output gate last)")
CIFG_NO_TANH = "h' = o * tanh(c'): the tanh of the new cell state is missing"
CIFG_OLD_C = "h' is computed from the old cell state c; it reads the new one, c'"
CIFG_ONE_BIAS = ("both biases enter the pre-activations: a = x W_ih^T + b_ih + h W_hh^T + "
                 "b_hh; one of them is missing")


def _cifg_step(x, h, c, w_ih, w_hh, b_ih, b_hh, mistake: str = "") -> dict[str, np.ndarray]:
    """One CIFG step with one named ``mistake`` planted; ``mistake=""`` is right."""
    a = x @ w_ih.T + b_ih + h @ w_hh.T + (0 if mistake == "one bias" else b_hh)
    a_f, a_g, a_o = np.split(a, 3, axis=-1)
    if mistake == "gate order":
        a_g, a_o = a_o, a_g
    f, g, o = 1 / (1 + np.exp(-a_f)), np.tanh(a_g), 1 / (1 + np.exp(-a_o))
    keep, write = {"reversed": (1 - f, f), "not coupled": (f, f)}.get(mistake, (f, 1 - f))
    c_new = keep * c + write * g
    h_new = o * {"no tanh": c_new, "old c": np.tanh(c)}.get(mistake, np.tanh(c_new))
    return {"h_new": h_new, "c_new": c_new}


def _cifg_mutant(mistake: str) -> Any:
    """The mutant with ``mistake``, reporting only the outputs it changes."""
    def mutant(**args: Any) -> dict[str, np.ndarray]:
        wrong, right = _cifg_step(**args, mistake=mistake), _cifg_step(**args)
        return {k: v for k, v in wrong.items() if not np.array_equal(v, right[k])}
    return mutant


_cifg_catalogue = _catalogue(lambda **a: _cifg_step(**a), [
    (CIFG_COUPLING_REVERSED, _cifg_mutant("reversed")),
    (CIFG_NOT_COUPLED, _cifg_mutant("not coupled")),
    (CIFG_GATE_ORDER, _cifg_mutant("gate order")),
    (CIFG_NO_TANH, _cifg_mutant("no tanh")),
    (CIFG_OLD_C, _cifg_mutant("old c")),
    (CIFG_ONE_BIAS, _cifg_mutant("one bias")),
])


register(Question(
    id="ch08.cifg_cell_forward",
    points=3,
    description="One step of the coupled input-forget gate LSTM (i = 1 - f): the new h and c.",
    signature="cifg_cell_forward(x, h, c, w_ih, w_hh, b_ih, b_hh) -> (h_new, c_new)",
    outputs=("h_new", "c_new"),
    **split_suites(_cifg_cases),
    reference=_cifg_reference,
    requirements=(_cifg_catalogue,),
    needs=("torch",),
))

# -- ch08.lstm_cell_backward -------------------------------------------------------------------


_LSTM_SPECS = {"public": [(3, 4, 5, np.float64), (1, 2, 3, np.float64), (None, 3, 2, np.float64),
                          (4, 5, 6, np.float32)],
               "hidden": [(2, 1, 1, np.float64), (5, 3, 8, np.float32)]}


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


# The catalogue of common mistakes (issue 19): the task asks for a derivation and prints no
# formula, so the check names the slip whose outputs an answer reproduces.
# tests/grading/test_catalogue_ch08.py plants each one.

LSTM_C_ONE_PATH = ("c' reaches the loss along two paths, directly (grad_c) and through "
                   "h' = o * tanh(c'): its total gradient is grad_c + grad_h * o * "
                   "(1 - tanh(c')^2); the path through h' is missing")
LSTM_NO_GRAD_C = ("c' reaches the loss along two paths: the gradient it receives directly, "
                  "grad_c, is missing from its total (only the path through h' is there)")
LSTM_TANH_DERIVATIVE = ("the derivative of tanh(c') is 1 - tanh(c')^2, written from tanh's "
                        "value, not 1 - c'^2")
LSTM_OUTPUT_GATE = ("the output gate is reached only through h' = o * tanh(c'): its gradient "
                    "is grad_h * tanh(c') * o(1 - o), with grad_h, not c''s total gradient")
LSTM_FORGET_INPUT = ("the forget gate multiplies the *previous* cell state: "
                     "d c'/d f = c (the input c), not c'")
LSTM_C_PREV = ("c' = f * c + i * g, so the previous cell state's gradient is c''s total "
               "gradient times f (the path that keeps the gradient alive across steps)")
LSTM_GATE_ORDER = ("the four gate gradients are stacked in the wrong order: torch's rows "
                   "are i, f, g, o (the candidate g third, the output gate last)")
LSTM_BIAS_TWICE = ("grad_b counts the bias twice: b_ih and b_hh are added together, each "
                   "gets the same gradient (the sum of the gate gradients over the batch); "
                   "return it once")


def _lstm_grads(grad_h, grad_c, x, h, c, w_ih, w_hh, b_ih, b_hh, mistake: str = ""
                ) -> dict[str, np.ndarray]:
    """One LSTM step's gradients by hand, with one named ``mistake`` planted (the
    catalogue's mutants); ``mistake=""`` is the right answer."""
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, o = (1 / (1 + np.exp(-v)) for v in (a_i, a_f, a_o))
    g = np.tanh(a_g)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    dtanh = 1 - c_new**2 if mistake == "tanh" else 1 - tanh_c**2
    through_h = grad_h * o * dtanh
    bar_c = {"one path": grad_c, "no grad_c": through_h}.get(mistake, grad_c + through_h)
    d_o = (bar_c if mistake == "output gate" else grad_h) * tanh_c * o * (1 - o)
    d_f = bar_c * (c_new if mistake == "forget input" else c) * f * (1 - f)
    blocks = [bar_c * g * i * (1 - i), d_f, bar_c * i * (1 - g**2), d_o]
    if mistake == "gate order":
        blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
    grad_a = np.concatenate(blocks, axis=-1)
    rows = grad_a.reshape(-1, grad_a.shape[-1])
    return {"grad_x": grad_a @ w_ih, "grad_h_prev": grad_a @ w_hh,
            "grad_c_prev": bar_c if mistake == "c prev" else bar_c * f,
            "grad_w_ih": rows.T @ x.reshape(len(rows), -1),
            "grad_w_hh": rows.T @ h.reshape(len(rows), -1),
            "grad_b": rows.sum(axis=0) * (2 if mistake == "bias twice" else 1)}


def _lstm_mutant(mistake: str) -> Any:
    """The mutant with ``mistake``, reporting only the outputs it changes."""
    def mutant(**args: Any) -> dict[str, np.ndarray]:
        wrong, right = _lstm_grads(**args, mistake=mistake), _lstm_grads(**args)
        return {k: v for k, v in wrong.items() if not np.array_equal(v, right[k])}
    return mutant


_lstm_catalogue = _catalogue(lambda **a: _lstm_grads(**a), [
    (LSTM_C_ONE_PATH, _lstm_mutant("one path")),
    (LSTM_NO_GRAD_C, _lstm_mutant("no grad_c")),
    (LSTM_TANH_DERIVATIVE, _lstm_mutant("tanh")),
    (LSTM_OUTPUT_GATE, _lstm_mutant("output gate")),
    (LSTM_FORGET_INPUT, _lstm_mutant("forget input")),
    (LSTM_C_PREV, _lstm_mutant("c prev")),
    (LSTM_GATE_ORDER, _lstm_mutant("gate order")),
    (LSTM_BIAS_TWICE, _lstm_mutant("bias twice")),
])


register(Question(
    id="ch08.lstm_cell_backward",
    points=4,
    description="Backward of one LSTM step: gradients of x, h, c, the weights and the bias.",
    signature=("lstm_cell_backward(grad_h, grad_c, x, h, c, w_ih, w_hh, b_ih, b_hh) -> "
               "(grad_x, grad_h_prev, grad_c_prev, grad_w_ih, grad_w_hh, grad_b)"),
    outputs=("grad_x", "grad_h_prev", "grad_c_prev", "grad_w_ih", "grad_w_hh", "grad_b"),
    **split_suites(_lstm_backward_cases),
    reference=_lstm_backward_reference,
    requirements=(_lstm_catalogue,),
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
