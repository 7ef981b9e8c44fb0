"""Chapter 11 exercises: scaled dot-product attention forward and backward, the causal mask,
and the rotation that shifts a sinusoidal positional encoding by a fixed offset.

Every reference here is independent of solutions/ch11_attention_transformers.ipynb and of
``dlbook.nn``: torch's softmax and autograd for attention,
``torch.nn.Transformer.generate_square_subsequent_mask`` for the mask, and for the shift the
angle-addition formulas with the ``exp(-log(10000) 2i / d)`` form of the frequencies, in torch.

The catalogue of common mistakes (issue 19): each question's requirements recompute the
answer with one named mistake (a mutant) and, when the student's outputs equal a mutant's and
not the right answer, name the mistake; an overflowing softmax and a float32 answer promoted
to float64 get their own messages. tests/grading/test_catalogue_ch07_ch11.py plants each one.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.questions.catalogue import dtype_kept as _dtype_kept
from dlbook.grading.registry import Case, Question, register, split_suites

ATT_OVERFLOW = ("the weights hold inf or NaN on inputs with large scores: np.exp overflows "
                "above about 709; subtract each row's maximum score before np.exp (the "
                "softmax does not change when a row is shifted)")
ATT_FLOAT64 = ("q / np.sqrt(d) or a float64 mask promotes float32 to float64 (NumPy 2: "
               "np.sqrt(d) is a float64 scalar); divide by math.sqrt(d) or cast the results "
               "back with .astype(q.dtype)")
ATT_NO_SCALE = "the scores are not divided by sqrt(d): softmax(q k^T / sqrt(d) + mask)"
ATT_SCALE_D = "the scores are divided by d; the scale is sqrt(d), the square root of q's width"
ATT_AXIS = ("the softmax is taken over the queries (axis -2); each query's weights sum to 1 "
            "over the keys, the last axis")
ATT_NO_MASK = "the mask is not added to the scores (0 keeps a score, -inf removes it)"
BWD_NO_ROWSUM = ("dL/dA lacks the softmax's second term: dA = P * (dP - rowsum(dP * P)); the "
                 "weights of a row sum to 1, so raising one lowers the others")
BWD_NO_SCALE = ("grad_q and grad_k miss the factor 1/sqrt(d): the scores are q k^T / sqrt(d), "
                "so the chain rule brings the 1/sqrt(d) into both")
SHIFT_TRANSPOSED = ("your matrix shifts by -delta: it maps PE(t) to PE(t - delta); write "
                    "sin(w(t + delta)) and cos(w(t + delta)) with the angle-addition formulas "
                    "and read off which entry multiplies sin(wt) and which cos(wt)")
SHIFT_FREQUENCY = ("the frequencies are 1/10000^(i/d); pair i (columns 2i, 2i+1) has "
                   "frequency 1/10000^(2i/d)")

# -- ch11.attention ----------------------------------------------------------------------------


def _qkv(rng: np.random.Generator, lead: tuple[int, ...], length: int, s: int, d: int,
         dv: int, dtype: type) -> dict[str, np.ndarray]:
    return {"q": rng.normal(size=(*lead, length, d)).astype(dtype),
            "k": rng.normal(size=(*lead, s, d)).astype(dtype),
            "v": rng.normal(size=(*lead, s, dv)).astype(dtype)}


def _attention_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((), 4, 6, 8, 3, False, np.float64, 1.0),
                        ((2,), 5, 5, 4, 4, True, np.float64, 1.0),
                        ((2, 3), 1, 7, 2, 5, False, np.float64, 1.0),
                        ((3,), 6, 6, 16, 8, True, np.float32, 1.0),
                        ((2,), 3, 4, 8, 2, False, np.float64, 1000.0)],
             "hidden": [((4,), 3, 9, 6, 2, False, np.float64, 1.0),
                        ((), 7, 7, 3, 3, True, np.float64, 1.0),
                        ((2,), 4, 5, 6, 3, True, np.float64, 500.0)]}
    rng = np.random.default_rng(111) if rng is None else rng
    cases = []
    for lead, length, s, d, dv, causal, dtype, size in specs.get(suite, []):
        args = _qkv(rng, lead, length, s, d, dv, dtype)
        args["q"] = (size * args["q"]).astype(dtype)  # size 1000: scores far above exp's range
        mask = rng.normal(size=(length, s)).astype(dtype)
        if causal:
            mask = np.triu(np.full((length, s), -np.inf, dtype=dtype), k=1)
        args["mask"] = mask
        cases.append(Case(args))
    return cases


def _softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # a mutant's softmax over a fully masked column: NaN
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


def _attend(q, k, v, mask, scale=None, axis=-1, masked=True) -> dict[str, Any]:
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    weights = _softmax(q @ np.swapaxes(k, -1, -2) * scale + (mask if masked else 0), axis)
    return {"out": weights @ v, "weights": weights}


def _overflow(got: dict[str, Any], case: Case) -> str | None:
    weights = got.get("weights")
    if isinstance(weights, np.ndarray) and weights.dtype.kind == "f" and \
            not np.all(np.isfinite(weights)):
        return ATT_OVERFLOW
    return None


_attention_catalogue = _catalogue(lambda **a: _attend(**a), [
    (ATT_NO_SCALE, lambda **a: _attend(**a, scale=1.0)),
    (ATT_SCALE_D, lambda q, **a: _attend(q, **a, scale=1 / q.shape[-1])),
    (ATT_AXIS, lambda **a: _attend(**a, axis=-2)),
    (ATT_NO_MASK, lambda **a: _attend(**a, masked=False)),
])


def _attention_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                         mask: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    q_t, k_t, v_t = (torch.tensor(a) for a in (q, k, v))
    scores = q_t @ k_t.transpose(-1, -2) / math.sqrt(q.shape[-1]) + torch.tensor(mask)
    weights = torch.softmax(scores, dim=-1)
    return {"out": (weights @ v_t).numpy(), "weights": weights.numpy()}


register(Question(
    id="ch11.attention",
    points=3,
    description="Scaled dot-product attention with an additive mask: the output and weights.",
    signature="attention(q, k, v, mask) -> (out, weights)",
    outputs=("out", "weights"),
    **split_suites(_attention_cases),
    reference=_attention_reference,
    requirements=(_overflow, _dtype_kept("out", "weights", hint=ATT_FLOAT64),
                  _attention_catalogue),
    needs=("torch",),
))

# -- ch11.attention_backward -------------------------------------------------------------------


def _backward_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((), 4, 6, 8, 3), ((2,), 5, 5, 4, 4), ((2, 3), 1, 7, 2, 5)],
             "hidden": [((4,), 3, 9, 6, 2), ((), 2, 2, 1, 1)]}
    rng = np.random.default_rng(112) if rng is None else rng
    cases = []
    for lead, length, s, d, dv in specs.get(suite, []):
        args = _qkv(rng, lead, length, s, d, dv, np.float64)
        args["grad_out"] = rng.normal(size=(*lead, length, dv))
        cases.append(Case(args))
    return cases


def _attention_grads(q, k, v, grad_out, rowsum=True, scaled_grads=True) -> dict[str, Any]:
    scale = 1 / math.sqrt(q.shape[-1])
    p = _softmax(q @ np.swapaxes(k, -1, -2) * scale)
    grad_p = grad_out @ np.swapaxes(v, -1, -2)
    grad_a = p * (grad_p - ((grad_p * p).sum(-1, keepdims=True) if rowsum else 0))
    g = scale if scaled_grads else 1.0
    return {"grad_q": g * grad_a @ k, "grad_k": g * np.swapaxes(grad_a, -1, -2) @ q,
            "grad_v": np.swapaxes(p, -1, -2) @ grad_out}


def _without_grad_v(grads: dict[str, Any]) -> dict[str, Any]:
    """A mutant's outputs minus grad_v, which neither mistake changes."""
    return {name: g for name, g in grads.items() if name != "grad_v"}


