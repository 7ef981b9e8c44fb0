r"""Parameters and multiply-accumulates of full-size CNNs, computed from their layer lists.

A :class:`Tally` walks an architecture layer by layer with the current feature-map shape
``(C, H, W)``, adding each layer's weights and its multiply-accumulates (MACs) for one
224x224 image: a convolution has :math:`C_{out} (C_{in}/g) k^2` weights and does that many
MACs at each of its :math:`H_{out} W_{out}` output positions; a linear layer
:math:`d_{in} d_{out}`. Normalisation layers add their affine parameters; activations and
pooling add neither (their cost is memory traffic, not MACs, as usual in such tables).
Branches (a residual shortcut, the paths of an inception-style module) are tallied on a
:meth:`Tally.branch` and merged back.

The architectures follow torchvision's definitions, so the parameter counts can be checked
exactly against the published ones (tests/models/test_cnn_counts.py), and against the same
networks built in torch.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _out(size: int, k: int, s: int, p: int, ceil: bool = False) -> int:
    span = size + 2 * p - k
    return (-(-span // s) if ceil else span // s) + 1


@dataclass
class Tally:
    """Running shape ``(c, h, w)``, parameter count and MACs of a network being described."""

    c: int
    h: int
    w: int
    params: int = 0
    macs: int = 0

    def conv(self, out: int, k: int, s: int = 1, p: int = 0, groups: int = 1,
             bias: bool = True) -> Tally:
        weights = out * (self.c // groups) * k * k
        self.h, self.w = _out(self.h, k, s, p), _out(self.w, k, s, p)
        self.params += weights + (out if bias else 0)
        self.macs += weights * self.h * self.w
        self.c = out
        return self

    def norm(self) -> Tally:
        """BatchNorm or LayerNorm over the channels: a scale and a shift per channel."""
        self.params += 2 * self.c
        return self

    def pool(self, k: int, s: int, p: int = 0, ceil: bool = False) -> Tally:
        self.h, self.w = _out(self.h, k, s, p, ceil), _out(self.w, k, s, p, ceil)
        return self

    def resize(self, h: int, w: int) -> Tally:
        """Adaptive pooling to ``(h, w)``."""
        self.h, self.w = h, w
        return self

    def linear(self, out: int, bias: bool = True) -> Tally:
        """On the flattened map (``c h w`` inputs); leaves the shape ``(out, 1, 1)``."""
        weights = self.c * self.h * self.w * out
        self.params += weights + (out if bias else 0)
        self.macs += weights
        self.c, self.h, self.w = out, 1, 1
        return self

    def branch(self) -> Tally:
        """A copy at the current shape with nothing counted: a parallel path."""
        return Tally(self.c, self.h, self.w)

    def merge(self, *branches: Tally, concat: bool = False) -> Tally:
        """Add the branches' counts; their outputs are summed (same shape) or concatenated."""
        for b in branches:
            self.params += b.params
            self.macs += b.macs
        self.h, self.w = branches[0].h, branches[0].w
        self.c = sum(b.c for b in branches) if concat else branches[0].c
        return self


def alexnet(t: Tally) -> Tally:
    """Krizhevsky, Sutskever & Hinton (2012), torchvision's one-GPU variant."""
    t.conv(64, 11, 4, 2).pool(3, 2).conv(192, 5, 1, 2).pool(3, 2)
    t.conv(384, 3, 1, 1).conv(256, 3, 1, 1).conv(256, 3, 1, 1).pool(3, 2).resize(6, 6)
    return t.linear(4096).linear(4096).linear(1000)


def vgg16(t: Tally) -> Tally:
    """Simonyan & Zisserman (2015), configuration D: 13 convolutions 3x3, 3 linear layers."""
    for n, width in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        for _ in range(n):
            t.conv(width, 3, 1, 1)
        t.pool(2, 2)
    return t.resize(7, 7).linear(4096).linear(4096).linear(1000)


def _downsample(t: Tally, out: int, stride: int) -> Tally:
    s = t.branch()
    if stride != 1 or t.c != out:
        s.conv(out, 1, stride, bias=False).norm()
    return s


def _basic(t: Tally, out: int, stride: int) -> None:
    f = t.branch().conv(out, 3, stride, 1, bias=False).norm().conv(out, 3, 1, 1, bias=False)
    t.merge(f.norm(), _downsample(t, out, stride))


def _bottleneck(t: Tally, width: int, stride: int) -> None:
    f = t.branch().conv(width, 1, bias=False).norm().conv(width, 3, stride, 1, bias=False)
    f.norm().conv(4 * width, 1, bias=False).norm()
    t.merge(f, _downsample(t, 4 * width, stride))


