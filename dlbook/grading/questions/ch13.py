"""Chapter 13 exercises: the affine coupling layer and its log-determinant, the closed-form
sampler of q(x_t | x_0), one DDIM step, DDIM sampling of Gaussian data with its exact noise
predictor (a predict-then-measure task), and a DDPM step with a bug to find.

Every reference here is independent of solutions/ch13_diffusion_flows.ipynb and of
``dlbook.models``: the coupling's log-determinant is the log of the determinant of its
Jacobian computed by torch autograd, the schedule's products are ``torch.cumprod``, and the
sampler steps are written from the formulas of Ho et al. (2020) and Song et al. (2021) in torch.
The requirements recognise common mistakes and say what they are before the plain comparison.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register


def _close(got: Any, expected: np.ndarray) -> bool:
    got = np.asarray(got, dtype=np.float64)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-4,
                                                            atol=1e-6))


# -- ch13.coupling_forward ---------------------------------------------------------------------
def _coupling_case(rng: np.random.Generator, n: int, d: int, dtype: type) -> Case:
    mask = np.zeros(d)
    mask[rng.permutation(d)[:int(rng.integers(1, d))]] = 1.0      # at least one kept, one moved
    args = {"x": rng.normal(size=(n, d)), "mask": mask,
            "W_s": rng.normal(size=(d, d)), "b_s": rng.normal(size=d),
            "W_t": rng.normal(size=(d, d)), "b_t": rng.normal(size=d)}
    return Case({k: v.astype(dtype) for k, v in args.items()})


def _coupling_public() -> list[Case]:
    rng = np.random.default_rng(1301)
    return [_coupling_case(rng, n, d, dtype) for n, d, dtype in
            [(4, 2, np.float64), (1, 3, np.float64), (5, 5, np.float64), (6, 4, np.float32)]]


def _coupling_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dtype in (np.float64, np.float64, np.float32):
        n, d = int(rng.integers(1, 9)), int(rng.integers(2, 7))
        cases.append(_coupling_case(rng, n, d, dtype))
    return cases


def _coupling_reference(x: np.ndarray, mask: np.ndarray, W_s: np.ndarray, b_s: np.ndarray,
                        W_t: np.ndarray, b_t: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    m, ws, bs, wt, bt = (torch.tensor(a, dtype=torch.float64) for a in (mask, W_s, b_s, W_t, b_t))

    def f(v: Any) -> Any:
        kept = m * v
        s = (1 - m) * torch.tanh(kept @ ws.T + bs)
        return kept + (1 - m) * (v * torch.exp(s) + kept @ wt.T + bt)

    xs = torch.tensor(x, dtype=torch.float64)
    y = torch.stack([f(row) for row in xs])
    logdet = torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(f, row))[1]
                          for row in xs])
    return {"y": y.numpy().astype(x.dtype), "logdet": logdet.numpy().astype(x.dtype)}


def _coupling_diagnose(got: dict[str, Any], case: Case) -> str | None:
    a = {k: np.asarray(v, dtype=np.float64) for k, v in case.args.items()}
    kept = a["mask"] * a["x"]
    tanh_s = np.tanh(kept @ a["W_s"].T + a["b_s"])
    s = (1 - a["mask"]) * tanh_s
    logdet = got["logdet"]
    if _close(logdet, s.sum(axis=1)):
        return None
    if _close(logdet, tanh_s.sum(axis=1)):
        return ("logdet sums the log-scales over every coordinate: the kept coordinates are "
                "not scaled (their s is 0), so multiply by (1 - mask) first")
    if _close(logdet, np.exp(s).sum(axis=1)) or _close(logdet, np.log(np.exp(s).sum(axis=1))):
        return "logdet is log|det J| = sum of s over the moved coordinates, not a sum of e^s"
    if _close(logdet, np.prod(np.exp(s), axis=1)):
        return "that is |det J| itself: the question asks for its logarithm, the sum of s"
    return None


register(Question(
    id="ch13.coupling_forward",
    points=3,
    description="RealNVP's affine coupling with a linear conditioner: y and log|det dy/dx| per "
                "sample.",
    signature="coupling_forward(x, mask, W_s, b_s, W_t, b_t) -> (y, logdet)",
    outputs=("y", "logdet"),
    public=_coupling_public,
    hidden=_coupling_hidden,
    reference=_coupling_reference,
    requirements=(_coupling_diagnose,),
    needs=("torch",),
))


# -- ch13.q_sample -----------------------------------------------------------------------------
def _betas(rng: np.random.Generator, T: int) -> np.ndarray:
    return np.sort(rng.uniform(1e-3, 0.3, size=T))


def _q_case(rng: np.random.Generator, n: int, shape: tuple[int, ...], T: int,
            dtype: type) -> Case:
    t = rng.integers(0, T, size=n)
    t[0] = 0                                         # the first step is always included
    return Case({"x0": rng.normal(size=(n, *shape)).astype(dtype), "t": t,
                 "eps": rng.normal(size=(n, *shape)).astype(dtype), "betas": _betas(rng, T)})


def _q_public() -> list[Case]:
    rng = np.random.default_rng(1302)
    return [_q_case(rng, n, shape, T, dtype) for n, shape, T, dtype in
            [(5, (2,), 10, np.float64), (1, (3,), 4, np.float64), (4, (2, 3), 20, np.float64),
             (6, (2,), 50, np.float32)]]


def _q_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dtype in (np.float64, np.float64, np.float32):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        cases.append(_q_case(rng, int(rng.integers(1, 9)), shape, int(rng.integers(2, 60)),
                             dtype))
    return cases


def _q_reference(x0: np.ndarray, t: np.ndarray, eps: np.ndarray,
                 betas: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    alpha_bar = torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), dim=0)
    a = alpha_bar[torch.tensor(t)].reshape((-1,) + (1,) * (x0.ndim - 1))
    x_t = a.sqrt() * torch.tensor(x0, dtype=torch.float64) + (1 - a).sqrt() * torch.tensor(
        eps, dtype=torch.float64)
    return {"x_t": x_t.numpy().astype(x0.dtype)}


def _q_diagnose(got: dict[str, Any], case: Case) -> str | None:
    x0, eps, t, betas = (np.asarray(case.args[k], dtype=np.float64)
                         for k in ("x0", "eps", "t", "betas"))
    t = t.astype(int)
    shape = (-1,) + (1,) * (x0.ndim - 1)
    alpha_bar = np.cumprod(1 - betas)

    def with_(a: np.ndarray, sqrt: bool = True) -> np.ndarray:
        a = a.reshape(shape)
        return (np.sqrt(a) * x0 + np.sqrt(1 - a) * eps) if sqrt else a * x0 + (1 - a) * eps

    got_x = got["x_t"]
    if _close(got_x, with_(alpha_bar[t])):
        return None
    if _close(got_x, with_((1 - betas)[t])):
        return ("x_t uses alpha_t = 1 - beta_t of one step; the closed form needs the product "
                "alpha_bar_t = prod_{s <= t} (1 - beta_s) (np.cumprod)")
    shifted = np.concatenate([[1.0], alpha_bar[:-1]])
    if _close(got_x, with_(shifted[t])):
        return ("t is off by one: timesteps are 0-based, so t = 0 is the first noising step "
                "and uses alpha_bar[0] = 1 - betas[0]")
    if _close(got_x, with_(alpha_bar[t], sqrt=False)):
        return ("the coefficients are the variances; x_t = sqrt(alpha_bar) x0 + "
                "sqrt(1 - alpha_bar) eps takes their square roots")
    return None


register(Question(
    id="ch13.q_sample",
    points=2,
    description="The closed-form forward process: x_t = sqrt(alpha_bar_t) x0 + "
                "sqrt(1 - alpha_bar_t) eps from the betas, per-sample timesteps t (0-based).",
    signature="q_sample(x0, t, eps, betas) -> x_t",
    outputs=("x_t",),
    public=_q_public,
    hidden=_q_hidden,
    reference=_q_reference,
    requirements=(_q_diagnose,),
    needs=("torch",),
))


# -- ch13.ddim_step ----------------------------------------------------------------------------
def _ddim_case(rng: np.random.Generator, n: int, d: int, dtype: type) -> Case:
    ab_t = float(rng.uniform(0.05, 0.9))
    ab_prev = float(rng.uniform(ab_t, 1.0))
    return Case({"x_t": rng.normal(size=(n, d)).astype(dtype),
                 "eps": rng.normal(size=(n, d)).astype(dtype),
                 "alpha_bar_t": ab_t, "alpha_bar_prev": ab_prev})


def _ddim_public() -> list[Case]:
    rng = np.random.default_rng(1303)
    cases = [_ddim_case(rng, n, d, dtype) for n, d, dtype in
             [(4, 2, np.float64), (1, 1, np.float64), (3, 64, np.float32)]]
    last = _ddim_case(rng, 5, 2, np.float64)          # the last step: to alpha_bar = 1
    return cases + [Case({**last.args, "alpha_bar_prev": 1.0})]


def _ddim_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [_ddim_case(rng, int(rng.integers(1, 9)), int(rng.integers(1, 9)), dtype)
             for dtype in (np.float64, np.float32)]
    last = _ddim_case(rng, int(rng.integers(1, 6)), 2, np.float64)
    return cases + [Case({**last.args, "alpha_bar_prev": 1.0})]


def _ddim_reference(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float,
                    alpha_bar_prev: float) -> dict[str, np.ndarray]:
    import torch

    x, e = torch.tensor(x_t, dtype=torch.float64), torch.tensor(eps, dtype=torch.float64)
    ab, ab_prev = torch.tensor(alpha_bar_t, dtype=torch.float64), torch.tensor(
        alpha_bar_prev, dtype=torch.float64)
    x0 = (x - (1 - ab).sqrt() * e) / ab.sqrt()
    return {"x_prev": (ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * e).numpy().astype(x_t.dtype)}


def _ddim_diagnose(got: dict[str, Any], case: Case) -> str | None:
    x, e = (np.asarray(case.args[k], dtype=np.float64) for k in ("x_t", "eps"))
    ab, ab_prev = case.args["alpha_bar_t"], case.args["alpha_bar_prev"]
    x0 = (x - np.sqrt(1 - ab) * e) / np.sqrt(ab)
    if ab_prev < 1 and _close(got["x_prev"], x0):
        return ("that is the predicted x0: the step must re-noise it to the earlier level, "
                "sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev) eps")
    if _close(got["x_prev"], np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab) * e):
        return "the noise is re-added at the old level: use sqrt(1 - alpha_bar_prev), not t's"
    return None


register(Question(
    id="ch13.ddim_step",
    points=2,
    description="One deterministic DDIM step: predict x0 from x_t and the noise estimate, then "
                "re-noise it to alpha_bar_prev.",
    signature="ddim_step(x_t, eps, alpha_bar_t, alpha_bar_prev) -> x_prev",
    outputs=("x_prev",),
    public=_ddim_public,
    hidden=_ddim_hidden,
    reference=_ddim_reference,
    requirements=(_ddim_diagnose,),
    needs=("torch",),
))


# -- ch13.ddim_sample_gaussian -----------------------------------------------------------------
def _sample_case(rng: np.random.Generator, n: int, d: int, T: int, steps: int,
                 dtype: type) -> Case:
    alpha_bar = np.cumprod(1 - np.linspace(1e-3, 0.2, T))
    timesteps = np.unique(np.round(np.linspace(T - 1, 0, steps)).astype(np.int64))[::-1].copy()
    return Case({"x_T": rng.normal(size=(n, d)).astype(dtype), "alpha_bar": alpha_bar,
                 "timesteps": timesteps, "mu": rng.normal(size=d).astype(dtype),
                 "sigma": float(rng.uniform(0.2, 1.5))})


def _sample_public() -> list[Case]:
    rng = np.random.default_rng(1304)
    return [_sample_case(rng, n, d, T, steps, dtype) for n, d, T, steps, dtype in
            [(6, 2, 100, 10, np.float64), (1, 3, 20, 1, np.float64), (4, 2, 50, 50, np.float64),
             (5, 4, 100, 7, np.float32)]]


def _sample_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dtype in (np.float64, np.float64, np.float32):
        T = int(rng.integers(5, 120))
        cases.append(_sample_case(rng, int(rng.integers(1, 9)), int(rng.integers(1, 5)), T,
                                  int(rng.integers(1, T + 1)), dtype))
    return cases


def _sample_reference(x_T: np.ndarray, alpha_bar: np.ndarray, timesteps: np.ndarray,
                      mu: np.ndarray, sigma: float) -> dict[str, np.ndarray]:
    import torch

    x = torch.tensor(x_T, dtype=torch.float64)
    m = torch.tensor(mu, dtype=torch.float64)
    ab_all = torch.tensor(alpha_bar, dtype=torch.float64)
    levels = [ab_all[int(t)] for t in timesteps] + [torch.tensor(1.0, dtype=torch.float64)]
    for ab, ab_next in zip(levels[:-1], levels[1:], strict=True):
        # E[eps | x_t] for x0 ~ N(mu, sigma^2 I), x_t = sqrt(ab) x0 + sqrt(1 - ab) eps
        e = (1 - ab).sqrt() * (x - ab.sqrt() * m) / (ab * sigma ** 2 + 1 - ab)
        x0 = (x - (1 - ab).sqrt() * e) / ab.sqrt()
        x = ab_next.sqrt() * x0 + (1 - ab_next).sqrt() * e
    return {"samples": x.numpy().astype(x_T.dtype)}


register(Question(
    id="ch13.ddim_sample_gaussian",
    points=2,
    description="DDIM sampling on the given timesteps with the exact noise predictor of "
                "Gaussian data N(mu, sigma^2 I), ending at alpha_bar = 1.",
    signature="ddim_sample_gaussian(x_T, alpha_bar, timesteps, mu, sigma) -> samples",
    outputs=("samples",),
    public=_sample_public,
    hidden=_sample_hidden,
    reference=_sample_reference,
    needs=("torch",),
))


# -- ch13.ddpm_step (find the bug) -------------------------------------------------------------
def _ddpm_case(rng: np.random.Generator, n: int, d: int, T: int, t: int, dtype: type) -> Case:
    return Case({"x_t": rng.normal(size=(n, d)).astype(dtype),
                 "eps": rng.normal(size=(n, d)).astype(dtype), "t": t, "betas": _betas(rng, T),
                 "z": rng.normal(size=(n, d)).astype(dtype)})


def _ddpm_public() -> list[Case]:
    rng = np.random.default_rng(1305)
    return [_ddpm_case(rng, n, d, T, t, dtype) for n, d, T, t, dtype in
            [(4, 2, 20, 12, np.float64), (3, 2, 20, 0, np.float64), (1, 5, 8, 7, np.float64),
             (6, 3, 30, 5, np.float32)]]


def _ddpm_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dtype in (np.float64, np.float32):
        T = int(rng.integers(3, 80))
        cases.append(_ddpm_case(rng, int(rng.integers(1, 9)), int(rng.integers(1, 6)), T,
                                int(rng.integers(1, T)), dtype))
    cases.append(_ddpm_case(rng, int(rng.integers(1, 5)), 2, int(rng.integers(2, 30)), 0,
                            np.float64))
    return cases


def _ddpm_reference(x_t: np.ndarray, eps: np.ndarray, t: int, betas: np.ndarray,
                    z: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    b = torch.tensor(betas, dtype=torch.float64)
    alpha_bar = torch.cumprod(1 - b, dim=0)
    x, e = torch.tensor(x_t, dtype=torch.float64), torch.tensor(eps, dtype=torch.float64)
    mean = (x - b[t] / (1 - alpha_bar[t]).sqrt() * e) / (1 - b[t]).sqrt()   # Ho et al., Alg. 2
    out = mean + b[t].sqrt() * torch.tensor(z, dtype=torch.float64) if t > 0 else mean
    return {"x_prev": out.numpy().astype(x_t.dtype)}


def _ddpm_diagnose(got: dict[str, Any], case: Case) -> str | None:
    x, e, z, betas = (np.asarray(case.args[k], dtype=np.float64)
                      for k in ("x_t", "eps", "z", "betas"))
    t = case.args["t"]
    alpha_bar = np.cumprod(1 - betas)
    noise = np.sqrt(betas[t]) * z if t > 0 else 0.0
    buggy = (x - betas[t] / np.sqrt(1 - alpha_bar[t]) * e) / np.sqrt(alpha_bar[t]) + noise
    right_mean = (x - betas[t] / np.sqrt(1 - alpha_bar[t]) * e) / np.sqrt(1 - betas[t])
    if t > 0 and _close(got["x_prev"], buggy):
        return ("this is still the buggy step: the mean divides by sqrt(alpha_bar_t); one "
                "reverse step undoes one forward step, which scaled by sqrt(alpha_t)")
    if t == 0 and _close(got["x_prev"], right_mean + np.sqrt(betas[0]) * z):
        return "at t = 0 (the last step) no noise is added: return the mean"
    return None


register(Question(
    id="ch13.ddpm_step",
    points=2,
    description="One DDPM ancestral step (Ho et al. 2020, Algorithm 2), the bug of the given "
                "code fixed.",
    signature="ddpm_step(x_t, eps, t, betas, z) -> x_prev",
    outputs=("x_prev",),
    public=_ddpm_public,
    hidden=_ddpm_hidden,
    reference=_ddpm_reference,
    requirements=(_ddpm_diagnose,),
    needs=("torch",),
))
