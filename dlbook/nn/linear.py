"""``Linear``, ``Identity`` and ``Flatten``, mirroring their ``torch.nn`` twins."""
from __future__ import annotations

import numpy as np

from dlbook.nn import init
from dlbook.nn._checks import check_dim, check_grad, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


class Linear(Module):
    r"""Affine map :math:`y = x W^\top + b` (Rosenblatt 1958; Rumelhart et al. 1986).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias if True.
        dtype: parameter dtype (float32 by default, as torch).
        generator: ``np.random.Generator`` for the initial weights (dlbook's default if None).

    Shape:
        - Input: ``(*, in_features)``; Output: ``(*, out_features)``.
        - ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``.

    Backward, with :math:`G = \partial L / \partial y` flattened to ``(M, out_features)``:

    .. math::
        \frac{\partial L}{\partial x} = G W, \qquad
        \frac{\partial L}{\partial W} = G^\top x, \qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_m G_m.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=np.float32, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        init.default_layer_init_(self.weight, self.bias, generator=generator)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "Linear")
        check_dim(x, -1, self.in_features, "Linear", "in_features")
        out = x @ self.weight.data.T
        if self.bias is not None:
            out = out + self.bias.data
        self.save_for_backward(x=x, out_shape=out.shape)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.out_shape, "Linear")
        g = grad_out.reshape(-1, self.out_features)
        self.weight.accumulate_grad(g.T @ s.x.reshape(-1, self.in_features))
        if self.bias is not None:
            self.bias.accumulate_grad(g.sum(axis=0))
        return grad_out @ self.weight.data

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged; its backward passes the gradient through."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(shape=np.shape(x))
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return check_grad(grad_out, self.saved.shape, "Identity")


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one (as ``torch.nn.Flatten``).

    Shape:
        - Input: ``(*, S_start, ..., S_end, *)``; Output: ``(*, prod(S_start..S_end), *)``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for input of shape {x.shape}")
        shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
        self.save_for_backward(in_shape=x.shape, out_shape=shape)
        return x.reshape(shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        return check_grad(grad_out, s.out_shape, "Flatten").reshape(s.in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
