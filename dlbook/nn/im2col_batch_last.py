r"""im2col with the batch as the innermost axis: the layout for small feature maps.

``im2col`` copies every receptive field into a column; how fast that copy runs depends on the
length of the innermost contiguous run it reads. With columns ordered ``(n, h, w)`` that run
is one output row, ``W_out`` numbers: on LeNet's 4x4 or 10x10 maps NumPy then spends its
time on loop overhead, not on moving data. Ordering the columns ``(h, w, n)`` instead, from
the input transposed to ``(C, H, W, N)``, makes the run the whole batch (64 numbers for a
batch of 64), and the copy runs 3-6x faster. The matrices are the same up to a permutation
of their columns, so the GEMM, the gradients and every result are unchanged:

.. math::
    \operatorname{cols}[(c, i, j), (h, w, n)] = x_{pad}[n, c, h s_H + i d_H, w s_W + j d_W].

:func:`prefers_batch_last` decides per call (measured by ``dlbook bench``: LeNet-size maps
gain 2x forward+backward, a 16x16 map with 64 channels loses 10%, so the batch goes last
only when it is longer than an output row).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def prefers_batch_last(N: int, out_hw: Pair) -> bool:
    """True when the batch is a longer contiguous run than an output row (and not 1)."""
    return N > 1 and N > out_hw[1]


def pad_batch_last(x: np.ndarray, pads: Pads) -> np.ndarray:
    """``(N, C, H, W) -> (C, H + pads, W + pads, N)``: transposed and zero-padded, one copy."""
    (top, bottom), (left, right) = pads
    N, C, H, W = x.shape
    out = np.zeros((C, H + top + bottom, W + left + right, N), dtype=x.dtype)
    out[:, top:top + H, left:left + W, :] = x.transpose(1, 2, 3, 0)
    return out


def im2col_batch_last(x: np.ndarray, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair,
                      out_hw: Pair) -> np.ndarray:
    """``(N, C, H, W) -> (C * kH * kW, H_out * W_out * N)``, columns ordered ``(h, w, n)``."""
    xt = pad_batch_last(x, pads)
    sC, sH, sW, sN = xt.strides
    shape = (xt.shape[0], *kernel, *out_hw, xt.shape[3])
    strides = (sC, dilation[0] * sH, dilation[1] * sW, stride[0] * sH, stride[1] * sW, sN)
    view = as_strided(xt, shape, strides, writeable=False)
    return np.ascontiguousarray(view).reshape(shape[0] * kernel[0] * kernel[1], -1)


def col2im_batch_last(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: Pair,
                      stride: Pair, pads: Pads, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """The adjoint of :func:`im2col_batch_last`; returns ``(N, C, H, W)``, contiguous."""
    (top, bottom), (left, right) = pads
    N, C, H, W = x_shape
    Ho, Wo = out_hw
    cols = cols.reshape(C, *kernel, Ho, Wo, N)
    xp = np.zeros((C, H + top + bottom, W + left + right, N), dtype=cols.dtype)
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (Ho - 1) + 1, stride[0])
        for j in range(kernel[1]):
            cs = slice(j * dilation[1], j * dilation[1] + stride[1] * (Wo - 1) + 1, stride[1])
            xp[:, rows, cs, :] += cols[:, i, j]
    return np.ascontiguousarray(xp[:, top:top + H, left:left + W, :].transpose(3, 0, 1, 2))


def rows_batch_last(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, C, H, W) -> (groups, C / groups, H * W * N)``: channels as rows (a copy)."""
    N, C, H, W = a.shape
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(groups, C // groups, -1)


def unrows_batch_last(m: np.ndarray, N: int, H: int, W: int) -> np.ndarray:
    """Inverse of :func:`rows_batch_last`: ``(groups, C / groups, H * W * N) -> (N, C, H, W)``."""
    return np.ascontiguousarray(m.reshape(-1, H, W, N).transpose(3, 0, 1, 2))