def _resnet(t: Tally, block: Callable[[Tally, int, int], None], depths: tuple[int, ...]
            ) -> Tally:
    t.conv(64, 7, 2, 3, bias=False).norm().pool(3, 2, 1)
    for stage, n in enumerate(depths):
        for i in range(n):
            block(t, 64 * 2 ** stage, 2 if stage > 0 and i == 0 else 1)
    return t.resize(1, 1).linear(1000)


def resnet18(t: Tally) -> Tally:
    """He et al. (2016): basic blocks, [2, 2, 2, 2] per stage."""
    return _resnet(t, _basic, (2, 2, 2, 2))


def resnet50(t: Tally) -> Tally:
    """He et al. (2016): bottleneck blocks (1x1, 3x3, 1x1 with 4x expansion), [3, 4, 6, 3]."""
    return _resnet(t, _bottleneck, (3, 4, 6, 3))


def densenet121(t: Tally) -> Tally:
    """Huang et al. (2017): growth 32, 4x bottleneck, blocks of [6, 12, 24, 16] layers."""
    t.conv(64, 7, 2, 3, bias=False).norm().pool(3, 2, 1)
    for b, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            new = t.branch().norm().conv(128, 1, bias=False).norm().conv(32, 3, 1, 1, bias=False)
            t.merge(t.branch(), new, concat=True)
        if b < 3:
            t.norm().conv(t.c // 2, 1, bias=False).pool(2, 2)
    return t.norm().resize(1, 1).linear(1000)


def mobilenet_v2(t: Tally) -> Tally:
    """Sandler et al. (2018): inverted residuals (expand 1x1, depthwise 3x3, project 1x1)."""
    t.conv(32, 3, 2, 1, bias=False).norm()
    for expand, out, n, stride in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                   (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            f = t.branch()
            if expand != 1:
                f.conv(t.c * expand, 1, bias=False).norm()
            f.conv(f.c, 3, stride if i == 0 else 1, 1, groups=f.c, bias=False).norm()
            f.conv(out, 1, bias=False).norm()
            residual = i > 0 or (stride == 1 and t.c == out)
            t.merge(f, t.branch()) if residual else t.merge(f)
    return t.conv(1280, 1, bias=False).norm().resize(1, 1).linear(1000)


def _fire(t: Tally, squeeze: int, expand: int) -> None:
    t.conv(squeeze, 1)
    t.merge(t.branch().conv(expand, 1), t.branch().conv(expand, 3, 1, 1), concat=True)


def squeezenet1_1(t: Tally) -> Tally:
    """Iandola et al. (2016), version 1.1: fire modules, no linear layer (a 1x1 conv to 1000)."""
    t.conv(64, 3, 2).pool(3, 2, ceil=True)
    _fire(t, 16, 64)
    _fire(t, 16, 64)
    t.pool(3, 2, ceil=True)
    _fire(t, 32, 128)
    _fire(t, 32, 128)
    t.pool(3, 2, ceil=True)
    for squeeze, expand in ((48, 192), (48, 192), (64, 256), (64, 256)):
        _fire(t, squeeze, expand)
    return t.conv(1000, 1).resize(1, 1)


def convnext_tiny(t: Tally) -> Tally:
    """Liu et al. (2022): patchify stem, stages of [3, 3, 9, 3] blocks, widths 96 to 768."""
    t.conv(96, 4, 4).norm()
    for stage, (dim, n) in enumerate(zip((96, 192, 384, 768), (3, 3, 9, 3), strict=True)):
        if stage:
            t.norm().conv(dim, 2, 2)
        for _ in range(n):
            f = t.branch().conv(dim, 7, 1, 3, groups=dim).norm().conv(4 * dim, 1).conv(dim, 1)
            f.params += dim                                   # the layer scale
            t.merge(f, t.branch())
    return t.resize(1, 1).norm().linear(1000)


ARCHITECTURES: dict[str, Callable[[Tally], Tally]] = {
    "AlexNet": alexnet, "VGG-16": vgg16, "ResNet-18": resnet18, "ResNet-50": resnet50,
    "DenseNet-121": densenet121, "MobileNetV2": mobilenet_v2, "SqueezeNet 1.1": squeezenet1_1,
    "ConvNeXt-T": convnext_tiny,
}


def count(name: str, size: int = 224) -> Tally:
    """The tally of architecture ``name`` (a key of :data:`ARCHITECTURES`) on one RGB image."""
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](Tally(3, size, size))


def table(size: int = 224) -> list[tuple[str, int, int]]:
    """``(name, parameters, MACs)`` for every architecture, in :data:`ARCHITECTURES` order."""
    return [(name, t.params, t.macs) for name, t in
            ((name, count(name, size)) for name in ARCHITECTURES)]


__all__ = ["ARCHITECTURES", "Tally", "count", "table"]
