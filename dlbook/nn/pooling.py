r"""Pooling layers, mirroring ``torch.nn``: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``,
``AdaptiveMaxPool2d``.

A pooling window is a product of a row interval and a column interval, so max and mean pool
*separably*: first along each row (over the ``kW`` column offsets), then along each column
(over the ``kH`` row offsets). That costs ``kH + kW`` vectorised passes instead of ``kH * kW``,
each over strided views with no copy of the windows, and keeps torch's tie rule for max:
taking the first maximal column within each row, then the first row reaching the maximum, finds
the first maximum in row-major order, which is where torch routes the gradient.

Backward undoes the two passes in reverse order, scattering the gradient with one strided
slice-add per kernel offset (overlapping windows add up).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from dlbook.nn._checks import batched_images, check_grad
from dlbook.nn.im2col import Pair, _bmm, _pair, conv_output_size, pad2d, window_slices
from dlbook.nn.module import Module


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                     ceil_mode: bool) -> int:
    """Window count along one axis, as torch: with ``ceil_mode`` a last, partial window counts
    if it starts inside the input or the left padding."""
    if not ceil_mode:
        return conv_output_size(size, kernel, stride, 2 * padding, dilation)
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = -(-span // stride) + 1
    return out - 1 if (out - 1) * stride >= size + padding else out


class _Geometry:
    """Windows of a 2-D pooling: kernel, stride, padding, dilation, output and buffer sizes."""

    def __init__(self, who: str, hw: Sequence[int], kernel: Pair, stride: Pair, padding: Pair,
                 dilation: Pair, ceil_mode: bool) -> None:
        if min(*kernel, *stride, *dilation) < 1 or min(padding) < 0:
            raise ValueError(f"{who}: kernel_size, stride and dilation must be positive and "
                             f"padding non-negative, got {kernel}, {stride}, {padding}, "
                             f"{dilation}")
        for a in range(2):
            if padding[a] > kernel[a] // 2:
                raise ValueError(f"{who}: padding should be at most half of the kernel size, "
                                 f"got padding={padding}, kernel_size={kernel}")
        self.out = tuple(pool_output_size(hw[a], kernel[a], stride[a], padding[a], dilation[a],
                                          ceil_mode) for a in range(2))
        if min(self.out) < 1:
            raise ValueError(f"{who}: input of size (H, W) = {tuple(hw)} is too small for "
                             f"kernel {kernel} (dilation {dilation}, padding {padding}): the "
                             f"output would be {self.out[0]} x {self.out[1]}")
        self.hw, self.padding = tuple(hw), padding
        # The padded buffer holds every window; ceil_mode windows may need more at the end.
        reach = [(self.out[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
                 for a in range(2)]
        self.pads = tuple((padding[a], max(padding[a], reach[a] - hw[a] - padding[a]))
                          for a in range(2))
        self.rows = window_slices(kernel[0], stride[0], dilation[0], self.out[0])
        self.cols = window_slices(kernel[1], stride[1], dilation[1], self.out[1])

    def crop(self, xp: np.ndarray) -> np.ndarray:
        """The unpadded ``(N, C, H, W)`` part of a padded buffer."""
        (top, _), (left, _) = self.pads
        H, W = self.hw
        return xp[:, :, top:top + H, left:left + W]


@functools.lru_cache(maxsize=128)
def _geometry(who: str, hw: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
              dilation: Pair, ceil_mode: bool) -> _Geometry:
    """The (read-only) geometry for these arguments, computed once per input size: on small
    inputs the bookkeeping otherwise costs as much as the pooling itself."""
    return _Geometry(who, hw, kernel, stride, padding, dilation, ceil_mode)


def _first_max(cands: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise max over ``cands`` and the index of the FIRST candidate that reaches it."""
    dtype = np.min_scalar_type(len(cands) - 1)
    if len(cands) == 1:
        return cands[0].copy(), np.zeros(cands[0].shape, dtype=dtype)
    best = np.maximum(cands[0], cands[1])
    arg = (cands[1] > cands[0]).astype(dtype)
    for o in range(2, len(cands)):
        # o exceeds every index so far, so "arg = o where strictly better" is a maximum
        # (arithmetic on masks: much faster than np.where / np.copyto(where=) in NumPy).
        np.maximum(arg, (cands[o] > best) * dtype.type(o), out=arg)
        np.maximum(best, cands[o], out=best)
    return best, arg


