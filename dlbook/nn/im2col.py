r"""Convolution as matrix multiplication: ``im2col``, ``col2im`` and the conv passes built on them.

The idea (Chellapilla, Puri & Simard 2006, "High Performance Convolutional Neural Networks for
Document Processing", https://hal.inria.fr/inria-00112631): copy every receptive field of the
input into one column of a matrix, so that the whole convolution becomes ONE matrix product

.. math::
    \underbrace{Y}_{(C_{out},\; N H_{out} W_{out})}
    = \underbrace{W}_{(C_{out},\; C k_H k_W)}\;
      \underbrace{\operatorname{im2col}(x)}_{(C k_H k_W,\; N H_{out} W_{out})}.

``im2col`` builds that matrix from ONE strided view of the (padded) input, copied once; its
adjoint ``col2im`` adds the columns back onto the input grid, one kernel offset at a time, and
is both the input gradient of a convolution and the forward pass of a transposed convolution.

The functions here are pure (no state): ``conv2d_forward -> (out, cache)`` and
``conv2d_backward(grad_out, cache)``, and their transposed-convolution twins, are what
``dlbook.nn.Conv2d`` and ``dlbook.nn.ConvTranspose2d`` call, and what an exercise can ask for.

Grouped convolutions split the channels into ``groups`` independent slices; the matrices above
become a stack of ``groups`` matrices multiplied by one batched ``matmul``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def _pair(value: int | tuple[int, int], name: str) -> Pair:
    """``value`` as a pair of ints: ``3 -> (3, 3)``, ``(3, 2) -> (3, 2)``."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _pads(padding: int | tuple, name: str = "padding") -> Pads:
    """``padding`` as ``((top, bottom), (left, right))``; accepts an int or ``(pad_h, pad_w)``."""
    if not isinstance(padding, (int, np.integer)) and len(padding) == 2 and all(
            not isinstance(p, (int, np.integer)) for p in padding):
        pads = tuple(_pair(p, name) for p in padding)
    else:
        ph, pw = _pair(padding, name)
        pads = ((ph, ph), (pw, pw))
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"{name} must be non-negative, got {padding!r}")
    return pads  # type: ignore[return-value]


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    r"""Number of window positions: :math:`\lfloor (size + pad - d(k-1) - 1) / s \rfloor + 1`."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def window_slices(kernel: int, stride: int, dilation: int, n_out: int) -> list[slice]:
    """For each kernel offset ``i`` along one axis, the slice of the padded axis that the
    ``n_out`` windows read at that offset: ``i d, i d + s, ..., i d + s (n_out - 1)``.

    Every shift-and-add loop (``col2im``, pooling) walks these.
    """
    return [slice(i * dilation, i * dilation + stride * (n_out - 1) + 1, stride)
            for i in range(kernel)]


def pad2d(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """A copy of ``x`` (``(N, C, H, W)``) padded with ``value``; ``x`` itself when no padding."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    N, C, H, W = x.shape
    out = np.full((N, C, H + top + bottom, W + left + right), value, dtype=x.dtype)
    out[:, :, top:top + H, left:left + W] = x
    return out


# -- the two column orders ------------------------------------------------------------------
# NOTE: im2col's columns can be ordered (n, h, w) or (h, w, n). The copy runs fastest when
# its innermost contiguous run is long: one output row (W_out numbers) in the first order,
# the whole batch in the second. On LeNet's 4x4 or 10x10 maps a batch of 64 is the longer
# run and the copy is 3-6x faster; the matrices are equal up to a permutation of their
# columns, so the GEMM, the gradients and every result are unchanged (tests force both):
#     cols[(c, i, j), (h, w, n)] = x_pad[n, c, h s_H + i d_H, w s_W + j d_W].
# Every function below works on a "grid": the (padded) input with its axes in the column
# order, (C, N, H, W) or (C, H, W, N).
_GRID = {False: (1, 0, 2, 3), True: (1, 2, 3, 0)}   # (N, C, H, W) -> grid axes
_NCHW = {False: (1, 0, 2, 3), True: (3, 0, 1, 2)}   # grid axes -> (N, C, H, W)


