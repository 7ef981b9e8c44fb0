r"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), sized for the 8x8 digits.

The original reads 32x32 images: two 5x5 convolutions, each followed by 2x2 subsampling,
then fully connected layers of 120 and 84 units and 10 outputs. The digits of
scikit-learn are 8x8, so the convolutions here are 3x3 with padding 1 (the maps keep their
size: 8x8 -> pool 4x4 -> 2x2). With maps that small the 6 and 16 channels of the paper lose
too much (about 95% test accuracy on the digits), so this version has 16 and 32, and ``f5``
is a linear layer on the 32 x 2 x 2 = 128 features (LeNet's C5 is a 5x5 convolution that
sees its whole 5x5 input, i.e. a linear layer too). As in most modern re-implementations,
ReLU and max pooling replace the scaled tanh and trainable average subsampling of the paper.

    c1   Conv2d(1, 16, 3, padding=1)   (N, 1, 8, 8)  -> (N, 16, 8, 8)
    s2   MaxPool2d(2)                  -> (N, 16, 4, 4)
    c3   Conv2d(16, 32, 3, padding=1)  -> (N, 32, 4, 4)
    s4   MaxPool2d(2)                  -> (N, 32, 2, 2)
    f5   Linear(128, 120), f6 Linear(120, 84), out Linear(84, 10)

:func:`lenet5` builds it from ``dlbook.nn``, :func:`lenet5_torch` from ``torch.nn`` with the
same layer names, so ``state_dict`` loads across in either direction.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from dlbook import nn


def _layers(lib: Any) -> OrderedDict:
    return OrderedDict([
        ("c1", lib.Conv2d(1, 16, 3, padding=1)), ("relu1", lib.ReLU()), ("s2", lib.MaxPool2d(2)),
        ("c3", lib.Conv2d(16, 32, 3, padding=1)), ("relu3", lib.ReLU()), ("s4", lib.MaxPool2d(2)),
        ("flatten", lib.Flatten()),
        ("f5", lib.Linear(128, 120)), ("relu5", lib.ReLU()),
        ("f6", lib.Linear(120, 84)), ("relu6", lib.ReLU()),
        ("out", lib.Linear(84, 10)),
    ])


def lenet5() -> nn.Sequential:
    """LeNet-5 for ``(N, 1, 8, 8)`` images in NumPy: a ``dlbook.nn.Sequential``."""
    return nn.Sequential(_layers(nn))


def lenet5_torch() -> Any:
    """The same network in torch: a ``torch.nn.Sequential`` with the same names."""
    import torch

    return torch.nn.Sequential(_layers(torch.nn))