def _scatter(grad: np.ndarray, slices: list[slice], shape: tuple[int, ...], axis: int,
             arg: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of reading ``x[slices[o]]`` along ``axis``: add ``grad`` (masked to where
    ``arg == o`` if given) into a zero array of ``shape``, one strided slice-add per offset."""
    out = np.zeros(shape, dtype=grad.dtype)
    index = [slice(None)] * out.ndim
    for o, s in enumerate(slices):
        index[axis] = s
        out[tuple(index)] += grad if arg is None else grad * (arg == o)
    return out


class _Pool2d(Module):
    """Shared by the pooling modules: unbatched inputs, saved shapes, backward plumbing."""

    def _forward(self, x) -> np.ndarray:
        x, unbatched = batched_images(x, type(self).__name__)
        out, cache = self._pool(x)
        self.save_for_backward(unbatched=unbatched, out_shape=out.shape, **cache)
        return out[0] if unbatched else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        shape = s.out_shape[1:] if s.unbatched else s.out_shape
        grad_out = check_grad(grad_out, shape, type(self).__name__)
        grad_x = self._unpool(grad_out.reshape(s.out_shape), s)
        return grad_x[0] if s.unbatched else grad_x


class MaxPool2d(_Pool2d):
    r"""Max over each ``kH x kW`` window, as ``torch.nn.MaxPool2d`` (padding counts as -inf).

    Args:
        kernel_size: int or ``(kH, kW)``; stride: defaults to ``kernel_size``.
        padding: implicit -inf padding on both sides, at most half the kernel size.
        dilation: spacing between window elements.
        return_indices: also return, per output, the flat index ``h * W + w`` of its maximum.
        ceil_mode: round the output size up (a last partial window that starts inside the
            input or the left padding counts).

    Shape:
        - Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)`` with
          ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1`` (``ceil`` with ``ceil_mode``).

    Backward: each output's gradient goes to the input that was its maximum,
    :math:`\partial L / \partial x_{p} = \sum_{\text{windows } q:\ p = \arg\max_q}
    \partial L / \partial y_q`; on ties, to the FIRST maximum in row-major order, as torch.
    (Ranzato et al. 2007; max-pooling in CNNs since Riesenhuber & Poggio 1999.)
    """

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        out = self._forward(x)
        if not self.return_indices:
            return out
        s = self.saved
        indices = self._indices(s)
        return out, (indices[0] if s.unbatched else indices)

    def _pool(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        geo = _geometry("MaxPool2d", x.shape[2:], _pair(self.kernel_size, "kernel_size"),
                        _pair(self.stride, "stride"), _pair(self.padding, "padding"),
                        _pair(self.dilation, "dilation"), self.ceil_mode)
        xp = pad2d(x, geo.pads, -np.inf)
        # 1. along rows: the max over column offsets j, and the first j that reaches it;
        row_max, arg_j = _first_max([xp[:, :, :, c] for c in geo.cols])
        # 2. along columns: the max over row offsets i of those row maxima, and the first i.
        out, arg_i = _first_max([row_max[:, :, r] for r in geo.rows])
        return out, dict(geo=geo, arg_i=arg_i, arg_j=arg_j)

    def _unpool(self, grad_out: np.ndarray, s) -> np.ndarray:
        N, C, Ho, Wo = grad_out.shape
        geo = s.geo
        Hb, Wb = (geo.hw[a] + sum(geo.pads[a]) for a in range(2))
        # Undo step 2 (route to the winning row), then step 1 (to the winning column).
        grad_rows = _scatter(grad_out, geo.rows, (N, C, Hb, Wo), 2, s.arg_i)
        grad_xp = _scatter(grad_rows, geo.cols, (N, C, Hb, Wb), 3, s.arg_j)
        return np.ascontiguousarray(geo.crop(grad_xp))

    def _indices(self, s) -> np.ndarray:
        """Flat ``h * W + w`` input index of each output's maximum (as torch returns)."""
        geo = s.geo
        (stride_h, stride_w), (dil_h, dil_w) = (_pair(self.stride, "stride"),
                                                _pair(self.dilation, "dilation"))
        Ho, Wo = geo.out
        rows = (np.arange(Ho)[:, None] * stride_h + s.arg_i.astype(np.int64) * dil_h)
        j = np.take_along_axis(s.arg_j, rows, axis=2)          # the winning row's column offset
        h = rows - geo.padding[0]
        w = np.arange(Wo) * stride_w + j.astype(np.int64) * dil_w - geo.padding[1]
        return h * geo.hw[1] + w

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    r"""Mean over each ``kH x kW`` window, as ``torch.nn.AvgPool2d`` (zero padding).

    Args:
        kernel_size: int or ``(kH, kW)``; stride: defaults to ``kernel_size``.
        padding: implicit zero padding on both sides, at most half the kernel.
        ceil_mode: round the output size up, as ``MaxPool2d``.
        count_include_pad: divide by the window size including the zero padding (but never
            counting the part of a ``ceil_mode`` window beyond the padding), else by the number
            of input pixels in the window.
        divisor_override: divide every window sum by this number instead.

    Shape:
        - Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)``,
          ``H_out = floor((H + 2 p - k) / s) + 1`` (``ceil`` with ``ceil_mode``).

    Backward: :math:`\partial L / \partial x_p = \sum_{\text{windows } q \ni p}
    (\partial L / \partial y_q) / \text{divisor}_q`.
    """

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        if divisor_override is not None and divisor_override == 0:
            raise ValueError("AvgPool2d: divisor_override must not be zero")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)

    def _pool(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        kernel = _pair(self.kernel_size, "kernel_size")
        geo = _geometry("AvgPool2d", x.shape[2:], kernel, _pair(self.stride, "stride"),
                        _pair(self.padding, "padding"), (1, 1), self.ceil_mode)
        xp = pad2d(x, geo.pads)
        row_sum = _sum([xp[:, :, :, c] for c in geo.cols])       # 1. along rows
        out = _sum([row_sum[:, :, r] for r in geo.rows])          # 2. along columns
        divisor = self._divisor(geo, kernel).astype(out.dtype)
        return np.divide(out, divisor, out=out), dict(geo=geo, divisor=divisor)

    def _divisor(self, geo: _Geometry, kernel: Pair) -> np.ndarray | float:
        """Per-output divisor, separable: (rows counted) x (columns counted)."""
        if self.divisor_override is not None:
            return np.asarray(float(self.divisor_override))
        stride = _pair(self.stride, "stride")
        counts = []
        for a in range(2):
            start = np.arange(geo.out[a]) * stride[a] - geo.padding[a]
            end = np.minimum(start + kernel[a], geo.hw[a] + geo.padding[a])
            if not self.count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, geo.hw[a])
            counts.append(end - start)
        return np.multiply.outer(counts[0], counts[1]).astype(np.float64)

    def _unpool(self, grad_out: np.ndarray, s) -> np.ndarray:
        N, C, Ho, Wo = grad_out.shape
        geo = s.geo
        Hb, Wb = (geo.hw[a] + sum(geo.pads[a]) for a in range(2))
        grad_rows = _scatter(grad_out / s.divisor, geo.rows, (N, C, Hb, Wo), 2)
        grad_xp = _scatter(grad_rows, geo.cols, (N, C, Hb, Wb), 3)
        return np.ascontiguousarray(geo.crop(grad_xp))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _sum(views: list[np.ndarray]) -> np.ndarray:
    total = views[0].copy()
    for v in views[1:]:
        total += v
    return total


