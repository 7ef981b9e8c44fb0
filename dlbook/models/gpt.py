r"""A tiny GPT: a decoder-only Transformer language model (Radford et al. 2018, 2019).

Tokens and positions are embedded and added, a stack of pre-norm Transformer layers with a
causal mask lets each position attend to itself and the positions before it only, and a
final LayerNorm and a linear head give the logits of the next token at every position:

.. math::
    h^{(0)} = E_{\text{tok}}[x_t] + E_{\text{pos}}[t], \quad
    h^{(\ell)} = \mathrm{Block}_\ell\big(h^{(\ell-1)}\big), \quad
    \text{logits}_t = W\,\mathrm{LN}\big(h^{(L)}_t\big) + b .

:class:`TinyGPT` is built from ``dlbook.nn`` modules (its backward is theirs, in reverse);
:func:`tiny_gpt_torch` builds the same network from ``torch.nn`` with the same parameter
names. GPT-2 ties the head to the token embedding; here the head is its own ``Linear``.

References:
    A. Radford, K. Narasimhan, T. Salimans, I. Sutskever, "Improving Language Understanding by
    Generative Pre-Training", 2018.
    A. Radford, J. Wu, R. Child, D. Luan, D. Amodei, I. Sutskever, "Language Models are
    Unsupervised Multitask Learners", 2019.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook import nn
from dlbook.nn.attention_functional import causal_mask


def _check_tokens(idx: Any, context: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"TinyGPT: expected integer token ids of shape (N, T), got "
                         f"{idx.dtype} array of shape {idx.shape}")
    if idx.shape[1] > context:
        raise ValueError(f"TinyGPT: sequence length {idx.shape[1]} exceeds the context "
                         f"length {context}")
    return idx


class TinyGPT(nn.Module):
    """Decoder-only Transformer LM in NumPy.

    Args:
        vocab_size: number of token ids.
        context: the longest sequence (number of learned positions).
        d_model, nhead, num_layers: width, heads per layer and number of layers.
        dim_feedforward: feed-forward width (default ``4 * d_model``, as GPT).
        dropout: dropout in every layer (training mode only).

    Shape:
        - Input: integer ids ``(N, T)`` with ``T <= context``.
        - Output: logits ``(N, T, vocab_size)``; ``backward(grad_logits)`` fills the
          parameter gradients (token ids have no gradient) and returns None.
    """

    def __init__(self, vocab_size: int, context: int, d_model: int = 64, nhead: int = 4,
                 num_layers: int = 2, dim_feedforward: int | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.context = context
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward or 4 * d_model,
                                           dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx: Any) -> np.ndarray:
        idx = _check_tokens(idx, self.context)
        length = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(np.arange(length))
        x = self.blocks(x, mask=causal_mask(length, x.dtype), is_causal=True)
        return self.head(self.norm(x))

    def backward(self, grad_logits: np.ndarray) -> None:
        g = self.blocks.backward(self.norm.backward(self.head.backward(grad_logits)))
        self.tok_emb.backward(g)
        self.pos_emb.backward(g.sum(axis=0))  # every sequence used the same positions


def tiny_gpt_torch(vocab_size: int, context: int, d_model: int = 64, nhead: int = 4,
                   num_layers: int = 2, dim_feedforward: int | None = None,
                   dropout: float = 0.0) -> Any:
    """The same network as :class:`TinyGPT` in torch, with the same parameter names."""
    import torch

    class TorchTinyGPT(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.context = context
            self.tok_emb = torch.nn.Embedding(vocab_size, d_model)
            self.pos_emb = torch.nn.Embedding(context, d_model)
            layer = torch.nn.TransformerEncoderLayer(
                d_model, nhead, dim_feedforward or 4 * d_model, dropout, activation="gelu",
                batch_first=True, norm_first=True)
            self.blocks = torch.nn.TransformerEncoder(layer, num_layers,
                                                      enable_nested_tensor=False)
            self.norm = torch.nn.LayerNorm(d_model)
            self.head = torch.nn.Linear(d_model, vocab_size)

        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            length = idx.shape[1]
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(length, device=idx.device))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(
                length, device=idx.device, dtype=x.dtype)
            return self.head(self.norm(self.blocks(x, mask=mask, is_causal=True)))

    return TorchTinyGPT()
