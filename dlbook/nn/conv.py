r"""``Conv2d`` and ``ConvTranspose2d``, mirroring their ``torch.nn`` twins.

Both are thin modules over the pure functions of ``dlbook.nn.im2col``: a convolution is
``im2col`` and one matrix product per group (LeCun et al. 1998, "Gradient-Based Learning Applied
to Document Recognition"); its input gradient, and the forward pass of a transposed convolution
(Zeiler et al. 2010, "Deconvolutional Networks"; Dumoulin & Visin 2016, "A guide to convolution
arithmetic for deep learning", https://arxiv.org/abs/1603.07285), is ``col2im``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlbook.nn import init
from dlbook.nn._checks import batched_images, check_grad
from dlbook.nn.im2col import (
    _pair,
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    conv_transpose_output_size,
    resolve_padding,
)
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    if groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups}")
    if in_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
    if out_channels % groups:
        raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")


def _check_padding_mode(padding_mode: str) -> None:
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
    if padding_mode != "zeros":
        raise NotImplementedError(f"padding_mode={padding_mode!r} is not implemented in dlbook; "
                                  "only 'zeros' is (pad the input yourself for other modes)")


class _ConvNd(Module):
    """What ``Conv2d`` and ``ConvTranspose2d`` share: parameters, init, batching, backward."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, transposed: bool, output_padding, groups: int, bias: bool,
                 padding_mode: str, dtype, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        _check_groups(in_channels, out_channels, groups)
        _check_padding_mode(padding_mode)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.transposed = transposed
        self.output_padding = _pair(output_padding, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        # torch computes fan_in from the weight's shape: (in/groups or out/groups) * kH * kW.
        init.default_layer_init_(self.weight, self.bias, generator=generator)

    def _bias(self) -> np.ndarray | None:
        return None if self.bias is None else self.bias.data

    def _run(self, x, forward, **kwargs) -> np.ndarray:
        who = type(self).__name__
        x, unbatched = batched_images(x, who, self.in_channels)
        out, cache = forward(x, self.weight.data, self._bias(), **kwargs)
        self.save_for_backward(cache=cache, unbatched=unbatched, out_shape=out.shape)
        return out[0] if unbatched else out

    def _run_backward(self, grad_out, backward) -> np.ndarray:
        s = self.saved
        shape = s.out_shape[1:] if s.unbatched else s.out_shape
        grad_out = check_grad(grad_out, shape, type(self).__name__)
        grad_x, grad_weight, grad_bias = backward(grad_out.reshape(s.out_shape), s.cache)
        self.weight.accumulate_grad(grad_weight)
        if self.bias is not None:
            self.bias.accumulate_grad(grad_bias)
        return grad_x[0] if s.unbatched else grad_x

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    r"""2-D convolution (cross-correlation) over ``(N, C, H, W)`` images, as ``torch.nn.Conv2d``.

    .. math::
        y[n, o] = b_o + \sum_{c=0}^{C_{in}/g - 1} W[o, c] \star x[n, g(o) \cdot C_{in}/g + c]

    computed as ``im2col`` and one matrix product per group (``dlbook.nn.im2col``).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: int or ``(h, w)``.
        padding: int, ``(h, w)``, ``'valid'`` (none) or ``'same'`` (output size = input size;
            stride 1 only; an odd total padding puts the extra row/column at the end, as torch).
        groups: split the channels into ``groups`` independent convolutions
            (``groups = in_channels`` is a depthwise convolution).
        bias: learn an additive bias per output channel.
        padding_mode: only ``'zeros'``; torch's other modes raise ``NotImplementedError``.
        dtype: parameter dtype (float32 by default, as torch).
        generator: ``np.random.Generator`` for the initial weights (dlbook's default if None).

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; Output: ``(N, C_out, H_out, W_out)``
          or ``(C_out, H_out, W_out)`` with
          ``H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1``.
        - ``weight``: ``(C_out, C_in / groups, kH, kW)``; ``bias``: ``(C_out,)``.

    Backward (``conv2d_backward``), with :math:`G = \partial L / \partial y` as a matrix and
    :math:`X_{col} = \operatorname{im2col}(x)`:

    .. math::
        \frac{\partial L}{\partial W} = G X_{col}^\top, \qquad
        \frac{\partial L}{\partial x} = \operatorname{col2im}(W^\top G), \qquad
        \frac{\partial L}{\partial b_o} = \textstyle\sum_{n,h,w} G[n, o, h, w].
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype=np.float32, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, dtype, generator)
        # Fail at construction, as torch does, for a bad string or 'same' with a stride.
        resolve_padding(self.padding, self.kernel_size, self.stride, self.dilation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        # The previous step's im2col matrix, when nothing else holds it: no page faults.
        cols = self.reusable_buffer(lambda cache: cache.cache.cols, None, self.weight.data.dtype)
        return self._run(x, conv2d_forward, stride=self.stride, padding=self.padding,
                         dilation=self.dilation, groups=self.groups, cols_buffer=cols)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self._run_backward(grad_out, conv2d_backward)


class ConvTranspose2d(_ConvNd):
    r"""2-D transposed convolution, as ``torch.nn.ConvTranspose2d``: the adjoint of ``Conv2d``.

    Each input pixel scatters a copy of the kernel, scaled by its value, onto the output grid
    (stride apart); overlaps add up. It is exactly the input gradient of a ``Conv2d`` with the
    same arguments, so it upsamples: ``H_out = (H - 1) stride - 2 padding
    + dilation (kH - 1) + output_padding + 1``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups, bias, dilation:
            as ``Conv2d`` (``padding`` trims ``dilation (k - 1) - padding`` zero-padding).
        output_padding: extra rows/columns at the bottom/right, to pick one of the ``stride``
            output sizes that a strided ``Conv2d`` maps to the same input size; must be
            smaller than stride or dilation.

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; Output: ``(N, C_out, H_out, W_out)``
          or ``(C_out, H_out, W_out)``.
        - ``weight``: ``(C_in, C_out / groups, kH, kW)``; ``bias``: ``(C_out,)``.

    Forward and backward (``conv_transpose2d_forward/backward``), with
    :math:`G_{col} = \operatorname{im2col}(\partial L / \partial y)`:

    .. math::
        y = \operatorname{col2im}(W^\top x) + b, \qquad
        \frac{\partial L}{\partial x} = W G_{col}, \qquad
        \frac{\partial L}{\partial W} = x\, G_{col}^\top.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | Sequence[int] = 1, padding_mode: str = "zeros",
                 dtype=np.float32, *, generator: np.random.Generator | None = None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d does not support padding={padding!r}; "
                             "give an int or a pair")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, dtype, generator)
        for a in range(2):
            if not 0 <= self.output_padding[a] < max(self.stride[a], self.dilation[a]):
                raise ValueError(f"output_padding {self.output_padding} must be smaller than "
                                 f"either stride {self.stride} or dilation {self.dilation}")

    def forward(self, x: np.ndarray, output_size: Sequence[int] | None = None) -> np.ndarray:
        """``output_size`` (optional, its last two entries are ``(H_out, W_out)``) picks the
        output padding, as in torch."""
        hw = np.shape(x)[-2:]
        output_padding = (self.output_padding if output_size is None
                          else self._output_padding(hw, output_size))
        return self._run(x, conv_transpose2d_forward, stride=self.stride,
                         padding=self.padding, output_padding=output_padding,
                         groups=self.groups, dilation=self.dilation)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self._run_backward(grad_out, conv_transpose2d_backward)

    def _output_padding(self, hw: Sequence[int], output_size: Sequence[int]) -> tuple[int, int]:
        want = tuple(output_size)[-2:]
        pads = []
        for a in range(2):
            smallest = conv_transpose_output_size(hw[a], self.kernel_size[a], self.stride[a],
                                                  self.padding[a], 0, self.dilation[a])
            if not smallest <= want[a] < smallest + self.stride[a]:
                raise ValueError(f"ConvTranspose2d: requested output size {want} is not "
                                 f"reachable from input size {tuple(hw)}: dimension {a} must "
                                 f"be in [{smallest}, {smallest + self.stride[a] - 1}]")
            pads.append(want[a] - smallest)
        return pads[0], pads[1]
