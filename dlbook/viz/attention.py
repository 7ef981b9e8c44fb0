"""Attention maps: a static figure and an explorer over layers and heads.

- :func:`plot_attention`: one map as a heatmap, queries down, keys across (what the built
  book shows).
- :func:`attention_explorer`: a dropdown over named maps (e.g. one per layer and head) that
  redraws the figure (needs a live kernel and ``ipywidgets``).

matplotlib and ipywidgets are imported inside the functions that draw.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlbook.viz.output import figure_output


def _check_map(weights: np.ndarray, query_labels: Sequence | None,
               key_labels: Sequence | None) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"an attention map is (queries, keys), got shape {weights.shape}")
    for labels, size, axis in ((query_labels, weights.shape[0], "queries"),
                               (key_labels, weights.shape[1], "keys")):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{len(labels)} labels for {size} {axis}")
    return weights


def _draw(ax: Any, weights: np.ndarray, query_labels: Sequence | None,
          key_labels: Sequence | None, title: str) -> Any:
    image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=max(1e-12, weights.max()))
    if key_labels is not None:
        ax.set_xticks(range(len(key_labels)), [str(k) for k in key_labels])
    if query_labels is not None:
        ax.set_yticks(range(len(query_labels)), [str(q) for q in query_labels])
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title(title)
    return image


def plot_attention(weights: np.ndarray, query_labels: Sequence | None = None,
                   key_labels: Sequence | None = None, title: str = "") -> Any:
    """A pyplot figure of ``weights`` ``(T_q, T_k)``: row ``i`` is where query ``i`` looks.

    Each row of an attention map sums to 1 (a softmax over the keys); darker is more weight.
    """
    import matplotlib.pyplot as plt

    weights = _check_map(weights, query_labels, key_labels)
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    fig.colorbar(_draw(ax, weights, query_labels, key_labels, title), ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def _png_output(weights: np.ndarray, query_labels: Sequence | None,
                key_labels: Sequence | None, title: str, dpi: int) -> dict[str, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.8, 3.4), dpi=dpi)
    ax = fig.add_subplot()
    fig.colorbar(_draw(ax, weights, query_labels, key_labels, title), ax=ax, shrink=0.8)
    fig.tight_layout()
    return figure_output(fig, title, dpi)


def attention_explorer(maps: Mapping[str, np.ndarray], query_labels: Sequence | None = None,
                       key_labels: Sequence | None = None, value: str | None = None,
                       dpi: int = 80) -> Any:
    """An ipywidgets box: a dropdown over ``maps`` (name -> ``(T_q, T_k)`` weights) and the
    figure of the chosen map.

    As in ``activation_explorer``, the figure is written into the ``Output`` widget's
    ``outputs`` directly, so an executed notebook keeps the same cell outputs under nbclient
    and nbval, and the built book shows the saved figure.

    Returns:
        an ``ipywidgets.VBox`` of the ``Dropdown`` and the ``Output`` (``box.children``).
    """
    import ipywidgets as widgets

    if not maps:
        raise ValueError("attention_explorer needs at least one map")
    checked = {name: _check_map(w, query_labels, key_labels) for name, w in maps.items()}
    if value is not None and value not in checked:
        raise ValueError(f"value {value!r} is not one of the maps: {', '.join(checked)}")
    choice = widgets.Dropdown(options=list(checked), value=value or next(iter(checked)),
                              description="map", layout=widgets.Layout(width="max-content"))
    plot = widgets.Output()

    def draw(_: Any = None) -> None:
        plot.outputs = (_png_output(checked[choice.value], query_labels, key_labels,
                                    choice.value, dpi),)

    choice.observe(draw, names="value")
    draw()
    return widgets.VBox([choice, plot])
