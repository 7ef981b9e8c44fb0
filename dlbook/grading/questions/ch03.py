"""Chapter 3 exercises: softmax cross-entropy forward and backward, one step of SGD with
(Nesterov) momentum, one step of Adam with bias correction, and a warmup-then-cosine
learning-rate schedule.

Every reference here is independent of solutions/ch03_losses_optimisers.ipynb and of
``dlbook``: torch autograd for the loss and its gradient, one real ``torch.optim`` step
from the given state for the two optimisers, and torch's own schedulers
(``LinearLR`` then ``CosineAnnealingLR`` in a ``SequentialLR``) for the schedule.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# -- ch03.softmax_cross_entropy ---------------------------------------------------------------


def _ce_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (batch, classes, logit scale, dtype): a batch of one, two classes, huge logits (exp
    # overflows unless the row maximum is subtracted) and float32.
    specs = {"public": [(5, 4, 1.0, np.float64), (1, 3, 1.0, np.float64),
                        (6, 2, 1.0, np.float64), (4, 5, 500.0, np.float64),
                        (8, 10, 3.0, np.float32)],
             "hidden": [(3, 7, 2.0, np.float64), (2, 4, 1000.0, np.float32)]}
    rng = np.random.default_rng(31) if rng is None else rng
    return [Case({"logits": (scale * rng.normal(size=(n, c))).astype(dtype),
                  "y": rng.integers(0, c, size=n)})
            for n, c, scale, dtype in specs.get(suite, [])]


def _ce_reference(logits: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    import torch

    z = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(y))
    loss.backward()
    return {"loss": logits.dtype.type(loss.item()), "grad": z.grad.numpy()}


register(Question(
    id="ch03.softmax_cross_entropy",
    points=3,
    description="Mean softmax cross-entropy of logits (N, C) and labels (N,), and its gradient.",
    signature="softmax_cross_entropy(logits, y) -> (loss, grad)",
    outputs=("loss", "grad"),
    **split_suites(_ce_cases),
    reference=_ce_reference,
    needs=("torch",),
))

# -- ch03.sgd_momentum_step -------------------------------------------------------------------


def _sgd_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (shape, first step?, lr, momentum, nesterov, dtype)
    specs = {"public": [((3,), True, 0.1, 0.9, False), ((2, 3), False, 0.05, 0.9, False),
                        ((4,), False, 0.1, 0.5, True), ((1,), True, 0.2, 0.9, True),
                        ((3, 2), False, 0.01, 0.95, False)],
             "hidden": [((5,), False, 0.3, 0.99, True), ((2, 2), True, 0.1, 0.8, False)]}
    rng = np.random.default_rng(32) if rng is None else rng
    cases = []
    for shape, first, lr, momentum, nesterov in specs.get(suite, []):
        buf = None if first else rng.normal(size=shape)
        cases.append(Case({"param": rng.normal(size=shape), "grad": rng.normal(size=shape),
                           "buf": buf, "lr": lr, "momentum": momentum, "nesterov": nesterov}))
    return cases


def _sgd_reference(param: np.ndarray, grad: np.ndarray, buf: np.ndarray | None, lr: float,
                   momentum: float, nesterov: bool) -> dict[str, np.ndarray]:
    import torch

    p = torch.tensor(param, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov, foreach=False)
    if buf is not None:
        opt.state[p]["momentum_buffer"] = torch.tensor(buf)
    p.grad = torch.tensor(grad)
    opt.step()
    return {"param": p.detach().numpy(), "buf": opt.state[p]["momentum_buffer"].numpy()}


register(Question(
    id="ch03.sgd_momentum_step",
    points=2,
    description="One step of SGD with (Nesterov) momentum, as torch.optim.SGD: param and buffer.",
    signature="sgd_momentum_step(param, grad, buf, lr, momentum, nesterov) -> (param, buf)",
    outputs=("param", "buf"),
    **split_suites(_sgd_cases),
    reference=_sgd_reference,
    needs=("torch",),
))

# -- ch03.adam_step ---------------------------------------------------------------------------


def _adam_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (shape, step t, lr, betas, eps, dtype); t = 1 starts from m = v = 0
    specs = {"public": [((3,), 1, 0.1, (0.9, 0.999), 1e-8, np.float64),
                        ((2, 3), 2, 0.01, (0.9, 0.999), 1e-8, np.float64),
                        ((4,), 10, 0.001, (0.8, 0.99), 1e-6, np.float64),
                        ((1,), 1000, 0.05, (0.9, 0.999), 1e-8, np.float64),
                        ((5,), 3, 0.01, (0.9, 0.999), 1e-8, np.float32)],
             "hidden": [((2, 2), 1, 0.3, (0.5, 0.9), 1e-3, np.float64),
                        ((3,), 7, 0.02, (0.9, 0.999), 1e-8, np.float32)]}
    rng = np.random.default_rng(33) if rng is None else rng
    cases = []
    for shape, t, lr, (beta1, beta2), eps, dtype in specs.get(suite, []):
        m = np.zeros(shape) if t == 1 else rng.normal(size=shape)
        v = np.zeros(shape) if t == 1 else rng.normal(size=shape) ** 2
        cases.append(Case({"param": rng.normal(size=shape).astype(dtype),
                           "grad": rng.normal(size=shape).astype(dtype),
                           "m": m.astype(dtype), "v": v.astype(dtype), "t": t, "lr": lr,
                           "beta1": beta1, "beta2": beta2, "eps": eps}))
    return cases


def _adam_reference(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
                    lr: float, beta1: float, beta2: float, eps: float) -> dict[str, np.ndarray]:
    import torch

    p = torch.tensor(param, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, foreach=False)
    opt.state[p].update(step=torch.tensor(float(t - 1)), exp_avg=torch.tensor(m),
                        exp_avg_sq=torch.tensor(v))
    p.grad = torch.tensor(grad)
    opt.step()
    state = opt.state[p]
    return {"param": p.detach().numpy(), "m": state["exp_avg"].numpy(),
            "v": state["exp_avg_sq"].numpy()}


register(Question(
    id="ch03.adam_step",
    points=3,
    description="Step t of Adam with bias correction, as torch.optim.Adam: param, m and v.",
    signature="adam_step(param, grad, m, v, t, lr, beta1, beta2, eps) -> (param, m, v)",
    outputs=("param", "m", "v"),
    **split_suites(_adam_cases),
    reference=_adam_reference,
    needs=("torch",),
))

# -- ch03.warmup_cosine -----------------------------------------------------------------------


def _schedule_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [(0.1, 5, 50, 0.0, 0.1), (1.0, 1, 10, 0.0, 0.5),
                        (0.01, 10, 100, 1e-4, 0.01), (0.5, 3, 4, 0.05, 0.2)]}
    if suite == "hidden":  # (base_lr, warmup, total > warmup, eta_min < base_lr, start)
        warmup = [int(w) for w in rng.integers(1, 30, size=2)]
        specs["hidden"] = [(float(rng.uniform(0.05, 2.0)), w, w + int(rng.integers(1, 200)),
                            float(rng.uniform(0.0, 0.01)), float(rng.uniform(0.01, 0.9)))
                           for w in warmup]
    return [Case({"base_lr": lr, "warmup": w, "total": n, "eta_min": eta_min,
                  "start_factor": s}) for lr, w, n, eta_min, s in specs.get(suite, [])]


def _schedule_reference(base_lr: float, warmup: int, total: int, eta_min: float,
                        start_factor: float) -> dict[str, np.ndarray]:
    import torch
    from torch.optim import lr_scheduler as sched

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ramp = sched.LinearLR(opt, start_factor=start_factor, total_iters=warmup)
        cosine = sched.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)
        schedule = sched.SequentialLR(opt, [ramp, cosine], milestones=[warmup])
        lrs = []
        for _ in range(total):
            lrs.append(schedule.get_last_lr()[0])
            opt.step()
            schedule.step()
    return {"lrs": np.array(lrs, dtype=np.float64)}


register(Question(
    id="ch03.warmup_cosine",
    points=2,
    description="Linear warmup then cosine decay: the learning rate of each epoch 0 .. total-1.",
    signature="warmup_cosine(base_lr, warmup, total, eta_min, start_factor) -> lrs",
    outputs=("lrs",),
    **split_suites(_schedule_cases),
    reference=_schedule_reference,
    needs=("torch",),
))
