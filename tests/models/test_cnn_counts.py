"""dlbook.models.cnn_counts against the published counts and against torch-built networks.

Parameter counts must equal torchvision's published numbers exactly; MACs must round to its
published GFLOPS (a multiply-accumulate count) to within 1%. ResNet-18 is also built in
torch from the blocks of dlbook.models.cnn_blocks, and its parameters counted by torch.
"""
from __future__ import annotations

import pytest
import torch

from dlbook.models.cnn_blocks import basic_block_torch
from dlbook.models.cnn_counts import ARCHITECTURES, Tally, count, table

# torchvision model docs: (parameters, GFLOPS) for 224x224 inputs.
PUBLISHED = {
    "AlexNet": (61_100_840, 0.71), "VGG-16": (138_357_544, 15.47),
    "ResNet-18": (11_689_512, 1.81), "ResNet-50": (25_557_032, 4.09),
    "DenseNet-121": (7_978_856, 2.83), "MobileNetV2": (3_504_872, 0.30),
    "SqueezeNet 1.1": (1_235_496, 0.35), "ConvNeXt-T": (28_589_128, 4.46),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_counts_match_published(name):
    tally = count(name)
    params, gflops = PUBLISHED[name]
    assert tally.params == params
    assert tally.macs / 1e9 == pytest.approx(gflops, rel=0.01, abs=0.005)


def test_resnet18_built_in_torch_has_the_same_count():
    layers = [torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False), torch.nn.BatchNorm2d(64)]
    channels = 64
    for stage in range(4):
        width = 64 * 2 ** stage
        for i in range(2):
            layers.append(basic_block_torch(channels, width, 2 if stage and i == 0 else 1))
            channels = width
    layers.append(torch.nn.Linear(512, 1000))
    n = sum(p.numel() for p in torch.nn.Sequential(*layers).parameters())
    assert n == count("ResNet-18").params


def test_tally_conv_and_linear_by_hand():
    t = Tally(3, 32, 32).conv(8, 3, 2, 1)
    assert (t.c, t.h, t.w) == (8, 16, 16)
    assert t.params == 8 * 3 * 9 + 8 and t.macs == 8 * 3 * 9 * 16 * 16
    t.linear(10)
    assert t.params == 8 * 3 * 9 + 8 + 8 * 16 * 16 * 10 + 10
    grouped = Tally(8, 4, 4).conv(8, 3, 1, 1, groups=8, bias=False)
    assert grouped.params == 8 * 9 and grouped.macs == 8 * 9 * 16


def test_table_and_unknown_name():
    assert [row[0] for row in table()] == list(ARCHITECTURES)
    with pytest.raises(KeyError, match="unknown architecture"):
        count("LeNet-9000")
