"""Parameter counts of GPT-2 and BERT from their configurations, layer by layer.

Both are stacks of the same block: multi-head attention (four ``d x d`` projections with
biases), a feed-forward block ``d -> d_ff -> d`` and two LayerNorms (``2 d`` each), so a block
holds ``4 (d^2 + d) + 2 d d_ff + d_ff + d + 4 d`` parameters. They differ around the stack:

- GPT-2 (Radford et al. 2019): token and position embeddings, a final LayerNorm, and an
  output layer *tied* to the token embedding (no parameters of its own).
- BERT (Devlin et al. 2019): token, position and segment ("token type") embeddings with a
  LayerNorm, and a pooler (``d x d`` + bias) on the first token.

The published sizes (GPT-2: 124M, 355M, 774M, 1.5B; BERT: 110M, 340M) are these counts,
checked exactly in ``tests/models/test_transformer_counts.py``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerConfig:
    """Vocabulary, longest sequence, width, depth and feed-forward width (default ``4 d``)."""

    vocab_size: int
    context: int
    d_model: int
    num_layers: int
    d_ff: int | None = None

    @property
    def ff(self) -> int:
        return self.d_ff or 4 * self.d_model


GPT2 = {"small": TransformerConfig(50257, 1024, 768, 12),
        "medium": TransformerConfig(50257, 1024, 1024, 24),
        "large": TransformerConfig(50257, 1024, 1280, 36),
        "xl": TransformerConfig(50257, 1024, 1600, 48)}
BERT = {"base": TransformerConfig(30522, 512, 768, 12),
        "large": TransformerConfig(30522, 512, 1024, 24)}


def block_params(d: int, d_ff: int) -> int:
    """One Transformer block: attention, feed-forward, two LayerNorms."""
    attention = 4 * (d * d + d)
    feedforward = d * d_ff + d_ff + d_ff * d + d
    return attention + feedforward + 2 * (2 * d)


def gpt2_params(c: TransformerConfig) -> int:
    """GPT-2: embeddings + blocks + final LayerNorm; the output layer is tied (free)."""
    embeddings = c.vocab_size * c.d_model + c.context * c.d_model
    return embeddings + c.num_layers * block_params(c.d_model, c.ff) + 2 * c.d_model


def bert_params(c: TransformerConfig, type_vocab: int = 2) -> int:
    """BERT: token, position and segment embeddings + LayerNorm, blocks, pooler."""
    embeddings = (c.vocab_size + c.context + type_vocab) * c.d_model + 2 * c.d_model
    pooler = c.d_model * c.d_model + c.d_model
    return embeddings + c.num_layers * block_params(c.d_model, c.ff) + pooler
