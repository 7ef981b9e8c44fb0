r"""The building blocks of modern CNNs, in NumPy with hand backward passes, and their torch twins.

Each block is a :class:`dlbook.nn.Module` built from ``dlbook.nn`` layers; its ``backward``
is the chain rule written out for the block's wiring: a sum (the residual connection) sends
its gradient to both branches, a concatenation splits its gradient by channels, and a branch
read by two layers adds their gradients. ``*_torch`` builds the same block from ``torch.nn``
with the same parameter names, so ``state_dict`` loads across.

- :class:`BasicBlock`: :math:`y = \mathrm{ReLU}(F(x) + S(x))` (He et al. 2016, "Deep
  Residual Learning for Image Recognition"); ``skip=False`` gives the plain block.
- :func:`vgg_block`: ``n`` 3x3 conv + ReLU, then 2x2 max pooling (Simonyan & Zisserman 2015).
- :class:`DenseLayer`, :func:`dense_block`: :math:`y = [x, H(x)]` (Huang et al. 2017).
- :func:`depthwise_separable`: depthwise 3x3 then pointwise 1x1 (Howard et al. 2017).
- :class:`FireModule`: squeeze 1x1, expand 1x1 and 3x3 (Iandola et al. 2016).
- :class:`ConvNeXtBlock`: depthwise 7x7, LayerNorm, inverted bottleneck, layer scale
  (Liu et al. 2022, "A ConvNet for the 2020s").
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.nn.parameter import Parameter


def _shortcut(lib: Any, in_ch: int, out_ch: int, stride: int) -> Any:
    """Identity, or a 1x1 convolution and BatchNorm where the shape changes (ResNet's B)."""
    if stride == 1 and in_ch == out_ch:
        return lib.Sequential()
    return lib.Sequential(lib.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                          lib.BatchNorm2d(out_ch))


def _basic_layers(lib: Any, in_ch: int, out_ch: int, stride: int, skip: bool) -> OrderedDict:
    layers = OrderedDict([
        ("conv1", lib.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)),
        ("bn1", lib.BatchNorm2d(out_ch)), ("relu1", lib.ReLU()),
        ("conv2", lib.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)),
        ("bn2", lib.BatchNorm2d(out_ch))])
    if skip:
        layers["shortcut"] = _shortcut(lib, in_ch, out_ch, stride)
    layers["relu2"] = lib.ReLU()
    return layers


