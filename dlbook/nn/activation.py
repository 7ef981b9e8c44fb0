r"""Activation functions, mirroring their ``torch.nn`` twins, each with a hand-derived backward.

Every activation here except ``Softmax``/``LogSoftmax`` acts elementwise,
:math:`y = f(x)`, so its backward is a product with the local derivative,
:math:`\partial L / \partial x = g \odot f'(x)` with :math:`g = \partial L / \partial y`.
Each class writes :math:`f'` in its docstring and in ``backward``. Where :math:`f'` is
undefined (a kink at 0), dlbook takes the value torch takes, so gradients agree exactly.

NOTE: torch's ``inplace=True`` overwrites the input to save memory. dlbook accepts the
argument, so code written for torch runs unchanged, and ignores it: a layer here never
modifies its input (see STYLE.md), and backward needs it.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from dlbook.nn import activation_functional as F
from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_COEF = 0.044715


def _inplace_repr(inplace: bool, sep: str = "") -> str:
    return f"{sep}inplace=True" if inplace else ""


class ReLU(Module):
    r""":math:`\mathrm{ReLU}(x) = \max(0, x)`, elementwise.

    Nair & Hinton (2010), *Rectified Linear Units Improve Restricted Boltzmann Machines*;
    Glorot, Bordes & Bengio (2011), *Deep Sparse Rectifier Neural Networks*.

    Args:
        inplace: accepted for torch compatibility and ignored (see the module NOTE).

    Shape:
        - Input: ``(*)``, any shape; Output: ``(*)``, same shape.

    Backward (torch takes the derivative at 0 to be 0):

    .. math::
        \frac{\partial L}{\partial x} = g \odot \mathbb{1}[x > 0].
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "ReLU")
        self.save_for_backward(x=x)
        return np.maximum(x, 0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self.saved.x
        grad_out = check_grad(grad_out, x.shape, "ReLU")
        # NOTE: a product with the mask, not np.where (10x slower here); it differs from
        # torch only where grad_out is inf or NaN at an x <= 0 (NaN here, 0 in torch).
        return grad_out * (x > 0)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    r""":math:`\mathrm{LeakyReLU}(x) = x` for :math:`x > 0`, else :math:`\alpha x`, elementwise.

    Maas, Hannun & Ng (2013), *Rectifier Nonlinearities Improve Neural Network Acoustic
    Models*, https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf

    Args:
        negative_slope: :math:`\alpha`, the slope for negative inputs.
        inplace: accepted for torch compatibility and ignored (see the module NOTE).

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward (at 0, the slope :math:`\alpha`, as torch):

    .. math::
        \frac{\partial L}{\partial x} = g \odot
        \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "LeakyReLU")
        self.save_for_backward(x=x)
        return np.where(x > 0, x, x * self.negative_slope)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self.saved.x
        grad_out = check_grad(grad_out, x.shape, "LeakyReLU")
        return np.where(x > 0, grad_out, grad_out * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace, ', ')}"


class PReLU(Module):
    r"""Leaky ReLU with a learned slope :math:`a`: :math:`x` for :math:`x > 0`, else :math:`a x`.

    He, Zhang, Ren & Sun (2015), *Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification*, https://arxiv.org/abs/1502.01852

    Args:
        num_parameters: 1 (one slope shared by every element) or the number of channels
            ``C`` (one slope per channel; the channel axis is axis 1, as in torch).
        init: the initial value of every slope.
        dtype: parameter dtype (float32 by default, as torch).

    Shape:
        - Input: ``(*)`` when ``num_parameters == 1``, else ``(N, C, *)``; Output: same shape.
        - ``weight``: ``(num_parameters,)``.

    Backward, with :math:`a_c` the slope of channel :math:`c` and the sum over every element
    that uses :math:`a_c` (all elements when ``num_parameters == 1``):

    .. math::
        \frac{\partial L}{\partial x} = g \odot
        \begin{cases} 1 & x > 0 \\ a_c & x \le 0 \end{cases}, \qquad
        \frac{\partial L}{\partial a_c} = \sum_{x \text{ in channel } c,\; x \le 0} g\,x.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=np.float32) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype=dtype))

    def _slopes(self, x: np.ndarray) -> np.ndarray:
        """``weight`` shaped to broadcast against ``x``: a scalar, or ``(C, 1, ..., 1)``."""
        w = self.weight.data.astype(x.dtype, copy=False)
        if self.num_parameters == 1:
            return w.reshape(())
        channels = x.shape[1] if x.ndim > 1 else 1
        if channels != self.num_parameters:
            raise ValueError(f"PReLU: num_parameters = {self.num_parameters} needs input of shape "
                             f"(N, {self.num_parameters}, *), got shape {x.shape}")
        return w.reshape((-1,) + (1,) * (x.ndim - 2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "PReLU")
        a = self._slopes(x)
        self.save_for_backward(x=x, a=a)
        return np.where(x > 0, x, a * x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.x.shape, "PReLU")
        grad_a = np.where(s.x > 0, 0, s.x * grad_out)
        other_axes = tuple(i for i in range(s.x.ndim) if i != 1 or self.num_parameters == 1)
        self.weight.accumulate_grad(grad_a.sum(axis=other_axes).reshape(self.num_parameters))
        return np.where(s.x > 0, grad_out, s.a * grad_out)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    r""":math:`\mathrm{ELU}(x) = x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`.

    Clevert, Unterthiner & Hochreiter (2015), *Fast and Accurate Deep Network Learning by
    Exponential Linear Units (ELUs)*, https://arxiv.org/abs/1511.07289

    Args:
        alpha: :math:`\alpha`, the value ELU tends to as :math:`x \to -\infty` is :math:`-\alpha`.
        inplace: accepted for torch compatibility and ignored (see the module NOTE).

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward (at 0, :math:`\alpha`, as torch). The exponential is evaluated at
    :math:`\min(x, 0)` only, so a large positive input cannot overflow:

    .. math::
        \frac{\partial L}{\partial x} = g \odot
        \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "ELU")
        self.save_for_backward(x=x)
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self.saved.x
        grad_out = check_grad(grad_out, x.shape, "ELU")
        return np.where(x > 0, grad_out, grad_out * self.alpha * np.exp(np.minimum(x, 0)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_repr(self.inplace, ', ')}"


class GELU(Module):
    r"""Gaussian error linear unit, :math:`\mathrm{GELU}(x) = x\,\Phi(x)`.

    Hendrycks & Gimpel (2016), *Gaussian Error Linear Units (GELUs)*,
    https://arxiv.org/abs/1606.08415

    :math:`\Phi(x) = \tfrac12\bigl(1 + \mathrm{erf}(x/\sqrt2)\bigr)` is the standard normal
    CDF and :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}` its density.
    With ``approximate='tanh'``, :math:`\Phi` is replaced by
    :math:`\tfrac12(1 + \tanh u)`, :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`.

    Args:
        approximate: ``'none'`` (exact, with ``erf``) or ``'tanh'``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward, exact (product rule on :math:`x\,\Phi(x)`, with :math:`\Phi' = \varphi`):

    .. math::
        \frac{\partial L}{\partial x} = g \odot \bigl(\Phi(x) + x\,\varphi(x)\bigr).

    Backward, tanh: with :math:`t = \tanh u` and :math:`\tanh' = 1 - \tanh^2`,

    .. math::
        \frac{\partial L}{\partial x} = g \odot \Bigl(\tfrac12 (1 + t)
        + \tfrac12 x\,(1 - t^2)\,\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)\Bigr).

    NOTE: torch checks ``approximate`` on the first forward; dlbook checks it here, earlier.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "GELU")
        if self.approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x**3))
            self.save_for_backward(x=x, t=t)
            return 0.5 * x * (1 + t)
        cdf = 0.5 * (1 + F.erf(x / math.sqrt(2.0)))
        self.save_for_backward(x=x, cdf=cdf)
        return x * cdf

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.x.shape, "GELU")
        x = s.x
        if self.approximate == "tanh":
            du_dx = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_COEF * x**2)
            return grad_out * (0.5 * (1 + s.t) + 0.5 * x * (1 - s.t**2) * du_dx)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad_out * (s.cdf + x * pdf)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    r"""Sigmoid linear unit (swish), :math:`\mathrm{SiLU}(x) = x\,\sigma(x)`.

    Elfwing, Uchibe & Doya (2017), *Sigmoid-Weighted Linear Units for Neural Network Function
    Approximation in Reinforcement Learning*, https://arxiv.org/abs/1702.03118;
    Ramachandran, Zoph & Le (2017), *Searching for Activation Functions*,
    https://arxiv.org/abs/1710.05941

    Args:
        inplace: accepted for torch compatibility and ignored (see the module NOTE).

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward, with :math:`\sigma' = \sigma(1 - \sigma)`:

    .. math::
        \frac{\partial L}{\partial x} = g \odot \sigma(x)\bigl(1 + x\,(1 - \sigma(x))\bigr).
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "SiLU")
        sig = F.sigmoid(x)
        self.save_for_backward(x=x, sig=sig)
        return x * sig

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.x.shape, "SiLU")
        return grad_out * s.sig * (1 + s.x * (1 - s.sig))

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Sigmoid(Module):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, elementwise, without overflow (see ``functional``).

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward, in terms of the output :math:`y = \sigma(x)`:

    .. math::
        \frac{\partial L}{\partial x} = g \odot y\,(1 - y).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.sigmoid(float_array(x, "Sigmoid"))
        self.save_for_backward(out=out)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self.saved.out
        return check_grad(grad_out, y.shape, "Sigmoid") * y * (1 - y)


class Tanh(Module):
    r""":math:`\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})`, elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward, in terms of the output :math:`y = \tanh(x)`:

    .. math::
        \frac{\partial L}{\partial x} = g \odot (1 - y^2).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.tanh(float_array(x, "Tanh"))
        self.save_for_backward(out=out)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self.saved.out
        return check_grad(grad_out, y.shape, "Tanh") * (1 - y * y)


