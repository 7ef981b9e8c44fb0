"""dlbook.viz.activations: curves equal to torch autograd, labelled figures, the explorer."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook import nn
from dlbook.viz import (
    ACTIVATIONS,
    activation_explorer,
    curves,
    default_grid,
    plot_activation,
    plot_activation_grid,
)

torch = pytest.importorskip("torch")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

TORCH_TWINS = {
    "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh,
    "ReLU": torch.relu,
    "LeakyReLU(0.1)": lambda t: torch.nn.functional.leaky_relu(t, 0.1),
    "PReLU(0.25)": lambda t: torch.nn.functional.prelu(t, torch.tensor([0.25],
                                                                       dtype=torch.float64)),
    "ELU": torch.nn.functional.elu,
    "SiLU": torch.nn.functional.silu,
    "GELU": torch.nn.functional.gelu,
    "GELU(tanh)": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_every_activation_has_a_torch_twin():
    assert set(TORCH_TWINS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_curves_equal_torch_autograd(name):
    x = np.concatenate([default_grid(), [-1e-9, 0.0, 1e-9]])
    xs, y, dy = curves(name, x)
    xt = torch.tensor(x, requires_grad=True)
    yt = TORCH_TWINS[name](xt)
    yt.backward(torch.ones_like(yt))
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dy, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_curves_accept_a_module_and_keep_the_shape(randn):
    x = randn(3, 4)
    _, y, dy = curves(nn.ELU(alpha=0.5), x)
    assert y.shape == dy.shape == (3, 4)
    np.testing.assert_allclose(dy, np.where(x > 0, 1.0, 0.5 * np.exp(x)), rtol=1e-14)


def test_default_grid_holds_zero_and_is_float64():
    x = default_grid()
    assert x.dtype == np.float64 and 0.0 in x and x[0] == -5.0 and x[-1] == 5.0


def test_unknown_activation_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown activation 'Softplus'.*Sigmoid"):
        curves("Softplus")
    with pytest.raises(KeyError, match="unknown activation 'Softplus'"):
        activation_explorer(["ReLU", "Softplus"])


def test_plot_activation_has_labelled_panels_and_a_title():
    fig = plot_activation(["ReLU", "ELU"], title="what to see")
    ax_f, ax_df = fig.axes
    assert fig._suptitle.get_text() == "what to see"
    assert (ax_f.get_xlabel(), ax_f.get_ylabel()) == ("x", "f(x)")
    assert (ax_df.get_xlabel(), ax_df.get_ylabel()) == ("x", "f'(x)")
    assert [t.get_text() for t in ax_f.get_legend().get_texts()] == ["ReLU", "ELU"]
    np.testing.assert_allclose(ax_df.lines[1].get_ydata(), curves("ELU")[2])  # after ReLU


def test_plot_activation_of_one_module_has_no_legend():
    fig = plot_activation(nn.Tanh())
    assert fig.axes[0].get_legend() is None and fig._suptitle.get_text() == "Tanh"


def test_grid_has_one_labelled_panel_per_activation():
    fig = plot_activation_grid(["Sigmoid", "ReLU", "GELU", "SiLU"], ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Sigmoid", "ReLU", "GELU", "SiLU"]
    assert len(fig.axes) == 6 and fig._suptitle.get_text()
    assert all(ax.get_xlabel() == "x" for ax in fig.axes[3:])
    assert fig.axes[0].get_ylabel() and fig.axes[3].get_ylabel()


def test_explorer_redraws_on_a_new_choice():
    box = activation_explorer(["ReLU", "GELU"], dpi=40)
    choice, plot = box.children
    assert list(choice.options) == ["ReLU", "GELU"] and choice.value == "ReLU"
    (first,) = plot.outputs
    assert first["data"]["text/plain"] == "f and f' of ReLU"
    assert first["data"]["image/png"].startswith("iVBOR")  # base64 of a PNG header
    choice.value = "GELU"
    (second,) = plot.outputs
    assert second["data"]["text/plain"] == "f and f' of GELU"
    assert second["data"]["image/png"] != first["data"]["image/png"]


def test_explorer_leaves_no_pyplot_figure_and_a_plot_free_text_repr():
    before = plt.get_fignums()
    box = activation_explorer(value="ELU")
    assert plt.get_fignums() == before  # an inline backend would show it twice
    text = box._repr_mimebundle_()["text/plain"]
    assert text.startswith("VBox(children=(Dropdown(description='activation'")
    assert "iVBOR" not in text


def test_import_dlbook_does_not_import_matplotlib_or_ipywidgets():
    code = ("import sys, dlbook, dlbook.nn, dlbook.viz; "
            "print(any(m in sys.modules for m in ('matplotlib', 'ipywidgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