_backward_catalogue = _catalogue(lambda **a: _attention_grads(**a), [
    (BWD_NO_ROWSUM, lambda **a: _without_grad_v(_attention_grads(**a, rowsum=False))),
    (BWD_NO_SCALE, lambda **a: _without_grad_v(_attention_grads(**a, scaled_grads=False))),
])


def _backward_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                        grad_out: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    q_t, k_t, v_t = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out = torch.softmax(q_t @ k_t.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1) @ v_t
    out.backward(torch.tensor(grad_out))
    return {"grad_q": q_t.grad.numpy(), "grad_k": k_t.grad.numpy(), "grad_v": v_t.grad.numpy()}


register(Question(
    id="ch11.attention_backward",
    points=4,
    description="The gradients of scaled dot-product attention (no mask) for Q, K and V.",
    signature="attention_backward(q, k, v, grad_out) -> (grad_q, grad_k, grad_v)",
    outputs=("grad_q", "grad_k", "grad_v"),
    **split_suites(_backward_cases),
    reference=_backward_reference,
    requirements=(_backward_catalogue,),
    needs=("torch",),
))

# -- ch11.causal_mask --------------------------------------------------------------------------


def _mask_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    sizes = [1, 2, 5] if suite == "public" else [int(rng.integers(3, 40))]
    return [Case({"size": n}) for n in sizes]


