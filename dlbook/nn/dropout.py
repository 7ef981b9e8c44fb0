r"""``Dropout`` and ``Dropout2d``: inverted dropout (Srivastava et al. 2014), as in ``torch.nn``.

In training each unit is kept with probability :math:`1 - p` and scaled by
:math:`1 / (1 - p)`, so the expected output equals the input and eval mode can be the
identity ("inverted" dropout: the rescaling happens at training time, not at test time):

.. math::
    y = x \odot \frac{m}{1 - p}, \quad m_i \sim \text{Bernoulli}(1 - p), \qquad
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot \frac{m}{1 - p}

with the *same* mask :math:`m` in the backward pass. ``p = 1`` drops everything (output and
gradient are zero); ``p = 0`` keeps everything.

The masks come from dlbook's random generator (``dlbook.random.manual_seed``) or an explicit
``generator``; they cannot equal torch's draws, so the tests compare statistics and the
backward pass given the forward mask.

Reference:
    N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov, "Dropout: A Simple
    Way to Prevent Neural Networks from Overfitting", JMLR 15, 2014.
    https://jmlr.org/papers/v15/srivastava14a.html
    J. Tompson, R. Goroshin, A. Jain, Y. LeCun, C. Bregler, "Efficient Object Localization
    Using Convolutional Networks", CVPR 2015 (channel-wise dropout, ``Dropout2d``).
    https://arxiv.org/abs/1411.4280
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from dlbook.nn._checks import check_grad, check_ndim, float_array
from dlbook.nn.dropout_functional import dropout_mask
from dlbook.nn.module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by ``1/(1-p)``.

    Args:
        p: the probability of zeroing an element, in ``[0, 1]``.
        inplace: accepted for torch's signature. NOTE: dlbook never modifies its input, so the
            output is always a new array (the values are the same as torch's in-place ones).
        generator: the ``np.random.Generator`` for the masks; dlbook's default generator when
            None (looked up at every forward, so ``dlbook.random.manual_seed`` applies).

    Shape:
        - Input: any shape; Output: the same shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        """The shape of the Bernoulli mask: one draw per element."""
        return x.shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, type(self).__name__)
        if not self.training or self.p == 0.0:  # nothing is dropped: the identity
            self.save_for_backward(noise=None, shape=x.shape, kept_all=self.training)
            self._last = SimpleNamespace(noise=None, shape=x.shape, kept_all=self.training)
            return x
        noise = dropout_mask(self._mask_shape(x), self.p, x.dtype, self.generator)
        self.save_for_backward(noise=noise, shape=x.shape, kept_all=False)
        self._last = SimpleNamespace(noise=noise, shape=x.shape, kept_all=False)
        return x * noise

    @property
    def mask(self) -> np.ndarray | None:
        """The boolean keep-mask of the last training forward (None after an eval forward)."""
        s = getattr(self, "_last", None)
        if s is None:
            raise RuntimeError(f"{type(self).__name__}.mask: no forward has run yet")
        if s.noise is None:
            return np.ones(s.shape, dtype=bool) if s.kept_all else None
        return s.noise != 0

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.shape, type(self).__name__)
        return grad_out if s.noise is None else grad_out * s.noise

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels ``x[n, c]`` with probability ``p`` (Tompson et al. 2015).

    Neighbouring pixels of a feature map are strongly correlated, so element-wise dropout
    barely regularises a convolution; dropping whole channels does. One Bernoulli draw per
    ``(n, c)`` is broadcast over ``H`` and ``W``; the formulas are :class:`Dropout`'s.

    NOTE: only batched ``(N, C, H, W)`` input is accepted. torch 2.x reads a 3-D input as
    ``(N, C, L)`` with a deprecation warning (its docs promise ``(C, H, W)``); dlbook refuses
    the ambiguous case instead of guessing.

    Shape:
        - Input: ``(N, C, H, W)``; Output: the same shape.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_ndim(np.asarray(x), (4,), "Dropout2d", "(N, C, H, W)")
        return super().forward(x)

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return x.shape[:2] + (1, 1)
