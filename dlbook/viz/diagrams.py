r"""Pictures of structure: an MLP's units and connections, and a layer-level computation graph.

- :func:`plot_mlp`: the units of a fully connected network as circles in columns, every unit
  of one layer joined to every unit of the next (the picture of d2l's MLP section). Wide
  layers are drawn with a few units and a "⋮" row, and labelled with their true width.
- :class:`Node`, :func:`mlp_graph` and :func:`plot_computation_graph`: a computation graph
  whose nodes are whole arrays (inputs, parameters, intermediate values, the loss) and
  operations, drawn left to right with the forward edges in black and, optionally, the
  backward pass as red labels on the edges it runs along (the equation that computes each
  gradient). :func:`mlp_graph` is the two-layer MLP of chapter 1, equations (1.1)–(1.11).

matplotlib is imported inside the functions that draw.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = {  # node kind -> (box style, face colour)
    "input": ("round,pad=0.35", "#dce9f7"),
    "param": ("round,pad=0.35", "#e3f1dc"),
    "value": ("round,pad=0.35", "#f2f2f2"),
    "loss": ("round,pad=0.35", "#f7dcdc"),
    "op": ("circle,pad=0.25", "#fde9c9"),
}


@dataclass(frozen=True)
class Node:
    """One node of a computation graph: a ``name`` (drawn, may hold TeX), its position
    ``(x, y)`` in data units and its ``kind``, one of :data:`KINDS`."""

    name: str
    x: float
    y: float
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Node {self.name!r}: kind must be one of {sorted(KINDS)}, "
                             f"got {self.kind!r}")


def _units_shown(width: int, max_units: int) -> list[float | None]:
    """Row positions of the drawn units of a layer, ``None`` standing for the "⋮" row."""
    if width <= max_units:
        return [float(i) for i in range(width)]
    half = (max_units - 1) // 2
    return [float(i) for i in range(half)] + [None] + \
        [float(i) for i in range(max_units - half - 1)]


def plot_mlp(sizes: Sequence[int], names: Sequence[str] | None = None, max_units: int = 7,
             title: str | None = None, ax: Any = None) -> Any:
    """Draw a fully connected network with layer widths ``sizes`` (input first).

    ``names`` labels each column (default: "input", "hidden 1", ..., "output"); every label
    also gives the layer's width. Layers wider than ``max_units`` show ``max_units - 1`` units
    and a "⋮". Returns the figure.
    """
    import matplotlib.pyplot as plt

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"plot_mlp: sizes needs at least two layers of width >= 1, got {sizes}")
    if max_units < 3:
        raise ValueError(f"plot_mlp: max_units must be at least 3, got {max_units}")
    if names is None:
        names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    if len(names) != len(sizes):
        raise ValueError(f"plot_mlp: {len(names)} names for {len(sizes)} layers")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.9 * len(sizes) + 0.6, 3.8))
    gap = 2.5  # horizontal distance between layers, in unit spacings
    columns = []
    for layer, width in enumerate(sizes):
        x = gap * layer
        rows = _units_shown(width, max_units)
        offset = (len(rows) - 1) / 2
        columns.append([(x, offset - i) if r is not None else (x, None)
                        for i, r in enumerate(rows)])
    for left, right in zip(columns[:-1], columns[1:], strict=True):
        for x0, y0 in left:
            for x1, y1 in right:
                if y0 is not None and y1 is not None:
                    ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.5, zorder=1)
    for layer, (column, width, name) in enumerate(zip(columns, sizes, names, strict=True)):
        x = gap * layer
        colour = "#dce9f7" if layer == 0 else "#fde9c9" if layer == len(sizes) - 1 else "#f2f2f2"
        for i, (_, y) in enumerate(column):
            if y is None:
                ax.text(x, (len(column) - 1) / 2 - i, "⋮", ha="center", va="center",
                        fontsize=14)
            else:
                ax.add_patch(plt.Circle((x, y), 0.25, fc=colour, ec="0.3", zorder=2))
        top = (len(column) - 1) / 2
        ax.text(x, top + 0.7, f"{name}\n{width} units", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.8, gap * (len(sizes) - 1) + 0.8)
    span = max(len(c) for c in columns)
    ax.set_ylim(-span / 2 - 0.3, span / 2 + 1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def mlp_graph() -> tuple[list[Node], list[tuple[str, str]], dict[tuple[str, str], str]]:
    """The two-layer MLP of chapter 1 as a layer-level graph.

    Returns ``(nodes, edges, backward)``: forward edges ``(from, to)`` by node name, and for
    the edges the backward pass runs along, the equation that computes the gradient there.
    """
    nodes = [
        Node("$X$", 0, 0, "input"), Node("$W_1, b_1$", 0, 1.4, "param"),
        Node("linear", 1, 0.7, "op"), Node("$Z_1$", 2, 0.7, "value"),
        Node("tanh", 3, 0.7, "op"), Node("$A$", 4, 0.7, "value"),
        Node("$W_2, b_2$", 4, 2.1, "param"), Node("linear ", 5, 1.4, "op"),
        Node("$Z_2$", 6, 1.4, "value"), Node("$y$", 6, 0, "input"),
        Node("softmax\nCE", 7, 0.7, "op"), Node("$L$", 8, 0.7, "loss"),
    ]
    edges = [("$X$", "linear"), ("$W_1, b_1$", "linear"), ("linear", "$Z_1$"),
             ("$Z_1$", "tanh"), ("tanh", "$A$"), ("$A$", "linear "),
             ("$W_2, b_2$", "linear "), ("linear ", "$Z_2$"), ("$Z_2$", "softmax\nCE"),
             ("$y$", "softmax\nCE"), ("softmax\nCE", "$L$")]
    backward = {("$Z_2$", "softmax\nCE"): "(1.6)", ("$W_2, b_2$", "linear "): "(1.7)",
                ("$A$", "linear "): "(1.8)", ("$Z_1$", "tanh"): "(1.9)",
                ("$W_1, b_1$", "linear"): "(1.10)", ("$X$", "linear"): "(1.11)"}
    return nodes, edges, backward


def plot_computation_graph(nodes: Sequence[Node], edges: Sequence[tuple[str, str]],
                           backward: Mapping[tuple[str, str], str] | None = None,
                           title: str | None = None, ax: Any = None) -> Any:
    """Draw ``nodes`` joined by forward ``edges`` (black arrows); ``backward`` labels edges in
    red with what the backward pass computes along them (drawn against the arrow).

    Returns the figure. Edges must name existing nodes.
    """
    import matplotlib.pyplot as plt

    by_name = {n.name: n for n in nodes}
    if len(by_name) != len(nodes):
        raise ValueError("plot_computation_graph: node names must be unique")
    backward = dict(backward or {})
    for a, b in list(edges) + list(backward):
        for end in (a, b):
            if end not in by_name:
                raise ValueError(f"plot_computation_graph: edge ({a!r}, {b!r}) names no node "
                                 f"{end!r}")
    unknown = set(backward) - set(map(tuple, edges))
    if unknown:
        raise ValueError(f"plot_computation_graph: backward labels on edges that are not "
                         f"forward edges: {sorted(unknown)}")
    if ax is None:
        width = max(n.x for n in nodes) - min(n.x for n in nodes)
        height = max(n.y for n in nodes) - min(n.y for n in nodes)
        _, ax = plt.subplots(figsize=(1.25 * width + 1.5, 1.1 * height + 1.6))
    for a, b in edges:
        p, q = by_name[a], by_name[b]
        ax.annotate("", xy=(q.x, q.y), xytext=(p.x, p.y),
                    arrowprops=dict(arrowstyle="-|>", color="0.25", lw=1.0,
                                    shrinkA=17, shrinkB=17))
        if (a, b) in backward:
            mx, my = (p.x + q.x) / 2, (p.y + q.y) / 2
            ax.annotate("", xy=(p.x, p.y), xytext=(q.x, q.y),
                        arrowprops=dict(arrowstyle="-|>", color="tab:red", lw=0.8, ls="--",
                                        shrinkA=17, shrinkB=17,
                                        connectionstyle="arc3,rad=0.25"))
            ax.text(mx, my - 0.28, backward[a, b], color="tab:red", ha="center", va="top",
                    fontsize=8)
    for n in nodes:
        style, colour = KINDS[n.kind]
        ax.text(n.x, n.y, n.name, ha="center", va="center", fontsize=9 if n.kind != "op" else 7,
                bbox=dict(boxstyle=style, fc=colour, ec="0.3"), zorder=3)
    xs, ys = [n.x for n in nodes], [n.y for n in nodes]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.5)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure
