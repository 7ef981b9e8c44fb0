"""dlbook.viz.diagrams: the MLP picture and the computation graph draw what they are given."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from dlbook.viz.diagrams import Node, mlp_graph, plot_computation_graph, plot_mlp  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("sizes, units, lines", [
    ([2, 3, 1], 6, 2 * 3 + 3 * 1),   # small: every unit and every connection
    ([64, 128, 10], 18, 2 * 36),     # wide layers: 6 units and a "⋮" each, 6 x 6 lines per pair
    ([4, 5, 5, 2], 16, 20 + 25 + 10),
])
def test_mlp_draws_units_connections_and_true_widths(sizes, units, lines):
    fig = plot_mlp(sizes)
    ax = fig.axes[0]
    assert sum(isinstance(p, Circle) for p in ax.patches) == units
    assert len(ax.lines) == lines
    labels = _texts(fig)
    for width in sizes:
        assert any(f"{width} units" in t for t in labels)
    assert labels.count("⋮") == sum(s > 7 for s in sizes)


def test_mlp_names_and_errors():
    fig = plot_mlp([3, 2], names=["pixels", "scores"], title="t")
    assert any(t.startswith("pixels") for t in _texts(fig)) and fig.axes[0].get_title() == "t"
    with pytest.raises(ValueError, match="at least two layers"):
        plot_mlp([3])
    with pytest.raises(ValueError, match="2 names for 3 layers"):
        plot_mlp([3, 4, 2], names=["a", "b"])
    with pytest.raises(ValueError, match="max_units"):
        plot_mlp([3, 4], max_units=2)


def test_the_mlp_graph_has_every_equation_of_the_backward_pass():
    nodes, edges, backward = mlp_graph()
    names = {n.name for n in nodes}
    assert all(a in names and b in names for a, b in edges)
    assert sorted(backward.values()) == sorted(f"(1.{k})" for k in range(6, 12))
    fig = plot_computation_graph(nodes, edges, backward)
    texts = _texts(fig)
    assert all(n.name in texts for n in nodes)
    assert all(label in texts for label in backward.values())
    arrows = [c for c in fig.axes[0].texts if type(c).__name__ == "Annotation"]
    assert len(arrows) == len(edges) + len(backward)


def test_graph_errors():
    a, b = Node("a", 0, 0, "input"), Node("b", 1, 0, "loss")
    with pytest.raises(ValueError, match="names no node 'c'"):
        plot_computation_graph([a, b], [("a", "c")])
    with pytest.raises(ValueError, match="not forward edges"):
        plot_computation_graph([a, b], [("a", "b")], backward={("b", "a"): "x"})
    with pytest.raises(ValueError, match="unique"):
        plot_computation_graph([a, a], [])
    with pytest.raises(ValueError, match="kind must be one of"):
        Node("z", 0, 0, "tensor")
