r"""Pure, numerically stable functions shared by the activations and the losses.

Names follow ``torch.nn.functional`` (``sigmoid``, ``logsigmoid``, ``softmax``,
``log_softmax``) and ``torch.erf``. Each takes a NumPy array and returns a new array of the
same dtype; none of them keeps state, so an exercise can ask for one and a test can check it
against torch on its own.

Stability, the point of this file:

- ``sigmoid`` never evaluates :math:`e^{t}` with :math:`t > 0`, so it cannot overflow:
  :math:`\sigma(x) = 1 / (1 + e^{-|x|})` for :math:`x \ge 0` and
  :math:`e^{-|x|} / (1 + e^{-|x|})` for :math:`x < 0`.
- ``softmax`` and ``log_softmax`` subtract the maximum along ``dim`` first (the log-sum-exp
  trick): :math:`\log \sum_j e^{x_j} = m + \log \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`,
  so the largest exponent is :math:`e^0 = 1`.
"""
from __future__ import annotations

import math

import numpy as np

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_ERF_SPLIT = 2.5      # series below, continued fraction above
_ERF_SERIES_TERMS = 40
_ERF_CF_TERMS = 30


def sigmoid(x: np.ndarray) -> np.ndarray:
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow for any finite ``x``."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def logsigmoid(x: np.ndarray) -> np.ndarray:
    r""":math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`, finite for every finite ``x``."""
    x = np.asarray(x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _at_least_1d(x: np.ndarray, dim: int) -> tuple[np.ndarray, int]:
    """Torch lets a 0-d tensor take ``dim=0`` or ``dim=-1``; view it as ``(1,)`` for NumPy."""
    if x.ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"dim {dim} is out of range for a 0-d input (expected 0 or -1)")
        return x.reshape(1), 0
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"dim {dim} is out of range for an input of shape {x.shape} "
                         f"(expected {-x.ndim} <= dim < {x.ndim})")
    return x, dim


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    r""":math:`y_i = e^{x_i - m} / \sum_j e^{x_j - m}` along ``dim``, :math:`m = \max_j x_j`."""
    x = np.asarray(x)
    x1, dim = _at_least_1d(x, dim)
    z = x1 - np.max(x1, axis=dim, keepdims=True)
    e = np.exp(z)
    return (e / np.sum(e, axis=dim, keepdims=True)).reshape(x.shape)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    r""":math:`y_i = (x_i - m) - \log \sum_j e^{x_j - m}` along ``dim``, without overflow."""
    x = np.asarray(x)
    x1, dim = _at_least_1d(x, dim)
    z = x1 - np.max(x1, axis=dim, keepdims=True)
    return (z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))).reshape(x.shape)


def erf(x: np.ndarray) -> np.ndarray:
    r"""The error function :math:`\mathrm{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt`.

    NumPy has no ``erf`` (and dlbook depends on NumPy alone), so this evaluates it to about
    1e-15 absolute error, vectorised, from two classical expansions of :math:`a = |x|`:

    1. for :math:`a < 2.5` the series with positive terms only (no cancellation)
       :math:`\mathrm{erf}(a) = \frac{2}{\sqrt\pi} e^{-a^2}
       \sum_{n \ge 0} \frac{2^n a^{2n+1}}{1 \cdot 3 \cdots (2n+1)}`;
    2. for :math:`a \ge 2.5` the continued fraction (Abramowitz & Stegun 7.1.14)
       :math:`\mathrm{erfc}(a) = \frac{e^{-a^2}}{\sqrt\pi}\,
       \cfrac{1}{a + \cfrac{1/2}{a + \cfrac{1}{a + \cfrac{3/2}{a + \cdots}}}}`,
       and :math:`\mathrm{erf}(a) = 1 - \mathrm{erfc}(a)`;

    then :math:`\mathrm{erf}(x) = \mathrm{sign}(x)\,\mathrm{erf}(|x|)`. Computed in float64 and
    returned in ``x``'s dtype.
    """
    x = np.asarray(x)
    a = np.abs(x.astype(np.float64))
    out = np.empty_like(a)
    inner = a < _ERF_SPLIT
    s = a[inner]
    two_s2 = 2.0 * s * s
    term, total = s.copy(), s.copy()
    for n in range(1, _ERF_SERIES_TERMS):
        term *= two_s2 / (2 * n + 1)
        total += term
    out[inner] = _TWO_OVER_SQRT_PI * np.exp(-s * s) * total
    b = a[~inner]
    frac = b.copy()
    for k in range(_ERF_CF_TERMS, 0, -1):
        frac = b + (k / 2) / frac
    out[~inner] = 1.0 - np.exp(-b * b) / (math.sqrt(math.pi) * frac)
    return np.copysign(out, x).astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)