def _adaptive_size(output_size, hw: Sequence[int]) -> Pair:
    """``output_size`` (int, pair, entries ``None`` = keep the input size) as a pair."""
    sizes = (output_size, output_size) if output_size is None or isinstance(
        output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(hw[a] if sizes[a] is None else int(sizes[a]) for a in range(2))
    if min(sizes) < 1:
        raise ValueError(f"output_size must be positive, got {output_size!r}")
    return sizes  # type: ignore[return-value]


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    r"""torch's adaptive windows: :math:`[\lfloor i S / O \rfloor, \lceil (i + 1) S / O \rceil)`."""
    i = np.arange(out)
    return (i * size) // out, -(-((i + 1) * size) // out)


def adaptive_avg_matrix(size: int, out: int, dtype=np.float64) -> np.ndarray:
    """``(out, size)`` matrix whose row ``i`` averages window ``i``: pooling is a linear map."""
    start, end = adaptive_windows(size, out)
    idx = np.arange(size)
    inside = (idx >= start[:, None]) & (idx < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(_Pool2d):
    r"""Average pooling to a fixed output size, as ``torch.nn.AdaptiveAvgPool2d``.

    Window ``i`` along an axis of size ``S`` pooled to ``O`` covers
    ``[floor(i S / O), ceil((i + 1) S / O))``: windows may differ in size and overlap when ``O``
    does not divide ``S``. The mean over a product of intervals is separable, so with
    :math:`P_H` ``(H_out, H)`` and :math:`P_W` ``(W_out, W)`` averaging matrices,

    .. math::
        y = P_H\, x\, P_W^\top, \qquad \frac{\partial L}{\partial x} = P_H^\top G P_W.

    Args:
        output_size: int or ``(H_out, W_out)``; ``None`` keeps that input size.

    Shape:
        - Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)``.
    """

    def __init__(self, output_size: int | None | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)

    def _pool(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        H, W = x.shape[2:]
        Ho, Wo = _adaptive_size(self.output_size, (H, W))
        if Ho == Wo == 1:
            # NOTE: global average pooling (ResNet's head) is the common case: a plain mean
            # and a broadcast are several times faster than the matrices for it.
            return x.mean(axis=(2, 3), keepdims=True), dict(in_shape=x.shape)
        p_h, p_w = adaptive_avg_matrix(H, Ho, x.dtype), adaptive_avg_matrix(W, Wo, x.dtype)
        return _sandwich(p_h, x, p_w), dict(p_h=p_h, p_w=p_w)

    def _unpool(self, grad_out: np.ndarray, s) -> np.ndarray:
        if hasattr(s, "in_shape"):
            N, C, H, W = s.in_shape
            return np.broadcast_to(grad_out / (H * W), s.in_shape).copy()
        return _sandwich(s.p_h.T, grad_out, s.p_w.T)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


def _sandwich(a: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ x @ b.T`` over the last two axes of ``x`` ``(N, C, H, W)``, as two flat GEMMs.

    Only the smaller of input and output gets transposed (GEMMs contract the last axis).
    """
    N, C, H, W = x.shape
    (Ho, _), (Wo, _) = a.shape, b.shape
    if H * W < Ho * Wo:  # growing (a backward pass): contract H first, output comes out in order
        t = _bmm(x.transpose(0, 1, 3, 2).reshape(-1, H), a.T)                # (N*C*W, Ho)
        t = _bmm(t.reshape(N * C, W, Ho).transpose(0, 2, 1).reshape(-1, W), b.T)
        return t.reshape(N, C, Ho, Wo)
    t = _bmm(x.reshape(-1, W), b.T)                                           # (N*C*H, Wo)
    t = _bmm(t.reshape(N * C, H, Wo).transpose(0, 2, 1).reshape(-1, H), a.T)  # (N*C*Wo, Ho)
    return np.ascontiguousarray(t.reshape(N, C, Wo, Ho).transpose(0, 1, 3, 2))


def _padded_windows(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index rows ``start[i] + 0, 1, ...`` padded to the longest window (repeating its last
    index), and a mask of the real entries: both ``(n_windows, longest)``."""
    longest = int((stop - start).max())
    idx = start[:, None] + np.arange(longest)[None, :]
    ok = idx < stop[:, None]
    return np.minimum(idx, stop[:, None] - 1), ok


class AdaptiveMaxPool2d(_Pool2d):
    r"""Max pooling to a fixed output size, as ``torch.nn.AdaptiveMaxPool2d``.

    Windows as ``AdaptiveAvgPool2d``, gathered all at once (padded with -inf to the largest
    window) for one vectorised argmax. Backward routes each gradient to the first maximum of
    its window, as torch.

    Args:
        output_size: int or ``(H_out, W_out)``; ``None`` keeps that input size.
        return_indices: also return the flat ``h * W + w`` index of each maximum.

    Shape:
        - Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)``.
    """

    def __init__(self, output_size: int | None | Sequence[int | None],
                 return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, x: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        out = self._forward(x)
        if not self.return_indices:
            return out
        s = self.saved
        return out, (s.indices[0] if s.unbatched else s.indices)

    def _pool(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        N, C, H, W = x.shape
        Ho, Wo = _adaptive_size(self.output_size, (H, W))
        rows, row_ok = _padded_windows(*adaptive_windows(H, Ho))  # (Ho, kh)
        cols, col_ok = _padded_windows(*adaptive_windows(W, Wo))  # (Wo, kw)
        kh, kw = rows.shape[1], cols.shape[1]
        # Every window at once, padded to the largest (kh, kw) with -inf: (N, C, Ho, Wo, kh kw)
        windows = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]
        ok = row_ok[:, None, :, None] & col_ok[None, :, None, :]
        windows = np.where(ok, windows, -np.inf).reshape(N, C, Ho, Wo, kh * kw)
        k = windows.argmax(axis=-1)  # the first maximum in row-major order, as torch
        out = np.take_along_axis(windows, k[..., None], axis=-1)[..., 0].astype(x.dtype)
        r, c = np.divmod(k, kw)
        indices = (rows[:, 0][:, None] + r) * W + cols[:, 0][None, :] + c
        return out, dict(indices=indices.astype(np.int64), in_shape=x.shape)

    def _unpool(self, grad_out: np.ndarray, s) -> np.ndarray:
        N, C, H, W = s.in_shape
        grad_x = np.zeros((N * C, H * W), dtype=grad_out.dtype)
        flat = s.indices.reshape(N * C, -1)
        g = grad_out.reshape(N * C, -1)
        maps = np.arange(N * C)
        for q in range(flat.shape[1]):   # one output position at a time: windows may overlap,
            grad_x[maps, flat[:, q]] += g[:, q]  # but one position's targets are all distinct
        return grad_x.reshape(N, C, H, W)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
