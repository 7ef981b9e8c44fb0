"""dlbook.viz.conv: the slide equals torch's conv2d; figures and the explorer are well formed."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlbook.viz.conv import (  # noqa: E402
    conv_explorer,
    plot_feature_maps,
    plot_filters,
    plot_slide,
    slide,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_slide_equals_torch_and_windows_hold_the_dot_products(stride, padding):
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(7, 9)), rng.normal(size=(3, 2))
    out, corners = slide(image, kernel, stride, padding)
    ref = torch.nn.functional.conv2d(torch.tensor(image)[None, None],
                                     torch.tensor(kernel)[None, None], stride=stride,
                                     padding=padding)[0, 0].numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    padded = np.pad(image, padding)
    assert corners.shape == (out.size, 2)
    for k, (r, c) in enumerate(corners):  # the loop definition, independent of im2col
        window = padded[r:r + 3, c:c + 2]
        assert window.shape == kernel.shape
        assert np.isclose((window * kernel).sum(), out.flat[k])


def test_slide_rejects_batched_input():
    with pytest.raises(ValueError, match="2-D image"):
        slide(np.zeros((1, 5, 5)), np.zeros((3, 3)))


def test_filter_and_map_grids_have_one_visible_panel_per_channel():
    fig = plot_filters(np.random.default_rng(1).normal(size=(6, 2, 3, 3)), ncols=4)
    assert sum(len(ax.images) for ax in fig.axes) == 6 and len(fig.axes) == 8
    fig = plot_feature_maps(np.ones((1, 5, 4, 4)), ncols=5)
    assert sum(len(ax.images) for ax in fig.axes) == 5
    with pytest.raises(ValueError, match="weight"):
        plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="maps"):
        plot_feature_maps(np.zeros((2, 3, 4, 4)))


def test_plot_slide_titles_the_output_pixel_and_checks_the_step():
    image, kernel = np.arange(16.0).reshape(4, 4), np.ones((2, 2))
    fig = plot_slide(image, kernel, step=4)  # 3x3 output: step 4 is pixel (1, 1)
    assert fig.axes[2].get_title() == f"output[1, 1] = {image[1:3, 1:3].sum():.2f}"
    with pytest.raises(IndexError, match="9 steps"):
        plot_slide(image, kernel, step=9)


def test_explorer_redraws_when_the_slider_moves_and_leaves_no_pyplot_figure():
    before = plt.get_fignums()
    box = conv_explorer(np.eye(5), np.ones((3, 3)), padding=1, dpi=30)
    assert plt.get_fignums() == before
    step, plot = box.children
    assert (step.min, step.max, step.value) == (0, 24, 0)
    (first,) = plot.outputs
    assert first["data"]["text/plain"] == "convolution step 0"
    assert first["data"]["image/png"].startswith("iVBOR")
    step.value = 12
    (second,) = plot.outputs
    assert second["data"]["text/plain"] == "convolution step 12"
    assert second["data"]["image/png"] != first["data"]["image/png"]
