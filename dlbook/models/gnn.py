"""The torch twin of :class:`dlbook.nn.GCNConv` (Kipf & Welling 2017), written with dense torch
ops because torch has no built-in GCN layer; same parameter names (``weight``, ``bias``), so a
``state_dict`` loads across. torch is imported only inside the function.
"""
from __future__ import annotations

from typing import Any


def gcn_conv_torch(in_channels: int, out_channels: int, bias: bool = True) -> Any:
    r"""A ``torch.nn.Module`` computing :math:`D^{-1/2}(A+I)D^{-1/2} X W^\top + b`."""
    import torch

    class GCNConvTorch(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels))
            self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None
            torch.nn.init.xavier_uniform_(self.weight)

        def forward(self, x: Any, adj: Any) -> Any:
            a = adj + torch.eye(adj.shape[0], dtype=adj.dtype, device=adj.device)
            d = a.sum(1).rsqrt()
            out = (d[:, None] * a * d[None, :]) @ x @ self.weight.T
            return out if self.bias is None else out + self.bias

    return GCNConvTorch()