class BasicBlock(nn.Module):
    r"""ResNet's basic block: :math:`y = \mathrm{ReLU}(F(x) + S(x))`.

    :math:`F` is conv 3x3 (stride ``stride``) - BN - ReLU - conv 3x3 - BN; :math:`S` is the
    identity, or a 1x1 convolution with BN when the stride or the channels change. With
    ``skip=False`` there is no :math:`S` (a plain block, for comparison).

    Shape:
        - Input ``(N, in_ch, H, W)``; output ``(N, out_ch, H', W')``, ``H' = ceil(H / stride)``.

    Backward: with :math:`g` the gradient after the last ReLU,
    :math:`\partial L / \partial x = J_F^\top g + J_S^\top g`: the sum hands the same
    :math:`g` to both branches, and the identity branch passes it through unchanged, which is
    why gradients reach the first layers of a deep ResNet.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, skip: bool = True) -> None:
        super().__init__()
        self.skip = skip
        for name, layer in _basic_layers(nn, in_ch, out_ch, stride, skip).items():
            setattr(self, name, layer)

    def forward(self, x: np.ndarray) -> np.ndarray:
        f = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(f + self.shortcut(x) if self.skip else f)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = self.relu2.backward(grad_out)
        grad_x = self.conv1.backward(self.bn1.backward(self.relu1.backward(
            self.conv2.backward(self.bn2.backward(g)))))
        return grad_x + self.shortcut.backward(g) if self.skip else grad_x


def basic_block_torch(in_ch: int, out_ch: int, stride: int = 1, skip: bool = True) -> Any:
    """:class:`BasicBlock` in torch, with the same parameter names."""
    import torch

    class TorchBasicBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.skip = skip
            for name, layer in _basic_layers(torch.nn, in_ch, out_ch, stride, skip).items():
                setattr(self, name, layer)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
            return self.relu2(f + self.shortcut(x) if self.skip else f)

    return TorchBasicBlock()


def vgg_block(n_convs: int, in_ch: int, out_ch: int, lib: Any = nn) -> Any:
    """VGG's block: ``n_convs`` of (3x3 conv, padding 1, ReLU), then 2x2 max pooling.

    ``lib`` is ``dlbook.nn`` or ``torch.nn`` (the same ``Sequential`` either way).
    """
    layers: list[Any] = []
    for i in range(n_convs):
        layers += [lib.Conv2d(in_ch if i == 0 else out_ch, out_ch, 3, padding=1), lib.ReLU()]
    return lib.Sequential(*layers, lib.MaxPool2d(2))


def _dense_layers(lib: Any, in_ch: int, growth: int) -> OrderedDict:
    return OrderedDict([("norm", lib.BatchNorm2d(in_ch)), ("relu", lib.ReLU()),
                        ("conv", lib.Conv2d(in_ch, growth, 3, padding=1, bias=False))])


class DenseLayer(nn.Module):
    r"""DenseNet's layer: :math:`y = [x,\ H(x)]` along channels, :math:`H` = BN - ReLU - conv 3x3.

    Shape:
        - Input ``(N, C, H, W)``; output ``(N, C + growth, H, W)``.

    Backward: the concatenation splits the gradient by channels; :math:`x` receives its own
    slice directly plus what flows back through :math:`H`.
    """

    def __init__(self, in_ch: int, growth: int) -> None:
        super().__init__()
        self.in_ch = in_ch
        for name, layer in _dense_layers(nn, in_ch, growth).items():
            setattr(self, name, layer)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, self.conv(self.relu(self.norm(x)))], axis=1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        new = grad_out[:, self.in_ch:]
        return grad_out[:, :self.in_ch] + self.norm.backward(self.relu.backward(
            self.conv.backward(new)))


def dense_block(n_layers: int, in_ch: int, growth: int) -> nn.Sequential:
    """``n_layers`` :class:`DenseLayer` s; the output has ``in_ch + n_layers * growth`` channels."""
    return nn.Sequential(*(DenseLayer(in_ch + i * growth, growth) for i in range(n_layers)))


def dense_block_torch(n_layers: int, in_ch: int, growth: int) -> Any:
    """:func:`dense_block` in torch, with the same parameter names."""
    import torch

    class TorchDenseLayer(torch.nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            for name, layer in _dense_layers(torch.nn, channels, growth).items():
                setattr(self, name, layer)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, self.conv(self.relu(self.norm(x)))], dim=1)

    return torch.nn.Sequential(*(TorchDenseLayer(in_ch + i * growth) for i in range(n_layers)))


def depthwise_separable(in_ch: int, out_ch: int, stride: int = 1, lib: Any = nn) -> Any:
    """MobileNet's unit: depthwise 3x3 (``groups=in_ch``) - BN - ReLU, pointwise 1x1 - BN - ReLU.

    Weights: :math:`9 C_{in} + C_{in} C_{out}` instead of a 3x3 convolution's
    :math:`9 C_{in} C_{out}`, a ratio of :math:`1/C_{out} + 1/9`.
    """
    return lib.Sequential(OrderedDict([
        ("depthwise", lib.Conv2d(in_ch, in_ch, 3, stride=stride, padding=1, groups=in_ch,
                                 bias=False)),
        ("bn1", lib.BatchNorm2d(in_ch)), ("relu1", lib.ReLU()),
        ("pointwise", lib.Conv2d(in_ch, out_ch, 1, bias=False)),
        ("bn2", lib.BatchNorm2d(out_ch)), ("relu2", lib.ReLU())]))


def _fire_layers(lib: Any, in_ch: int, squeeze: int, expand1: int, expand3: int) -> OrderedDict:
    return OrderedDict([
        ("squeeze", lib.Conv2d(in_ch, squeeze, 1)), ("squeeze_relu", lib.ReLU()),
        ("expand1x1", lib.Conv2d(squeeze, expand1, 1)), ("expand1x1_relu", lib.ReLU()),
        ("expand3x3", lib.Conv2d(squeeze, expand3, 3, padding=1)),
        ("expand3x3_relu", lib.ReLU())])


class FireModule(nn.Module):
    r"""SqueezeNet's fire module: squeeze 1x1 - ReLU, then ``[ReLU(expand 1x1), ReLU(expand 3x3)]``.

    Shape:
        - Input ``(N, in_ch, H, W)``; output ``(N, expand1 + expand3, H, W)``.

    Backward: split the gradient by channels between the two expand branches; both read the
    squeezed map, so their input gradients add before going through the squeeze layer.
    """

    def __init__(self, in_ch: int, squeeze: int, expand1: int, expand3: int) -> None:
        super().__init__()
        self.expand1 = expand1
        for name, layer in _fire_layers(nn, in_ch, squeeze, expand1, expand3).items():
            setattr(self, name, layer)

    def forward(self, x: np.ndarray) -> np.ndarray:
        s = self.squeeze_relu(self.squeeze(x))
        return np.concatenate([self.expand1x1_relu(self.expand1x1(s)),
                               self.expand3x3_relu(self.expand3x3(s))], axis=1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g1, g3 = grad_out[:, :self.expand1], grad_out[:, self.expand1:]
        grad_s = (self.expand1x1.backward(self.expand1x1_relu.backward(g1))
                  + self.expand3x3.backward(self.expand3x3_relu.backward(g3)))
        return self.squeeze.backward(self.squeeze_relu.backward(grad_s))


def fire_module_torch(in_ch: int, squeeze: int, expand1: int, expand3: int) -> Any:
    """:class:`FireModule` in torch, with the same parameter names."""
    import torch

    class TorchFire(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, layer in _fire_layers(torch.nn, in_ch, squeeze, expand1, expand3).items():
                setattr(self, name, layer)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = self.squeeze_relu(self.squeeze(x))
            return torch.cat([self.expand1x1_relu(self.expand1x1(s)),
                              self.expand3x3_relu(self.expand3x3(s))], dim=1)

    return TorchFire()


class ConvNeXtBlock(nn.Module):
    r"""ConvNeXt's block: :math:`y = x + \gamma \odot W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(d(x)))`.

    The depthwise 7x7 convolution :math:`d` mixes space, per channel; LayerNorm and the two linear
    layers (an *inverted bottleneck*, 4x wider in the middle) mix channels, per pixel, in
    channels-last layout; the layer scale :math:`\gamma` (initialised to ``layer_scale``)
    starts each block close to the identity.

    Shape:
        - Input ``(N, dim, H, W)``; output the same.

    Backward: through the channel mixing in ``(N, H, W, dim)`` layout, with
    :math:`\partial L / \partial \gamma = \sum_{n,h,w} g \odot z` (:math:`z` the bottleneck's
    output), back to ``(N, dim, H, W)``, through the depthwise convolution, plus :math:`g`
    itself from the residual connection.
    """

    def __init__(self, dim: int, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = Parameter(np.full(dim, layer_scale, dtype=np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = self.dwconv(x).transpose(0, 2, 3, 1)                 # (N, H, W, dim)
        z = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        self.save_for_backward(z=z)
        return x + (self.gamma.data * z).transpose(0, 3, 1, 2)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out.transpose(0, 2, 3, 1)                       # (N, H, W, dim)
        self.gamma.accumulate_grad(np.einsum("nhwc,nhwc->c", g, self.saved.z, optimize=True))
        gh = self.norm.backward(self.pwconv1.backward(self.act.backward(
            self.pwconv2.backward(g * self.gamma.data))))
        return grad_out + self.dwconv.backward(np.ascontiguousarray(gh.transpose(0, 3, 1, 2)))


def convnext_block_torch(dim: int, layer_scale: float = 1e-6) -> Any:
    """:class:`ConvNeXtBlock` in torch, with the same parameter names (as the paper's code)."""
    import torch

    class TorchConvNeXtBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dwconv = torch.nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
            self.pwconv1 = torch.nn.Linear(dim, 4 * dim)
            self.act = torch.nn.GELU()
            self.pwconv2 = torch.nn.Linear(4 * dim, dim)
            self.gamma = torch.nn.Parameter(torch.full((dim,), layer_scale))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.dwconv(x).permute(0, 2, 3, 1)
            z = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
            return x + (self.gamma * z).permute(0, 3, 1, 2)

    return TorchConvNeXtBlock()


def _small_resnet_layers(lib: Any, block: Callable[..., Any], skip: bool) -> OrderedDict:
    return OrderedDict([
        ("stem", lib.Conv2d(1, 16, 3, padding=1, bias=False)), ("bn", lib.BatchNorm2d(16)),
        ("relu", lib.ReLU()), ("block1", block(16, 16, 1, skip)),
        ("block2", block(16, 32, 2, skip)),
        ("pool", lib.AdaptiveAvgPool2d(1)), ("flatten", lib.Flatten()), ("fc", lib.Linear(32, 10))])


def small_resnet(skip: bool = True) -> nn.Sequential:
    """A ResNet for the 8x8 digits: a 3x3 stem of 16 channels, two basic blocks (16, then 32
    channels at stride 2), global average pooling, a linear layer to 10 classes.

    Shape:
        - Input ``(N, 1, 8, 8)``; output ``(N, 10)`` logits.
    """
    return nn.Sequential(_small_resnet_layers(nn, BasicBlock, skip))


def small_resnet_torch(skip: bool = True) -> Any:
    """:func:`small_resnet` in torch, with the same parameter names."""
    import torch

    return torch.nn.Sequential(_small_resnet_layers(torch.nn, basic_block_torch, skip))
