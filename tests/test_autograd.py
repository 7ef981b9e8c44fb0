"""dlbook.autograd.Value against torch.autograd in float64: every op, graphs, the MLP."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.autograd import MLP, Layer, Neuron, Value, draw_graph

SETTINGS = settings(max_examples=15, deadline=None)
reals = st.floats(-3.0, 3.0, allow_nan=False)
positives = st.floats(0.1, 5.0)
nonzero = reals.filter(lambda v: abs(v) > 0.1)
away_from_kink = reals.filter(lambda v: abs(v) > 1e-3)


def t64(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def assert_matches(value_out: Value, leaves: list[Value], torch_out: torch.Tensor,
                   torch_leaves: list[torch.Tensor]) -> None:
    value_out.backward()
    torch_out.backward()
    assert value_out.data == pytest.approx(torch_out.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(leaves, torch_leaves, strict=True):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-10, abs=1e-12)


UNARY = {
    "exp": (lambda v: v.exp(), torch.exp, reals),
    "log": (lambda v: v.log(), torch.log, positives),
    "tanh": (lambda v: v.tanh(), torch.tanh, reals),
    "sigmoid": (lambda v: v.sigmoid(), torch.sigmoid, reals),
    "relu": (lambda v: v.relu(), torch.relu, away_from_kink),
    "neg": (lambda v: -v, lambda t: -t, reals),
    "pow2": (lambda v: v ** 2, lambda t: t ** 2, reals),
    "pow3": (lambda v: v ** 3, lambda t: t ** 3, reals),
    "pow-1": (lambda v: v ** -1, lambda t: t ** -1, nonzero),
    "pow0.5": (lambda v: v ** 0.5, lambda t: t ** 0.5, positives),
    "radd": (lambda v: 2.5 + v, lambda t: 2.5 + t, reals),
    "rsub": (lambda v: 2.5 - v, lambda t: 2.5 - t, reals),
    "rmul": (lambda v: 2.5 * v, lambda t: 2.5 * t, reals),
    "rtruediv": (lambda v: 2.5 / v, lambda t: 2.5 / t, nonzero),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_op_matches_torch(name):
    f_value, f_torch, domain = UNARY[name]

    @SETTINGS
    @given(domain)
    def check(x):
        v, t = Value(x), t64(x)
        assert_matches(f_value(v), [v], f_torch(t), [t])
    check()


BINARY = {
    "add": (lambda a, b: a + b, reals),
    "sub": (lambda a, b: a - b, reals),
    "mul": (lambda a, b: a * b, reals),
    "truediv": (lambda a, b: a / b, nonzero),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_op_matches_torch(name):
    f, domain_b = BINARY[name]

    @SETTINGS
    @given(reals, domain_b)
    def check(x, y):
        a, b, ta, tb = Value(x), Value(y), t64(x), t64(y)
        assert_matches(f(a, b), [a, b], f(ta, tb), [ta, tb])
    check()


def test_sigmoid_is_stable_for_large_inputs():
    for x in (-800.0, 800.0):
        v = Value(x)
        out = v.sigmoid()
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad)
        assert out.data == pytest.approx(torch.sigmoid(torch.tensor(x, dtype=torch.float64)).item())


def random_expression(seed: int, n_leaves: int = 4, n_ops: int = 25):
    """The same random graph built twice, from Values and from torch tensors; each op picks
    its operands from every node so far, so nodes are reused (diamonds, repeated operands)."""
    rng = np.random.default_rng(seed)
    xs = rng.uniform(0.5, 1.5, size=n_leaves)
    values = [Value(x) for x in xs]
    tensors = [t64(x) for x in xs]
    leaves = (list(values), list(tensors))
    for _ in range(n_ops):
        i, j = rng.integers(0, len(values), size=2)
        op = rng.choice(["+", "*", "-", "/", "tanh", "sigmoid", "exp_small", "sq"])
        a, b, ta, tb = values[i], values[j], tensors[i], tensors[j]
        if op == "+":
            pair = a + b, ta + tb
        elif op == "*":
            pair = a * b, ta * tb
        elif op == "-":
            pair = a - b, ta - tb
        elif op == "/":  # a / (1 + b^2) keeps the denominator away from zero
            pair = a / (1 + b ** 2), ta / (1 + tb ** 2)
        elif op == "tanh":
            pair = a.tanh(), ta.tanh()
        elif op == "sigmoid":
            pair = a.sigmoid(), ta.sigmoid()
        elif op == "exp_small":
            pair = (a.tanh()).exp(), ta.tanh().exp()
        else:
            pair = a ** 2, ta ** 2
        values.append(pair[0])
        tensors.append(pair[1])
    out_v = sum(values[n_leaves:], Value(0.0))
    out_t = sum(tensors[n_leaves:])
    return out_v, out_t, leaves


@pytest.mark.parametrize("seed", range(6))
def test_random_graph_with_reused_nodes_matches_torch(seed):
    out_v, out_t, (values, tensors) = random_expression(seed)
    assert_matches(out_v, values, out_t, tensors)


def test_diamond_graph_collects_both_paths():
    a = Value(3.0)
    b, c = a * 2, a ** 2  # a feeds two paths that meet again in d
    d = b * c  # d = 2 a^3, dd/da = 6 a^2
    d.backward()
    assert a.grad == pytest.approx(6 * 9)
    x = Value(1.7)
    y = x * x  # the same node twice as operands of one op
    y.backward()
    assert x.grad == pytest.approx(2 * 1.7)


def test_backward_twice_gives_the_same_gradients():
    out_v, _, (values, _) = random_expression(seed=3)
    out_v.backward()
    first = [v.grad for v in values]
    out_v.backward()
    assert [v.grad for v in values] == first
    assert out_v.grad == 1.0


def test_long_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y + x
    y.backward()
    assert x.grad == 5001.0


def test_clear_errors():
    with pytest.raises(ValueError, match="non-positive"):
        Value(0.0).log()
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="cannot combine"):
        Value(1.0) + "2"
    with pytest.raises(ValueError, match="expects 3 inputs"):
        Neuron(3)([1.0, 2.0])


def torch_mlp_from(model: MLP) -> list[tuple[torch.Tensor, torch.Tensor]]:
    layers = []
    for layer in model.layers:
        w = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64)
        layers.append((w.requires_grad_(), b.requires_grad_()))
    return layers


def test_mlp_gradients_match_torch():
    rng = np.random.default_rng(0)
    model = MLP(3, [5, 4, 2], rng=np.random.default_rng(1))
    X = rng.standard_normal((4, 3))
    target = rng.standard_normal((4, 2))
    loss = sum((((o - t) ** 2) for x, tgt in zip(X, target, strict=True)
                for o, t in zip(model(list(x)), tgt, strict=True)), Value(0.0))
    loss.backward()
    layers = torch_mlp_from(model)
    h = torch.tensor(X)
    for k, (w, b) in enumerate(layers):
        h = h @ w.T + b
        h = h.tanh() if k < len(layers) - 1 else h
    t_loss = ((h - torch.tensor(target)) ** 2).sum()
    t_loss.backward()
    assert loss.data == pytest.approx(t_loss.item(), rel=1e-12)
    for layer, (w, b) in zip(model.layers, layers, strict=True):
        got_w = np.array([[p.grad for p in n.w] for n in layer.neurons])
        got_b = np.array([n.b.grad for n in layer.neurons])
        np.testing.assert_allclose(got_w, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_b, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_mlp_structure_and_zero_grad():
    model = MLP(2, [4, 1], rng=np.random.default_rng(0))
    assert len(model.parameters()) == 4 * 3 + 5
    out = model([0.3, -0.2])
    assert isinstance(out, Value)  # one output unit: a Value, not a list
    assert len(Layer(2, 3, rng=np.random.default_rng(0))([1.0, 2.0])) == 3
    out.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_mlp_init_follows_dlbook_seed():
    import dlbook.random

    dlbook.random.manual_seed(5)
    a = [p.data for p in MLP(2, [3, 1]).parameters()]
    dlbook.random.manual_seed(5)
    b = [p.data for p in MLP(2, [3, 1]).parameters()]
    assert a == b


def test_draw_graph_returns_a_figure_with_every_node():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = Value(2.0, label="a"), Value(-1.5, label="b")
    out = (a * b + a.exp()).tanh()
    out.backward()
    fig = draw_graph(out)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows have none
    n_nodes = len(out.topological_order())
    n_ops = sum(1 for v in out.topological_order() if v._prev)
    assert len(texts) == n_nodes + n_ops
    assert any(t.startswith("a\ndata 2") for t in texts)
    assert any("tanh" == t for t in texts)
    plt.close(fig)
