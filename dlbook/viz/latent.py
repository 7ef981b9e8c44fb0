r"""Figures for autoencoders: image rows and grids, the 2-D latent map, interpolation.

- :func:`plot_image_rows`: labelled rows of small images (originals over reconstructions,
  clean / noisy / denoised, an interpolation path).
- :func:`plot_reconstructions`: originals over their reconstructions.
- :func:`plot_image_grid`: a grid of images (samples from the prior).
- :func:`plot_latent_map`: 2-D codes as points coloured by class.
- :func:`plot_latent_grid`: the images a decoder makes on a regular grid of 2-D codes.
- :func:`interpolate`: the straight path between two codes; :func:`plot_interpolation` draws
  the decoded path (the static figure the built book shows), and :func:`latent_explorer`
  is the same with a slider (needs a live kernel and ``ipywidgets``; without ``ipywidgets``
  it returns :func:`plot_interpolation`'s figure).

``decode`` arguments are callables from codes ``(n, latent)`` to pixels ``(n, H * W)`` in
[0, 1]. matplotlib and ipywidgets are imported inside the functions that draw.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlbook.viz.output import figure_output

Decode = Callable[[np.ndarray], np.ndarray]
IMAGE_SHAPE = (8, 8)


def _images(images: Any, shape: tuple[int, int], who: str) -> np.ndarray:
    """``images`` as ``(n, H, W)``: from ``(n, H * W)`` or ``(n, H, W)``."""
    images = np.asarray(images)
    size = shape[0] * shape[1]
    if images.ndim == 2 and images.shape[1] == size:
        return images.reshape(-1, *shape)
    if images.ndim == 3 and images.shape[1:] == shape:
        return images
    raise ValueError(f"{who}: expected images of shape (n, {size}) or (n, {shape[0]}, "
                     f"{shape[1]}), got {images.shape}")


def _show(ax: Any, image: np.ndarray) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_image_rows(rows: Mapping[str, Any], title: str, shape: tuple[int, int] = IMAGE_SHAPE,
                    scale: float = 0.8) -> Any:
    """One row of images per entry of ``rows`` (label -> images), each row labelled on the left.

    Pixels are drawn dark on light, 0 to 1. Every row must hold the same number of images.
    """
    import matplotlib.pyplot as plt

    arrays = {label: _images(images, shape, "plot_image_rows") for label, images in rows.items()}
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"plot_image_rows: every row needs the same, non-zero number of "
                         f"images, got {sorted(lengths)}")
    ncols = lengths.pop()
    fig, axes = plt.subplots(len(arrays), ncols, figsize=(scale * ncols + 1.2,
                                                          scale * len(arrays) + 0.6),
                             squeeze=False)
    for r, (label, images) in enumerate(arrays.items()):
        for c in range(ncols):
            _show(axes[r, c], images[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_reconstructions(originals: Any, reconstructions: Any, n: int = 10,
                         title: str = "Originals (top) and their reconstructions (bottom)",
                         shape: tuple[int, int] = IMAGE_SHAPE) -> Any:
    """The first ``n`` originals over their reconstructions."""
    return plot_image_rows({"original": np.asarray(originals)[:n],
                            "reconstruction": np.asarray(reconstructions)[:n]}, title, shape)


def plot_image_grid(images: Any, title: str, ncols: int = 10,
                    shape: tuple[int, int] = IMAGE_SHAPE, scale: float = 0.7) -> Any:
    """``images`` in a grid of ``ncols`` columns (e.g. samples decoded from the prior)."""
    import matplotlib.pyplot as plt

    images = _images(images, shape, "plot_image_grid")
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + 0.5),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image in zip(axes.flat, images, strict=False):
        _show(ax, image)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_latent_map(z: Any, labels: Any, title: str = "2-D codes, coloured by digit",
                    xlabel: str = "$z_1$", ylabel: str = "$z_2$") -> Any:
    """Codes ``z`` ``(n, 2)`` as points, one colour (and legend entry) per label."""
    import matplotlib.pyplot as plt

    z, labels = np.asarray(z), np.asarray(labels)
    if z.ndim != 2 or z.shape[1] != 2 or len(labels) != len(z):
        raise ValueError(f"plot_latent_map: expected z of shape (n, 2) and n labels, got "
                         f"{z.shape} and {labels.shape}")
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    cmap = plt.get_cmap("tab10")
    for k, label in enumerate(np.unique(labels)):
        pts = z[labels == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=8, color=cmap(k % 10), label=str(label))
    ax.legend(title="class", fontsize=8, markerscale=2, loc="center left",
              bbox_to_anchor=(1.0, 0.5))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    return fig


def latent_grid(n: int = 10, limit: float = 2.0) -> np.ndarray:
    """An ``n`` x ``n`` grid of 2-D codes over ``[-limit, limit]^2``, row by row from the top
    left (:math:`z_2` decreasing down the rows, :math:`z_1` increasing along them): ``(n*n, 2)``."""
    axis = np.linspace(-limit, limit, n)
    z1, z2 = np.meshgrid(axis, axis[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1)


def plot_latent_grid(decode: Decode, n: int = 10, limit: float = 2.0,
                     title: str = "Decoded images over a grid of 2-D codes",
                     shape: tuple[int, int] = IMAGE_SHAPE) -> Any:
    """The images ``decode`` makes at :func:`latent_grid`'s codes, laid out in the same grid."""
    return plot_image_grid(decode(latent_grid(n, limit)), title, ncols=n, shape=shape,
                           scale=0.55)


