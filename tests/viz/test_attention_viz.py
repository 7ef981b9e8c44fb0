"""dlbook.viz.attention: the figure shows the map it is given; the explorer switches maps."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbook.viz.attention import attention_explorer, plot_attention  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _softmax_rows(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_plot_shows_the_map_with_its_labels():
    weights = _softmax_rows(np.random.default_rng(0).normal(size=(3, 5)))
    fig = plot_attention(weights, list("abc"), list("vwxyz"), title="head 0")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), weights)
    assert [t.get_text() for t in ax.get_xticklabels()] == list("vwxyz")
    assert [t.get_text() for t in ax.get_yticklabels()] == list("abc")
    assert ax.get_title() == "head 0"


@pytest.mark.parametrize("weights, labels, message", [
    (np.zeros((2, 3, 4)), (None, None), "queries, keys"),
    (np.zeros((2, 3)), (["a"], None), "1 labels for 2 queries"),
    (np.zeros((2, 3)), (None, ["a", "b"]), "2 labels for 3 keys"),
])
def test_bad_maps_are_refused(weights, labels, message):
    with pytest.raises(ValueError, match=message):
        plot_attention(weights, *labels)


def test_explorer_redraws_the_chosen_map():
    pytest.importorskip("ipywidgets")
    from PIL import Image

    diagonal, uniform = np.eye(4), np.full((4, 4), 0.25)
    box = attention_explorer({"diagonal": diagonal, "uniform": uniform})
    choice, plot = box.children
    assert choice.options == ("diagonal", "uniform") and choice.value == "diagonal"

    def shown() -> tuple[str, np.ndarray]:
        (out,) = plot.outputs
        png = Image.open(io.BytesIO(base64.b64decode(out["data"]["image/png"])))
        return out["data"]["text/plain"], np.asarray(png)

    first_title, first = shown()
    choice.value = "uniform"
    second_title, second = shown()
    assert (first_title, second_title) == ("diagonal", "uniform")
    assert first.shape == second.shape and not np.array_equal(first, second)
    with pytest.raises(ValueError, match="not one of the maps"):
        attention_explorer({"a": diagonal}, value="b")
    with pytest.raises(ValueError, match="at least one"):
        attention_explorer({})