class _SoftmaxBase(Module):
    """What Softmax and LogSoftmax share: ``dim`` (torch's legacy implicit choice, with
    torch's warning, when it is None) and a forward that saves the output and the axis."""

    _function = staticmethod(F.softmax)
    _name = "softmax"

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, type(self).__name__)
        dim = self.dim
        if dim is None:
            warnings.warn(f"Implicit dimension choice for {self._name} has been deprecated. "
                          "Change the call to include dim=X as an argument.", UserWarning,
                          stacklevel=3)
            dim = 0 if x.ndim in (0, 1, 3) else 1
        out = self._function(x, dim)
        self.save_for_backward(out=out, axis=dim if x.ndim else None)
        return out

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    r""":math:`y_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``, by log-sum-exp (max subtracted).

    Args:
        dim: the axis that sums to 1. ``None`` follows torch's deprecated implicit choice
            (axis 0 for 0-, 1- and 3-d inputs, else axis 1) and warns as torch does; pass it.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape, non-negative, summing to 1 along ``dim``.

    Backward. The Jacobian along ``dim`` is
    :math:`\partial y_i / \partial x_j = y_i(\delta_{ij} - y_j)`, so

    .. math::
        \frac{\partial L}{\partial x_j} = \sum_i g_i\, y_i (\delta_{ij} - y_j)
        = y_j \Bigl(g_j - \sum_i g_i y_i\Bigr),

    a vector-Jacobian product that never builds the :math:`C \times C` Jacobian.
    """

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.out.shape, "Softmax")
        return s.out * (grad_out - np.sum(grad_out * s.out, axis=s.axis, keepdims=True))


class LogSoftmax(_SoftmaxBase):
    r""":math:`y_i = x_i - \log \sum_j e^{x_j}` along ``dim``, by log-sum-exp (max subtracted).

    Args:
        dim: the axis normalised over; ``None`` behaves as in ``Softmax``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Backward. :math:`\partial y_i / \partial x_j = \delta_{ij} - \mathrm{softmax}(x)_j`
    and :math:`\mathrm{softmax}(x) = e^{y}`, so

    .. math::
        \frac{\partial L}{\partial x_j} = g_j - e^{y_j} \sum_i g_i.
    """

    _function = staticmethod(F.log_softmax)
    _name = "log_softmax"

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.out.shape, "LogSoftmax")
        return grad_out - np.exp(s.out) * np.sum(grad_out, axis=s.axis, keepdims=True)
