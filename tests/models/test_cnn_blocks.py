"""dlbook.models.cnn_blocks: each block equals its torch twin, forward and backward.

float64 to ~1e-10 (every parameter gradient and the input gradient), float32 with relative
tolerances, batch 1 and odd, non-square shapes; train-mode BatchNorm as in training.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook.models.cnn_blocks import (
    BasicBlock,
    ConvNeXtBlock,
    FireModule,
    basic_block_torch,
    convnext_block_torch,
    dense_block,
    dense_block_torch,
    depthwise_separable,
    fire_module_torch,
    small_resnet,
    small_resnet_torch,
    vgg_block,
)
from dlbook.parity import compare

BLOCKS = {
    "basic_identity": (lambda: BasicBlock(4, 4), lambda: basic_block_torch(4, 4), (2, 4, 5, 6)),
    "basic_projection": (lambda: BasicBlock(4, 6, 2), lambda: basic_block_torch(4, 6, 2),
                         (3, 4, 7, 5)),
    "plain": (lambda: BasicBlock(3, 5, 2, skip=False),
              lambda: basic_block_torch(3, 5, 2, skip=False), (2, 3, 6, 6)),
    "dense": (lambda: dense_block(3, 4, 2), lambda: dense_block_torch(3, 4, 2), (2, 4, 5, 3)),
    "depthwise_separable": (lambda: depthwise_separable(4, 6, 2),
                            lambda: depthwise_separable(4, 6, 2, lib=torch.nn), (2, 4, 6, 7)),
    "fire": (lambda: FireModule(6, 3, 4, 5), lambda: fire_module_torch(6, 3, 4, 5), (2, 6, 5, 4)),
    "convnext": (lambda: ConvNeXtBlock(8, layer_scale=0.5), lambda: convnext_block_torch(8, 0.5),
                 (2, 8, 9, 7)),
    "vgg": (lambda: vgg_block(2, 3, 4), lambda: vgg_block(2, 3, 4, lib=torch.nn), (2, 3, 6, 8)),
    "small_resnet": (small_resnet, small_resnet_torch, (3, 1, 8, 8)),
}


@pytest.mark.parametrize("name", list(BLOCKS))
@pytest.mark.parametrize("batch", [None, 1])
def test_block_equals_torch_float64(name, batch, device):
    make, make_torch, shape = BLOCKS[name]
    torch.manual_seed(0)
    shape = shape if batch is None else (batch, *shape[1:])
    x = np.random.default_rng(1).normal(size=shape)
    report = compare(make(), make_torch().double(), x, device=device, rtol=1e-10, atol=1e-10)
    assert report.ok, report
    assert len(report.rows) > 2  # output, input gradient and parameter gradients compared


@pytest.mark.parametrize("name", ["basic_projection", "dense", "fire", "convnext"])
def test_block_equals_torch_float32(name):
    make, make_torch, shape = BLOCKS[name]
    torch.manual_seed(0)
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    report = compare(make(), make_torch(), x, rtol=1e-4, atol=1e-5)
    assert report.ok, report  # every row also checks the dtype: float32 throughout
    assert report.title.endswith("(float32)")


def test_block_shapes_and_parameter_counts():
    assert BasicBlock(4, 8, 2)(np.zeros((1, 4, 7, 7), np.float32)).shape == (1, 8, 4, 4)
    assert dense_block(3, 4, 2)(np.zeros((1, 4, 5, 5), np.float32)).shape == (1, 10, 5, 5)
    assert FireModule(6, 3, 4, 5)(np.zeros((2, 6, 5, 4), np.float32)).shape == (2, 9, 5, 4)
    sep = depthwise_separable(32, 64)
    n_sep = sum(p.data.size for name, p in sep.named_parameters() if "bn" not in name)
    assert n_sep == 9 * 32 + 32 * 64  # vs 9 * 32 * 64 for a full 3x3 convolution
    block = ConvNeXtBlock(8)
    assert np.all(block.gamma.data == np.float32(1e-6))


def test_plain_block_has_no_shortcut():
    names = {name for name, _ in BasicBlock(4, 6, 2, skip=False).named_parameters()}
    assert not any(name.startswith("shortcut") for name in names)
    assert any(name.startswith("shortcut") for name, _ in BasicBlock(4, 6, 2).named_parameters())
