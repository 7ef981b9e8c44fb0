"""Parameter counts of GPT-2 and BERT: the published sizes, and a real model counted."""
from __future__ import annotations

import torch

from dlbook.models import tiny_gpt_torch
from dlbook.models.transformer_counts import (
    BERT,
    GPT2,
    TransformerConfig,
    bert_params,
    block_params,
    gpt2_params,
)
from dlbook.utils import num_params


def test_gpt2_sizes_are_the_published_counts():
    # The sizes of the released checkpoints (Hugging Face's gpt2, gpt2-medium, -large, -xl).
    published = {"small": 124_439_808, "medium": 354_823_168, "large": 774_030_080,
                 "xl": 1_557_611_200}
    assert {name: gpt2_params(c) for name, c in GPT2.items()} == published


def test_bert_sizes_are_the_published_counts():
    # bert-base-uncased and bert-large-uncased, pooler included.
    assert bert_params(BERT["base"]) == 109_482_240
    assert bert_params(BERT["large"]) == 335_141_888


def test_a_block_counts_what_torch_holds():
    layer = torch.nn.TransformerEncoderLayer(48, 4, dim_feedforward=80)
    assert block_params(48, 80) == num_params(layer)


def test_a_tiny_gpt_counts_what_torch_holds():
    # TinyGPT has an untied head (d * V + V) where GPT-2 ties it: add it to the formula.
    vocab, context, d = 37, 16, 32
    model = tiny_gpt_torch(vocab, context, d_model=d, nhead=4, num_layers=3)
    formula = gpt2_params(TransformerConfig(vocab, context, d, 3)) + d * vocab + vocab
    assert formula == num_params(model)
