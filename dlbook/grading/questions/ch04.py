"""Chapter 4 exercises: inverted dropout given its mask, the L1 + L2 penalty, one AdamW step,
and the batch-norm forward (training mode, with running statistics) and backward passes.

Every reference here is independent of solutions/ch04_regularisation.ipynb and of
``dlbook.nn``/``dlbook.optim``: torch autograd for the dropout and penalty gradients,
``torch.optim.AdamW`` for the optimiser step, ``torch.nn.functional.batch_norm`` (with
autograd) for batch normalisation.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# -- ch04.dropout ------------------------------------------------------------------------------


def _dropout_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((4, 5), 0.5, np.float64), ((1, 7), 0.2, np.float64),
                        ((3, 2, 4), 0.0, np.float64), ((6, 3), 0.75, np.float32)],
             "hidden": [((2, 9), 0.1, np.float64), ((5, 1, 3), 0.6, np.float32)]}
    rng = np.random.default_rng(41) if rng is None else rng
    cases = []
    for shape, p, dtype in specs.get(suite, []):
        cases.append(Case({"x": rng.normal(size=shape).astype(dtype),
                           "keep": rng.random(shape) >= p, "p": p,
                           "grad_out": rng.normal(size=shape).astype(dtype)}))
    return cases


def _dropout_reference(x: np.ndarray, keep: np.ndarray, p: float,
                       grad_out: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    out = torch.where(torch.tensor(keep), xt / (1 - p), torch.zeros_like(xt))
    out.backward(torch.tensor(grad_out))
    return {"out": out.detach().numpy(), "grad_x": xt.grad.numpy()}


register(Question(
    id="ch04.dropout",
    points=2,
    description="Inverted dropout in training mode, forward and backward, given the keep-mask.",
    signature="dropout_forward_backward(x, keep, p, grad_out) -> (out, grad_x)",
    outputs=("out", "grad_x"),
    **split_suites(_dropout_cases),
    reference=_dropout_reference,
    needs=("torch",),
))

# -- ch04.penalty ------------------------------------------------------------------------------


def _penalty_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((3, 4), 0.01, 0.1), ((5,), 0.0, 0.5), ((2, 3), 0.2, 0.0)],
             "hidden": [((4, 4), 0.05, 0.3), ((1,), 1.0, 1.0)]}
    rng = np.random.default_rng(42) if rng is None else rng
    cases = []
    for shape, l1, l2 in specs.get(suite, []):
        w = rng.normal(size=shape)
        w.flat[0] = 0.0  # the subgradient of |w| at 0 is taken as 0, as torch does
        cases.append(Case({"w": w, "l1": l1, "l2": l2}))
    return cases


def _penalty_reference(w: np.ndarray, l1: float, l2: float) -> dict[str, Any]:
    import torch

    wt = torch.tensor(w, requires_grad=True)
    value = l1 * wt.abs().sum() + 0.5 * l2 * (wt * wt).sum()
    value.backward()
    return {"value": np.float64(value.item()), "grad": wt.grad.numpy()}


register(Question(
    id="ch04.penalty",
    points=2,
    description="The value and gradient of l1 * sum|w| + (l2 / 2) * sum w^2.",
    signature="penalty(w, l1, l2) -> (value, grad)",
    outputs=("value", "grad"),
    **split_suites(_penalty_cases),
    reference=_penalty_reference,
    needs=("torch",),
))

# -- ch04.adamw_step ---------------------------------------------------------------------------


def _adamw_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((3,), 1, 1e-3, 1e-2), ((2, 3), 5, 1e-2, 0.1), ((4,), 100, 1e-3, 0.0)],
             "hidden": [((3, 2), 2, 3e-3, 0.05), ((1,), 1000, 1e-1, 1e-3)]}
    rng = np.random.default_rng(43) if rng is None else rng
    cases = []
    for shape, step, lr, wd in specs.get(suite, []):
        first = step == 1  # no history before the first step
        cases.append(Case({
            "param": rng.normal(size=shape), "grad": rng.normal(size=shape),
            "exp_avg": np.zeros(shape) if first else 0.1 * rng.normal(size=shape),
            "exp_avg_sq": np.zeros(shape) if first else 0.1 * rng.random(shape),
            "step": step, "lr": lr, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": wd}))
    return cases


def _adamw_reference(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
                     exp_avg_sq: np.ndarray, step: int, lr: float, betas: tuple[float, float],
                     eps: float, weight_decay: float) -> dict[str, np.ndarray]:
    import torch

    p = torch.tensor(param, requires_grad=True)
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                            foreach=False)
    if step > 1:  # the state after step - 1 updates
        opt.state[p] = {"step": torch.tensor(float(step - 1)),
                        "exp_avg": torch.tensor(exp_avg), "exp_avg_sq": torch.tensor(exp_avg_sq)}
    p.grad = torch.tensor(grad)
    opt.step()
    state = opt.state[p]
    return {"param": p.detach().numpy(), "exp_avg": state["exp_avg"].numpy(),
            "exp_avg_sq": state["exp_avg_sq"].numpy()}


register(Question(
    id="ch04.adamw_step",
    points=3,
    description="Step number `step` of AdamW (decoupled weight decay), as torch.optim.AdamW.",
    signature=("adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, "
               "weight_decay) -> (param, exp_avg, exp_avg_sq)"),
    outputs=("param", "exp_avg", "exp_avg_sq"),
    **split_suites(_adamw_cases),
    reference=_adamw_reference,
    needs=("torch",),
))

# -- ch04.batchnorm_forward --------------------------------------------------------------------


def _bn_arrays(rng: np.random.Generator, n: int, c: int, dtype: type) -> dict[str, np.ndarray]:
    return {"x": (rng.normal(size=(n, c)) * rng.uniform(0.5, 3, size=c)
                  + rng.normal(size=c)).astype(dtype),
            "gamma": rng.uniform(0.5, 2, size=c).astype(dtype),
            "beta": rng.normal(size=c).astype(dtype)}


def _bn_forward_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(8, 3, 0.1, np.float64), (2, 5, 0.5, np.float64), (16, 1, 0.1, np.float64),
                        (10, 4, 0.1, np.float32)],
             "hidden": [(3, 7, 0.2, np.float64), (32, 2, 0.01, np.float32)]}
    rng = np.random.default_rng(44) if rng is None else rng
    cases = []
    for n, c, momentum, dtype in specs.get(suite, []):
        args = _bn_arrays(rng, n, c, dtype)
        args.update(running_mean=rng.normal(size=c).astype(dtype),
                    running_var=rng.uniform(0.5, 2, size=c).astype(dtype),
                    momentum=momentum, eps=1e-5)
        cases.append(Case(args))
    return cases


def _bn_forward_reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                          running_mean: np.ndarray, running_var: np.ndarray, momentum: float,
                          eps: float) -> dict[str, np.ndarray]:
    import torch

    rm, rv = torch.tensor(running_mean), torch.tensor(running_var)  # updated in place
    out = torch.nn.functional.batch_norm(torch.tensor(x), rm, rv, torch.tensor(gamma),
                                         torch.tensor(beta), training=True, momentum=momentum,
                                         eps=eps)
    return {"out": out.numpy(), "running_mean": rm.numpy(), "running_var": rv.numpy()}


register(Question(
    id="ch04.batchnorm_forward",
    points=3,
    description="Batch norm of an (N, C) batch in training mode, with the running-stats update.",
    signature=("batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps) "
               "-> (out, running_mean, running_var)"),
    outputs=("out", "running_mean", "running_var"),
    **split_suites(_bn_forward_cases),
    reference=_bn_forward_reference,
    needs=("torch",),
))

# -- ch04.batchnorm_backward -------------------------------------------------------------------


def _bn_backward_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(8, 3, np.float64), (2, 4, np.float64), (5, 1, np.float64),
                        (12, 6, np.float32)],
             "hidden": [(3, 5, np.float64), (20, 2, np.float64)]}
    rng = np.random.default_rng(45) if rng is None else rng
    cases = []
    for n, c, dtype in specs.get(suite, []):
        args = _bn_arrays(rng, n, c, dtype)
        cases.append(Case({"grad_out": rng.normal(size=(n, c)).astype(dtype), "x": args["x"],
                           "gamma": args["gamma"], "eps": 1e-5}))
    return cases


def _bn_backward_reference(grad_out: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                           eps: float) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros_like(gt, requires_grad=True)
    out = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    out.backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_gamma": gt.grad.numpy(),
            "grad_beta": bt.grad.numpy()}


register(Question(
    id="ch04.batchnorm_backward",
    points=4,
    description="Backward of training-mode batch norm of an (N, C) batch: dx, dgamma, dbeta.",
    signature="batchnorm_backward(grad_out, x, gamma, eps) -> (grad_x, grad_gamma, grad_beta)",
    outputs=("grad_x", "grad_gamma", "grad_beta"),
    **split_suites(_bn_backward_cases),
    reference=_bn_backward_reference,
    needs=("torch",),
))
