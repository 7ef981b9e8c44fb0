r"""``GCNConv``: the graph convolution of Kipf & Welling (2017), "Semi-Supervised Classification
with Graph Convolutional Networks" (ICLR). torch has no built-in GCN layer; the twin used in the
tests and the book is the same formula written with dense torch ops.
"""
from __future__ import annotations

import numpy as np

from dlbook.nn import init
from dlbook.nn._checks import check_dim, check_grad, check_ndim, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


def normalized_adjacency(adj: np.ndarray) -> np.ndarray:
    r"""The renormalised adjacency :math:`\hat A = D^{-1/2} (A + I) D^{-1/2}` of Kipf & Welling.

    ``D`` is the degree matrix of ``A + I`` (row sums), so every node has degree at least 1.

    Shape:
        - ``adj``: ``(N, N)``, symmetric and non-negative; returns ``(N, N)``.
    """
    adj = float_array(adj, "normalized_adjacency", "adj")
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"normalized_adjacency: adj must be square (N, N), got {adj.shape}")
    if np.any(adj < 0):
        raise ValueError("normalized_adjacency: adj must be non-negative")
    if not np.allclose(adj, adj.T):
        raise ValueError("normalized_adjacency: adj must be symmetric (an undirected graph)")
    a_hat = adj + np.eye(adj.shape[0], dtype=adj.dtype)
    d_inv_sqrt = 1.0 / np.sqrt(a_hat.sum(axis=1))
    return d_inv_sqrt[:, None] * a_hat * d_inv_sqrt[None, :]


class GCNConv(Module):
    r"""Graph convolution :math:`Y = \hat A X W^\top + b` (Kipf & Welling 2017).

    Names follow ``torch_geometric.nn.GCNConv`` (``in_channels``, ``out_channels``); the weight
    is stored as ``(out_channels, in_channels)`` like ``Linear`` and initialised Glorot-uniform
    as in the paper, the bias with zeros. ``forward(x, adj)`` takes the raw adjacency and
    normalises it with :func:`normalized_adjacency` (pass ``normalize=False`` to give
    :math:`\hat A` yourself).

    Args:
        in_channels: features per node in.
        out_channels: features per node out.
        bias: learn an additive bias if True.
        normalize: apply :func:`normalized_adjacency` to ``adj`` in ``forward``.
        dtype: parameter dtype (float32 by default, as torch).
        generator: ``np.random.Generator`` for the initial weights (dlbook's default if None).

    Shape:
        - ``x``: ``(N, in_channels)``; ``adj``: ``(N, N)``; output: ``(N, out_channels)``.

    Backward, with :math:`G = \partial L / \partial Y` and :math:`\hat A` fixed (the graph is
    data, not a parameter, so only the gradient w.r.t. ``x`` is returned):

    .. math::
        \frac{\partial L}{\partial X} = \hat A^\top G W, \qquad
        \frac{\partial L}{\partial W} = G^\top \hat A X, \qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_n G_n.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 normalize: bool = True, dtype=np.float32, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.normalize = normalize
        self.weight = Parameter(np.empty((out_channels, in_channels), dtype=dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None
        init.xavier_uniform_(self.weight, generator=generator)

    def forward(self, x: np.ndarray, adj: np.ndarray) -> np.ndarray:
        x = float_array(x, "GCNConv")
        check_ndim(x, (2,), "GCNConv", "(N, in_channels)")
        check_dim(x, -1, self.in_channels, "GCNConv", "in_channels")
        adj = float_array(adj, "GCNConv", "adj")
        if adj.shape != (x.shape[0], x.shape[0]):
            raise ValueError(f"GCNConv: adj must be (N, N) = {(x.shape[0],) * 2} for x of "
                             f"shape {x.shape}, got {adj.shape}")
        a_hat = normalized_adjacency(adj) if self.normalize else adj
        ax = a_hat @ x
        out = ax @ self.weight.data.T
        if self.bias is not None:
            out = out + self.bias.data
        self.save_for_backward(a_hat=a_hat, ax=ax, out_shape=out.shape)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        g = check_grad(grad_out, s.out_shape, "GCNConv")
        self.weight.accumulate_grad(g.T @ s.ax)
        if self.bias is not None:
            self.bias.accumulate_grad(g.sum(axis=0))
        return s.a_hat.T @ (g @ self.weight.data)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"bias={self.bias is not None}, normalize={self.normalize}")
