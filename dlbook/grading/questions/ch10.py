"""Chapter 10 exercises: the discriminator's loss and gradients at any logit (large ones
included), the optimal discriminator and the value of the game (predict, then compute), a
WGAN-GP penalty to debug, and StyleGAN's style-driven AdaIN (a transfer of the chapter's AdaIN).

Every reference here is independent of solutions/ch10_gans.ipynb and of ``dlbook.nn`` /
``dlbook.models``: torch autograd for every gradient (``torch.autograd.grad`` for the
critic's input gradient), ``binary_cross_entropy_with_logits`` for the loss, SciPy's
Jensen-Shannon distance for the value of the game, and ``torch.nn.functional.instance_norm``
for AdaIN. Each question's catalogue names the likely cause of a wrong answer; each entry is
planted in tests/grading/test_catalogue_ch10.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue
from dlbook.grading.registry import Case, Question, register, split_suites


def _leaf(a: np.ndarray) -> Any:
    import torch

    return torch.tensor(a, requires_grad=True)


def _finite(*names: str, message: str) -> Any:
    """A requirement: the outputs ``names`` hold no inf or nan (the references never do)."""
    def requirement(got: dict[str, Any], case: Case) -> str | None:
        for name in names:
            value = got.get(name)
            try:
                bad = not np.all(np.isfinite(np.asarray(value, dtype=np.float64)))
            except (TypeError, ValueError):
                return None
            if bad:
                return f"{name} holds inf or nan: {message}"
        return None
    return requirement


# -- ch10.discriminator_loss -------------------------------------------------------------------
D_OVERFLOW = ("log(sigmoid(l)) or log(1 + exp(l)) overflows for large logits (here up to "
              "|l| = 800): compute -log sigmoid(l) = log(1 + e^-l) as np.logaddexp(0, -l)")
D_POOLED = ("each gradient is divided by N_r + N_f: the loss is the sum of two batch means, so "
            "a real logit's gradient divides by N_r and a fake one's by N_f")
D_NO_MEAN = ("the gradients are not divided by the batch sizes: the loss averages over each "
             "batch, so d L / d l_i = (sigmoid(l_i) - t_i) / N")
D_SIGN = ("the gradients have the wrong sign: d L / d l = (sigmoid(l) - t) / N, negative for a "
          "real sample (raising its logit lowers the loss) and positive for a fake")

_D = {"public": [({"logits_real": (6, 1), "logits_fake": (6, 1)}, np.float64, 4),
                 ({"logits_real": (1, 1), "logits_fake": (1, 1)}, np.float64, 4),
                 ({"logits_real": (5, 1), "logits_fake": (3, 1)}, np.float64, 4),
                 ({"logits_real": (8, 1), "logits_fake": (8, 1)}, np.float32, 4),
                 ({"logits_real": (7, 1), "logits_fake": (4, 1)}, np.float64, 800),
                 ({"logits_real": (6,), "logits_fake": (6,)}, np.float32, 800)],
      "hidden": [({"logits_real": (4,), "logits_fake": (7,)}, np.float64, 4),
                 ({"logits_real": (9, 1), "logits_fake": (5, 1)}, np.float64, 800),
                 ({"logits_real": (64, 1), "logits_fake": (64, 1)}, np.float32, 800)]}


def _logit_cases(suite: str, seed: int, specs: dict[str, list],
                 rng: np.random.Generator | None = None) -> list[Case]:
    """Logits of scale 4 clipped to [-12, 12], or of scale ``big``: half of them at
    |l| between 20 and ``big`` with either sign, where a naive log(sigmoid) overflows."""
    rng = np.random.default_rng(seed) if rng is None else rng
    cases = []
    for shapes, dtype, scale in specs.get(suite, []):
        arrays = {}
        for name, shape in shapes.items():
            a = (4 * rng.normal(size=shape)).clip(-12, 12)
            if scale > 12:
                big = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(20, scale, size=shape)
                a = np.where(rng.random(shape) < 0.5, big, a)
                a.flat[0] = scale * (1 if "real" in name else -1)   # the far side of each loss
                a.flat[-1] = -scale * (1 if "real" in name else -1)
            arrays[name] = a.astype(dtype)
        cases.append(Case(arrays))
    return cases


def _discriminator_loss_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    return _logit_cases(suite, 101, _D, rng)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -a))


def _d_right(logits_real: np.ndarray, logits_fake: np.ndarray, pooled: bool = False,
             mean: bool = True, sign: float = 1.0) -> dict[str, Any]:
    n_r, n_f = logits_real.size, logits_fake.size
    if pooled:
        n_r = n_f = n_r + n_f
    if not mean:
        n_r = n_f = 1
    return {"loss": np.mean(np.logaddexp(0, -logits_real)) + np.mean(np.logaddexp(0, logits_fake)),
            "grad_real": sign * (_sigmoid(logits_real) - 1) / n_r,
            "grad_fake": sign * _sigmoid(logits_fake) / n_f}


def _grads(**kw: Any) -> Any:
    return lambda **a: {k: v for k, v in _d_right(**a, **kw).items() if k != "loss"}


_discriminator_catalogue = catalogue(_d_right, [
    (D_POOLED, _grads(pooled=True)), (D_NO_MEAN, _grads(mean=False)), (D_SIGN, _grads(sign=-1.0)),
])


def _discriminator_loss_reference(logits_real: np.ndarray,
                                  logits_fake: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    real, fake = _leaf(logits_real), _leaf(logits_fake)
    loss = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    loss.backward()
    return {"loss": loss.detach().numpy(), "grad_real": real.grad.numpy(),
            "grad_fake": fake.grad.numpy()}


register(Question(
    id="ch10.discriminator_loss",
    points=3,
    description="The discriminator's loss -mean log D(x) - mean log(1 - D(G(z))) from logits "
                "(large ones included), and its gradients with respect to both sets of logits.",
    signature="discriminator_loss(logits_real, logits_fake) -> (loss, grad_real, grad_fake)",
    outputs=("loss", "grad_real", "grad_fake"),
    **split_suites(_discriminator_loss_cases),
    reference=_discriminator_loss_reference,
    requirements=(_discriminator_catalogue,
                  _finite("loss", "grad_real", "grad_fake", message=D_OVERFLOW)),
    needs=("torch",),
))

# -- ch10.optimal_discriminator (predict, then compute) -----------------------------------------
OPT_NAN = ("a bin where p_data or p_g is 0 adds 0 * log 0, which is 0 in the limit; np.log(0) "
           "is -inf and 0 * -inf is nan: leave those bins out of the sums")
OPT_SWAPPED = ("D* is the probability that x is real: p_data / (p_data + p_g), not "
               "p_g / (p_data + p_g)")
OPT_BITS = "the value is in bits: (10.1) uses the natural logarithm (np.log, not np.log2)"
OPT_EMPTY = ("where p_data and p_g are both 0, D* is not determined by the data: the task "
             "fixes it at 1/2")


def _opt_case(p: np.ndarray, q: np.ndarray) -> Case:
    return Case({"p_data": p / p.sum(), "p_g": q / q.sum()})


def _opt_public() -> list[Case]:
    rng = np.random.default_rng(105)
    k = 8
    spread = rng.random(k)
    disjoint_p, disjoint_q = np.r_[rng.random(4), np.zeros(4)], np.r_[np.zeros(4), rng.random(4)]
    partial_p, partial_q = np.r_[rng.random(5), np.zeros(3)], np.r_[np.zeros(2), rng.random(6)]
    gap_p, gap_q = np.r_[rng.random(3), 0.0, rng.random(2)], np.r_[rng.random(3), 0.0,
                                                                   rng.random(2)]
    return [_opt_case(spread, spread.copy()), _opt_case(disjoint_p, disjoint_q),
            _opt_case(partial_p, partial_q), _opt_case(gap_p, gap_q),
            _opt_case(rng.random(5), rng.random(5))]


def _opt_hidden(rng: np.random.Generator) -> list[Case]:
    k = int(rng.integers(4, 12))
    p, q = rng.random(k) * (rng.random(k) < 0.7), rng.random(k) * (rng.random(k) < 0.7)
    p[0], q[-1] = 1.0, 1.0
    cut = int(rng.integers(1, k))
    return [_opt_case(p, q), _opt_case(np.r_[rng.random(cut), np.zeros(k - cut)],
                                       np.r_[np.zeros(cut), rng.random(k - cut)])]


def _opt_right(p_data: np.ndarray, p_g: np.ndarray, swap: bool = False, log: Any = np.log,
               empty: float = 0.5) -> dict[str, Any]:
    total = p_data + p_g
    d = np.divide(p_g if swap else p_data, total, out=np.full_like(total, empty),
                  where=total > 0)
    real, fake = p_data > 0, p_g > 0
    with np.errstate(divide="ignore"):                # a swapped D* can put log(0) in V
        value = np.sum(p_data[real] * log(d[real])) + np.sum(p_g[fake] * log(1 - d[fake]))
    return {"d_star": d, "value": value}


_opt_catalogue = catalogue(_opt_right, [
    (OPT_SWAPPED, lambda **a: {"d_star": _opt_right(**a, swap=True)["d_star"]}),
    (OPT_BITS, lambda **a: {"value": _opt_right(**a, log=np.log2)["value"]}),
    (OPT_EMPTY, lambda **a: {"d_star": _opt_right(**a, empty=0.0)["d_star"]}),
])


def _opt_reference(p_data: np.ndarray, p_g: np.ndarray) -> dict[str, np.ndarray]:
    from scipy.special import rel_entr

    total = p_data + p_g
    d_star = np.where(total > 0, p_data / np.where(total > 0, total, 1), 0.5)
    mid = total / 2                                   # JS in nats, from two KL divergences
    js = 0.5 * rel_entr(p_data, mid).sum() + 0.5 * rel_entr(p_g, mid).sum()
    return {"d_star": d_star, "value": np.asarray(-np.log(4) + 2 * js)}


register(Question(
    id="ch10.optimal_discriminator",
    points=3,
    description="For two distributions on the same bins: the optimal discriminator D* and the "
                "value V(D*, G) of the game (10.1).",
    signature="optimal_discriminator(p_data, p_g) -> (d_star, value)",
    outputs=("d_star", "value"),
    public=_opt_public,
    hidden=_opt_hidden,
    reference=_opt_reference,
    requirements=(_opt_catalogue, _finite("d_star", "value", message=OPT_NAN)),
    needs=("scipy",),
))

# -- ch10.gradient_penalty (find the bug) -------------------------------------------------------
GP_BATCH_NORM = ("the norm is taken over the whole batch's gradient (one number): the penalty "
                 "needs one norm per sample, np.linalg.norm(grad, axis=1), then the mean of "
                 "(norm - 1)^2")
GP_SQUARED_NORM = ("the squared norm is used: the penalty is (||grad|| - 1)^2 with the norm "
                   "itself, not (||grad||^2 - 1)^2")
GP_NO_MASK = ("the input gradient ignores the ReLU: d relu(a)/da is 1 where W x + b > 0 and 0 "
              "elsewhere, so grad = W^T (v * [W x + b > 0]) per sample")
GP_AT_REAL = ("the gradient is taken at the real samples, not at the mixed points "
              "x_hat = alpha real + (1 - alpha) fake")

_GP = {"public": [(5, 2, 4, np.float64), (1, 2, 3, np.float64), (6, 3, 1, np.float64),
                  (4, 2, 8, np.float32)],
       "hidden": [(7, 5, 6, np.float64), (32, 2, 16, np.float32)]}


def _gradient_penalty_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(103) if rng is None else rng
    cases = []
    for n, d, h, dtype in _GP.get(suite, []):
        draw = {"W": rng.normal(size=(h, d)), "b": rng.normal(size=h), "v": rng.normal(size=h),
                "real": rng.normal(size=(n, d)), "fake": rng.normal(size=(n, d)),
                "alpha": rng.random((n, 1))}
        cases.append(Case({k: a.astype(dtype) for k, a in draw.items()}))
    return cases


def _gp_right(W: np.ndarray, b: np.ndarray, v: np.ndarray, real: np.ndarray, fake: np.ndarray,
              alpha: np.ndarray, mistake: str = "") -> dict[str, Any]:
    mixed = real if mistake == "real" else alpha * real + (1 - alpha) * fake
    active = np.ones((len(mixed), len(b))) if mistake == "mask" else (mixed @ W.T + b) > 0
    grad = (active * v) @ W
    if mistake == "batch":
        return {"penalty": (np.linalg.norm(grad) - 1) ** 2}
    norm = np.sum(grad**2, axis=1) if mistake == "squared" else np.linalg.norm(grad, axis=1)
    return {"penalty": np.mean((norm - 1) ** 2)}


_gp_catalogue = catalogue(_gp_right, [
    (GP_BATCH_NORM, lambda **a: _gp_right(**a, mistake="batch")),
    (GP_SQUARED_NORM, lambda **a: _gp_right(**a, mistake="squared")),
    (GP_NO_MASK, lambda **a: _gp_right(**a, mistake="mask")),
    (GP_AT_REAL, lambda **a: _gp_right(**a, mistake="real")),
])


def _gradient_penalty_reference(W: np.ndarray, b: np.ndarray, v: np.ndarray, real: np.ndarray,
                                fake: np.ndarray, alpha: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    W_t, b_t, v_t = (torch.tensor(a) for a in (W, b, v))
    mixed = (torch.tensor(alpha) * torch.tensor(real)
             + (1 - torch.tensor(alpha)) * torch.tensor(fake)).requires_grad_(True)
    score = torch.relu(mixed @ W_t.T + b_t) @ v_t
    (grad,) = torch.autograd.grad(score.sum(), mixed)
    return {"penalty": ((grad.norm(dim=1) - 1) ** 2).mean().numpy()}


register(Question(
    id="ch10.gradient_penalty",
    points=2,
    description="Find and fix the bug: the WGAN-GP penalty mean (|grad_x f(x_hat)| - 1)^2 of "
                "the critic f(x) = v . relu(W x + b) at x_hat = alpha real + (1 - alpha) fake.",
    signature="gradient_penalty(W, b, v, real, fake, alpha) -> penalty",
    outputs=("penalty",),
    **split_suites(_gradient_penalty_cases),
    reference=_gradient_penalty_reference,
    requirements=(_gp_catalogue,),
    needs=("torch",),
))

# -- ch10.style_adain (transfer) ---------------------------------------------------------------
ADAIN_UNBIASED = ("the variance is the unbiased one (ddof=1, divided by M - 1): AdaIN, like "
                  "instance norm, divides by the number M of spatial positions (np.var's "
                  "default)")
ADAIN_BATCH_STATS = ("the statistics run over the batch too (axes 0, 2, 3): AdaIN normalises "
                     "each sample's channel on its own, over the spatial axes only")
ADAIN_EPS_OUTSIDE = ("eps is added to the standard deviation: the task divides by "
                     "sqrt(var + eps), eps inside the square root")
ADAIN_SWAPPED = ("scale and shift are swapped: the first C entries of the style vector "
                 "w A^T + b are the scales y_s, the last C the shifts y_b")

_ADAIN = {"public": [((2, 3, 4, 4), 5, np.float64), ((1, 1, 3, 5), 2, np.float64),
                     ((3, 2, 6), 4, np.float64), ((2, 4, 3, 3), 3, np.float32)],
          "hidden": [((4, 2, 2, 3), 6, np.float64), ((1, 8, 8, 8), 4, np.float32)]}


def _adain_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(104) if rng is None else rng
    cases = []
    for shape, w_dim, dtype in _ADAIN.get(suite, []):
        c = shape[1]
        content = rng.normal(size=shape) * rng.uniform(0.5, 3, size=(*shape[:2],) + (1,) * (
            len(shape) - 2)) + rng.normal(size=(*shape[:2],) + (1,) * (len(shape) - 2))
        cases.append(Case({"content": content.astype(dtype),
                           "w": rng.normal(size=(shape[0], w_dim)).astype(dtype),
                           "A": (rng.normal(size=(2 * c, w_dim)) / np.sqrt(w_dim)).astype(dtype),
                           "b": np.r_[np.ones(c), np.zeros(c)].astype(dtype)}))
    return cases


def _adain_right(content: np.ndarray, w: np.ndarray, A: np.ndarray, b: np.ndarray,
                 mistake: str = "") -> dict[str, Any]:
    c = content.shape[1]
    axes = (0, *range(2, content.ndim)) if mistake == "batch" else tuple(range(2, content.ndim))
    mu = content.mean(axis=axes, keepdims=True)
    var = content.var(axis=axes, keepdims=True, ddof=1 if mistake == "ddof" else 0)
    std = np.sqrt(var) + 1e-5 if mistake == "eps" else np.sqrt(var + 1e-5)
    style = (w @ A.T + b).reshape(len(w), 2 * c, *([1] * (content.ndim - 2)))
    scale, shift = style[:, :c], style[:, c:]
    if mistake == "swap":
        scale, shift = shift, scale
    return {"out": scale * (content - mu) / std + shift}


_adain_catalogue = catalogue(_adain_right, [
    (ADAIN_UNBIASED, lambda **a: _adain_right(**a, mistake="ddof")),
    (ADAIN_BATCH_STATS, lambda **a: _adain_right(**a, mistake="batch")),
    (ADAIN_EPS_OUTSIDE, lambda **a: _adain_right(**a, mistake="eps")),
    (ADAIN_SWAPPED, lambda **a: _adain_right(**a, mistake="swap")),
])


def _adain_reference(content: np.ndarray, w: np.ndarray, A: np.ndarray,
                     b: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    x = torch.tensor(content)
    style = torch.nn.functional.linear(torch.tensor(w), torch.tensor(A), torch.tensor(b))
    scale, shift = style.chunk(2, dim=1)
    extra = (1,) * (x.dim() - 2)
    out = torch.nn.functional.instance_norm(x, eps=1e-5)
    return {"out": (scale.reshape(*scale.shape, *extra) * out
                    + shift.reshape(*shift.shape, *extra)).numpy()}


register(Question(
    id="ch10.style_adain",
    points=2,
    description="StyleGAN's AdaIN: each sample's content channels standardised over their "
                "spatial axes, then scaled and shifted by y = w A^T + b (first C entries the "
                "scales, last C the shifts).",
    signature="style_adain(content, w, A, b) -> out",
    outputs=("out",),
    **split_suites(_adain_cases),
    reference=_adain_reference,
    requirements=(_adain_catalogue,),
    needs=("torch",),
))
