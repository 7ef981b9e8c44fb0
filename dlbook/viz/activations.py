r"""Plots of activation functions and their derivatives, and an interactive explorer.

Every curve comes from ``dlbook.nn``: :math:`f(x)` is a module's ``forward`` and
:math:`f'(x)` its ``backward`` of an upstream gradient of ones (an elementwise activation's
backward is :math:`g \odot f'(x)`, so :math:`g = 1` leaves :math:`f'(x)`). Nothing here
keeps a second copy of a formula that could drift from the library.

- :data:`ACTIVATIONS`: the elementwise activations of chapter 2, by display name.
- :func:`curves`: :math:`f` and :math:`f'` of a module on a grid, as arrays.
- :func:`plot_activation`, :func:`plot_activation_grid`: static matplotlib figures (what the
  built book shows).
- :func:`activation_explorer`: a dropdown that redraws :math:`f` and :math:`f'` of the chosen
  activation (needs a live kernel and ``ipywidgets``).

matplotlib and ipywidgets are imported inside the functions that draw, so ``import
dlbook.viz`` and :func:`curves` need NumPy only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.viz.output import figure_output

# Display name -> a factory for a fresh module. LeakyReLU takes a slope of 0.1 (torch's
# default is 0.01) so that its negative side is visible at plot scale.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "LeakyReLU(0.1)": lambda: nn.LeakyReLU(0.1),
    "PReLU(0.25)": lambda: nn.PReLU(init=0.25, dtype=np.float64),
    "ELU": nn.ELU,
    "SiLU": nn.SiLU,
    "GELU": nn.GELU,
    "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
}
DEFAULT_RANGE = (-5.0, 5.0)
_POINTS = 501  # odd, so that x = 0 is a grid point


def default_grid(lo: float = DEFAULT_RANGE[0], hi: float = DEFAULT_RANGE[1],
                 n: int = _POINTS) -> np.ndarray:
    """``n`` evenly spaced float64 points from ``lo`` to ``hi``."""
    return np.linspace(lo, hi, n)


def _module(activation: str | nn.Module) -> nn.Module:
    if isinstance(activation, nn.Module):
        return activation
    if activation not in ACTIVATIONS:
        raise KeyError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[activation]()


def curves(activation: str | nn.Module,
           x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(x, f(x), f'(x))`` of an elementwise activation, from dlbook's forward and backward.

    Args:
        activation: a name from :data:`ACTIVATIONS` or a ``dlbook.nn`` module.
        x: the points (float64 by default, :func:`default_grid`).

    Shape:
        - ``x``: ``(*)``; both outputs have the shape of ``x``.
    """
    x = default_grid() if x is None else np.asarray(x, dtype=np.float64)
    module = _module(activation)
    y = module(x)
    dy = module.backward(np.ones_like(y))
    return x, y, dy


def _draw(ax_f: Any, ax_df: Any, activation: str | nn.Module, x: np.ndarray | None,
          label: str) -> None:
    x, y, dy = curves(activation, x)
    ax_f.plot(x, y, label=label)
    ax_df.plot(x, dy, label=label)


def _label(activation: str | nn.Module) -> str:
    return activation if isinstance(activation, str) else type(activation).__name__


def _style(ax_f: Any, ax_df: Any) -> None:
    for ax, what in ((ax_f, "f(x)"), (ax_df, "f'(x)")):
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set(xlabel="x", ylabel=what)
    ax_f.set_title("the activation f", fontsize=10)
    ax_df.set_title("its derivative f', from dlbook's backward", fontsize=10)


def plot_activation(activations: str | nn.Module | Sequence[str | nn.Module],
                    x: np.ndarray | None = None, title: str | None = None) -> Any:
    """A pyplot figure with two panels: :math:`f` (left) and :math:`f'` (right).

    ``activations`` is one activation or several drawn on the same axes, with a legend;
    ``title`` (default: their names) goes above both panels: say what to see.
    """
    import matplotlib.pyplot as plt

    many = [activations] if isinstance(activations, (str, nn.Module)) else list(activations)
    fig, (ax_f, ax_df) = plt.subplots(1, 2, figsize=(9, 3.4))
    for act in many:
        _draw(ax_f, ax_df, act, x, _label(act))
    _style(ax_f, ax_df)
    fig.suptitle(title or ", ".join(_label(a) for a in many))
    if len(many) > 1:
        ax_f.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_activation_grid(names: Sequence[str] | None = None, x: np.ndarray | None = None,
                         ncols: int = 3) -> Any:
    """One small panel per activation, :math:`f` solid and :math:`f'` dashed (a pyplot
    figure): the static overview of every activation in :data:`ACTIVATIONS`."""
    import matplotlib.pyplot as plt

    names = list(names or ACTIVATIONS)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows),
                             sharex=True, squeeze=False)
    for ax, name in zip(axes.flat[: len(names)], names, strict=True):
        x_, y, dy = curves(name, x)
        ax.plot(x_, y, label="f")
        ax.plot(x_, dy, "--", label="f'")
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-1.5, 3.0)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("f(x), f'(x)")
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Each activation (solid) and its derivative from dlbook's backward (dashed)")
    fig.tight_layout()
    return fig


def _png_output(activation: str, x: np.ndarray | None, dpi: int) -> dict[str, Any]:
    """A notebook ``display_data`` output with the two-panel figure of ``activation``.

    The figure is a bare ``matplotlib.figure.Figure`` (not pyplot's), so an inline backend
    never shows it a second time below the widget.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), dpi=dpi)
    ax_f, ax_df = fig.subplots(1, 2)
    _draw(ax_f, ax_df, activation, x, activation)
    _style(ax_f, ax_df)
    fig.suptitle(activation)
    fig.tight_layout()
    return figure_output(fig, f"f and f' of {activation}", dpi)


def activation_explorer(names: Sequence[str] | None = None, x: np.ndarray | None = None,
                        value: str | None = None, dpi: int = 80) -> Any:
    r"""An ipywidgets box: a dropdown of activations and the plot of :math:`f` and :math:`f'`.

    Choosing another activation redraws the plot (in a live kernel). The plot is written into
    the ``Output`` widget's ``outputs`` directly, with no display message, so a notebook
    that shows the explorer has the same cell outputs under nbclient and nbval.

    Args:
        names: the choices (default: every name in :data:`ACTIVATIONS`).
        x: the points to plot (default :func:`default_grid`).
        value: the activation shown first (default: the first name).
        dpi: resolution of the plot.

    Returns:
        an ``ipywidgets.VBox`` of the ``Dropdown`` and the ``Output`` (``box.children``).
    """
    import ipywidgets as widgets

    names = list(names or ACTIVATIONS)
    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown:
        raise KeyError(f"unknown activation {unknown[0]!r}; known: {', '.join(ACTIVATIONS)}")
    choice = widgets.Dropdown(options=names, value=value or names[0], description="activation")
    plot = widgets.Output()

    def draw(_: Any = None) -> None:
        plot.outputs = (_png_output(choice.value, x, dpi),)

    choice.observe(draw, names="value")
    draw()
    return widgets.VBox([choice, plot])
