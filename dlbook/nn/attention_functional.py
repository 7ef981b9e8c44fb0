r"""Scaled dot-product attention as pure functions: forward, hand-derived backward, masks.

For queries :math:`Q` ``(..., L, d)``, keys :math:`K` ``(..., S, d)`` and values :math:`V`
``(..., S, d_v)`` (Vaswani et al. 2017):

.. math::
    A = \alpha\, Q K^\top + M, \qquad P = \operatorname{softmax}(A), \qquad O = P V,

with :math:`\alpha = 1/\sqrt d` and an additive mask :math:`M` (0 where attending is allowed,
:math:`-\infty` where it is not). With :math:`G = \partial L/\partial O`, the backward pass is
two matrix products and the softmax Jacobian applied row by row:

.. math::
    \frac{\partial L}{\partial V} = P^\top G, \quad
    \frac{\partial L}{\partial P} = G V^\top, \quad
    \frac{\partial L}{\partial A} = P \odot \Big(\frac{\partial L}{\partial P}
        - \textstyle\sum_s \frac{\partial L}{\partial P} \odot P\Big), \quad
    \frac{\partial L}{\partial Q} = \alpha \frac{\partial L}{\partial A} K, \quad
    \frac{\partial L}{\partial K} = \alpha \Big(\frac{\partial L}{\partial A}\Big)^\top Q.

With dropout on the weights, :math:`O = \tilde P V` with :math:`\tilde P = P \odot D` for a
scaled Bernoulli mask :math:`D`, and :math:`\partial L/\partial P = (G V^\top) \odot D`.
A row whose keys are all masked has no valid softmax: it gives NaN, as in torch.

:func:`scaled_dot_product_attention` is the forward pass under ``torch.nn.functional``'s name
and signature; :func:`attention_forward` / :func:`attention_backward` are the pair the layers
use (they also return the weights and what the backward pass needs).

Reference:
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.
    https://arxiv.org/abs/1706.03762
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlbook.nn.dropout_functional import dropout_mask


@dataclass(frozen=True)
class AttentionCache:
    """What :func:`attention_backward` needs from the forward pass."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    weights: np.ndarray  # P, the softmax, (..., L, S)
    keep: np.ndarray | None  # D, the scaled dropout mask, or None without dropout
    scale: float


def additive_mask(mask: np.ndarray | None, dtype: np.dtype, who: str = "attention"
                  ) -> np.ndarray | None:
    """A boolean mask (True = *not* allowed, torch's convention) as 0 / -inf; floats as given."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    if not np.issubdtype(mask.dtype, np.floating):
        raise TypeError(f"{who}: a mask must be boolean or floating, got {mask.dtype}")
    return mask.astype(dtype, copy=False)


def causal_mask(size: int, dtype: np.dtype = np.float32) -> np.ndarray:
    """``(size, size)`` additive mask: position ``i`` may attend to ``j <= i`` only."""
    return np.triu(np.full((size, size), -np.inf, dtype=dtype), k=1)


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of ``(..., L, S)`` scores (overwrites ``scores``).

    Any constant per row may be subtracted before ``exp``. Reducing over a short last axis is
    slow in NumPy, so this shifts by each *matrix's* maximum (one fast reduction over the last
    two axes) and sums rows with a matrix product. If that underflows a row (its largest entry
    far below the matrix's), it starts again with each row's own maximum, the textbook shift;
    an all ``-inf`` row then gives NaN, as in torch.
    """
    ones = np.ones(scores.shape[-1], dtype=scores.dtype)
    with np.errstate(invalid="ignore"):
        weights = np.exp(scores - np.max(scores, axis=(-2, -1), keepdims=True))
        sums = weights @ ones
        if np.all(sums >= np.sqrt(np.finfo(scores.dtype).tiny)):
            weights /= sums[..., None]
            return weights
        scores -= np.max(scores, axis=-1, keepdims=True)
        weights = np.exp(scores, out=scores)
        weights /= (weights @ ones)[..., None]
    return weights


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                      mask: np.ndarray | None = None, scale: float | None = None,
                      dropout_p: float = 0.0, generator: np.random.Generator | None = None
                      ) -> tuple[np.ndarray, np.ndarray, AttentionCache]:
    """``(out, weights, cache)``: ``out = dropout(softmax(scale q kᵀ + mask)) v``.

    Shapes: ``q (..., L, d)``, ``k (..., S, d)``, ``v (..., S, d_v)``, ``mask`` additive and
    broadcastable to ``(..., L, S)``; ``out (..., L, d_v)``; ``weights (..., L, S)`` are the
    weights ``v`` was averaged with (after dropout, as torch returns them).
    """
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q * np.asarray(scale, dtype=q.dtype)) @ np.swapaxes(k, -1, -2)
    if mask is not None:  # in place from here on: ``scores`` is a new array
        scores += mask
    weights = softmax_rows(scores)
    keep = None
    if dropout_p > 0.0:
        keep = dropout_mask(weights.shape, dropout_p, q.dtype, generator)
    used = weights if keep is None else weights * keep
    return used @ v, used, AttentionCache(q, k, v, weights, keep, scale)


def attention_backward(grad_out: np.ndarray, cache: AttentionCache,
                       grad_weights: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grad_q, grad_k, grad_v)`` of :func:`attention_forward` (module docstring).

    ``grad_weights`` is an optional gradient with respect to the returned ``weights``.
    """
    c = cache
    used = c.weights if c.keep is None else c.weights * c.keep
    grad_v = np.swapaxes(used, -1, -2) @ grad_out
    grad_p = grad_out @ np.swapaxes(c.v, -1, -2)
    if grad_weights is not None:
        grad_p += grad_weights
    if c.keep is not None:
        grad_p *= c.keep
    # dA = P * (dP - rowsum(dP * P)), then the scale; in place on dP (a new array).
    grad_p -= np.einsum("...ls,...ls->...l", grad_p, c.weights)[..., None]
    grad_p *= c.weights
    grad_p *= np.asarray(c.scale, dtype=grad_p.dtype)
    return grad_p @ c.k, np.swapaxes(grad_p, -1, -2) @ c.q, grad_v


def scaled_dot_product_attention(query: np.ndarray, key: np.ndarray, value: np.ndarray,
                                 attn_mask: np.ndarray | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 generator: np.random.Generator | None = None) -> np.ndarray:
    """``torch.nn.functional.scaled_dot_product_attention`` in NumPy (forward only).

    Shape:
        query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, E_v)`` ->
        ``(..., L, E_v)``.

    As in torch, a *boolean* ``attn_mask`` here is True where attending is **allowed** (the
    opposite of ``MultiheadAttention``'s masks); a float mask is added to the scores.
    ``is_causal`` uses the top-left aligned lower triangle of an ``(L, S)`` grid and may not
    be combined with ``attn_mask``. For the gradient, use :func:`attention_forward` and
    :func:`attention_backward`.
    """
    query, key, value = (np.asarray(a) for a in (query, key, value))
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError("scaled_dot_product_attention: need query (..., L, E), key (..., S, E)"
                         f" and value (..., S, E_v), got {query.shape}, {key.shape}, "
                         f"{value.shape}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got "
                         f"{dropout_p}")
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
        attn_mask = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))
    if attn_mask is not None and np.asarray(attn_mask).dtype == np.bool_:
        attn_mask = ~np.asarray(attn_mask)  # torch SDPA: True = take part
    mask = additive_mask(attn_mask, query.dtype, "scaled_dot_product_attention")
    out, _, _ = attention_forward(query, key, value, mask, scale, dropout_p, generator)
    return out
