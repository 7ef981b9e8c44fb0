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
                        (6, 2, 1.0, np.float64), (4, 5, 1000.0, np.float64),
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


def _overflowed(out: dict[str, Any], case: Case) -> str | None:
    largest = float(np.abs(case.args["logits"]).max())
    if largest < 50:
        return None
    try:
        finite = all(np.isfinite(np.asarray(out[k], dtype=float)).all() for k in ("loss", "grad"))
    except (TypeError, ValueError):
        return None
    if not finite:
        return (f"NaN or inf for logits as large as {largest:.0f}: exp overflows; subtract each "
                "row's maximum before exp (it changes nothing in the softmax)")
    return None


register(Question(
    id="ch03.softmax_cross_entropy",
    points=3,
    description="Mean softmax cross-entropy of logits (N, C) and labels (N,), and its gradient.",
    signature="softmax_cross_entropy(logits, y) -> (loss, grad)",
    outputs=("loss", "grad"),
    **split_suites(_ce_cases),
    reference=_ce_reference,
    requirements=(_overflowed,),
    needs=("torch",),
))

# -- ch03.sgd_momentum_step -------------------------------------------------------------------


def _sgd_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (shape, first step?, lr, momentum, nesterov, dampening); torch's Nesterov needs
    # dampening 0. With dampening, a buffer started at zero differs from torch's at step one.
    specs = {"public": [((3,), True, 0.1, 0.9, False, 0.0), ((2, 3), False, 0.05, 0.9, False, 0.1),
                        ((4,), False, 0.1, 0.5, True, 0.0), ((1,), True, 0.2, 0.9, True, 0.0),
                        ((3, 2), False, 0.01, 0.95, False, 0.0),
                        ((4,), True, 0.1, 0.9, False, 0.5)],
             "hidden": [((5,), False, 0.3, 0.99, True, 0.0), ((2, 2), True, 0.1, 0.8, False, 0.3),
                        ((3,), False, 0.1, 0.9, False, 0.2)]}
    rng = np.random.default_rng(32) if rng is None else rng
    cases = []
    for shape, first, lr, momentum, nesterov, dampening in specs.get(suite, []):
        buf = None if first else rng.normal(size=shape)
        cases.append(Case({"param": rng.normal(size=shape), "grad": rng.normal(size=shape),
                           "buf": buf, "lr": lr, "momentum": momentum, "nesterov": nesterov,
                           "dampening": dampening}))
    return cases


def _sgd_reference(param: np.ndarray, grad: np.ndarray, buf: np.ndarray | None, lr: float,
                   momentum: float, nesterov: bool, dampening: float) -> dict[str, np.ndarray]:
    import torch

    p = torch.tensor(param, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov,
                          dampening=dampening, foreach=False)
    if buf is not None:
        opt.state[p]["momentum_buffer"] = torch.tensor(buf)
    p.grad = torch.tensor(grad)
    opt.step()
    return {"param": p.detach().numpy(), "buf": opt.state[p]["momentum_buffer"].numpy()}


def _zero_started(out: dict[str, Any], case: Case) -> str | None:
    a = case.args
    if a["buf"] is not None or a["dampening"] == 0:
        return None
    try:
        got = np.asarray(out["buf"], dtype=float)
    except (TypeError, ValueError):
        return None
    if got.shape == a["grad"].shape and np.allclose(got, (1 - a["dampening"]) * a["grad"]):
        return ("buf at the first step is (1 - dampening) g, a buffer started at zero: torch "
                "starts it at the gradient itself, undamped (b = g), and dampens only later")
    return None


register(Question(
    id="ch03.sgd_momentum_step",
    points=2,
    description="One step of SGD with (Nesterov) momentum and dampening, as torch.optim.SGD: "
                "param and buffer.",
    signature="sgd_momentum_step(param, grad, buf, lr, momentum, nesterov, dampening) -> "
              "(param, buf)",
    outputs=("param", "buf"),
    **split_suites(_sgd_cases),
    reference=_sgd_reference,
    requirements=(_zero_started,),
    needs=("torch",),
))

# -- ch03.adam_step ---------------------------------------------------------------------------


