"""A scalar reverse-mode automatic differentiation engine (chapter 1), micrograd-sized.

Every operation on :class:`Value` objects returns a new ``Value`` that remembers its
operands (``children``) and a ``_backward`` closure: the operation's *local* derivative,
written right next to its forward formula, which adds ``out.grad * d(out)/d(operand)`` into
each operand's ``.grad`` (the chain rule; ``+=`` because a value used twice receives gradient
along both paths). ``backward()`` visits the graph in reverse topological order.

NOTE: unlike ``torch.Tensor.backward``, which *accumulates* into ``.grad`` across calls,
``Value.backward()`` first resets the gradient of every node of its graph to zero, so calling
it twice gives the same gradients, not doubled ones. Gradients of one graph therefore never
mix with an earlier backward pass; ``MLP.zero_grad()`` exists for torch-style loops.

After Karpathy's micrograd (2020); reverse mode after Linnainmaa (1970).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dlbook import random as dlrandom

Number = int | float


class Value:
    """A scalar that records how it was computed, so its derivatives can be found.

    Args:
        data: the number.
        children: the ``Value`` operands that produced it (empty for a leaf).
        op: the name of the operation (``"+"``, ``"tanh"``, ...), shown by ``draw_graph``.
        label: an optional name, shown by ``draw_graph``.
    """

    def __init__(self, data: Number, children: tuple[Value, ...] = (), op: str = "",
                 label: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(children)
        self._op = op
        self.label = label
        self._backward = lambda: None

    # -- binary operations ---------------------------------------------------------------------
    def __add__(self, other: Value | Number) -> Value:
        other = as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:  # d(a + b)/da = 1, d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        other = as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, exponent: Number) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number "
                            "(write (b * a.log()).exp() for a ** b)")
        out = Value(self.data ** exponent, (self,), f"**{exponent:g}")

        def _backward() -> None:  # d(a^n)/da = n a^(n-1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = _backward
        return out

    # -- unary operations ----------------------------------------------------------------------
    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:  # d(e^a)/da = e^a
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log of a non-positive Value ({self.data})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:  # d(log a)/da = 1 / a
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:  # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        x = self.data  # two forms so that exp never overflows
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:  # d(sigma(a))/da = sigma(a) (1 - sigma(a))
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward() -> None:  # d(max(a, 0))/da = 1 if a > 0 else 0 (0 at the kink, as torch)
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    # -- operations derived from the ones above (their gradients follow from the chain rule) ---
    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | Number) -> Value:
        return self + (-as_value(other))

    def __truediv__(self, other: Value | Number) -> Value:
        return self * as_value(other) ** -1

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def __rsub__(self, other: Number) -> Value:
        return as_value(other) - self

    def __rtruediv__(self, other: Number) -> Value:
        return as_value(other) / self

    # -- reverse mode --------------------------------------------------------------------------
    def topological_order(self) -> list[Value]:
        """Every node of the graph ending here, each after all of its children (iterative DFS,
        so long chains do not hit Python's recursion limit)."""
        order: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev if id(child) not in visited)
        return order

    def backward(self) -> None:
        """Set ``d self / d v`` into ``v.grad`` for every node ``v`` of the graph.

        The graph's gradients are first reset to zero (see the module NOTE), then
        ``self.grad = 1`` and each node, in reverse topological order, pushes its gradient to
        its children.
        """
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def as_value(x: Value | Number) -> Value:
    """``x`` itself if it is a ``Value``, else a new leaf holding the number."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float, np.integer, np.floating)):
        return Value(float(x))
    raise TypeError(f"cannot combine a Value with {type(x).__name__}")


# -- neurons, layers and MLPs built from Values ----------------------------------------------------
class ValueModule:
    """What Neuron, Layer and MLP share: their parameters and ``zero_grad``."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(ValueModule):
    """:math:`\\tanh(\\sum_i w_i x_i + b)` (or the affine sum alone when ``nonlin=False``);
    weights uniform in [-1, 1) from ``rng`` (dlbook's default generator when None), bias 0."""

    def __init__(self, nin: int, nonlin: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        rng = dlrandom.resolve(rng)
        self.w = [Value(w, label="w") for w in rng.uniform(-1.0, 1.0, size=nin)]
        self.b = Value(0.0, label="b")
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | Number]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.tanh() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'Tanh' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(ValueModule):
    """``nout`` neurons that share their input; returns a list (one Value when ``nout == 1``)."""

    def __init__(self, nin: int, nout: int, nonlin: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        self.neurons = [Neuron(nin, nonlin, rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer([{', '.join(str(n) for n in self.neurons)}])"


class MLP(ValueModule):
    """Layers of sizes ``nin -> nouts[0] -> ... -> nouts[-1]``: tanh hidden layers, a linear
    output layer. ``MLP(2, [4, 1])`` has 2 inputs, 4 tanh units and one output Value."""

    def __init__(self, nin: int, nouts: Iterable[int],
                 rng: np.random.Generator | None = None) -> None:
        sizes = [nin] + list(nouts)
        last = len(sizes) - 2
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last, rng=rng)
                       for i in range(len(sizes) - 1)]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            x = [x] if isinstance(x, Value) and layer is not self.layers[-1] else x
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


# -- drawing the graph -----------------------------------------------------------------------------
def _layout(order: list[Value]) -> dict[int, tuple[float, float]]:
    """(x, y) of each node: the root in the last column, every other node one column left of
    its leftmost user; rows ordered by the mean row of each node's users (fewer crossings)."""
    steps = {id(order[-1]): 0}
    for node in reversed(order):  # users come before their children in this order
        for child in node._prev:
            steps[id(child)] = max(steps.get(id(child), 0), steps[id(node)] + 1)
    n_cols = max(steps.values()) + 1
    users: dict[int, list[Value]] = {}
    for node in order:
        for child in node._prev:
            users.setdefault(id(child), []).append(node)
    pos: dict[int, tuple[float, float]] = {}
    for step in range(n_cols):  # right to left, so users are placed first
        col = [n for n in order if steps[id(n)] == step]
        col.sort(key=lambda n: -np.mean([pos[id(u)][1] for u in users.get(id(n), [])] or [0]))
        for i, n in enumerate(col):
            pos[id(n)] = (2.0 * (n_cols - 1 - step), (len(col) - 1) / 2 - i)
    return pos


def draw_graph(root: Value, figsize: tuple[float, float] | None = None) -> Any:
    """A matplotlib figure of the graph ending at ``root``, left (leaves) to right (root).

    Each value is a box showing its label, data and grad; each operation is a circle between
    its operands and its result. Columns are the longest distance from a leaf. Needs only
    matplotlib (no graphviz).
    """
    import matplotlib.pyplot as plt

    order = root.topological_order()
    pos = _layout(order)
    columns = {x for x, _ in pos.values()}
    height = max(sum(x == c for x, _ in pos.values()) for c in columns)
    fig, ax = plt.subplots(figsize=figsize or (1.7 * len(columns) + 0.4, 0.8 * height + 0.9))
    for node in order:
        x, y = pos[id(node)]
        if node._prev:
            ax.annotate("", xy=(x - 0.78, y), xytext=(x - 0.57, y),
                        arrowprops=dict(arrowstyle="<-", color="0.4", lw=0.8))
            for child in node._prev:
                cx, cy = pos[id(child)]
                ax.annotate("", xy=(x - 0.9, y), xytext=(cx + 0.55, cy),
                            arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
            ax.text(x - 0.9, y, node._op, ha="center", va="center", fontsize=7,
                    bbox=dict(boxstyle="circle,pad=0.3", fc="#fde9c9", ec="0.4"))
        name = f"{node.label}\n" if node.label else ""
        ax.text(x, y, f"{name}data {node.data:.4g}\ngrad {node.grad:.4g}", ha="center",
                va="center", fontsize=7, family="monospace",
                bbox=dict(boxstyle="round,pad=0.3", fc="#dce9f7", ec="0.3"))
    ax.set_xlim(-0.8, max(columns) + 0.8)
    ax.set_ylim(-(height + 1) / 2, (height + 1) / 2)
    ax.set_axis_off()
    ax.set_title("Computation graph: data and grad of every value")
    return fig
