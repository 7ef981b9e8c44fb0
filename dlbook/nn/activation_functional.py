r"""Pure, numerically stable functions shared by the activations, the losses, the recurrent
layers and the models: the one place each of them is written.

Names follow ``torch.nn.functional`` (``sigmoid``, ``logsigmoid``, ``softmax``,
``log_softmax``) and ``torch.erf``. Each takes a NumPy array and returns a new array of the
same dtype (``sigmoid`` can write into ``out`` instead); none of them keeps state, so an
exercise can ask for one and a test can check it against torch on its own. Import them from
:mod:`dlbook.nn.functional`, the namespace of every pure function in ``dlbook.nn``.

Stability, the point of this file:

- ``sigmoid`` never evaluates :math:`e^{t}` with :math:`t > 0`, so it cannot overflow:
  :math:`\sigma(x) = 1 / (1 + e^{-|x|})` for :math:`x \ge 0` and
  :math:`e^{-|x|} / (1 + e^{-|x|})` for :math:`x < 0`.
- ``softmax`` and ``log_softmax`` subtract the maximum along ``dim`` first (the log-sum-exp
  trick): :math:`\log \sum_j e^{x_j} = m + \log \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`,
  so the largest exponent is :math:`e^0 = 1`.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow for any finite ``x``.

    With ``out`` (which may be ``x`` itself) the result is written there and returned.
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    numerator = np.where(x >= 0, np.ones((), dtype=e.dtype), e)
    if out is None:
        return (numerator / (1.0 + e)).astype(x.dtype, copy=False)
    return np.divide(numerator, 1.0 + e, out=out)


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

    NumPy has no ``erf``; SciPy's (``scipy.special.erf``, about 1e-16 relative error; SciPy
    comes with scikit-learn, a dlbook dependency) is imported on first use, so
    ``import dlbook.nn`` stays light. Returned in ``x``'s dtype (float64 for integers).
    """
    from scipy.special import erf as scipy_erf

    x = np.asarray(x)
    return scipy_erf(x).astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)