def prefers_batch_last(N: int, out_hw: Pair) -> bool:
    """Order the columns ``(h, w, n)`` when output rows are short (under 16 numbers) and the
    batch is the longer contiguous run. Measured (forward and backward, CPU time, one thread):
    LeNet's 10-wide maps with a batch of 64 run 1.2-2x faster batch-last; from 16-wide maps on
    (16 float32 are a 64-byte cache line) the (n, h, w) order is 10-25% faster, even for a
    batch of 64."""
    return N > 1 and N > out_hw[1] and out_hw[1] < 16


def _spatial(batch_last: bool) -> tuple[int, int]:
    """The grid axes of ``H`` and ``W``."""
    return (1, 2) if batch_last else (2, 3)


def _padded_grid(x: np.ndarray, pads: Pads, batch_last: bool) -> np.ndarray:
    """``x`` (``(N, C, H, W)``) zero-padded, with its axes in grid order (a view or one copy)."""
    if not batch_last:
        return pad2d(x, pads).transpose(_GRID[False])
    (top, bottom), (left, right) = pads
    N, C, H, W = x.shape
    grid = np.zeros((C, H + top + bottom, W + left + right, N), dtype=x.dtype)
    grid[:, top:top + H, left:left + W, :] = x.transpose(_GRID[True])
    return grid


def _window_view(grid: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair,
                 batch_last: bool) -> np.ndarray:
    """Read-only view ``(C, kH, kW, *positions)`` of a padded grid, no copy; the positions are
    ``(N, H_out, W_out)`` or ``(H_out, W_out, N)``."""
    h, w = _spatial(batch_last)
    shape, strides = list(grid.shape), list(grid.strides)
    sH, sW = strides[h], strides[w]
    shape[h], shape[w] = out_hw
    strides[h], strides[w] = stride[0] * sH, stride[1] * sW
    return as_strided(grid, (shape[0], *kernel, *shape[1:]),
                      (strides[0], dilation[0] * sH, dilation[1] * sW, *strides[1:]),
                      writeable=False)


def im2col(x: np.ndarray, kernel_size: int | Pair, stride: int | Pair = 1,
           padding: int | tuple = 0, dilation: int | Pair = 1) -> np.ndarray:
    r"""Every receptive field of ``x`` as a column.

    ``cols[(c, i, j), (n, h, w)] = x_pad[n, c, h s_H + i d_H, w s_W + j d_W]``.

    Args:
        x: input ``(N, C, H, W)``.
        kernel_size, stride, dilation: ints or ``(h, w)`` pairs.
        padding: int, ``(pad_h, pad_w)`` or ``((top, bottom), (left, right))`` zeros.

    Shape:
        - Output: ``(C * kH * kW, N * H_out * W_out)``, rows ordered ``(c, i, j)`` as
          ``weight.reshape(C_out, -1)``, columns ordered ``(n, h, w)``.

    One strided view of the padded input (no copy), then one contiguous copy.
    """
    kernel, stride, dilation = (_pair(kernel_size, "kernel_size"), _pair(stride, "stride"),
                                _pair(dilation, "dilation"))
    pads = _pads(padding)
    out_hw = _out_hw(x.shape[2:], kernel, stride, pads, dilation)
    return _im2col(x, kernel, stride, pads, dilation, out_hw)


def _im2col(x: np.ndarray, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair,
            out_hw: Pair, batch_last: bool = False, out: np.ndarray | None = None
            ) -> np.ndarray:
    """``im2col`` for ``out_hw`` window positions (which must fit inside the padded input),
    columns ordered ``(h, w, n)`` if ``batch_last``; written into ``out`` (a contiguous array
    of the result's shape and dtype) when given, else into a fresh array."""
    view = _window_view(_padded_grid(x, pads, batch_last), kernel, stride, dilation, out_hw,
                        batch_last)
    rows = x.shape[1] * kernel[0] * kernel[1]
    if out is None or out.shape != (rows, view.size // rows) or out.dtype != x.dtype:
        return np.ascontiguousarray(view).reshape(rows, -1)
    np.copyto(out.reshape(view.shape), view)
    return out


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: int | Pair,
           stride: int | Pair = 1, padding: int | tuple = 0,
           dilation: int | Pair = 1) -> np.ndarray:
    r"""The adjoint of ``im2col``: add every column back onto the input grid.

    ``x[n, c, h, w] = sum of cols[(c, i, j), (n, h', w')]`` over all ``(i, j, h', w')`` with
    ``h' s_H + i d_H - pad_top = h`` and ``w' s_W + j d_W - pad_left = w``. Overlapping windows
    add up, which is exactly the chain rule for a pixel read by several windows.

    Args:
        cols: ``(C * kH * kW, N * H_out * W_out)`` as ``im2col`` returns.
        x_shape: ``(N, C, H, W)`` of the grid to rebuild.

    Shape:
        - Output: ``x_shape``.

    One strided slice-add per kernel offset ``(i, j)``: ``kH * kW`` vectorised adds, no loop over
    pixels (``np.add.at`` would be the slow, general alternative).
    """
    kernel, stride, dilation = (_pair(kernel_size, "kernel_size"), _pair(stride, "stride"),
                                _pair(dilation, "dilation"))
    pads = _pads(padding)
    out_hw = _out_hw(x_shape[2:], kernel, stride, pads, dilation)
    return _col2im(cols, x_shape, kernel, stride, pads, dilation, out_hw)


