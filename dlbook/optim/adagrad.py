"""``Adagrad``: per-weight steps that shrink with the sum of squared gradients (torch's twin)."""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.optim.optimizer import Optimizer, ParamsT, check_nonnegative


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011), exactly as ``torch.optim.Adagrad``.

    With learning rate :math:`\gamma`, learning-rate decay :math:`\eta`, weight decay
    :math:`\lambda`, initial accumulator :math:`s_0` and gradient :math:`g_t` (negated when
    ``maximize``):

    .. math::
        \tilde\gamma_t &= \frac{\gamma}{1 + (t - 1)\,\eta} \\
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \tilde\gamma_t\, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Weights whose gradients have been large get small steps and rarely-updated weights keep
    large ones (useful for sparse features); since :math:`s_t` only grows, every step size
    decays towards zero, the weakness that RMSprop and Adam fix with a moving average.

    Args:
        params: parameters, or a list of param-group dicts.
        lr: learning rate :math:`\gamma`.
        lr_decay: :math:`\eta`.
        weight_decay: :math:`\lambda`, an L2 penalty added to the gradient.
        initial_accumulator_value: :math:`s_0`, the starting value of every accumulator.
        eps: :math:`\epsilon`, added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending it.

    State per parameter (created with its group, as torch does): ``step`` and ``sum``
    (:math:`s`).

    References:
        J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for Online Learning and
        Stochastic Optimization", JMLR 12, 2011. https://jmlr.org/papers/v12/duchi11a.html
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group and create its parameters' accumulators at once (as torch does)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = {"step": 0,
                             "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(group, "lr_decay", "lr_decay value")
        check_nonnegative(group, "weight_decay", "weight_decay value")
        check_nonnegative(group, "initial_accumulator_value", "initial_accumulator_value value")
        check_nonnegative(group, "eps", "epsilon value")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param -= clr * (grad / (np.sqrt(state["sum"]) + group["eps"]))
