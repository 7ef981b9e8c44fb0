"""GCNConv and normalized_adjacency against the dense torch formula of Kipf & Welling (2017)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.nn.graph import GCNConv, normalized_adjacency


def random_graph(n: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    upper = np.triu(rng.random((n, n)) < 0.4, k=1)
    return (upper | upper.T).astype(dtype)


def torch_gcn(x, adj, weight, bias):
    """Dense torch twin: D^-1/2 (A+I) D^-1/2 X W^T + b, written independently of dlbook."""
    a = adj + torch.eye(adj.shape[0], dtype=adj.dtype, device=adj.device)
    d = a.sum(1).rsqrt()
    return (d[:, None] * a * d[None, :]) @ x @ weight.T + bias


def run_both(n: int, fin: int, fout: int, dtype, device: str, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, fin)).astype(dtype)
    adj = random_graph(n, rng, dtype)
    g = rng.standard_normal((n, fout)).astype(dtype)
    layer = GCNConv(fin, fout, dtype=dtype)
    layer.bias.data = rng.standard_normal(fout).astype(dtype)
    out = layer(x, adj)
    gx = layer.backward(g)
    tx = torch.tensor(x, device=device, requires_grad=True)
    tw = torch.tensor(layer.weight.data, device=device, requires_grad=True)
    tb = torch.tensor(layer.bias.data, device=device, requires_grad=True)
    tout = torch_gcn(tx, torch.tensor(adj, device=device), tw, tb)
    tout.backward(torch.tensor(g, device=device))
    pairs = [(out, tout), (gx, tx.grad), (layer.weight.grad, tw.grad), (layer.bias.grad, tb.grad)]
    return [(a, b.detach().cpu().numpy()) for a, b in pairs]


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 9), fin=st.integers(1, 5), fout=st.integers(1, 4),
       seed=st.integers(0, 1000))
def test_parity_float64(device: str, n: int, fin: int, fout: int, seed: int) -> None:
    for ours, theirs in run_both(n, fin, fout, np.float64, device, seed):
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_parity_float32(device: str) -> None:
    for ours, theirs in run_both(7, 5, 3, np.float32, device, 3):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_normalized_adjacency_by_hand() -> None:
    # path 0-1: A+I = [[1,1],[1,1]], degrees 2, so every entry is 1/2
    np.testing.assert_allclose(normalized_adjacency(np.array([[0.0, 1], [1, 0]])),
                               np.full((2, 2), 0.5))
    # isolated node: A+I = I, degree 1
    np.testing.assert_allclose(normalized_adjacency(np.zeros((3, 3))), np.eye(3))


def test_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    adj = random_graph(6, rng)
    g = rng.standard_normal((6, 3))
    layer = GCNConv(4, 3, dtype=np.float64)

    def loss() -> float:
        return float((layer(x, adj) * g).sum())

    layer(x, adj)
    gx = layer.backward(g)
    np.testing.assert_allclose(gx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for p in (layer.weight, layer.bias):
        np.testing.assert_allclose(p.grad, numeric_grad(loss, p.data), rtol=1e-6, atol=1e-8)


def test_normalize_false_uses_given_matrix() -> None:
    rng = np.random.default_rng(1)
    x, a = rng.standard_normal((5, 2)), rng.standard_normal((5, 5))
    layer = GCNConv(2, 2, bias=False, normalize=False, dtype=np.float64)
    np.testing.assert_allclose(layer(x, a), a @ x @ layer.weight.data.T)
    assert layer.bias is None


def test_bad_inputs() -> None:
    layer = GCNConv(3, 2).double()
    with pytest.raises(ValueError, match="in_channels"):
        layer(np.zeros((4, 5)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"\(N, N\)"):
        layer(np.zeros((4, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        layer(np.zeros((2, 4, 3)), np.zeros((4, 4)))
    with pytest.raises(TypeError, match="floating"):
        layer(np.zeros((4, 3), dtype=int), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="symmetric"):
        normalized_adjacency(np.array([[0.0, 1], [0, 0]]))
    with pytest.raises(ValueError, match="non-negative"):
        normalized_adjacency(np.array([[0.0, -1], [-1, 0]]))
    with pytest.raises(ValueError, match="square"):
        normalized_adjacency(np.zeros((2, 3)))
    with pytest.raises(RuntimeError):
        GCNConv(3, 2).backward(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="float32.*float64"):
        layer(np.zeros((4, 3), dtype=np.float32), np.zeros((4, 4)))
    layer = GCNConv(3, 2)
    layer(np.zeros((4, 3), dtype=np.float32), np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.zeros((4, 3)))