def _col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: Pair, stride: Pair,
            pads: Pads, dilation: Pair, out_hw: Pair, batch_last: bool = False) -> np.ndarray:
    """``col2im`` for ``out_hw`` window positions (which must fit inside the padded grid),
    columns ordered ``(h, w, n)`` if ``batch_last``; returns ``(N, C, H, W)``, contiguous."""
    (top, bottom), (left, right) = pads
    N, C, H, W = x_shape
    padded = (N, C, H + top + bottom, W + left + right)
    # the grid is a view of an (N, C, H, W) buffer, or a contiguous (C, H, W, N) one
    grid = (np.zeros([padded[a] for a in _GRID[True]], dtype=cols.dtype) if batch_last
            else np.zeros(padded, dtype=cols.dtype).transpose(_GRID[False]))
    h, w = _spatial(batch_last)
    cols = cols.reshape(C, *kernel, *_positions(N, out_hw, batch_last))
    index = [slice(None)] * 4
    col_slices = window_slices(kernel[1], stride[1], dilation[1], out_hw[1])
    for i, rows in enumerate(window_slices(kernel[0], stride[0], dilation[0], out_hw[0])):
        index[h] = rows
        for j, cs in enumerate(col_slices):
            index[w] = cs
            grid[tuple(index)] += cols[:, i, j]
    index[h], index[w] = slice(top, top + H), slice(left, left + W)
    return np.ascontiguousarray(grid[tuple(index)].transpose(_NCHW[batch_last]))


def _positions(N: int, hw: Pair, batch_last: bool) -> tuple[int, int, int]:
    """The shape of the column index: ``(N, H, W)`` or ``(H, W, N)``."""
    return (*hw, N) if batch_last else (N, *hw)


def _out_hw(hw: Pair, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair) -> Pair:
    """Number of window positions ``(H_out, W_out)``; a clear error when there are none."""
    if min(*kernel, *stride, *dilation) < 1:
        raise ValueError(f"kernel_size, stride and dilation must be positive, got "
                         f"{kernel}, {stride}, {dilation}")
    Ho, Wo = (conv_output_size(hw[a], kernel[a], stride[a], sum(pads[a]), dilation[a])
              for a in range(2))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"input of size (H, W) = {tuple(hw)} with padding {pads} is too small "
                         f"for kernel {kernel} with dilation {dilation}: the output would be "
                         f"{Ho} x {Wo}")
    return Ho, Wo


# -- group-major matrices ------------------------------------------------------------------
def _rows(a: np.ndarray, groups: int, batch_last: bool = False) -> np.ndarray:
    """``(N, C, H, W) -> (groups, C / groups, N H W)``: channels as matrix rows (a copy), the
    columns in grid order."""
    return np.ascontiguousarray(a.transpose(_GRID[batch_last])).reshape(
        groups, a.shape[1] // groups, -1)


def _unrows(m: np.ndarray, N: int, H: int, W: int, batch_last: bool = False) -> np.ndarray:
    """Inverse of ``_rows``: ``(groups, C / groups, N H W) -> (N, C, H, W)``, contiguous."""
    grid = m.reshape(-1, *_positions(N, (H, W), batch_last))
    return np.ascontiguousarray(grid.transpose(_NCHW[batch_last]))


def _bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (batched over leading axes, e.g. the groups)."""
    if a.shape[-1] == 1:
        # NOTE: NumPy's matmul is ~10x slower than broadcasting for a contraction of size 1
        # (an outer product, e.g. a depthwise conv's one input channel per group).
        return a * b
    return a @ b


def _weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in / groups, kH, kW) -> (groups, C_out / groups, C_in / groups * kH * kW)``."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


# -- convolution ---------------------------------------------------------------------------
@dataclass
class Conv2dCache:
    """What ``conv2d_backward`` needs from the forward pass."""

    cols: np.ndarray          # im2col(x): (C_in * kH * kW, N * H_out * W_out)
    batch_last: bool          # cols ordered (h, w, n) instead of (n, h, w)
    weight: np.ndarray        # (C_out, C_in / groups, kH, kW)
    has_bias: bool
    x_shape: tuple[int, int, int, int]
    stride: Pair
    pads: Pads
    dilation: Pair
    groups: int


def same_padding(kernel: Pair, dilation: Pair) -> Pads:
    """torch's ``padding='same'``: total ``d (k - 1)``, the odd extra row/column at the end."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    return (total[0] // 2, total[0] - total[0] // 2), (total[1] // 2, total[1] - total[1] // 2)


def resolve_padding(padding: int | tuple | str, kernel: Pair, stride: Pair,
                    dilation: Pair) -> Pads:
    """``padding`` (int, pair, ``'valid'`` or ``'same'``) as ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"padding must be 'valid', 'same', an int or a pair, got {padding!r}")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        return same_padding(kernel, dilation)
    return _pads(padding)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                   stride: int | Pair = 1, padding: int | tuple | str = 0,
                   dilation: int | Pair = 1, groups: int = 1, cols_buffer: np.ndarray | None = None
                   ) -> tuple[np.ndarray, Conv2dCache]:
    r"""2-D cross-correlation, as ``torch.nn.functional.conv2d``, by im2col and one GEMM per group.

    .. math::
        y[n, o, h, w] = b_o + \sum_{c, i, j} W[o, c, i, j]\,
                        x_{pad}[n, g(o) C_g + c, h s_H + i d_H, w s_W + j d_W]

    Shape:
        - x: ``(N, C_in, H, W)``; weight: ``(C_out, C_in / groups, kH, kW)``; bias ``(C_out,)``.
        - out: ``(N, C_out, H_out, W_out)`` with
          ``H_out = floor((H + pad_top + pad_bottom - d_H (kH - 1) - 1) / s_H) + 1``.

    ``cols_buffer``: an array the im2col matrix may be written into (used when its shape and
    dtype fit, e.g. the matrix of the previous step; see ``Module.reusable_buffer``).
    """
    N, C, H, W = x.shape
    C_out, C_g, kH, kW = weight.shape
    if C_g * groups != C or C_out % groups:
        raise ValueError(f"conv2d: weight of shape {weight.shape} with groups={groups} expects "
                         f"{C_g * groups} input channels, got input of shape {x.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = resolve_padding(padding, (kH, kW), stride, dilation)
    Ho, Wo = _out_hw((H, W), (kH, kW), stride, pads, dilation)
    # NOTE: the same matrices with columns in (h, w, n) order where that copies faster
    # (small maps, see prefers_batch_last); results are identical.
    batch_last = prefers_batch_last(N, (Ho, Wo))
    cols = _im2col(x, (kH, kW), stride, pads, dilation, (Ho, Wo), batch_last, cols_buffer)
    out = _bmm(_weight_matrix(weight, groups), cols.reshape(groups, C_g * kH * kW, -1))
    if bias is not None:
        out += bias.reshape(groups, -1, 1)  # out is a fresh array
    cache = Conv2dCache(cols, batch_last, weight, bias is not None, (N, C, H, W), stride, pads,
                        dilation, groups)
    return _unrows(out, N, Ho, Wo, batch_last), cache


def conv2d_backward(grad_out: np.ndarray, cache: Conv2dCache
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""Gradients of ``conv2d_forward``; with :math:`G` = ``grad_out`` as group-major rows.

    Forward was :math:`Y = W X_{col} + b` per group, so (matrix calculus, as for ``Linear``):

    1. :math:`\partial L / \partial b_o = \sum_{n, h, w} G[n, o, h, w]`.
    2. :math:`\partial L / \partial W = G X_{col}^\top` (reshaped to the weight's shape).
    3. :math:`\partial L / \partial X_{col} = W^\top G`, then
       :math:`\partial L / \partial x = \operatorname{col2im}(W^\top G)`: each pixel collects the
       gradient of every window that read it.
    4. With stride 1 the same sum is a convolution of ``grad_out`` itself, with the kernel
       flipped in space and its in/out channels swapped, and padding ``d (k - 1) - p``:
       :math:`\partial L / \partial x[c, h] = \sum_{o, i} G[o, h + p - i d]\, W[o, c, i]`.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``; ``grad_bias`` is None when there was no bias.
    """
    c = cache
    g = _rows(grad_out, c.groups, c.batch_last)                     # (G, C_out/G, N*Ho*Wo)
    cols = c.cols.reshape(c.groups, -1, g.shape[-1])                # (G, C_g*kH*kW, N*Ho*Wo)
    w = _weight_matrix(c.weight, c.groups)
    grad_bias = grad_out.sum(axis=(0, 2, 3)) if c.has_bias else None
    grad_weight = (g @ cols.transpose(0, 2, 1)).reshape(c.weight.shape)
    full_pads = _full_conv_pads(c)
    if full_pads is not None and _gather_is_cheaper(grad_out, c):
        # NOTE: step 4 instead of 3 where it applies: im2col's one gathering copy is several
        # times faster in NumPy than col2im's kH * kW scattering adds; the result is the same.
        grad_x, _ = conv2d_forward(grad_out, _flipped_kernel(c.weight, c.groups), None, 1,
                                   full_pads, c.dilation, c.groups)
    else:
        grad_cols = _bmm(w.transpose(0, 2, 1), g)
        grad_x = _col2im(grad_cols, c.x_shape, c.weight.shape[2:], c.stride, c.pads,
                         c.dilation, grad_out.shape[2:], c.batch_last)
    return grad_x, grad_weight, grad_bias


def _gather_is_cheaper(grad_out: np.ndarray, c: Conv2dCache) -> bool:
    """Whether step 4 (gather) should replace step 3 (scatter) in ``conv2d_backward``.

    The gathered matrix of step 4 has C_out k^2 rows per input pixel, step 3's has C_in k^2
    per output pixel; step 4 pays off unless its matrix is much the larger (LeNet's 6 -> 16
    channels, unpadded: 5x), as measured by `dlbook bench`. Both give the same gradient
    (tests/nn/test_conv.py forces each).
    """
    N, C, H, W = c.x_shape
    out_pixels = grad_out.shape[2] * grad_out.shape[3]
    return grad_out.shape[1] * H * W <= 2 * C * out_pixels


def _full_conv_pads(c: Conv2dCache) -> Pads | None:
    """Padding ``d (k - 1) - p`` per side for step 4, or None where it does not apply
    (stride > 1, or more padding than the dilated kernel reaches)."""
    if c.stride != (1, 1):
        return None
    reach = [d * (k - 1) for k, d in zip(c.weight.shape[2:], c.dilation, strict=True)]
    pads = tuple((reach[a] - c.pads[a][0], reach[a] - c.pads[a][1]) for a in range(2))
    return pads if min(min(p) for p in pads) >= 0 else None  # type: ignore[return-value]


def _flipped_kernel(weight: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_g, kH, kW) -> (C_in, C_out / groups, kH, kW)``: channels swapped within each
    group, kernel rotated by 180 degrees."""
    C_out, C_g, kH, kW = weight.shape
    w = weight.reshape(groups, C_out // groups, C_g, kH, kW).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(w.reshape(groups * C_g, C_out // groups, kH, kW)[:, :, ::-1, ::-1])


# -- transposed convolution ----------------------------------------------------------------
@dataclass
class ConvTranspose2dCache:
    """What ``conv_transpose2d_backward`` needs from the forward pass."""

    x_rows: np.ndarray        # x as group-major rows: (G, C_in / G, N * H * W)
    weight: np.ndarray        # (C_in, C_out / groups, kH, kW)
    has_bias: bool
    x_shape: tuple[int, int, int, int]
    stride: Pair
    pads: Pads
    dilation: Pair
    groups: int


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int,
                               output_padding: int, dilation: int) -> int:
    r""":math:`(size - 1) s - 2p + d (k - 1) + output\_padding + 1`."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                             stride: int | Pair = 1, padding: int | Pair = 0,
                             output_padding: int | Pair = 0, groups: int = 1,
                             dilation: int | Pair = 1
                             ) -> tuple[np.ndarray, ConvTranspose2dCache]:
    r"""Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    It is the input gradient of a convolution used as a layer: every input pixel scatters
    ``x[n, c, h, w] W[c, :, :, :]`` onto the output grid, i.e. :math:`Y = \operatorname{col2im}
    (W^\top X)` with ``W`` as a ``(C_in, C_out / groups * kH * kW)`` matrix per group.

    Shape:
        - x: ``(N, C_in, H, W)``; weight: ``(C_in, C_out / groups, kH, kW)``; bias ``(C_out,)``.
        - out: ``(N, C_out, H_out, W_out)``, ``H_out = (H - 1) s - 2 p + d (k - 1) + op + 1``.
    """
    N, C, H, W = x.shape
    C_in, C_og, kH, kW = weight.shape
    if C_in != C or C_in % groups:
        raise ValueError(f"conv_transpose2d: weight of shape {weight.shape} with groups={groups} "
                         f"expects {C_in} input channels, got input of shape {x.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pad, out_pad = _pair(padding, "padding"), _pair(output_padding, "output_padding")
    for a in range(2):
        if not 0 <= out_pad[a] < max(stride[a], dilation[a]):
            raise ValueError(f"output_padding {out_pad} must be smaller than either stride "
                             f"{stride} or dilation {dilation}")
    Ho, Wo = (conv_transpose_output_size((H, W)[a], (kH, kW)[a], stride[a], pad[a], out_pad[a],
                                         dilation[a]) for a in range(2))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"conv_transpose2d: input {x.shape} with padding {pad} gives an empty "
                         f"output ({Ho} x {Wo})")
    # The output is the input grid of a conv with padding p that has one window per input
    # pixel; output_padding adds rows at the end that no window reaches past the padding.
    pads = ((pad[0], pad[0]), (pad[1], pad[1]))
    x_rows = _rows(x, groups)                                     # (G, C_in/G, N*H*W)
    cols = _bmm(_weight_matrix(weight, groups).transpose(0, 2, 1), x_rows)
    out = _col2im(cols, (N, C_og * groups, Ho, Wo), (kH, kW), stride, pads, dilation, (H, W))
    if bias is not None:
        out += bias.reshape(-1, 1, 1)  # out is a fresh array
    cache = ConvTranspose2dCache(x_rows, weight, bias is not None, (N, C, H, W), stride, pads,
                                 dilation, groups)
    return out, cache


