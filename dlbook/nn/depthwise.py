r"""Depthwise convolution (``groups = C_in = C_out``) by shift-and-add, without im2col.

A depthwise convolution (Howard et al. 2017) mixes no channels: each channel ``c`` is
correlated with its own ``kH x kW`` kernel. im2col would copy every input pixel ``kH kW``
times to then multiply each column by a single row of 9 numbers; instead, for each kernel
offset ``(i, j)`` the output gains one scaled, shifted slice of the padded input:

.. math::
    y[n, c] = b_c + \sum_{i, j} W[c, 0, i, j]\;
        x_{pad}[n, c,\; i d_H : i d_H + s_H H_{out} : s_H,\; j d_W : \dots : s_W],

so the work is ``kH kW`` vectorised multiply-adds over the output. The backward pass reads the
same slices: :math:`\partial L/\partial W[c, 0, i, j] = \sum_{n,h,w} G[n, c, h, w]\,
x_{pad}[\text{slice}_{ij}]`, and :math:`\partial L/\partial x_{pad}[\text{slice}_{ij}]
\mathrel{+}= W[c, 0, i, j]\, G`. The result equals ``conv2d_forward`` / ``conv2d_backward``
(tests check it); ``Conv2d`` takes this path when it is depthwise.

Reference:
    A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
    Vision Applications", 2017. https://arxiv.org/abs/1704.04861
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dlbook.nn.im2col import Pads, Pair, _out_hw, _pair, pad2d, resolve_padding


@dataclass
class DepthwiseCache:
    """What :func:`depthwise_conv2d_backward` needs from the forward pass."""

    x_pad: np.ndarray         # (N, C, H + pads, W + pads)
    weight: np.ndarray        # (C, 1, kH, kW)
    has_bias: bool
    x_shape: tuple[int, int, int, int]
    stride: Pair
    pads: Pads
    dilation: Pair


def is_depthwise(weight_shape: tuple[int, ...], groups: int) -> bool:
    """One input and one output channel per group: ``(C, 1, kH, kW)`` with ``groups = C``."""
    return groups > 1 and weight_shape[0] == groups and weight_shape[1] == 1


def _slices(kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair
            ) -> Iterator[tuple[int, int, tuple[slice, slice]]]:
    """For each kernel offset ``(i, j)``, the slice of the padded input it reads."""
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_hw[0] - 1) + 1, stride[0])
        for j in range(kernel[1]):
            cols = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_hw[1] - 1) + 1,
                         stride[1])
            yield i, j, (rows, cols)


def depthwise_conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                             stride: int | Pair = 1, padding: int | tuple | str = 0,
                             dilation: int | Pair = 1, groups: int = 1
                             ) -> tuple[np.ndarray, DepthwiseCache]:
    """``conv2d_forward`` for a depthwise weight ``(C, 1, kH, kW)``, by shift-and-add.

    Shape:
        - x: ``(N, C, H, W)``; out: ``(N, C, H_out, W_out)`` (``conv2d_forward``'s formula).
    """
    N, C, H, W = x.shape
    if not is_depthwise(weight.shape, groups) or C != groups:
        raise ValueError(f"depthwise_conv2d_forward: weight {weight.shape} with groups={groups} "
                         f"is not depthwise for an input of shape {x.shape}")
    kernel = weight.shape[2:]
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = resolve_padding(padding, kernel, stride, dilation)
    out_hw = _out_hw((H, W), kernel, stride, pads, dilation)
    x_pad = pad2d(x, pads)
    out = np.zeros((N, C, *out_hw), dtype=np.result_type(x, weight))
    term = np.empty_like(out)
    for i, j, (rows, cols) in _slices(kernel, stride, dilation, out_hw):
        np.multiply(x_pad[:, :, rows, cols], weight[None, :, 0, i, j, None, None], out=term)
        out += term
    if bias is not None:
        out += bias[None, :, None, None]
    return out, DepthwiseCache(x_pad, weight, bias is not None, (N, C, H, W), stride, pads,
                               dilation)


def depthwise_conv2d_backward(grad_out: np.ndarray, cache: DepthwiseCache
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(grad_x, grad_weight, grad_bias)`` of :func:`depthwise_conv2d_forward`."""
    c = cache
    kernel, out_hw = c.weight.shape[2:], grad_out.shape[2:]
    grad_weight = np.empty_like(c.weight)
    grad_pad = np.zeros_like(c.x_pad)
    for i, j, (rows, cols) in _slices(kernel, c.stride, c.dilation, out_hw):
        grad_weight[:, 0, i, j] = np.einsum("nchw,nchw->c", grad_out, c.x_pad[:, :, rows, cols])
        grad_pad[:, :, rows, cols] += grad_out * c.weight[None, :, 0, i, j, None, None]
    (top, _), (left, _) = c.pads
    N, C, H, W = c.x_shape
    grad_x = grad_pad[:, :, top:top + H, left:left + W]
    grad_bias = grad_out.sum(axis=(0, 2, 3)) if c.has_bias else None
    return np.ascontiguousarray(grad_x), grad_weight, grad_bias
