r"""The inverted-dropout mask, the one place it is drawn (Srivastava et al. 2014).

:class:`~dlbook.nn.Dropout`, :class:`~dlbook.nn.Dropout2d`, the recurrent layers' dropout
between layers, the attention weights' dropout and the denoising autoencoder's masking
noise all draw their Bernoulli masks here, as ``generator.random(shape) >= p``: one uniform
draw per entry, kept where it is at least ``p``, so each entry survives with probability
:math:`1 - p`.
"""
from __future__ import annotations

import numpy as np

from dlbook.random import resolve


def keep_mask(shape: tuple[int, ...], p: float,
              generator: np.random.Generator | None = None) -> np.ndarray:
    r"""A boolean array of ``shape``, each entry True with probability :math:`1 - p`.

    ``generator`` is an explicit ``np.random.Generator``; dlbook's default one when None.
    """
    return resolve(generator).random(shape) >= p


def dropout_mask(shape: tuple[int, ...], p: float, dtype: np.dtype,
                 generator: np.random.Generator | None = None) -> np.ndarray:
    r"""The scaled mask :math:`D = m / (1 - p)`, :math:`m \sim \text{Bernoulli}(1 - p)`, in
    ``dtype``; all zeros for ``p = 1`` (torch multiplies by zero, no :math:`1/0`).

    Dropout is then ``x * D`` forward and ``grad_out * D`` backward.
    """
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return (keep_mask(shape, p, generator) * scale).astype(dtype)
