r"""``MultiheadAttention``, mirroring ``torch.nn.MultiheadAttention`` (Vaswani et al. 2017).

The query, key and value are projected, split into ``num_heads`` heads of size
:math:`d = E / h`, attended with scaled dot-product attention per head
(:mod:`dlbook.nn.attention_functional`), concatenated and projected back:

.. math::
    \mathrm{MHA}(Q, K, V) = \big[\mathrm{head}_1, \dots, \mathrm{head}_h\big] W_O^\top + b_O,
    \qquad \mathrm{head}_i = \mathrm{softmax}\Big(\frac{(Q W_{Q,i}^\top)(K W_{K,i}^\top)^\top}
    {\sqrt d} + M\Big)\, V W_{V,i}^\top .

Backward runs the same steps in reverse: ``out_proj``'s backward, the per-head attention
backward, and the three input projections, whose weight gradients are stacked into
``in_proj_weight``'s. ``backward`` returns the gradients of query, key and value separately;
for self-attention (the same array passed three times) the input gradient is their sum.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.nn import init
from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.attention_functional import (
    additive_mask,
    attention_backward,
    attention_forward,
)
from dlbook.nn.linear import Linear
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


class MultiheadAttention(Module):
    """Multi-head attention with torch's parameters, masks and return values.

    Args:
        embed_dim: total dimension ``E`` of the model (split across the heads).
        num_heads: number of heads ``h``; ``E`` must be divisible by it.
        dropout: dropout probability on the attention weights (training mode only).
        bias: learn ``in_proj_bias`` and ``out_proj.bias``.
        add_bias_kv: learn ``bias_k`` and ``bias_v`` ``(1, 1, E)``, appended to the projected
            keys and values as one more position every query can attend to.
        add_zero_attn: append one more key and value position of zeros (after the biases).
        kdim, vdim: feature sizes of key and value (default ``E``); when either differs from
            ``E`` the projections are ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``
            instead of one stacked ``in_proj_weight`` ``(3E, E)``.
        batch_first: inputs and outputs are ``(N, L, E)`` instead of ``(L, N, E)``.
        generator: ``np.random.Generator`` for the dropout masks (dlbook's default if None).
        dtype: parameter dtype (float32 by default, as torch).

    Shape:
        - query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (batch first:
          ``(N, L, E)`` ...; unbatched: ``(L, E)`` ...).
        - key_padding_mask ``(N, S)``: True (or -inf) marks a key to ignore.
        - attn_mask ``(L, S)`` or ``(N * h, L, S)``: True (or -inf) marks a forbidden pair.
        - Output: ``(attn_output, attn_weights)``; weights ``(N, L, S')`` averaged over heads,
          or ``(N, h, L, S')`` with ``average_attn_weights=False``; None if not need_weights.
          ``S' = S`` plus one for ``add_bias_kv`` and one for ``add_zero_attn``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 *, generator: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive "
                             f"multiple of num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.dropout, self.batch_first, self.generator = dropout, batch_first, generator
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        self.in_proj_bias = (Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype,
                               generator=generator)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's init: Xavier-uniform projections, zero biases, ``out_proj.weight`` as Linear."""
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if getattr(self, name) is not None:
                init.xavier_uniform_(getattr(self, name), generator=self.generator)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, generator=self.generator)
            init.xavier_normal_(self.bias_v, generator=self.generator)

    # -- projections ------------------------------------------------------------------------
    def _proj_weights(self) -> list[np.ndarray]:
        if self.in_proj_weight is not None:
            return np.split(self.in_proj_weight.data, 3)
        return [self.q_proj_weight.data, self.k_proj_weight.data, self.v_proj_weight.data]

    def _proj_biases(self) -> list[np.ndarray | None]:
        if self.in_proj_bias is None:
            return [None] * 3
        return np.split(self.in_proj_bias.data, 3)

    def _split_heads(self, x: np.ndarray) -> np.ndarray:
        """``(N, L, E) -> (N, h, L, d)``."""
        n, length, _ = x.shape
        return x.reshape(n, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    # -- forward ----------------------------------------------------------------------------
    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[np.ndarray, np.ndarray | None]:
        who = "MultiheadAttention"
        query, key, value = (float_array(a, who, n) for a, n in
                             ((query, "query"), (key, "key"), (value, "value")))
        unbatched = query.ndim == 2
        q_in, k_in, v_in = (self._to_batch_first(a, unbatched, n) for a, n in
                            ((query, "query"), (key, "key"), (value, "value")))
        self._check_inputs(q_in, k_in, v_in)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{who}: is_causal=True is a hint and needs attn_mask (the "
                               "causal mask, e.g. dlbook.nn.attention_functional.causal_mask)")
        mask = self._merged_mask(attn_mask, key_padding_mask, q_in, k_in, unbatched)
        fused = query is key is value and self.in_proj_weight is not None
        if fused:  # self-attention: one (N L, E) x (E, 3E) product for q, k and v
            qkv = q_in @ self.in_proj_weight.data.T
            projected = np.split(qkv if self.in_proj_bias is None
                                 else qkv + self.in_proj_bias.data, 3, axis=-1)
        else:
            projected = [x @ w.T + (0 if b is None else b) for x, w, b in
                         zip((q_in, k_in, v_in), self._proj_weights(), self._proj_biases(),
                             strict=True)]
        q, k, v = (self._split_heads(p) for p in projected)
        k, v, mask, extra = self._extra_positions(k, v, mask)
        p = self.dropout if self.training else 0.0
        heads, weights, cache = attention_forward(q, k, v, mask, dropout_p=p,
                                                  generator=self.generator)
        n, _, length, _ = heads.shape
        out = self.out_proj(heads.transpose(0, 2, 1, 3).reshape(n, length, self.embed_dim))
        out = self._from_batch_first(out, unbatched)
        self.save_for_backward(inputs=(q_in, k_in, v_in), cache=cache, unbatched=unbatched,
                               out_shape=out.shape, average=average_attn_weights,
                               need_weights=need_weights, fused=fused, extra=extra)
        if not need_weights:
            return out, None
        weights = weights.mean(axis=1) if average_attn_weights else weights
        return out, (weights[0] if unbatched else weights)

    def _extra_positions(self, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
        """Append ``bias_k``/``bias_v`` and then a zero key and value (``add_zero_attn``) as
        extra positions of the ``(N, h, S, d)`` keys and values, as torch does; every mask
        allows them (a zero column). Returns ``(k, v, mask, number of extra positions)``."""
        extra = []
        if self.bias_k is not None:
            n = k.shape[0]
            extra.append((self._split_heads(np.broadcast_to(self.bias_k.data, (n, 1, k.shape[1]
                                                                                * k.shape[3]))),
                          self._split_heads(np.broadcast_to(self.bias_v.data, (n, 1, v.shape[1]
                                                                                * v.shape[3])))))
        if self.add_zero_attn:
            zeros = np.zeros(k.shape[:2] + (1,) + k.shape[3:], dtype=k.dtype)
            extra.append((zeros, zeros))
        if not extra:
            return k, v, mask, 0
        k = np.concatenate([k] + [e[0] for e in extra], axis=2)
        v = np.concatenate([v] + [e[1] for e in extra], axis=2)
        if mask is not None:
            pad = np.zeros(mask.shape[:-1] + (len(extra),), dtype=mask.dtype)
            mask = np.concatenate([mask, pad], axis=-1)
        return k, v, mask, len(extra)

    def _to_batch_first(self, x: np.ndarray, unbatched: bool, name: str) -> np.ndarray:
        if x.ndim != (2 if unbatched else 3):
            raise ValueError(f"MultiheadAttention: {name} has shape {x.shape}; query, key and "
                             "value must all be 3-D (batched) or all 2-D (unbatched)")
        if unbatched:
            return x[None]
        return x if self.batch_first else x.transpose(1, 0, 2)

    def _from_batch_first(self, x: np.ndarray, unbatched: bool) -> np.ndarray:
        if unbatched:
            return x[0]
        return x if self.batch_first else x.transpose(1, 0, 2)

    def _check_inputs(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> None:
        for x, size, name in ((q, self.embed_dim, "query"), (k, self.kdim, "key"),
                              (v, self.vdim, "value")):
            if x.shape[-1] != size:
                raise ValueError(f"MultiheadAttention: {name} has {x.shape[-1]} features, "
                                 f"expected {size}")
        if not q.shape[0] == k.shape[0] == v.shape[0] or k.shape[1] != v.shape[1]:
            raise ValueError(f"MultiheadAttention: batch or sequence sizes disagree: query "
                             f"{q.shape}, key {k.shape}, value {v.shape} (batch first)")

    def _merged_mask(self, attn_mask: Any, key_padding_mask: Any, q: np.ndarray, k: np.ndarray,
                     unbatched: bool) -> np.ndarray | None:
        """attn_mask and key_padding_mask as one additive ``(N, h | 1, L, S)`` mask."""
        (n, length, _), s = q.shape, k.shape[1]
        mask = additive_mask(attn_mask, q.dtype, "MultiheadAttention")
        if mask is not None:
            if mask.shape == (length, s):
                mask = mask[None, None]
            elif mask.shape == (n * self.num_heads, length, s):
                mask = mask.reshape(n, self.num_heads, length, s)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask has shape {mask.shape}, "
                                 f"expected {(length, s)} or {(n * self.num_heads, length, s)}")
        padding = additive_mask(key_padding_mask, q.dtype, "MultiheadAttention")
        if padding is not None:
            padding = padding[None] if unbatched else padding
            if padding.shape != (n, s):
                raise ValueError(f"MultiheadAttention: key_padding_mask has shape "
                                 f"{np.shape(key_padding_mask)}, expected {(n, s)}")
            padding = padding[:, None, None, :]
            mask = padding if mask is None else mask + padding
        return mask

    # -- backward ---------------------------------------------------------------------------
    def backward(self, grad_output: Any, grad_weights: Any = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(grad_query, grad_key, grad_value)``; ``grad_weights`` is optional."""
        s = self.saved
        grad_output = check_grad(grad_output, s.out_shape, "MultiheadAttention")
        grad_out = self._to_batch_first(grad_output, s.unbatched, "grad_output")
        grad_heads = self._split_heads(self.out_proj.backward(grad_out))
        grad_w = self._grad_weights(grad_weights, s)
        grads = attention_backward(grad_heads, s.cache, grad_w)
        if s.extra:  # the appended positions: bias_k/bias_v's gradients, then drop them
            q_grad, k_grad, v_grad = grads
            length = k_grad.shape[2] - s.extra
            if self.bias_k is not None:
                shape = (1, 1, self.embed_dim)
                self.bias_k.accumulate_grad(k_grad[:, :, length].sum(axis=0).reshape(shape))
                self.bias_v.accumulate_grad(v_grad[:, :, length].sum(axis=0).reshape(shape))
            grads = (q_grad, k_grad[:, :, :length], v_grad[:, :, :length])
        if s.fused:  # (N, h, L, d) x 3 -> (N L, 3h d): the stacked projection's layout
            grad_qkv = np.concatenate([g.transpose(0, 2, 1, 3) for g in grads], axis=2)
            grad_proj = np.split(grad_qkv.reshape(-1, 3 * self.embed_dim), 3, axis=1)
        else:
            grad_proj = [g.transpose(0, 2, 1, 3).reshape(-1, self.embed_dim) for g in grads]
        if self.in_proj_bias is not None:
            self.in_proj_bias.accumulate_grad(np.concatenate([g.sum(axis=0) for g in grad_proj]))
        grad_inputs = [g @ w for g, w in zip(grad_proj, self._proj_weights(), strict=True)]
        if s.fused:  # one (3E, N L) x (N L, E) product for the stacked weight gradient
            self.in_proj_weight.accumulate_grad(
                grad_qkv.reshape(-1, 3 * self.embed_dim).T
                @ s.inputs[0].reshape(-1, self.embed_dim))
        else:
            self._accumulate_proj_grads([g.T @ x.reshape(-1, x.shape[-1])
                                         for g, x in zip(grad_proj, s.inputs, strict=True)])
        return tuple(self._from_batch_first(g.reshape(x.shape[:2] + (-1,)), s.unbatched)
                     for g, x in zip(grad_inputs, s.inputs, strict=True))

    def _accumulate_proj_grads(self, grad_proj: list[np.ndarray]) -> None:
        if self.in_proj_weight is not None:
            self.in_proj_weight.accumulate_grad(np.concatenate(grad_proj))
        else:
            for name, g in zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), grad_proj,
                               strict=True):
                getattr(self, name).accumulate_grad(g)

    def _grad_weights(self, grad_weights: Any, s: Any) -> np.ndarray | None:
        """The gradient of the returned weights, as a gradient of the per-head weights."""
        if grad_weights is None:
            return None
        if not s.need_weights:
            raise ValueError("MultiheadAttention.backward: grad_weights given, but forward "
                             "returned no weights (need_weights=False)")
        g = np.asarray(grad_weights)
        g = g[None] if s.unbatched else g
        if s.average:
            return np.broadcast_to(g[:, None] / self.num_heads, s.cache.weights.shape)
        return g

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
