r"""Figures for chapter 6: filters, feature maps, and a kernel sliding over an image.

Every number drawn comes from ``dlbook.nn``: the output map of :func:`slide` is
``dlbook.nn.im2col.conv2d_forward`` (one GEMM), and each step shows the window whose dot
product with the kernel gives one output pixel,

.. math:: y_{ij} = \sum_{a,b} x_{i s + a,\, j s + b}\, w_{ab}.

- :func:`slide`: the output map and the top-left corner of every window, as arrays.
- :func:`plot_filters`, :func:`plot_feature_maps`: static grids of kernels or maps.
- :func:`plot_slide`: one step of the slide (input with the window, kernel, partial output):
  the static figure the built book shows.
- :func:`conv_explorer`: a slider over the steps (needs a live kernel and ``ipywidgets``).

matplotlib and ipywidgets are imported inside the functions that draw.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.nn.im2col import conv2d_forward
from dlbook.viz.output import figure_output


def slide(image: np.ndarray, kernel: np.ndarray, stride: int = 1,
          padding: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(out, corners)``: the convolution of one image with one kernel, and the window corners.

    Shape:
        - ``image``: ``(H, W)``; ``kernel``: ``(kH, kW)``.
        - ``out``: ``(H_out, W_out)``; ``corners``: ``(H_out * W_out, 2)``, the (row, column)
          of each window's top-left corner in the padded image, in row-major output order.
    """
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"slide expects a 2-D image and a 2-D kernel, got {image.ndim}-D and "
                         f"{kernel.ndim}-D")
    out, _ = conv2d_forward(image[None, None], kernel[None, None], None, stride=stride,
                            padding=padding)
    out = out[0, 0]
    rows, cols = np.meshgrid(np.arange(out.shape[0]), np.arange(out.shape[1]), indexing="ij")
    corners = np.stack([rows.ravel(), cols.ravel()], axis=1) * stride
    return out, corners


def _grid(arrays: np.ndarray, title: str, cmap: str, ncols: int) -> Any:
    import matplotlib.pyplot as plt

    n = len(arrays)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.2 * nrows + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            lim = np.abs(arrays[i]).max() or 1.0
            vmin = -lim if cmap == "bwr" else None
            ax.imshow(arrays[i], cmap=cmap, vmin=vmin, vmax=lim if cmap == "bwr" else None)
            ax.set_title(str(i), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_filters(weight: np.ndarray, in_channel: int = 0, ncols: int = 8) -> Any:
    """One panel per output channel: ``weight[:, in_channel]`` of a conv, red + / blue -.

    Shape:
        - ``weight``: ``(C_out, C_in / groups, kH, kW)``.
    """
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ValueError(f"plot_filters expects a (C_out, C_in, kH, kW) weight, got {weight.shape}")
    return _grid(weight[:, in_channel], f"filters (input channel {in_channel})", "bwr", ncols)


def plot_feature_maps(maps: np.ndarray, ncols: int = 8) -> Any:
    """One panel per channel of one image's feature maps.

    Shape:
        - ``maps``: ``(C, H, W)`` or ``(1, C, H, W)``.
    """
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"plot_feature_maps expects (C, H, W) maps, got {maps.shape}")
    return _grid(maps, "feature maps", "viridis", ncols)


def _draw_step(fig: Any, image: np.ndarray, kernel: np.ndarray, step: int, stride: int,
               padding: int) -> None:
    from matplotlib.patches import Rectangle

    out, corners = slide(image, kernel, stride, padding)
    if not 0 <= step < len(corners):
        raise IndexError(f"step {step} out of range: the slide has {len(corners)} steps")
    padded = np.pad(np.asarray(image, dtype=np.float64), padding)
    partial = np.full(out.shape, np.nan)
    partial.flat[: step + 1] = out.flat[: step + 1]
    ax_x, ax_k, ax_y = fig.subplots(1, 3)
    ax_x.imshow(padded, cmap="gray")
    r, c = corners[step]
    ax_x.add_patch(Rectangle((c - 0.5, r - 0.5), kernel.shape[1], kernel.shape[0], fill=False,
                             edgecolor="red", lw=2))
    ax_k.imshow(kernel, cmap="bwr", vmin=-np.abs(kernel).max(), vmax=np.abs(kernel).max())
    ax_y.imshow(partial, cmap="viridis", vmin=out.min(), vmax=out.max())
    i, j = divmod(step, out.shape[1])
    ax_y.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2))
    ax_x.set_title("input (window in red)", fontsize=9)
    ax_k.set_title("kernel", fontsize=9)
    ax_y.set_title(f"output[{i}, {j}] = {out[i, j]:.2f}", fontsize=9)
    for ax in (ax_x, ax_k, ax_y):
        ax.set_axis_off()
    fig.tight_layout()


def plot_slide(image: np.ndarray, kernel: np.ndarray, step: int = 0, stride: int = 1,
               padding: int = 0) -> Any:
    """A pyplot figure of one step of the slide: input with the window, kernel, output so far.

    The static fallback of :func:`conv_explorer` (what the built book shows).
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 3))
    _draw_step(fig, np.asarray(image), np.asarray(kernel, dtype=np.float64), step, stride,
               padding)
    return fig


def _png_output(image: np.ndarray, kernel: np.ndarray, step: int, stride: int, padding: int,
                dpi: int) -> dict[str, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), dpi=dpi)
    _draw_step(fig, image, kernel, step, stride, padding)
    return figure_output(fig, f"convolution step {step}", dpi)


def conv_explorer(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0,
                  dpi: int = 80) -> Any:
    """An ipywidgets box: a slider over the window positions and the figure of that step.

    Moving the slider redraws (in a live kernel). As in ``activation_explorer`` the plot is
    written into the ``Output`` widget's ``outputs`` directly, so executed notebooks keep the
    same cell outputs under nbclient and nbval.

    Returns:
        an ``ipywidgets.VBox`` of the ``IntSlider`` and the ``Output`` (``box.children``).
    """
    import ipywidgets as widgets

    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    _, corners = slide(image, kernel, stride, padding)
    step = widgets.IntSlider(min=0, max=len(corners) - 1, value=0, description="step")
    plot = widgets.Output()

    def draw(_: Any = None) -> None:
        plot.outputs = (_png_output(image, kernel, step.value, stride, padding, dpi),)

    step.observe(draw, names="value")
    draw()
    return widgets.VBox([step, plot])
