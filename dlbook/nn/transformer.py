r"""Transformer layers, mirroring ``torch.nn.TransformerEncoderLayer`` / ``DecoderLayer`` and
their stacks (Vaswani et al. 2017).

Each layer is a few *sublayers*, each wrapped in a residual connection and a LayerNorm. In
the original post-norm form (``norm_first=False``) and in the pre-norm form that trains deep
stacks without warm-up (Xiong et al. 2020):

.. math::
    \text{post-norm: } x \leftarrow \mathrm{LN}\big(x + f(x)\big), \qquad
    \text{pre-norm: } x \leftarrow x + f\big(\mathrm{LN}(x)\big),

with :math:`f` the self-attention, the cross-attention (decoder) or the feed-forward block
:math:`\mathrm{FF}(x) = W_2\,\mathrm{drop}(\mathrm{act}(W_1 x + b_1)) + b_2`, each followed by
dropout. Backward is the chain rule through the same steps: a residual connection adds the
gradient that went through :math:`f` to the one that went around it.

References:
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.
    https://arxiv.org/abs/1706.03762
    R. Xiong et al., "On Layer Normalization in the Transformer Architecture", ICML 2020.
    https://arxiv.org/abs/2002.04745
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.nn._checks import float_array
from dlbook.nn.activation import GELU, ReLU
from dlbook.nn.attention import MultiheadAttention
from dlbook.nn.container import ModuleList
from dlbook.nn.dropout import Dropout
from dlbook.nn.linear import Linear
from dlbook.nn.module import Module
from dlbook.nn.normalization import LayerNorm


def _activation(activation: str | Module) -> Module:
    if isinstance(activation, Module):
        return activation
    if activation == "relu":
        return ReLU()
    if activation == "gelu":
        return GELU()
    raise ValueError(f"activation should be 'relu', 'gelu' or a dlbook Module, "
                     f"not {activation!r}")


class _TransformerLayer(Module):
    """What both layers share: the sublayers, the feed-forward block and the residual wiring.

    ``attentions`` names the attention sublayers (``self_attn``, and ``multihead_attn`` in
    the decoder); each sublayer and the feed-forward block gets a ``norm{k}`` and a
    ``dropout{k}``, ``k = 1, 2, ...``. Built in torch's order, so the weights are drawn in it.
    """

    def __init__(self, attentions: tuple[str, ...], d_model: int, nhead: int,
                 dim_feedforward: int, dropout: float, activation: str | Module,
                 layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool,
                 dtype: Any, generator: np.random.Generator | None) -> None:
        super().__init__()
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first, dtype=dtype,
                                                   generator=generator))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype,
                              generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype,
                              generator=generator)
        self.activation = _activation(activation)
        self.norm_first = norm_first
        sublayers = range(1, len(attentions) + 2)
        for k in sublayers:
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for k in sublayers:
            setattr(self, f"dropout{k}", Dropout(dropout, generator=generator))

    def _feedforward(self, x: np.ndarray, dropout: Dropout) -> np.ndarray:
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _feedforward_backward(self, g: np.ndarray, dropout: Dropout) -> np.ndarray:
        g = self.linear2.backward(dropout.backward(g))
        return self.linear1.backward(self.activation.backward(self.dropout.backward(g)))

    def _residual(self, x: np.ndarray, norm: LayerNorm, block: Callable[[np.ndarray], Any]
                  ) -> np.ndarray:
        """One sublayer: ``LN(x + f(x))``, or ``x + f(LN(x))`` when ``norm_first``."""
        if self.norm_first:
            return x + block(norm(x))
        return norm(x + block(x))

    def _residual_backward(self, g: np.ndarray, norm: LayerNorm,
                           block_backward: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The gradient of the sublayer's input: around the block plus through it."""
        if self.norm_first:
            return g + norm.backward(block_backward(g))
        g = norm.backward(g)
        return g + block_backward(g)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and feed-forward sublayers, as ``torch.nn.TransformerEncoderLayer``.

    Args:
        d_model, nhead: model width ``E`` and number of heads.
        dim_feedforward: width of the feed-forward block.
        dropout: dropout after each sublayer, inside the feed-forward block and on the
            attention weights.
        activation: ``"relu"``, ``"gelu"`` or a dlbook module.
        layer_norm_eps, batch_first, norm_first, bias: as torch.
        dtype: parameter dtype (float32 by default).
        generator: ``np.random.Generator`` for the initial weights and the dropout masks
            (dlbook's default if None).

    Shape:
        - src: ``(S, N, E)`` (``(N, S, E)`` with batch_first, or unbatched ``(S, E)``);
          output: the same. ``backward(grad)`` returns the gradient of ``src``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Module = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, dtype, generator)

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> np.ndarray:
        x = float_array(src, "TransformerEncoderLayer", "src")

        def self_attention(h: np.ndarray) -> np.ndarray:
            out, _ = self.self_attn(h, h, h, attn_mask=src_mask, is_causal=is_causal,
                                    key_padding_mask=src_key_padding_mask, need_weights=False)
            return self.dropout1(out)

        x = self._residual(x, self.norm1, self_attention)
        return self._residual(x, self.norm2, lambda h: self._feedforward(h, self.dropout2))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = self._residual_backward(
            np.asarray(grad_out), self.norm2,
            lambda g: self._feedforward_backward(g, self.dropout2))
        return self._residual_backward(
            g, self.norm1, lambda g: sum(self.self_attn.backward(self.dropout1.backward(g))))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, cross-attention to ``memory`` and feed-forward sublayers, as
    ``torch.nn.TransformerDecoderLayer``. Arguments as :class:`TransformerEncoderLayer`.

    Shape:
        - tgt: ``(T, N, E)``, memory: ``(S, N, E)`` (batch first: ``(N, T, E)``, ...);
          output: like tgt. ``backward(grad)`` returns ``(grad_tgt, grad_memory)``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Module = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward,
                         dropout, activation, layer_norm_eps, batch_first, norm_first, bias,
                         dtype, generator)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> np.ndarray:
        x = float_array(tgt, "TransformerDecoderLayer", "tgt")
        memory = float_array(memory, "TransformerDecoderLayer", "memory")

        def self_attention(h: np.ndarray) -> np.ndarray:
            out, _ = self.self_attn(h, h, h, attn_mask=tgt_mask, is_causal=tgt_is_causal,
                                    key_padding_mask=tgt_key_padding_mask, need_weights=False)
            return self.dropout1(out)

        def cross_attention(h: np.ndarray) -> np.ndarray:
            out, _ = self.multihead_attn(h, memory, memory, attn_mask=memory_mask,
                                         is_causal=memory_is_causal, need_weights=False,
                                         key_padding_mask=memory_key_padding_mask)
            return self.dropout2(out)

        x = self._residual(x, self.norm1, self_attention)
        x = self._residual(x, self.norm2, cross_attention)
        return self._residual(x, self.norm3, lambda h: self._feedforward(h, self.dropout3))

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad_memory = []

        def cross_backward(g: np.ndarray) -> np.ndarray:
            grad_q, grad_k, grad_v = self.multihead_attn.backward(self.dropout2.backward(g))
            grad_memory.append(grad_k + grad_v)
            return grad_q

        g = self._residual_backward(
            np.asarray(grad_out), self.norm3,
            lambda g: self._feedforward_backward(g, self.dropout3))
        g = self._residual_backward(g, self.norm2, cross_backward)
        g = self._residual_backward(
            g, self.norm1, lambda g: sum(self.self_attn.backward(self.dropout1.backward(g))))
        return g, grad_memory[0]


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer, then an optional norm (torch's names:
    ``layers.0.self_attn.in_proj_weight``, ..., ``norm.weight``)."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> np.ndarray:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        return x if self.norm is None else self.norm(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out if self.norm is None else self.norm.backward(grad_out)
        for layer in reversed(list(self.layers)):
            g = layer.backward(g)
        return g


class TransformerDecoder(Module):
    """``num_layers`` copies of a decoder layer, then an optional norm; every layer attends
    to the same ``memory``, so ``backward`` sums their memory gradients."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> np.ndarray:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = grad_out if self.norm is None else self.norm.backward(grad_out)
        grad_memory = 0.0
        for layer in reversed(list(self.layers)):
            g, grad_mem = layer.backward(g)
            grad_memory = grad_memory + grad_mem
        return g, grad_memory
