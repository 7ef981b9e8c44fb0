"""Chapter 11 exercises: scaled dot-product attention forward and backward, the causal mask,
and the sinusoidal positional encoding.

Every reference here is independent of solutions/ch11_attention_transformers.ipynb and of
``dlbook.nn``: torch's softmax and autograd for attention,
``torch.nn.Transformer.generate_square_subsequent_mask`` for the mask, and the
``exp(-log(10000) 2i / d)`` form of the encoding computed in torch.
"""
from __future__ import annotations

import math

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# -- ch11.attention ----------------------------------------------------------------------------


def _qkv(rng: np.random.Generator, lead: tuple[int, ...], length: int, s: int, d: int,
         dv: int, dtype: type) -> dict[str, np.ndarray]:
    return {"q": rng.normal(size=(*lead, length, d)).astype(dtype),
            "k": rng.normal(size=(*lead, s, d)).astype(dtype),
            "v": rng.normal(size=(*lead, s, dv)).astype(dtype)}


def _attention_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((), 4, 6, 8, 3, False, np.float64), ((2,), 5, 5, 4, 4, True, np.float64),
                        ((2, 3), 1, 7, 2, 5, False, np.float64),
                        ((3,), 6, 6, 16, 8, True, np.float32)],
             "hidden": [((4,), 3, 9, 6, 2, False, np.float64), ((), 7, 7, 3, 3, True, np.float64)]}
    rng = np.random.default_rng(111) if rng is None else rng
    cases = []
    for lead, length, s, d, dv, causal, dtype in specs.get(suite, []):
        args = _qkv(rng, lead, length, s, d, dv, dtype)
        mask = rng.normal(size=(length, s)).astype(dtype)
        if causal:
            mask = np.triu(np.full((length, s), -np.inf, dtype=dtype), k=1)
        args["mask"] = mask
        cases.append(Case(args))
    return cases


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

# -- ch11.positional_encoding ------------------------------------------------------------------


def _encoding_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(10, 8), (1, 2), (50, 16)]}
    if suite == "hidden":  # an even model width d
        specs["hidden"] = [(int(n), 2 * int(h)) for n, h in zip(
            rng.integers(1, 120, size=2), rng.integers(1, 33, size=2), strict=True)]
    return [Case({"length": n, "d": d}) for n, d in specs.get(suite, [])]


def _encoding_reference(length: int, d: int) -> dict[str, np.ndarray]:
    import torch

    position = torch.arange(length, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(length, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * frequency)
    pe[:, 1::2] = torch.cos(position * frequency)
    return {"pe": pe.numpy()}


register(Question(
    id="ch11.positional_encoding",
    points=2,
    description="The sinusoidal positional encoding of Vaswani et al. (length, d), d even.",
    signature="positional_encoding(length, d) -> pe",
    outputs=("pe",),
    **split_suites(_encoding_cases),
    reference=_encoding_reference,
    needs=("torch",),
))
