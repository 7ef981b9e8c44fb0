r"""L1 and L2 weight penalties, each a value *and* the gradient it adds to every parameter.

A penalty :math:`R(\theta)` is added to the data loss, :math:`L + R`, so its gradient adds to
each parameter's gradient. The functions return a :class:`Penalty` holding the value (to add
to the loss you print) and the per-parameter gradients; ``penalty.backward()`` adds them into
``.grad``, the way ``criterion.backward()`` starts the data loss's backward pass::

    loss = criterion(model(x), y)
    model.backward(criterion.backward())
    penalty = l2_penalty(model.parameters(), weight_decay=1e-4)
    penalty.backward()                       # .grad += weight_decay * theta
    total = loss + penalty.value
    optimizer.step()

- :func:`l2_penalty`: :math:`R = \frac{\lambda}{2}\sum_j \theta_j^2`, gradient
  :math:`\lambda\theta` (ridge / Tikhonov; Krogh & Hertz 1992). The factor :math:`\frac12`
  makes :math:`\lambda` exactly the ``weight_decay`` of ``torch.optim.SGD`` and
  ``torch.optim.Adam``, which add :math:`\lambda\theta` to the gradient.
- :func:`l1_penalty`: :math:`R = \lambda\sum_j |\theta_j|`, (sub)gradient
  :math:`\lambda\,\mathrm{sign}(\theta)`, 0 at 0 as torch's ``abs`` (lasso; Tibshirani 1996).
  It pushes weights to exactly zero: sparse models.

**Weight decay is not always an L2 penalty.** With plain SGD, the step
:math:`\theta \leftarrow \theta - \eta(\nabla L + \lambda\theta)
= (1 - \eta\lambda)\theta - \eta\nabla L` shrinks the weights ("decays" them) by a constant
factor: L2 penalty and weight decay are the same thing. With an adaptive optimizer they are
not: Adam divides the *whole* gradient, penalty included, by :math:`\sqrt{\hat v}`, so a weight
with large gradients is barely decayed and one with tiny gradients is decayed a lot.
AdamW (Loshchilov & Hutter 2019) decouples the two: it shrinks every weight by the same
:math:`(1 - \eta\lambda)` outside the adaptive step, which regularises as intended and
generalises better. So ``l2_penalty`` + ``Adam`` equals ``Adam(weight_decay=...)``, and
neither equals ``AdamW`` (the tests check all three against torch).

References:
    A. Krogh, J. A. Hertz, "A Simple Weight Decay Can Improve Generalization", NIPS 1992.
    R. Tibshirani, "Regression Shrinkage and Selection via the Lasso", JRSS B 58, 1996.
    I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    https://arxiv.org/abs/1711.05101
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dlbook.nn.parameter import Parameter


@dataclass(frozen=True)
class Penalty:
    """A penalty's ``value`` and its gradient ``grads[i]`` for each of its ``params[i]``."""

    value: float
    params: tuple[Parameter, ...]
    grads: tuple[np.ndarray, ...]

    def backward(self) -> None:
        """Add each gradient into its parameter's ``.grad`` (as any backward pass does)."""
        for p, g in zip(self.params, self.grads, strict=True):
            p.accumulate_grad(g)


def _params(parameters: Iterable[Parameter] | Parameter, who: str) -> tuple[Parameter, ...]:
    params = (parameters,) if isinstance(parameters, Parameter) else tuple(parameters)
    for p in params:
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: expected dlbook Parameters, got {type(p).__name__}")
    return params


def _check_strength(value: float, name: str, who: str) -> None:
    if value < 0:
        raise ValueError(f"{who}: {name} must be >= 0, got {value}")


def l2_penalty(parameters: Iterable[Parameter] | Parameter, weight_decay: float) -> Penalty:
    r""":math:`\frac{\lambda}{2}\sum\theta^2` with gradient :math:`\lambda\theta`, for
    :math:`\lambda` = ``weight_decay`` (the same number as torch's ``SGD(weight_decay=...)``)."""
    _check_strength(weight_decay, "weight_decay", "l2_penalty")
    params = _params(parameters, "l2_penalty")
    value = 0.5 * weight_decay * sum(float(np.sum(p.data * p.data)) for p in params)
    return Penalty(value, params, tuple(weight_decay * p.data for p in params))


def l1_penalty(parameters: Iterable[Parameter] | Parameter, strength: float) -> Penalty:
    r""":math:`\lambda\sum|\theta|` with (sub)gradient :math:`\lambda\,\mathrm{sign}(\theta)`,
    for :math:`\lambda` = ``strength``."""
    _check_strength(strength, "strength", "l1_penalty")
    params = _params(parameters, "l1_penalty")
    value = strength * sum(float(np.sum(np.abs(p.data))) for p in params)
    return Penalty(value, params, tuple(strength * np.sign(p.data) for p in params))
