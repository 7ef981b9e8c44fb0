"""dlbook.viz.latent: image rows and grids, the latent map, interpolation and its explorer."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

from dlbook.viz import latent

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def decode(z):
    """A stand-in decoder: image k has every pixel equal to sigmoid(z_k[0])."""
    return np.repeat(1 / (1 + np.exp(-z[:, :1])), 64, axis=1)


def test_interpolate_is_the_straight_segment_with_both_ends():
    a, b = np.array([0.0, 2.0, -1.0]), np.array([1.0, -2.0, 3.0])
    path = latent.interpolate(a, b, steps=5)
    assert path.shape == (5, 3)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    np.testing.assert_allclose(np.diff(path, axis=0), np.tile((b - a) / 4, (4, 1)))
    assert latent.interpolate(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32


def test_interpolate_errors():
    with pytest.raises(ValueError, match="one shape"):
        latent.interpolate(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        latent.interpolate(np.zeros(2), np.ones(2), steps=1)


def test_latent_grid_runs_row_by_row_from_the_top_left():
    z = latent.latent_grid(3, limit=1.0)
    np.testing.assert_array_equal(z[:3], [[-1, 1], [0, 1], [1, 1]])
    np.testing.assert_array_equal(z[-1], [1, -1])


def test_image_rows_are_labelled_and_show_the_images():
    rows = {"original": np.linspace(0, 1, 3 * 64).reshape(3, 64),
            "noisy": np.zeros((3, 8, 8))}
    fig = latent.plot_image_rows(rows, "what to see")
    assert fig._suptitle.get_text() == "what to see" and len(fig.axes) == 6
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["original", "noisy"]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), rows["original"][1]
                                  .reshape(8, 8))


def test_image_rows_errors():
    with pytest.raises(ValueError, match="same, non-zero number"):
        latent.plot_image_rows({"a": np.zeros((2, 64)), "b": np.zeros((3, 64))}, "t")
    with pytest.raises(ValueError, match=r"\(n, 64\)"):
        latent.plot_image_rows({"a": np.zeros((2, 63))}, "t")


def test_reconstructions_show_n_pairs():
    fig = latent.plot_reconstructions(np.zeros((12, 64)), np.ones((12, 64)), n=4)
    assert len(fig.axes) == 8
    assert fig.axes[4].get_ylabel() == "reconstruction"
    assert fig.axes[5].images[0].get_array().max() == 1.0


def test_image_grid_hides_the_empty_cells():
    fig = latent.plot_image_grid(np.zeros((7, 64)), "samples", ncols=4)
    assert len(fig.axes) == 8 and sum(len(ax.images) for ax in fig.axes) == 7


def test_latent_map_has_one_legend_entry_per_class_and_labelled_axes():
    z = np.random.default_rng(0).standard_normal((30, 2))
    fig = latent.plot_latent_map(z, np.arange(30) % 3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$" and ax.get_title()
    np.testing.assert_array_equal(ax.collections[1].get_offsets(), z[1::3])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        latent.plot_latent_map(np.zeros((5, 3)), np.zeros(5))


def test_latent_grid_and_interpolation_figures_decode_their_codes():
    fig = latent.plot_latent_grid(decode, n=3, limit=1.0)
    assert len(fig.axes) == 9
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), 1 / (1 + np.exp(-1.0)))
    fig = latent.plot_interpolation(decode, np.array([-3.0, 0]), np.array([3.0, 0]), steps=4)
    values = [ax.images[0].get_array()[0, 0] for ax in fig.axes]
    assert len(values) == 4 and np.all(np.diff(values) > 0)


def test_explorer_redraws_when_the_slider_moves():
    before = plt.get_fignums()
    box = latent.latent_explorer(decode, np.array([-3.0, 0]), np.array([3.0, 0]), steps=5,
                                 dpi=40)
    assert plt.get_fignums() == before  # an inline backend would show it twice
    slider, image = box.children
    assert (slider.min, slider.max, slider.step, slider.value) == (0.0, 1.0, 0.25, 0.0)
    (first,) = image.outputs
    assert first["data"]["text/plain"] == "decoded image at t = 0.00"
    assert first["data"]["image/png"].startswith("iVBOR")
    slider.value = 0.75
    (second,) = image.outputs
    assert second["data"]["text/plain"] == "decoded image at t = 0.75"
    assert second["data"]["image/png"] != first["data"]["image/png"]


def test_explorer_falls_back_to_the_static_figure_without_ipywidgets(monkeypatch):
    real_import = builtins.__import__

    def no_widgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("no ipywidgets")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_widgets)
    fig = latent.latent_explorer(decode, np.zeros(2), np.ones(2), steps=6)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 6