def conv_transpose2d_backward(grad_out: np.ndarray, cache: ConvTranspose2dCache
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""Gradients of ``conv_transpose2d_forward``: the backward of col2im is im2col.

    Forward was :math:`Y = \operatorname{col2im}(W^\top X) + b`, so with
    :math:`G_{col} = \operatorname{im2col}(\partial L / \partial Y)`:

    1. :math:`\partial L / \partial b_o = \sum_{n, h, w} \partial L / \partial Y[n, o, h, w]`.
    2. :math:`\partial L / \partial X = W G_{col}` (a plain convolution of the gradient).
    3. :math:`\partial L / \partial W = X G_{col}^\top`.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``; ``grad_bias`` is None when there was no bias.
    """
    c = cache
    N, C, H, W = c.x_shape
    grad_cols = _im2col(grad_out, c.weight.shape[2:], c.stride, c.pads, c.dilation, (H, W))
    grad_cols = grad_cols.reshape(c.groups, -1, N * H * W)      # (G, C_out/G*kH*kW, N*H*W)
    grad_bias = grad_out.sum(axis=(0, 2, 3)) if c.has_bias else None
    grad_x = _unrows(_bmm(_weight_matrix(c.weight, c.groups), grad_cols), N, H, W)
    grad_weight = (c.x_rows @ grad_cols.transpose(0, 2, 1)).reshape(c.weight.shape)
    return grad_x, grad_weight, grad_bias
