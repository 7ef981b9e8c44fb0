"""Chapter 4 exercises: inverted dropout given its mask, the L1 + L2 penalty, one AdamW step,
the batch-norm forward pass (training mode, with running statistics), a prediction about
Adam with an L2 penalty, a BatchNorm2d backward to debug and a layer-norm backward to derive.
Each question's requirements name the common mistakes (a catalogue, tested by planting each
one in tests/grading/test_catalogue_ch04_06.py).

Every reference here is independent of solutions/ch04_regularisation.ipynb and of
``dlbook.nn``/``dlbook.optim``: torch autograd for the dropout and penalty gradients,
``torch.optim.AdamW`` for the optimiser step, ``torch.nn.functional.batch_norm`` (with
autograd) for batch normalisation.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.questions.catalogue import dtype_kept as _dtype_kept
from dlbook.grading.registry import Case, Question, register, split_suites

# -- the catalogue of common mistakes (issue 18) ------------------------------------------------
# Each question's requirement recomputes the answer with one named mistake (a mutant) in NumPy
# and, when the student's outputs equal a mutant's and not the right answer, names the mistake.
# Entries are checked in the order the quantities are computed, so the first message points at
# the first wrong quantity. tests/grading/test_catalogue_ch04_06.py plants each mistake.


DROPOUT_NO_SCALE = ("out is x where kept and 0 elsewhere, without the 1/(1 - p) scale: inverted "
                    "dropout divides the kept entries by 1 - p, so E[out] = x")
DROPOUT_TIMES = ("the kept entries are multiplied by 1 - p: that is the original paper's "
                 "test-time scaling; inverted dropout divides by 1 - p during training")
DROPOUT_INVERTED = ("the mask is inverted: keep is True where an entry is KEPT (multiplied by "
                    "1/(1 - p)) and False where it is dropped")
DROPOUT_GRAD_NO_MASK = ("grad_x ignores the mask: the backward uses the forward's mask, so the "
                        "dropped entries get gradient 0")
DROPOUT_DTYPE = ("a float64 scale (np.where(keep, 1 / (1 - p), 0) is float64) promotes the "
                 "product; make the scale in x.dtype (.astype(x.dtype))")


def _dropout_right(x, keep, p, grad_out):
    return {"out": x * keep / (1 - p), "grad_x": grad_out * keep / (1 - p)}


_dropout_catalogue = _catalogue(_dropout_right, [
    (DROPOUT_INVERTED, lambda x, keep, p, grad_out: {"out": x * ~keep / (1 - p)}),
    (DROPOUT_NO_SCALE, lambda x, keep, p, grad_out: {"out": x * keep}),
    (DROPOUT_TIMES, lambda x, keep, p, grad_out: {"out": x * keep * (1 - p)}),
    (DROPOUT_GRAD_NO_MASK, lambda x, keep, p, grad_out: {"grad_x": grad_out / (1 - p)}),
])

PENALTY_HALF = ("value uses l2 * sum w^2: the L2 term is (l2 / 2) * sum w^2, whose gradient is "
                "l2 * w")
PENALTY_GRAD_TWICE = ("the L2 part of grad is 2 * l2 * w, the gradient of l2 * sum w^2; for "
                      "(l2 / 2) * sum w^2 it is l2 * w")
PENALTY_SIGN_AT_ZERO = ("at w = 0 the L1 subgradient must be 0 (np.sign(0) is 0), not +1 or -1")


def _penalty_right(w, l1, l2):
    return {"value": l1 * np.abs(w).sum() + 0.5 * l2 * (w * w).sum(),
            "grad": l1 * np.sign(w) + l2 * w}


_penalty_catalogue = _catalogue(_penalty_right, [
    (PENALTY_HALF, lambda w, l1, l2: {"value": l1 * np.abs(w).sum() + l2 * (w * w).sum()}),
    (PENALTY_GRAD_TWICE, lambda w, l1, l2: {"grad": l1 * np.sign(w) + 2 * l2 * w}),
    (PENALTY_SIGN_AT_ZERO, lambda w, l1, l2: {"grad": l1 * np.where(w >= 0, 1.0, -1.0) + l2 * w}),
    (PENALTY_SIGN_AT_ZERO, lambda w, l1, l2: {"grad": l1 * np.where(w > 0, 1.0, -1.0) + l2 * w}),
])

ADAMW_EPS_INSIDE = ("eps is inside the square root: AdamW divides by sqrt(v_hat) + eps; "
                    "sqrt(v_hat + eps) differs wherever v_hat is small")
ADAMW_DECAY_AFTER = ("the decay is applied after the Adam step: AdamW first shrinks theta by "
                     "(1 - lr * weight_decay), then takes the step")
ADAMW_L2 = ("that is Adam with an L2 penalty (weight_decay * theta added to the gradient): "
            "AdamW decays theta directly and the moments see the data gradient alone")
ADAMW_NO_BIAS_CORRECTION = ("the moments are not bias-corrected: divide m_t by 1 - beta1^t and "
                            "v_t by 1 - beta2^t before the step")
ADAMW_DECAY_NO_LR = ("the decay factor is 1 - weight_decay; AdamW's is 1 - lr * weight_decay")
ADAMW_V_NOT_SQUARED = ("exp_avg_sq must average the squared gradient: beta2 * v + (1 - beta2) * "
                       "grad**2")


def _adamw(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay,
           mistake=""):
    b1, b2 = betas
    g = grad + weight_decay * param if mistake == "l2" else grad
    m = b1 * exp_avg + (1 - b1) * g
    v = b2 * exp_avg_sq + (1 - b2) * (np.abs(g) if mistake == "v" else g * g)
    m_hat, v_hat = (m, v) if mistake == "bias" else (m / (1 - b1**step), v / (1 - b2**step))
    denom = np.sqrt(v_hat + eps) if mistake == "eps" else np.sqrt(v_hat) + eps
    decay = {"l2": 1.0, "lr": 1 - weight_decay}.get(mistake, 1 - lr * weight_decay)
    if mistake == "after":
        theta = (param - lr * m_hat / denom) * decay
    else:
        theta = param * decay - lr * m_hat / denom
    return {"param": theta, "exp_avg": m, "exp_avg_sq": v}


def _adamw_mutant(mistake: str, names: tuple[str, ...]) -> Callable:
    return lambda **a: {k: v for k, v in _adamw(**a, mistake=mistake).items() if k in names}


_adamw_catalogue = _catalogue(lambda **a: _adamw(**a), [
    (ADAMW_L2, _adamw_mutant("l2", ("exp_avg", "param"))),
    (ADAMW_V_NOT_SQUARED, _adamw_mutant("v", ("exp_avg_sq",))),
    (ADAMW_NO_BIAS_CORRECTION, _adamw_mutant("bias", ("param",))),
    (ADAMW_EPS_INSIDE, _adamw_mutant("eps", ("param",))),
    (ADAMW_DECAY_NO_LR, _adamw_mutant("lr", ("param",))),
    (ADAMW_DECAY_AFTER, _adamw_mutant("after", ("param",))),
])

BN_UNBIASED_OUT = ("out is normalised with the unbiased variance (ddof=1): batch norm's batch "
                   "statistics use the biased one, the mean of squared deviations")
BN_RUNNING_BIASED = ("running_var is updated with the biased variance: torch's running "
                     "variance takes the unbiased N/(N-1) * var")
BN_MOMENTUM_SWAPPED = ("momentum is the weight of the NEW batch statistic: running = "
                       "(1 - momentum) * running + momentum * batch")
BN_EPS_OUTSIDE = ("eps is outside the square root: batch norm divides by sqrt(var + eps); a "
                  "column of nearly equal values shows the difference")
BN_DTYPE = ("something float64 promoted the result (a float64 constant array, or np.float64 "
            "statistics); cast the outputs with .astype(x.dtype)")


def _bn(x, gamma, beta, running_mean, running_var, momentum, eps, mistake=""):
    n = x.shape[0]
    mean, var = x.mean(axis=0), x.var(axis=0)
    norm_var = x.var(axis=0, ddof=1) if mistake == "unbiased" else var
    denom = np.sqrt(norm_var) + eps if mistake == "eps" else np.sqrt(norm_var + eps)
    m = 1 - momentum if mistake == "momentum" else momentum
    run_var = var if mistake == "running" else var * n / max(n - 1, 1)
    return {"out": gamma * (x - mean) / denom + beta,
            "running_mean": (1 - m) * running_mean + m * mean,
            "running_var": (1 - m) * running_var + m * run_var}


def _bn_mutant(mistake: str, names: tuple[str, ...]) -> Callable:
    return lambda **a: {k: v for k, v in _bn(**a, mistake=mistake).items() if k in names}


def _bn_eps_mutant(**a: Any) -> dict[str, np.ndarray]:
    """eps outside the square root, named only where a column's variance is near eps: elsewhere
    the two differ by about eps / sqrt(var), at float32's tolerance, and a right float32 answer
    could land nearer the mutant (a hidden float32 case did)."""
    if a["x"].var(axis=0).min() > 100 * a["eps"]:
        return {"out": _bn(**a)["out"]}  # the right answer: names no mistake
    return _bn_mutant("eps", ("out",))(**a)


_bn_forward_dtype = _dtype_kept("out", "running_mean", "running_var", hint=BN_DTYPE)
_bn_forward_catalogue = _catalogue(lambda **a: _bn(**a), [
    (BN_UNBIASED_OUT, _bn_mutant("unbiased", ("out",))),
    (BN_EPS_OUTSIDE, _bn_eps_mutant),
    (BN_MOMENTUM_SWAPPED, _bn_mutant("momentum", ("running_mean",))),
    (BN_RUNNING_BIASED, _bn_mutant("running", ("running_var",))),
])

LN_BATCH_AXIS = ("those are batch norm's gradients (statistics over the batch, axis 0): layer "
                 "norm's mean and variance are per example, over the last axis")
LN_NO_MEAN_TERM = ("grad_x lacks the mean path: subtract the mean over the features of "
                   "gamma * grad_out (the -sum_k term of (4.8))")
LN_NO_VAR_TERM = ("grad_x lacks the variance path: remove the component along x_hat (the "
                  "-x_hat * sum_k term of (4.8))")
def _norm_backward(grad_out, x, gamma, eps, axis, mistake=""):
    d = x.shape[axis]
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
    s = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * s
    gh = gamma * grad_out
    mean_term = 0 if mistake == "mean" else gh.sum(axis=axis, keepdims=True)
    var_term = 0 if mistake == "var" else x_hat * (gh * x_hat).sum(axis=axis, keepdims=True)
    grad_x = s / d * (d * gh - mean_term - var_term)
    return {"grad_x": grad_x, "grad_gamma": (grad_out * x_hat).sum(axis=0),
            "grad_beta": grad_out.sum(axis=0)}


def _ln_mutant(axis: int, mistake: str = "") -> Callable:
    return lambda **a: {"grad_x": _norm_backward(**a, axis=axis, mistake=mistake)["grad_x"]}


_ln_backward_catalogue = _catalogue(lambda **a: _norm_backward(**a, axis=-1), [
    (LN_BATCH_AXIS, _ln_mutant(0)),
    (LN_NO_MEAN_TERM, _ln_mutant(-1, "mean")),
    (LN_NO_VAR_TERM, _ln_mutant(-1, "var")),
])

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
    requirements=(_dtype_kept("out", "grad_x", hint=DROPOUT_DTYPE), _dropout_catalogue),
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
    requirements=(_penalty_catalogue,),
))

# -- ch04.adamw_step ---------------------------------------------------------------------------


def _adamw_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # scale 1e-5: gradients and v_hat so small that eps's place (inside or outside the square
    # root) changes the step; lr * weight_decay = 0.05: decaying before or after the step differs
    specs = {"public": [((3,), 1, 1e-3, 1e-2, 1.0), ((2, 3), 5, 1e-2, 0.1, 1.0),
                        ((4,), 100, 1e-3, 0.0, 1.0), ((3,), 10, 1e-3, 1e-2, 1e-5),
                        ((2,), 3, 0.1, 0.5, 1.0)],
             "hidden": [((3, 2), 2, 3e-3, 0.05, 1.0), ((1,), 1000, 1e-1, 1e-3, 1.0),
                        ((2, 2), 7, 1e-3, 1e-2, 1e-5), ((3,), 4, 0.2, 0.3, 1.0)]}
    rng = np.random.default_rng(43) if rng is None else rng
    cases = []
    for shape, step, lr, wd, scale in specs.get(suite, []):
        first = step == 1  # no history before the first step
        cases.append(Case({
            "param": rng.normal(size=shape), "grad": scale * rng.normal(size=shape),
            "exp_avg": np.zeros(shape) if first else 0.1 * scale * rng.normal(size=shape),
            "exp_avg_sq": np.zeros(shape) if first else 0.1 * scale**2 * rng.random(shape),
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
    requirements=(_adamw_catalogue,),
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
        if n > 2 and c > 2 and dtype == np.float64:  # a nearly constant column: var << eps,
            # where eps's place (inside the square root or not) shows
            args["x"][:, -1] = (1 + 1e-4 * rng.normal(size=n)).astype(dtype)
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
    requirements=(_bn_forward_dtype, _bn_forward_catalogue),
))

# -- ch04.layernorm_backward -------------------------------------------------------------------


def _ln_public() -> list[Case]:
    rng = np.random.default_rng(46)
    return [_ln_case(rng, n, d, dtype) for n, d, dtype in
            [(4, 6, np.float64), (1, 5, np.float64), (3, 2, np.float64), (8, 16, np.float32)]]


def _ln_hidden(rng: np.random.Generator) -> list[Case]:
    return [_ln_case(rng, int(rng.integers(1, 7)), int(rng.integers(2, 12)), dtype)
            for dtype in (np.float64, np.float64, np.float32)]


def _ln_case(rng: np.random.Generator, n: int, d: int, dtype: type) -> Case:
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=(n, 1)) + rng.normal(size=(n, 1))
    return Case({"grad_out": rng.normal(size=(n, d)).astype(dtype), "x": x.astype(dtype),
                 "gamma": rng.uniform(0.5, 2, size=d).astype(dtype), "eps": 1e-5})


def _ln_reference(grad_out: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                  eps: float) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros_like(gt, requires_grad=True)
    torch.nn.functional.layer_norm(xt, gamma.shape, gt, bt, eps).backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_gamma": gt.grad.numpy(),
            "grad_beta": bt.grad.numpy()}


register(Question(
    id="ch04.layernorm_backward",
    points=4,
    description="Backward of layer norm over the last axis of an (N, D) batch: dx, dgamma, "
                "dbeta.",
    signature="layernorm_backward(grad_out, x, gamma, eps) -> (grad_x, grad_gamma, grad_beta)",
    outputs=("grad_x", "grad_gamma", "grad_beta"),
    public=_ln_public,
    hidden=_ln_hidden,
    reference=_ln_reference,
    requirements=(_ln_backward_catalogue,),
    needs=("torch",),
))

# -- ch04.batchnorm2d_backward (find the bug) ---------------------------------------------------

BN2D_BATCH_ONLY = ("the statistics run over the batch axis only: BatchNorm2d's mean and variance "
                   "are per channel, over N, H and W (axes 0, 2, 3)")
BN2D_COUNT = ("the count is wrong: each channel's statistics average N * H * W values, so the "
              "1/N of (4.8) becomes 1/(N H W)")


def _bn2d_backward(grad_out, x, gamma, eps, axes=(0, 2, 3)):
    m = int(np.prod([x.shape[a] for a in axes]))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    s = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * s
    gh = gamma[None, :, None, None] * grad_out
    grad_x = s / m * (m * gh - gh.sum(axis=axes, keepdims=True)
                      - x_hat * (gh * x_hat).sum(axis=axes, keepdims=True))
    return {"grad_x": grad_x, "grad_gamma": (grad_out * x_hat).sum(axis=(0, 2, 3)),
            "grad_beta": grad_out.sum(axis=(0, 2, 3))}


def _bn2d_count_mutant(grad_out, x, gamma, eps):
    axes, n = (0, 2, 3), x.shape[0]
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    s = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * s
    gh = gamma[None, :, None, None] * grad_out
    return {"grad_x": s / n * (n * gh - gh.sum(axis=axes, keepdims=True)
                               - x_hat * (gh * x_hat).sum(axis=axes, keepdims=True))}


_bn2d_catalogue = _catalogue(lambda **a: _bn2d_backward(**a), [
    (BN2D_BATCH_ONLY, lambda **a: {"grad_x": _bn2d_backward(**a, axes=(0,))["grad_x"]}),
    (BN2D_COUNT, _bn2d_count_mutant),
])


def _bn2d_case(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> Case:
    n, c, h, w = shape
    x = rng.normal(size=shape) * rng.uniform(0.5, 3, size=(1, c, 1, 1)) + rng.normal(
        size=(1, c, 1, 1))
    return Case({"grad_out": rng.normal(size=shape).astype(dtype), "x": x.astype(dtype),
                 "gamma": rng.uniform(0.5, 2, size=c).astype(dtype), "eps": 1e-5})


def _bn2d_public() -> list[Case]:
    rng = np.random.default_rng(47)
    return [_bn2d_case(rng, s, d) for s, d in [((2, 3, 4, 5), np.float64),
                                                ((1, 2, 3, 3), np.float64),
                                                ((4, 1, 2, 6), np.float32)]]


def _bn2d_hidden(rng: np.random.Generator) -> list[Case]:
    shapes = [(int(rng.integers(1, 4)), *(int(v) for v in rng.integers(1, 6, size=3)))
              for _ in range(2)]
    return [_bn2d_case(rng, (max(s[0], 2), *s[1:]), dtype)
            for s, dtype in zip(shapes, (np.float64, np.float32), strict=True)]


def _bn2d_reference(grad_out: np.ndarray, x: np.ndarray, gamma: np.ndarray,
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
    id="ch04.batchnorm2d_backward",
    points=3,
    description="Find and fix the bug: training-mode BatchNorm2d backward of an (N, C, H, W) "
                "batch.",
    signature="batchnorm2d_backward(grad_out, x, gamma, eps) -> (grad_x, grad_gamma, grad_beta)",
    outputs=("grad_x", "grad_gamma", "grad_beta"),
    public=_bn2d_public,
    hidden=_bn2d_hidden,
    reference=_bn2d_reference,
    requirements=(_bn2d_catalogue,),
    needs=("torch",),
))

# -- ch04.adam_l2_drift (predict, then measure) -------------------------------------------------


def _drift_public() -> list[Case]:
    return [Case({"theta0": np.array([1.0, -2.0, 0.5]), "weight_decay": 0.1, "lr": 1e-3,
                  "steps": 100}),
            Case({"theta0": np.array([3.0]), "weight_decay": 0.01, "lr": 1e-2, "steps": 50}),
            Case({"theta0": np.array([1.0, 1.0]), "weight_decay": 1.0, "lr": 1e-3, "steps": 1})]


def _drift_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case({"theta0": rng.uniform(0.5, 3, size=int(rng.integers(1, 5)))
                  * rng.choice([-1.0, 1.0], size=1),
                  "weight_decay": float(rng.choice([0.01, 0.1, 0.5])),
                  "lr": float(rng.choice([1e-3, 3e-3])), "steps": int(rng.integers(2, 200))})]


def _drift_reference(theta0: np.ndarray, weight_decay: float, lr: float,
                     steps: int) -> dict[str, np.ndarray]:
    import torch

    p = torch.tensor(theta0, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, weight_decay=weight_decay, foreach=False)
    for _ in range(steps):
        p.grad = torch.zeros_like(p)
        opt.step()
    return {"theta": p.detach().numpy()}


register(Question(
    id="ch04.adam_l2_drift",
    points=2,
    description="Adam with weight_decay (an L2 penalty) on weights whose data gradient is 0: "
                "the weights after `steps` steps.",
    signature="adam_l2_drift(theta0, weight_decay, lr, steps) -> theta",
    outputs=("theta",),
    public=_drift_public,
    hidden=_drift_hidden,
    reference=_drift_reference,
    needs=("torch",),
))
