"""``SGD``: stochastic gradient descent with (Nesterov) momentum, as ``torch.optim.SGD``."""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.optim.optimizer import Optimizer, ParamsT, check_nonnegative


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, exactly as ``torch.optim.SGD``.

    With learning rate :math:`\gamma`, momentum :math:`\mu`, dampening :math:`\tau` and weight
    decay :math:`\lambda`, one step on a parameter :math:`\theta` with gradient
    :math:`\nabla f(\theta_{t-1})` (negated when ``maximize``) is

    .. math::
        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu\, b_{t-1} + (1 - \tau)\, g_t & t > 1 \end{cases}
              \qquad \text{(only when } \mu \neq 0\text{)} \\
        d_t &= \begin{cases} g_t + \mu\, b_t & \text{nesterov} \\ b_t & \text{momentum} \\
              g_t & \mu = 0 \end{cases} \\
        \theta_t &= \theta_{t-1} - \gamma\, d_t

    The buffer :math:`b` is Polyak's heavy ball (Polyak 1964): a running sum of past gradients
    that keeps moving along directions where they agree and cancels where they oscillate.
    ``nesterov=True`` evaluates that momentum one step ahead (Nesterov 1983), in the
    rearranged form of Sutskever et al. (2013) that needs only the gradient at
    :math:`\theta_{t-1}`.

    NOTE: like torch, the learning rate multiplies the buffer (:math:`\theta \mathrel{-}=
    \gamma b`) instead of sitting inside it (:math:`v = \mu v - \gamma g` in Sutskever et al.);
    the two agree while :math:`\gamma` is constant.

    Args:
        params: parameters, or a list of param-group dicts.
        lr: learning rate :math:`\gamma`.
        momentum: :math:`\mu` (0 turns momentum off).
        dampening: :math:`\tau`, the fraction of each new gradient left out of the buffer.
        weight_decay: :math:`\lambda`, an L2 penalty :math:`\tfrac{\lambda}{2}\|\theta\|^2`.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``momentum_buffer`` (when momentum is on).

    References:
        B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
        USSR Comput. Math. & Math. Phys. 4(5), 1964.
        Y. Nesterov, "A method for solving the convex programming problem with convergence rate
        O(1/k^2)", Soviet Math. Dokl. 27, 1983.
        I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization and
        momentum in deep learning", ICML 2013. https://proceedings.mlr.press/v28/sutskever13.html
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(group, "momentum", "momentum value")
        check_nonnegative(group, "weight_decay", "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad
