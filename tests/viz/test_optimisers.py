"""dlbook.viz.optimisers: the surfaces' gradients, the paths, the figures and the explorer."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook import optim
from dlbook.viz.optimisers import (
    ILL_CONDITIONED,
    ROSENBROCK,
    all_paths,
    final_values,
    lr_momentum_explorer,
    plot_lr_momentum_grid,
    plot_trajectories,
    trajectory,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SURFACES = pytest.mark.parametrize("surface", [ILL_CONDITIONED, ROSENBROCK], ids=lambda s: s.name)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@SURFACES
def test_gradient_matches_central_differences(surface):
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(5, 2))
    eps = 1e-6
    for p in points:
        numeric = [(surface.f(p + eps * e) - surface.f(p - eps * e)) / (2 * eps)
                   for e in np.eye(2)]
        np.testing.assert_allclose(surface.grad(p), numeric, rtol=1e-7, atol=1e-6)


@SURFACES
def test_f_and_grad_broadcast_over_leading_dims(surface):
    p = np.random.default_rng(1).normal(size=(3, 4, 2))
    assert surface.f(p).shape == (3, 4)
    assert surface.grad(p).shape == (3, 4, 2)
    np.testing.assert_allclose(surface.grad(p)[1, 2], surface.grad(p[1, 2]))


@SURFACES
def test_minimum_is_a_stationary_point_with_value_zero(surface):
    m = np.array(surface.minimum)
    assert surface.f(m) == 0
    np.testing.assert_array_equal(surface.grad(m), [0.0, 0.0])


def test_f_runs_on_torch_tensors_and_autograd_agrees():
    torch = pytest.importorskip("torch")
    p = torch.tensor([-0.7, 1.3], dtype=torch.float64, requires_grad=True)
    ROSENBROCK.f(p).backward()
    np.testing.assert_allclose(p.grad.numpy(), ROSENBROCK.grad(np.array([-0.7, 1.3])),
                               rtol=1e-12)


def test_trajectory_is_plain_gradient_descent_for_sgd():
    lr, steps = 0.03, 5
    path = trajectory(ILL_CONDITIONED, lambda p: optim.SGD(p, lr=lr), steps)
    assert path.shape == (steps + 1, 2) and path.dtype == np.float64
    expected = [np.array(ILL_CONDITIONED.start)]
    for _ in range(steps):  # x <- x - lr grad f(x), written out independently
        x, y = expected[-1]
        expected.append(expected[-1] - lr * np.array([x, 25.0 * y]))
    np.testing.assert_allclose(path, expected, rtol=1e-14)


def test_trajectory_keeps_a_diverging_path_without_raising():
    path = trajectory(ILL_CONDITIONED, lambda p: optim.SGD(p, lr=0.2), 400)
    assert not np.all(np.isfinite(path[-1])) or np.abs(path[-1]).max() > 1e100


def test_all_paths_and_final_values():
    makers = {"SGD": lambda p: optim.SGD(p, lr=0.03), "Adam": lambda p: optim.Adam(p, lr=0.1)}
    paths = all_paths(ILL_CONDITIONED, makers, 20)
    assert list(paths) == ["SGD", "Adam"]
    finals = final_values(ILL_CONDITIONED, paths)
    start = float(ILL_CONDITIONED.f(np.array(ILL_CONDITIONED.start)))
    assert all(0 <= v < start for v in finals.values())


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel()) and bool(ax.get_title())


@SURFACES
def test_plot_trajectories_draws_one_line_per_path(surface):
    paths = {"SGD": trajectory(surface, lambda p: optim.SGD(p, lr=1e-3), 10),
             "Adam": trajectory(surface, lambda p: optim.Adam(p, lr=0.05), 10)}
    fig = plot_trajectories(surface, paths, title="what to see")
    ax = fig.axes[0]
    assert _labelled(ax) and ax.get_title() == "what to see"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["SGD", "Adam"]


def test_plot_trajectories_draws_on_a_given_axis():
    fig, (a, b) = plt.subplots(1, 2)
    out = plot_trajectories(ROSENBROCK, {"SGD": np.zeros((3, 2))}, ax=b)
    assert out is fig and b.get_title() and not a.get_title()


def test_lr_momentum_grid_has_one_titled_panel_per_pair():
    fig = plot_lr_momentum_grid(lrs=(0.01, 0.2), momenta=(0.0, 0.9), steps=30)
    axes = fig.axes
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith("lr 0.01, momentum 0")
    assert "diverges" in titles[2] or "diverges" in titles[3]  # lr 0.2 > 2 / 25
    assert fig.get_suptitle()
    assert axes[2].get_xlabel() == "x" and axes[0].get_ylabel() == "y"


def test_explorer_redraws_when_a_slider_moves():
    widgets = pytest.importorskip("ipywidgets")
    box = lr_momentum_explorer(lr=0.05, momentum=0.0, steps=20)
    assert isinstance(box, widgets.VBox)
    lr_slider, momentum_slider, plot = box.children
    first = plot.outputs[0]["data"]
    assert first["image/png"] and "lr 0.05, momentum 0" in first["text/plain"]
    momentum_slider.value = 0.9
    second = plot.outputs[0]["data"]
    assert "momentum 0.9" in second["text/plain"] and second["image/png"] != first["image/png"]
    lr_slider.value = 0.01
    assert "lr 0.01" in plot.outputs[0]["data"]["text/plain"]