def _mask_reference(size: int) -> dict[str, np.ndarray]:
    import torch

    mask = torch.nn.Transformer.generate_square_subsequent_mask(size, dtype=torch.float64)
    return {"mask": mask.numpy()}


register(Question(
    id="ch11.causal_mask",
    points=1,
    description="The additive causal mask: 0 where position i may attend to j <= i, else -inf.",
    signature="causal_mask(size) -> mask",
    outputs=("mask",),
    **split_suites(_mask_cases),
    reference=_mask_reference,
    needs=("torch",),
))

# -- ch11.position_shift -----------------------------------------------------------------------


def _shift_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(1, 8), (5, 2), (0, 4), (-3, 6)]}
    if suite == "hidden":  # an offset, and an even model width d
        specs["hidden"] = [(int(t), 2 * int(h)) for t, h in zip(
            rng.integers(-60, 61, size=2), rng.integers(1, 33, size=2), strict=True)]
    return [Case({"delta": t, "d": d}) for t, d in specs.get(suite, [])]


def _rotation(delta: float, d: int, exponent: float = 2.0, sign: float = 1.0) -> np.ndarray:
    """Block-diagonal: [[cos, -sin], [sin, cos]] of angle w_i delta for pair i (row vectors)."""
    m = np.zeros((d, d))
    for i in range(d // 2):
        angle = sign * delta / 10000 ** (exponent * i / d)
        m[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[math.cos(angle), -math.sin(angle)],
                                               [math.sin(angle), math.cos(angle)]]
    return m


_shift_catalogue = _catalogue(lambda delta, d: {"m": _rotation(delta, d)}, [
    (SHIFT_TRANSPOSED, lambda delta, d: {"m": _rotation(delta, d, sign=-1.0)}),
    (SHIFT_FREQUENCY, lambda delta, d: {"m": _rotation(delta, d, exponent=1.0)}),
])


def _shift_reference(delta: int, d: int) -> dict[str, np.ndarray]:
    import torch

    frequency = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    cos, sin = torch.cos(delta * frequency), torch.sin(delta * frequency)
    m = torch.zeros(d, d, dtype=torch.float64)
    # [sin w(t+D), cos w(t+D)] = [sin wt, cos wt] @ [[cos wD, -sin wD], [sin wD, cos wD]]
    m[0::2, 0::2] = torch.diag(cos)
    m[0::2, 1::2] = torch.diag(-sin)
    m[1::2, 0::2] = torch.diag(sin)
    m[1::2, 1::2] = torch.diag(cos)
    return {"m": m.numpy()}


register(Question(
    id="ch11.position_shift",
    points=2,
    description="The (d, d) matrix M with PE(t + delta) = PE(t) M for every position t.",
    signature="position_shift(delta, d) -> m",
    outputs=("m",),
    **split_suites(_shift_cases),
    reference=_shift_reference,
    requirements=(_shift_catalogue,),
    needs=("torch",),
))