def _adam_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (shape, step t, lr, betas, eps, dtype); t = 1 starts from m = v = 0
    specs = {"public": [((3,), 1, 0.1, (0.9, 0.999), 1e-8, np.float64),
                        ((2, 3), 2, 0.01, (0.9, 0.999), 1e-8, np.float64),
                        ((4,), 10, 0.001, (0.8, 0.99), 1e-6, np.float64),
                        ((1,), 1000, 0.05, (0.9, 0.999), 1e-8, np.float64),
                        ((5,), 3, 0.01, (0.9, 0.999), 1e-8, np.float32),
                        ((3,), 5, 0.01, (0.9, 0.999), 1e-8, np.float64, 1e-5)],
             "hidden": [((2, 2), 1, 0.3, (0.5, 0.9), 1e-3, np.float64),
                        ((3,), 7, 0.02, (0.9, 0.999), 1e-8, np.float32),
                        ((4,), 4, 0.01, (0.9, 0.999), 1e-8, np.float64, 1e-5)]}
    rng = np.random.default_rng(33) if rng is None else rng
    cases = []
    for shape, t, lr, (beta1, beta2), eps, dtype, *scale in specs.get(suite, []):
        g = scale[0] if scale else 1.0  # a small gradient scale: v-hat near eps^2
        m = np.zeros(shape) if t == 1 else g * rng.normal(size=shape)
        v = np.zeros(shape) if t == 1 else (g * rng.normal(size=shape)) ** 2
        cases.append(Case({"param": rng.normal(size=shape).astype(dtype),
                           "grad": (g * rng.normal(size=shape)).astype(dtype),
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


def _eps_inside(out: dict[str, Any], case: Case) -> str | None:
    a = case.args
    m = a["beta1"] * a["m"] + (1 - a["beta1"]) * a["grad"]
    v = a["beta2"] * a["v"] + (1 - a["beta2"]) * a["grad"] ** 2
    m_hat, v_hat = m / (1 - a["beta1"] ** a["t"]), v / (1 - a["beta2"] ** a["t"])
    inside = a["param"] - a["lr"] * m_hat / np.sqrt(v_hat + a["eps"])
    outside = a["param"] - a["lr"] * m_hat / (np.sqrt(v_hat) + a["eps"])
    try:
        got = np.asarray(out["param"], dtype=float)
    except (TypeError, ValueError):
        return None
    if (got.shape == inside.shape and not np.allclose(inside, outside, rtol=1e-9, atol=0)
            and np.allclose(got, inside, rtol=1e-12, atol=1e-15)):
        return ("param matches Adam with epsilon inside the square root, sqrt(v_hat + eps): "
                "torch divides by sqrt(v_hat) + eps (it matters where v_hat is small)")
    return None


register(Question(
    id="ch03.adam_step",
    points=3,
    description="Step t of Adam with bias correction, as torch.optim.Adam: param, m and v.",
    signature="adam_step(param, grad, m, v, t, lr, beta1, beta2, eps) -> (param, m, v)",
    outputs=("param", "m", "v"),
    **split_suites(_adam_cases),
    reference=_adam_reference,
    requirements=(_eps_inside,),
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

# -- ch03.huber_loss (transfer: a loss the chapter does not derive) ---------------------------


def _huber_case(rng: np.random.Generator, shape: tuple[int, ...], delta: float,
                scale: float) -> Case:
    return Case({"pred": scale * rng.normal(size=shape), "target": scale * rng.normal(size=shape),
                 "delta": delta})


def _huber_public() -> list[Case]:
    rng = np.random.default_rng(3105)
    return [_huber_case(rng, (4, 3), 1.0, 1.5), _huber_case(rng, (6,), 0.5, 2.0),
            _huber_case(rng, (2, 2, 3), 3.0, 3.0), _huber_case(rng, (5, 2), 0.1, 0.05)]


def _huber_hidden(rng: np.random.Generator) -> list[Case]:
    shape = tuple(int(k) for k in rng.integers(1, 7, size=2))
    return [_huber_case(rng, shape, float(rng.uniform(0.2, 2.0)), float(rng.uniform(0.5, 3.0)))]


def _huber_reference(pred: np.ndarray, target: np.ndarray, delta: float) -> dict[str, Any]:
    import torch

    p = torch.tensor(pred, requires_grad=True)
    loss = torch.nn.functional.huber_loss(p, torch.tensor(target), delta=delta)
    loss.backward()
    return {"loss": np.float64(loss.item()), "grad": p.grad.numpy()}


def _huber_is_smooth_l1(out: dict[str, Any], case: Case) -> str | None:
    delta = case.args["delta"]
    if delta == 1.0:
        return None
    r = np.abs(case.args["pred"] - case.args["target"])
    huber = np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).mean()
    try:
        got = float(out["loss"])
    except (TypeError, ValueError):
        return None
    if np.isclose(got, huber / delta, rtol=1e-9):
        return ("loss is the smooth L1 loss (Huber divided by delta): Huber's quadratic part is "
                "r^2 / 2 and its linear part delta (|r| - delta / 2)")
    return None


register(Question(
    id="ch03.huber_loss",
    points=2,
    description="The mean Huber loss with threshold delta and its gradient, as torch's "
                "huber_loss.",
    signature="huber_loss(pred, target, delta) -> (loss, grad)",
    outputs=("loss", "grad"),
    public=_huber_public,
    hidden=_huber_hidden,
    reference=_huber_reference,
    requirements=(_huber_is_smooth_l1,),
    needs=("torch",),
))

# -- ch03.bce_find_the_bug (a planted gradient bug a gradient check exposes) ------------------


def _bce_case(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> Case:
    return Case({"z": scale * rng.normal(size=shape), "y": rng.random(size=shape)})


def _bce_public() -> list[Case]:
    rng = np.random.default_rng(3106)
    return [_bce_case(rng, (5, 3), 2.0), _bce_case(rng, (1,), 1.0), _bce_case(rng, (4, 2), 60.0)]


def _bce_hidden(rng: np.random.Generator) -> list[Case]:
    shape = tuple(int(k) for k in rng.integers(1, 6, size=2))
    return [_bce_case(rng, shape, float(rng.uniform(1.0, 80.0)))]


def _bce_reference(z: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    import torch

    zt = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(y))
    loss.backward()
    return {"loss": np.float64(loss.item()), "grad": zt.grad.numpy()}


def _bce_bug_still_there(out: dict[str, Any], case: Case) -> str | None:
    z, y = case.args["z"], case.args["y"]
    with np.errstate(over="ignore"):
        p = 1 / (1 + np.exp(-z))
    planted = (p - y) * p * (1 - p) / z.size
    try:
        got = np.asarray(out["grad"], dtype=float)
    except (TypeError, ValueError):
        return None
    if got.shape == z.shape and np.allclose(got, planted, rtol=1e-8, atol=1e-15):
        return ("grad still carries the planted bug: the gradient of binary cross-entropy with "
                "respect to the logit is (p - y) / N; the extra factor p (1 - p) belongs to the "
                "squared error on a sigmoid, not to cross-entropy")
    return None


register(Question(
    id="ch03.bce_find_the_bug",
    points=2,
    description="Binary cross-entropy with logits and its gradient, after locating a planted bug "
                "with a gradient check.",
    signature="bce_with_logits(z, y) -> (loss, grad)",
    outputs=("loss", "grad"),
    public=_bce_public,
    hidden=_bce_hidden,
    reference=_bce_reference,
    requirements=(_bce_bug_still_there,),
    needs=("torch",),
))

# -- ch03.adam_first_step (predict, then measure) ---------------------------------------------


def _first_step_public() -> list[Case]:
    return [Case({"g": np.array([1e3, 1.0, 1e-3, 1e-6, 1e-8, 1e-10, 0.0, -2.0]), "lr": 1e-3,
                  "eps": 1e-8}),
            Case({"g": np.array([1e-2, 1e-4, 1e-6]), "lr": 0.1, "eps": 1e-3})]


def _first_step_hidden(rng: np.random.Generator) -> list[Case]:
    eps = float(10.0 ** rng.uniform(-9, -2))
    g = 10.0 ** rng.uniform(-12, 2, size=6) * rng.choice([-1.0, 1.0], size=6)
    return [Case({"g": g, "lr": float(rng.uniform(1e-4, 0.1)), "eps": eps})]


def _first_step_reference(g: np.ndarray, lr: float, eps: float) -> dict[str, np.ndarray]:
    import torch

    steps = []
    for gi in g:
        p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=lr, eps=eps, foreach=False)
        p.grad = torch.tensor([gi], dtype=torch.float64)
        opt.step()
        steps.append(abs(p.item()))
    return {"step": np.array(steps)}


register(Question(
    id="ch03.adam_first_step",
    points=2,
    description="The size of Adam's first step for each gradient in g (default betas).",
    signature="adam_first_step(g, lr, eps) -> step",
    outputs=("step",),
    public=_first_step_public,
    hidden=_first_step_hidden,
    reference=_first_step_reference,
    needs=("torch",),
))
