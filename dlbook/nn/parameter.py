"""``Parameter``: a learnable NumPy array with a gradient slot, like ``torch.nn.Parameter``."""
from __future__ import annotations

import numpy as np


class Parameter:
    """A learnable array.

    Attributes:
        data: the values, a NumPy array (its dtype is the module's dtype).
        grad: ``None`` until a backward pass adds into it, then an array of ``data``'s shape.
        requires_grad: optimizers skip parameters where this is False.
    """

    def __init__(self, data, requires_grad: bool = True) -> None:
        self.data = np.array(data, copy=True)
        if not np.issubdtype(self.data.dtype, np.floating):
            self.data = self.data.astype(np.float64)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def numel(self) -> int:
        """Number of elements, as ``torch.Tensor.numel``."""
        return self.data.size

    def accumulate_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` into ``.grad`` (gradients accumulate across backward calls, as in torch)."""
        if not self.requires_grad:
            return
        if grad.shape != self.data.shape:
            raise ValueError(f"gradient of shape {grad.shape} for a parameter of shape "
                             f"{self.data.shape}")
        if self.grad is None:
            self.grad = np.array(grad, dtype=self.data.dtype, copy=True)
        else:
            self.grad += grad

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"
