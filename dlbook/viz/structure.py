r"""Pictures of structure for chapter 6: a convolution as a matrix, and pooling windows.

A 1-D convolution (cross-correlation, as in deep learning) of ``x`` (length ``n``) with a
kernel ``w`` (length ``k``), stride ``s`` and zero padding ``p`` is a matrix product,

.. math:: y_o = \sum_{j=0}^{k-1} w_j\, x_{o s + j - p} = (M x)_o,
          \qquad M_{o,\, o s + j - p} = w_j,

so its input gradient is :math:`M^\top g`, which is the *transposed convolution* of ``g``:
each output's gradient is scattered back, times the kernel, onto the inputs it read.

- :func:`conv1d_matrix`: the matrix ``M``.
- :func:`conv1d_loops`, :func:`conv_transpose1d_loops`: the plain loops, the definitions
  the matrix is checked against.
- :func:`plot_conv_matrix`: ``M`` next to ``M^T`` with every entry written in.
- :func:`pooling_windows`, :func:`plot_pooling_windows`: the windows of a 2-D pooling and
  where max pooling sends each window's gradient (the first maximum, as torch).

matplotlib is imported inside the functions that draw.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _check_1d(kernel: np.ndarray, n: int, stride: int, padding: int) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 1 or kernel.size == 0:
        raise ValueError(f"expected a non-empty 1-D kernel, got shape {kernel.shape}")
    if stride < 1 or padding < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got {stride} and {padding}")
    if n + 2 * padding < kernel.size:
        raise ValueError(f"the kernel ({kernel.size}) is longer than the padded input "
                         f"({n} + 2 * {padding})")
    return kernel


def conv1d_matrix(kernel: np.ndarray, n: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The matrix ``M`` with ``M @ x`` equal to the 1-D convolution of ``x`` with ``kernel``.

    Shape:
        - ``kernel``: ``(k,)``; ``x``: ``(n,)``.
        - Output: ``(n_out, n)`` with ``n_out = (n + 2 * padding - k) // stride + 1``; taps
          that fall on the zero padding have no column.
    """
    kernel = _check_1d(kernel, n, stride, padding)
    n_out = (n + 2 * padding - kernel.size) // stride + 1
    matrix = np.zeros((n_out, n))
    for o in range(n_out):
        for j, w in enumerate(kernel):
            i = o * stride + j - padding
            if 0 <= i < n:
                matrix[o, i] += w
    return matrix


def conv1d_loops(x: np.ndarray, kernel: np.ndarray, stride: int = 1,
                 padding: int = 0) -> np.ndarray:
    """The 1-D convolution by its definition: ``y[o] = sum_j kernel[j] * x_pad[o s + j]``.

    Shape: ``x``: ``(n,)``; output ``(n_out,)`` as in :func:`conv1d_matrix`.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = _check_1d(kernel, len(x), stride, padding)
    x_pad = np.pad(x, padding)
    n_out = (len(x_pad) - kernel.size) // stride + 1
    return np.array([np.dot(kernel, x_pad[o * stride:o * stride + kernel.size])
                     for o in range(n_out)])


def conv_transpose1d_loops(g: np.ndarray, kernel: np.ndarray, n: int, stride: int = 1,
                           padding: int = 0) -> np.ndarray:
    """The transposed convolution: each ``g[o]`` scattered back onto the inputs it read.

    ``out[o s + j - p] += kernel[j] * g[o]``; this is the input gradient of
    :func:`conv1d_loops` for the upstream gradient ``g``.

    Shape: ``g``: ``(n_out,)``; output ``(n,)``.
    """
    g = np.asarray(g, dtype=np.float64)
    kernel = _check_1d(kernel, n, stride, padding)
    n_out = (n + 2 * padding - kernel.size) // stride + 1
    if g.shape != (n_out,):
        raise ValueError(f"g must have shape ({n_out},) for n = {n}, got {g.shape}")
    out = np.zeros(n + 2 * padding)
    for o in range(n_out):
        out[o * stride:o * stride + kernel.size] += kernel * g[o]
    return out[padding:padding + n]


def _annotate(ax: Any, matrix: np.ndarray) -> None:
    for (r, c), v in np.ndenumerate(matrix):
        if v != 0:
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8)


def plot_conv_matrix(kernel: np.ndarray, n: int, stride: int = 1, padding: int = 0) -> Any:
    """Two panels: ``M`` (forward, ``y = M x``) and ``M^T`` (backward, ``grad_x = M^T g``).

    Red is positive, blue negative, white zero, on one symmetric scale; every nonzero entry
    is written in. Returns the figure.
    """
    import matplotlib.pyplot as plt

    matrix = conv1d_matrix(kernel, n, stride, padding)
    lim = np.abs(matrix).max() or 1.0
    n_out = matrix.shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(3 + 0.45 * (n + n_out), 0.5 + 0.45 * max(n, n_out)),
                             gridspec_kw={"width_ratios": [n, n_out]})
    panels = [(matrix, f"forward: y = M x\nM is {n_out}×{n}", "input position i",
               "output position o"),
              (matrix.T, f"backward: grad x = Mᵀ g\nMᵀ is {n}×{n_out}", "output position o",
               "input position i")]
    for ax, (m, title, xlabel, ylabel) in zip(axes, panels, strict=True):
        ax.imshow(m, cmap="bwr", vmin=-lim, vmax=lim)
        _annotate(ax, m)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=range(m.shape[1]),
               yticks=range(m.shape[0]))
    fig.suptitle(f"kernel {np.asarray(kernel).tolist()}, stride {stride}, padding {padding}: "
                 "each row of M is the kernel, shifted by the stride", fontsize=9)
    fig.tight_layout()
    return fig


def pooling_windows(height: int, width: int, kernel_size: int,
                    stride: int | None = None) -> list[tuple[int, int]]:
    """Top-left corners ``(row, col)`` of every pooling window, in row-major output order.

    No padding; ``stride`` defaults to ``kernel_size`` (windows that tile without overlap).
    """
    stride = kernel_size if stride is None else stride
    if kernel_size < 1 or stride < 1 or kernel_size > min(height, width):
        raise ValueError(f"need 1 <= kernel_size <= min(H, W) and stride >= 1, got "
                         f"kernel_size {kernel_size}, stride {stride}, input {height}x{width}")
    rows = range(0, height - kernel_size + 1, stride)
    cols = range(0, width - kernel_size + 1, stride)
    return [(r, c) for r in rows for c in cols]


def max_pool_gradient_counts(x: np.ndarray, kernel_size: int,
                             stride: int | None = None) -> np.ndarray:
    """How many windows send their gradient to each pixel of ``x`` (shape ``(H, W)``).

    Each window's gradient goes to its first maximum in row-major order, as in torch; with
    overlapping windows a pixel can receive from several.
    """
    x = np.asarray(x)
    counts = np.zeros(x.shape, dtype=int)
    for r, c in pooling_windows(*x.shape, kernel_size, stride):
        window = x[r:r + kernel_size, c:c + kernel_size]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        counts[r + i, c + j] += 1
    return counts


def plot_pooling_windows(x: np.ndarray, kernel_size: int, stride: int | None = None) -> Any:
    """The input with every pooling window outlined; pixels that receive max pooling's
    gradient are shaded by how many windows send it to them. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D input, got shape {x.shape}")
    counts = max_pool_gradient_counts(x, kernel_size, stride)
    corners = pooling_windows(*x.shape, kernel_size, stride)
    fig, ax = plt.subplots(figsize=(0.6 * x.shape[1] + 1.5, 0.6 * x.shape[0] + 0.8))
    ax.imshow(counts, cmap="Oranges", vmin=0, vmax=max(counts.max(), 1) + 1)
    for (r, c), v in np.ndenumerate(x):
        ax.text(c, r, f"{v:g}" + ("\n" + "↑" * counts[r, c] if counts[r, c] else ""),
                ha="center", va="center", fontsize=8)
    for k, (r, c) in enumerate(corners):
        inset = 0.06 * (k % 3)
        ax.add_patch(Rectangle((c - 0.5 + inset, r - 0.5 + inset), kernel_size - 2 * inset,
                               kernel_size - 2 * inset, fill=False, lw=1.5,
                               edgecolor=f"C{k % 10}"))
    stride = kernel_size if stride is None else stride
    ax.set(xticks=[], yticks=[],
           title=f"{kernel_size}×{kernel_size} windows, stride {stride}: {len(corners)} windows;"
                 "\nshaded (↑ per window) = receives a window's gradient")
    fig.tight_layout()
    return fig
