r"""Post-training int8 quantisation, symmetric and per output row (Jacob et al. 2018,
"Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference"):
:math:`q = \mathrm{round}(w / s)` clipped to :math:`[-127, 127]`, :math:`s = \max|w| / 127`,
and back :math:`\hat w = s q`, so :math:`|w - \hat w| \le s / 2`.
"""
from __future__ import annotations

import numpy as np


def quantize_int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(q, scale)``: int8 ``q`` of ``w``'s shape and one float scale per row (axis 0)."""
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating) or w.ndim < 1:
        raise TypeError(f"quantize_int8: need a floating array with ndim >= 1, got {w.dtype} "
                        f"of shape {w.shape}")
    rows = w.reshape(w.shape[0], -1)
    scale = np.abs(rows).max(axis=1) / 127.0
    scale = np.where(scale == 0, 1.0, scale).astype(w.dtype)
    q = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    return q.reshape(w.shape), scale


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Back to floats: ``scale[row] * q``."""
    return (q.reshape(q.shape[0], -1) * scale[:, None]).reshape(q.shape).astype(scale.dtype)


def quantize_state(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A state dict with every weight matrix (ndim >= 2) replaced by its int8 round trip;
    biases stay in float, as in most int8 deployments."""
    return {k: dequantize(*quantize_int8(v)) if np.ndim(v) >= 2 else np.asarray(v)
            for k, v in state.items()}
