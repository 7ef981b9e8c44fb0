"""``RMSprop``: divide the gradient by a running RMS of its recent values (torch's twin)."""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.optim.optimizer import Optimizer, ParamsT, check_nonnegative


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, lecture 6e), optionally centered (Graves 2013), as ``torch.optim.RMSprop``.

    With learning rate :math:`\gamma`, smoothing constant :math:`\alpha`, momentum :math:`\mu`,
    weight decay :math:`\lambda` and gradient :math:`g_t` (negated when ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        v_t &= \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \qquad v_0 = 0 \\
        \tilde v_t &= v_t - \bar g_t^2, \quad
            \bar g_t = \alpha\, \bar g_{t-1} + (1 - \alpha)\, g_t
            \qquad\text{(centered; else } \tilde v_t = v_t\text{)} \\
        b_t &= \mu\, b_{t-1} + \frac{g_t}{\sqrt{\tilde v_t} + \epsilon}, \qquad b_0 = 0 \\
        \theta_t &= \theta_{t-1} - \gamma\, b_t
            \qquad\text{(} \mu = 0\text{: } \theta_t = \theta_{t-1} -
            \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon)\text{)}

    Each weight gets its own step size: dividing by the root mean square of its recent
    gradients makes the step roughly :math:`\gamma` whatever the gradient's scale, the
    mini-batch version of Rprop. Centering divides by an estimate of the gradient's standard
    deviation instead of its RMS.

    NOTE: as in torch, :math:`\epsilon` is added outside the square root (TensorFlow adds it
    inside) and there is no bias correction, unlike Adam.

    Args:
        params: parameters, or a list of param-group dicts.
        lr: learning rate :math:`\gamma`.
        alpha: smoothing constant :math:`\alpha` of the running average of :math:`g^2`.
        eps: :math:`\epsilon`, added to the denominator for numerical stability.
        weight_decay: :math:`\lambda`, an L2 penalty added to the gradient.
        momentum: :math:`\mu` (0 turns momentum off).
        centered: normalise by the estimated variance of the gradient instead of its RMS.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (when
    :math:`\mu > 0`), ``grad_avg`` (:math:`\bar g`, when centered).

    References:
        G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine Learning", lecture 6e,
        2012. https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf
        A. Graves, "Generating Sequences With Recurrent Neural Networks", 2013, eqs. 38-41.
        https://arxiv.org/abs/1308.0850
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(group, "eps", "epsilon value")
        check_nonnegative(group, "momentum", "momentum value")
        check_nonnegative(group, "weight_decay", "weight_decay value")
        check_nonnegative(group, "alpha", "alpha value")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, square_avg=np.zeros_like(param))
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        alpha = group["alpha"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)  # = alpha g_bar + (1 - alpha) g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)
