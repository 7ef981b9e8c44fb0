r"""Optimiser paths on 2-D test surfaces: contour plots and a learning-rate/momentum explorer.

Every path comes from ``dlbook.optim``: a :class:`~dlbook.nn.Parameter` of shape ``(2,)``
receives the surface's analytic gradient and the optimiser's ``step`` moves it. Nothing here
keeps a second copy of an update rule that could drift from the library.

- :class:`Surface`, :data:`ILL_CONDITIONED`, :data:`ROSENBROCK`: test functions
  :math:`f(x, y)` with their analytic gradients.
- :func:`trajectory`: the points an optimiser visits, as an array ``(steps + 1, 2)``.
- :func:`plot_trajectories`: contour lines of a surface with one path per optimiser.
- :func:`plot_lr_momentum_grid`: the static figure (what the built book shows): one panel per
  (learning rate, momentum) pair.
- :func:`lr_momentum_explorer`: two sliders that redraw SGD's path (needs a live kernel and
  ``ipywidgets``).

matplotlib and ipywidgets are imported inside the functions that draw, so ``import
dlbook.viz.optimisers`` and :func:`trajectory` need NumPy only. The surfaces' ``f`` use only
``+``, ``-``, ``*`` and ``**``, so they also run on torch tensors (and torch autograd can
check ``grad``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.nn.parameter import Parameter
from dlbook.optim import SGD, Optimizer
from dlbook.viz.output import figure_output


@dataclass(frozen=True)
class Surface:
    """A function of two variables to minimise, with its gradient and a plotting window.

    Attributes:
        name: shown in titles.
        f: ``f(p) -> value``; ``p`` has shape ``(..., 2)`` (NumPy array or torch tensor), the
            result shape ``(...)``.
        grad: ``grad(p) -> gradient``, the analytic :math:`\nabla f`, shape ``(..., 2)``.
        start: where every path begins.
        minimum: the minimiser, marked on plots.
        xlim, ylim: the plotting window.
        log_levels: contour levels spaced on a log scale (for steep valleys).
    """

    name: str
    f: Callable[[Any], Any]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    log_levels: bool = False


CONDITION = 25.0  # curvature ratio of the quadratic: Hessian diag(1, CONDITION)


def _quadratic(p: Any) -> Any:
    r""":math:`f(x, y) = \tfrac12 (x^2 + \kappa y^2)`."""
    return 0.5 * (p[..., 0] ** 2 + CONDITION * p[..., 1] ** 2)


def _quadratic_grad(p: np.ndarray) -> np.ndarray:
    r""":math:`\nabla f = (x, \kappa y)`."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], CONDITION * p[..., 1]], axis=-1)


def _rosenbrock(p: Any) -> Any:
    r""":math:`f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2` (Rosenbrock 1960)."""
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    r""":math:`\nabla f = \big(-2(1 - x) - 400\,x\,(y - x^2),\; 200\,(y - x^2)\big)`."""
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)


ILL_CONDITIONED = Surface("ill-conditioned quadratic", _quadratic, _quadratic_grad,
                          start=(-4.0, 1.0), minimum=(0.0, 0.0), xlim=(-4.5, 1.5),
                          ylim=(-1.5, 1.5))
ROSENBROCK = Surface("Rosenbrock", _rosenbrock, _rosenbrock_grad, start=(-1.5, 2.0),
                     minimum=(1.0, 1.0), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), log_levels=True)


def trajectory(surface: Surface, make_optimizer: Callable[[list[Parameter]], Optimizer],
               steps: int) -> np.ndarray:
    """The points visited by ``make_optimizer([p])`` from ``surface.start``, in float64.

    Each step clears the gradient, accumulates ``surface.grad`` at the current point and calls
    ``optimizer.step()``.

    Shape:
        - Output: ``(steps + 1, 2)``; row 0 is the start.
    """
    p = Parameter(np.array(surface.start, dtype=np.float64))
    opt = make_optimizer([p])
    path = [p.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging path may overflow
        for _ in range(steps):
            opt.zero_grad()
            p.accumulate_grad(surface.grad(p.data))
            opt.step()
            path.append(p.data.copy())
    return np.array(path)


def _grid(surface: Surface, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(*surface.xlim, n)
    ys = np.linspace(*surface.ylim, n)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, surface.f(np.stack([X, Y], axis=-1))


def _levels(surface: Surface, Z: np.ndarray, n: int) -> np.ndarray:
    if surface.log_levels:
        return np.logspace(-1, np.log10(Z.max()), n)
    return np.linspace(0, np.sqrt(Z.max()), n + 1)[1:] ** 2  # evenly spaced ellipses


def draw_surface(ax: Any, surface: Surface, levels: int = 8) -> None:
    """Grey contour lines of ``surface`` on ``ax``, its minimum as a star, axes labelled."""
    X, Y, Z = _grid(surface)
    ax.contour(X, Y, Z, levels=_levels(surface, Z, levels), colors="0.75", linewidths=0.6)
    ax.plot(*surface.minimum, "k*", ms=10)
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel="x", ylabel="y")


def _draw_path(ax: Any, path: np.ndarray, label: str | None = None, **style: Any) -> None:
    """The path as a line ending in a dot; small dots mark the points of short paths (100
    points or fewer). A path that overflowed is drawn up to its last finite point."""
    shown = path[np.all(np.isfinite(path), axis=1)]
    marker = "." if len(path) <= 100 else ""
    (line,) = ax.plot(shown[:, 0], shown[:, 1], marker=marker, ms=3, label=label, **style)
    ax.plot(*shown[-1], "o", ms=5, color=line.get_color())


_STYLES = ({"ls": "-", "lw": 2.2}, {"ls": "--", "lw": 1.6}, {"ls": ":", "lw": 1.8})


def plot_trajectories(surface: Surface, paths: Mapping[str, np.ndarray],
                      title: str | None = None, ax: Any = None) -> Any:
    """Contour lines of ``surface`` and one path per entry of ``paths`` (name -> points).

    Draws on ``ax`` when given, else on a new pyplot figure; returns the figure.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    draw_surface(ax, surface)
    for i, (name, path) in enumerate(paths.items()):  # solid, dashed, dotted: overlaps show
        _draw_path(ax, path, label=name, **_STYLES[i % len(_STYLES)])
    ax.set_title(title or f"Optimiser paths on the {surface.name}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def _sgd(lr: float, momentum: float) -> Callable[[list[Parameter]], Optimizer]:
    return lambda params: SGD(params, lr=lr, momentum=momentum)


def _panel(ax: Any, surface: Surface, lr: float, momentum: float, steps: int) -> None:
    path = trajectory(surface, _sgd(lr, momentum), steps)
    draw_surface(ax, surface, levels=5)
    _draw_path(ax, path, color="C0", lw=1.2)
    final = float(surface.f(path[-1]))
    verdict = f"f = {final:.1e}" if np.isfinite(final) and final < 1e6 else "diverges"
    ax.set_title(f"lr {lr:g}, momentum {momentum:g}: {verdict}", fontsize=9)


def plot_lr_momentum_grid(surface: Surface = ILL_CONDITIONED,
                          lrs: Sequence[float] = (0.02, 0.075),
                          momenta: Sequence[float] = (0.0, 0.5, 0.9), steps: int = 50) -> Any:
    """SGD's path for every (learning rate, momentum) pair, one small panel each: rows are
    learning rates, columns momenta; each title gives the final value of ``f``. The static
    counterpart of :func:`lr_momentum_explorer` (a pyplot figure)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(lrs), len(momenta), figsize=(2.8 * len(momenta),
                                                               1.9 * len(lrs)),
                             sharex=True, sharey=True, squeeze=False)
    for row, lr in zip(axes, lrs, strict=True):
        for ax, momentum in zip(row, momenta, strict=True):
            _panel(ax, surface, lr, momentum, steps)
    for ax in axes[:-1].flat:
        ax.set_xlabel("")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    fig.suptitle(f"SGD on the {surface.name}, {steps} steps: momentum speeds the slow "
                 "direction until the steps overshoot", fontsize=10)
    fig.tight_layout()
    return fig


def _png_output(surface: Surface, lr: float, momentum: float, steps: int,
                dpi: int) -> dict[str, Any]:
    """A notebook ``display_data`` output with one panel (a bare ``Figure``, so an inline
    backend never shows it a second time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3), dpi=dpi)
    _panel(fig.subplots(), surface, lr, momentum, steps)
    fig.tight_layout()
    return figure_output(fig, f"SGD path, lr {lr:g}, momentum {momentum:g}", dpi)


def lr_momentum_explorer(surface: Surface = ILL_CONDITIONED, lr: float = 0.05,
                         momentum: float = 0.5, steps: int = 50, dpi: int = 80) -> Any:
    """An ipywidgets box: a learning-rate slider (log scale), a momentum slider and SGD's path.

    Moving a slider reruns ``dlbook.optim.SGD`` from ``surface.start`` and redraws (in a live
    kernel). The plot is written into the ``Output`` widget's ``outputs`` directly, with no
    display message, so the notebook's cell outputs are the same under nbclient and nbval.

    Returns:
        an ``ipywidgets.VBox`` of the two sliders and the ``Output`` (``box.children``).
    """
    import ipywidgets as widgets

    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.05,
                                       description="lr", readout_format=".3g")
    momentum_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                          description="momentum")
    plot = widgets.Output()

    def draw(_: Any = None) -> None:
        plot.outputs = (_png_output(surface, lr_slider.value, momentum_slider.value, steps,
                                    dpi),)

    for slider in (lr_slider, momentum_slider):
        slider.observe(draw, names="value")
    draw()
    return widgets.VBox([lr_slider, momentum_slider, plot])


def final_values(surface: Surface, paths: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``f`` at the last point of each path, by name."""
    return {name: float(surface.f(path[-1])) for name, path in paths.items()}


def all_paths(surface: Surface,
              optimizers: Mapping[str, Callable[[list[Parameter]], Optimizer]],
              steps: int) -> dict[str, np.ndarray]:
    """:func:`trajectory` for each named optimiser factory."""
    return {name: trajectory(surface, make, steps) for name, make in optimizers.items()}


__all__ = ["CONDITION", "ILL_CONDITIONED", "ROSENBROCK", "Surface", "all_paths",
                          "draw_surface", "final_values", "lr_momentum_explorer",
                          "plot_lr_momentum_grid", "plot_trajectories", "trajectory"]
