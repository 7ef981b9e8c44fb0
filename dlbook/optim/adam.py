"""``Adam`` and ``AdamW``: adaptive moment estimation, as ``torch.optim.Adam`` / ``AdamW``."""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.optim.optimizer import Optimizer, ParamsT, check_nonnegative


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), with AMSGrad (Reddi et al. 2018), exactly as ``torch.optim.Adam``.

    With learning rate :math:`\gamma`, decay rates :math:`\beta_1, \beta_2`, weight decay
    :math:`\lambda` and gradient :math:`g_t` (negated when ``maximize``), step :math:`t` is

    .. math::
        g_t &\leftarrow g_t + \lambda\,\theta_{t-1}
            \qquad\text{(or } \theta_{t-1} \leftarrow (1 - \gamma\lambda)\,\theta_{t-1}
            \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \qquad m_0 = v_0 = 0 \\
        \hat m_t &= \frac{m_t}{1 - \beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1 - \beta_2^t}
            \qquad\text{(AMSGrad: } v_t^{\max} = \max(v_{t-1}^{\max}, v_t)
            \text{ in place of } v_t\text{)} \\
        \theta_t &= \theta_{t-1} - \gamma\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Bias correction, derived: unrolling the recursion from :math:`m_0 = 0` gives
    :math:`m_t = (1 - \beta_1) \sum_{i=1}^{t} \beta_1^{t-i} g_i`. If the gradients are drawn from a
    stationary distribution, :math:`\mathbb{E}[m_t] = \mathbb{E}[g]\,(1 - \beta_1)
    \sum_{i=0}^{t-1} \beta_1^{i} = \mathbb{E}[g]\,(1 - \beta_1^t)`: the average starts biased
    towards its zero initialisation, and dividing by :math:`1 - \beta_1^t` removes that bias
    (likewise :math:`v_t` and :math:`\mathbb{E}[g^2]`). Without it the first steps would be
    far too small for :math:`m` and far too large for :math:`1/\sqrt{v}` with
    :math:`\beta_2` near 1.

    Args:
        params: parameters, or a list of param-group dicts.
        lr: learning rate :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, the decay rates of the two moment estimates.
        eps: :math:`\epsilon`, added to the denominator for numerical stability.
        weight_decay: :math:`\lambda` (an L2 penalty added to the gradient, unless decoupled).
        amsgrad: use the running maximum of :math:`v_t` (Reddi et al. 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: shrink the weights directly, as AdamW does.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`) and, with
    AMSGrad, ``max_exp_avg_sq``.

    References:
        D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
        https://arxiv.org/abs/1412.6980
        S. J. Reddi, S. Kale, S. Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
        https://openreview.net/forum?id=ryQu7f-RZ
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(group, "eps", "epsilon value")
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_nonnegative(group, "weight_decay", "weight_decay value")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            param *= 1 - lr * weight_decay
        elif weight_decay != 0:
            grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # = beta1 m + (1 - beta1) g, as torch's lerp
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(exp_avg_sq) / (1 - beta2**step) ** 0.5 + group["eps"]
        param -= step_size * (exp_avg / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``.

    Adam's L2 penalty is divided by :math:`\sqrt{\hat v_t}` like the rest of the gradient, so
    weights with large gradients are barely regularised. AdamW instead shrinks every weight by
    the same factor before the Adam step:

    .. math::
        \theta_{t-1} \leftarrow (1 - \gamma\lambda)\,\theta_{t-1}, \qquad
        \theta_t = \theta_{t-1} - \gamma\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`\hat m_t, \hat v_t` exactly as in :class:`Adam` (computed from the gradient
    without the penalty). The arguments are Adam's; ``weight_decay`` defaults to ``1e-2``.

    References:
        I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
        https://arxiv.org/abs/1711.05101
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