def interpolate(z_start: Any, z_end: Any, steps: int = 10) -> np.ndarray:
    r"""``steps`` codes evenly spaced on the segment from ``z_start`` to ``z_end`` (both
    included), :math:`z_t = (1 - t)\,z_{\text{start}} + t\,z_{\text{end}}`: an array
    ``(steps, latent)``."""
    z_start, z_end = np.asarray(z_start), np.asarray(z_end)
    if z_start.shape != z_end.shape or z_start.ndim != 1:
        raise ValueError(f"interpolate: expected two codes of one shape (latent,), got "
                         f"{z_start.shape} and {z_end.shape}")
    if steps < 2:
        raise ValueError(f"interpolate: steps must be at least 2, got {steps}")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return ((1 - t) * z_start + t * z_end).astype(np.result_type(z_start, z_end), copy=False)


def plot_interpolation(decode: Decode, z_start: Any, z_end: Any, steps: int = 10,
                       title: str = "Decoded images along a straight line in latent space",
                       shape: tuple[int, int] = IMAGE_SHAPE) -> Any:
    """The decoded images of :func:`interpolate` in one row (the explorer's static twin)."""
    return plot_image_rows({"": decode(interpolate(z_start, z_end, steps))}, title, shape)


def _png_output(decode: Decode, z_start: np.ndarray, z_end: np.ndarray, t: float,
                shape: tuple[int, int], dpi: int) -> dict[str, Any]:
    """A notebook ``display_data`` output: the decoded image at position ``t`` of the path.

    A bare ``matplotlib.figure.Figure`` (not pyplot's), so an inline backend never shows it
    a second time below the widget.
    """
    from matplotlib.figure import Figure

    z = ((1 - t) * np.asarray(z_start) + t * np.asarray(z_end))[None, :]
    fig = Figure(figsize=(2.2, 2.4), dpi=dpi)
    ax = fig.subplots()
    _show(ax, _images(decode(z), shape, "latent_explorer")[0])
    ax.set_title(f"t = {t:.2f}", fontsize=9)
    fig.tight_layout()
    return figure_output(fig, f"decoded image at t = {t:.2f}", dpi)


def latent_explorer(decode: Decode, z_start: Any, z_end: Any, steps: int = 20,
                    shape: tuple[int, int] = IMAGE_SHAPE, dpi: int = 80) -> Any:
    r"""A slider :math:`t \in [0, 1]` and the image decoded from
    :math:`(1 - t)\,z_{\text{start}} + t\,z_{\text{end}}`.

    Moving the slider redraws the image (in a live kernel); it has ``steps`` positions. The
    image is written into the ``Output`` widget's ``outputs`` directly, so the notebook's
    stored outputs are the same under nbclient and nbval. Without ``ipywidgets``, returns
    the static figure of :func:`plot_interpolation` instead.

    Returns:
        an ``ipywidgets.VBox`` of the ``FloatSlider`` and the ``Output`` (``box.children``).
    """
    interpolate(z_start, z_end, steps)  # validates the codes and steps
    try:
        import ipywidgets as widgets
    except ImportError:
        return plot_interpolation(decode, z_start, z_end, min(steps, 12), shape=shape)
    slider = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=1.0 / (steps - 1),
                                 description="t", readout_format=".2f")
    image = widgets.Output()

    def draw(_: Any = None) -> None:
        image.outputs = (_png_output(decode, z_start, z_end, slider.value, shape, dpi),)

    slider.observe(draw, names="value")
    draw()
    return widgets.VBox([slider, image])
