"""Attribution methods for a classifier's score :math:`f(x)`: saliency (Simonyan et al. 2014),
integrated gradients (Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks") and
occlusion (Zeiler & Fergus 2014). Each takes plain callables, so they work with a NumPy model
(``grad_fn`` from a hand backward) or a torch one (``grad_fn`` from autograd).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

GradFn = Callable[[np.ndarray], np.ndarray]
ScoreFn = Callable[[np.ndarray], np.ndarray]


def saliency(grad_fn: GradFn, x: np.ndarray) -> np.ndarray:
    r"""Vanilla saliency :math:`|\partial f / \partial x|` for a batch ``x``."""
    return np.abs(grad_fn(x))


def integrated_gradients(grad_fn: GradFn, x: np.ndarray, baseline: np.ndarray | None = None,
                         steps: int = 64) -> np.ndarray:
    r"""Integrated gradients of one input ``x`` (any shape) from ``baseline`` (zeros by default):

    .. math::
        \mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial f}{\partial x_i}
        \big(x' + \alpha (x - x')\big)\, d\alpha,

    the integral by the midpoint rule with ``steps`` points, evaluated as one batch of
    ``steps`` inputs to ``grad_fn``. Completeness: :math:`\sum_i \mathrm{IG}_i = f(x) - f(x')`
    up to the quadrature error.
    """
    if steps < 1:
        raise ValueError(f"integrated_gradients: steps must be >= 1, got {steps}")
    baseline = np.zeros_like(x) if baseline is None else np.asarray(baseline, dtype=x.dtype)
    if baseline.shape != x.shape:
        raise ValueError(f"integrated_gradients: baseline shape {baseline.shape} != input "
                         f"shape {x.shape}")
    alphas = ((np.arange(steps) + 0.5) / steps).reshape((steps,) + (1,) * x.ndim)
    path = (baseline + alphas * (x - baseline)).astype(x.dtype)
    return (x - baseline) * grad_fn(path).mean(axis=0)


def occlusion(score_fn: ScoreFn, image: np.ndarray, patch: int = 2,
              fill: float = 0.0) -> np.ndarray:
    """Drop in score when each ``patch x patch`` square of a 2-D ``image`` is set to ``fill``;
    every pixel gets the drop of the patch that covers it. ``score_fn`` maps a batch
    ``(B, H, W)`` to scores ``(B,)``."""
    if image.ndim != 2:
        raise ValueError(f"occlusion: expected a 2-D image (H, W), got shape {image.shape}")
    h, w = image.shape
    corners = [(i, j) for i in range(0, h, patch) for j in range(0, w, patch)]
    batch = np.repeat(image[None], len(corners), axis=0)
    for b, (i, j) in enumerate(corners):
        batch[b, i:i + patch, j:j + patch] = fill
    drops = score_fn(image[None])[0] - score_fn(batch)
    out = np.zeros_like(image)
    for (i, j), d in zip(corners, drops, strict=True):
        out[i:i + patch, j:j + patch] = d
    return out
