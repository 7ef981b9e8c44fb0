"""Input validation shared by the layers: clear errors that name what was expected."""
from __future__ import annotations

from typing import Any

import numpy as np


def float_array(x: Any, who: str, name: str = "input") -> np.ndarray:
    """``x`` as a floating NumPy array; a ``TypeError`` naming ``who`` for other dtypes."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        raise TypeError(f"{who}: got a torch tensor as {name}; dlbook.nn works on NumPy arrays "
                        "(use tensor.detach().cpu().numpy())")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{who}: {name} must be a floating array (float32 or float64), "
                        f"got {x.dtype}")
    return x


def check_ndim(x: np.ndarray, allowed: tuple[int, ...], who: str, layout: str) -> None:
    """Raise ``ValueError`` unless ``x.ndim`` is one of ``allowed``; ``layout`` names the axes."""
    if x.ndim not in allowed:
        raise ValueError(f"{who}: expected input of shape {layout}, got shape {x.shape}")


def check_dim(x: np.ndarray, axis: int, size: int, who: str, what: str) -> None:
    """Raise ``ValueError`` unless ``x.shape[axis] == size``."""
    if x.ndim == 0 or x.shape[axis] != size:
        raise ValueError(f"{who}: expected {what} = {size} in axis {axis}, "
                         f"got input of shape {x.shape}")


def check_grad(grad_out: Any, shape: tuple[int, ...], who: str) -> np.ndarray:
    """``grad_out`` as an array of the forward output's ``shape``, else a clear ``ValueError``."""
    grad_out = np.asarray(grad_out)
    if grad_out.shape != tuple(shape):
        raise ValueError(f"{who}.backward: grad_out has shape {grad_out.shape}, "
                         f"the forward output had shape {tuple(shape)}")
    return grad_out


def batched_images(x: Any, who: str, channels: int | None = None) -> tuple[np.ndarray, bool]:
    """``x`` as a float ``(N, C, H, W)`` array, and whether it came unbatched ``(C, H, W)``
    (then ``N = 1`` is added); with ``channels``, ``C`` must equal it (the layers' one check
    of image input: convolutions and pooling)."""
    x = float_array(x, who)
    check_ndim(x, (3, 4), who, "(N, C, H, W) or (C, H, W)")
    if channels is not None:
        check_dim(x, -3, channels, who, "in_channels")
    return (x[None], True) if x.ndim == 3 else (x, False)
