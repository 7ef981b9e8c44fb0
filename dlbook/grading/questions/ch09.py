"""Chapter 9 exercises: a reparameterisation to debug (its gradient check passes, its samples
are wrong), the Gaussian KL against a prior the chapter did not use (a transfer of (9.6), with
its gradients), the negative ELBO at any logit (large ones included) with the gradients of its
three inputs, and a Monte Carlo estimate of the KL whose noise is predicted, then measured.

Every reference here is independent of solutions/ch09_autoencoders.ipynb and of
``dlbook.nn``/``dlbook.models``: torch autograd for every gradient,
``torch.distributions.kl_divergence`` for every closed-form KL, ``Normal.log_prob`` for the
Monte Carlo estimate, and ``torch.nn.functional.binary_cross_entropy_with_logits`` for the
reconstruction term. Each question's catalogue names the likely cause of a wrong answer; each
entry is planted in tests/grading/test_catalogue_ch09.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue
from dlbook.grading.registry import Case, Question, register, split_suites


def _leaf(a: np.ndarray) -> Any:
    import torch

    return torch.tensor(a, requires_grad=True)


def _kl_terms(mu: Any, logvar: Any, mu2: Any = None, logvar2: Any = None) -> Any:
    """Elementwise KL(N(mu, e^logvar) || N(mu2, e^logvar2)) by torch.distributions
    (the standard normal when mu2, logvar2 are None)."""
    import torch
    from torch.distributions import Normal, kl_divergence

    if mu2 is None:
        mu2, logvar2 = torch.zeros_like(mu), torch.zeros_like(logvar)
    return kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(mu2, torch.exp(0.5 * logvar2)))


def _finite(*names: str, message: str) -> Any:
    """A requirement: the outputs ``names`` hold no inf or nan (the references never do)."""
    def requirement(got: dict[str, Any], case: Case) -> str | None:
        for name in names:
            try:
                bad = not np.all(np.isfinite(np.asarray(got.get(name), dtype=np.float64)))
            except (TypeError, ValueError):
                return None
            if bad:
                return f"{name} holds inf or nan: {message}"
        return None
    return requirement


def _latent(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> dict[str, Any]:
    return {"mu": rng.normal(size=shape).astype(dtype),
            "logvar": rng.uniform(-2.5, 2.0, size=shape).astype(dtype)}


# -- ch09.reparameterize (find the bug) ---------------------------------------------------------
REP_STD_IS_VAR = ("z uses exp(logvar) as the standard deviation, which is the variance: "
                  "sigma = exp(logvar / 2), so your samples' log-std is twice the encoder's "
                  "(their spread is sigma^2, not sigma); the gradient check cannot see this, "
                  "the sample's spread does")
REP_GRAD_NO_HALF = ("grad_logvar lacks the factor 1/2: with sigma = exp(logvar / 2), "
                    "d sigma / d logvar = sigma / 2, so the backward must change with the "
                    "forward: grad_logvar = grad_z * eps * sigma / 2")
REP_GRAD_WRT_SIGMA = ("grad_logvar is dL/dsigma = grad_z * eps: the encoder outputs logvar, "
                      "not sigma, so the chain rule multiplies by d sigma / d logvar = sigma / 2")

_REPARAM = {"public": [((4, 2), np.float64), ((1, 5), np.float64), ((3, 2, 4), np.float64),
                       ((6, 3), np.float32)],
            "hidden": [((7, 1), np.float64), ((2, 8), np.float32)]}


def _reparameterize_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(91) if rng is None else rng
    cases = []
    for shape, dtype in _REPARAM.get(suite, []):
        cases.append(Case({**_latent(rng, shape, dtype),
                           "eps": rng.normal(size=shape).astype(dtype),
                           "grad_z": rng.normal(size=shape).astype(dtype)}))
    return cases


def _reparameterize_right(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray,
                          grad_z: np.ndarray, mistake: str = "") -> dict[str, Any]:
    std = np.exp(0.5 * logvar)
    factor = {"half": std, "sigma": 1.0}.get(mistake, 0.5 * std)
    return {"z": mu + (np.exp(logvar) if mistake == "var" else std) * eps, "grad_mu": grad_z,
            "grad_logvar": factor * grad_z * eps}


def _only(name: str, mistake: str) -> Any:
    return lambda **a: {name: _reparameterize_right(**a, mistake=mistake)[name]}


_reparameterize_catalogue = catalogue(_reparameterize_right, [
    (REP_STD_IS_VAR, _only("z", "var")),
    (REP_GRAD_NO_HALF, _only("grad_logvar", "half")),
    (REP_GRAD_WRT_SIGMA, _only("grad_logvar", "sigma")),
])


def _reparameterize_reference(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray,
                              grad_z: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    mu_t, logvar_t = _leaf(mu), _leaf(logvar)
    z = mu_t + torch.exp(0.5 * logvar_t) * torch.tensor(eps)
    z.backward(torch.tensor(grad_z))
    return {"z": z.detach().numpy(), "grad_mu": mu_t.grad.numpy(),
            "grad_logvar": logvar_t.grad.numpy()}


register(Question(
    id="ch09.reparameterize",
    points=2,
    description="Find and fix the bug: z = mu + exp(logvar / 2) * eps and the gradients of mu "
                "and logvar.",
    signature="reparameterize(mu, logvar, eps, grad_z) -> (z, grad_mu, grad_logvar)",
    outputs=("z", "grad_mu", "grad_logvar"),
    **split_suites(_reparameterize_cases),
    reference=_reparameterize_reference,
    requirements=(_reparameterize_catalogue,),
    needs=("torch",),
))

# -- ch09.kl_to_prior (transfer) ----------------------------------------------------------------
KL_NO_MEAN = ("kl and its gradients are N times too large (N = the batch size): the KL term is "
              "the mean over the batch of each example's sum over its k coordinates; divide "
              "the sum, and so each gradient, by N")
KL_GRADS_NO_MEAN = ("the gradients are N times too large (N = the batch size), though kl is "
                    "right: the batch mean's 1/N carries into every gradient")
KL_STANDARD_PRIOR = ("kl is (9.6), the KL to the standard normal: the prior here is "
                     "N(prior_mu, exp(prior_logvar)); redo the derivation with "
                     "log p(z) = -(log 2 pi + log sigma_p^2 + (z - mu_p)^2 / sigma_p^2) / 2")
KL_NO_PRIOR_NORMALISER = ("kl lacks + log sigma_p^2 / 2 per coordinate: log p(z) keeps the "
                          "prior's normaliser -log sigma_p^2 / 2 (only log 2 pi cancels "
                          "against log q's)")
KL_GRAD_MU_UNSCALED = ("grad_mu lacks the 1 / sigma_p^2: the mean enters the KL through "
                       "(mu - mu_p)^2 / (2 sigma_p^2)")
KL_GRAD_LOGVAR_COPIED = ("grad_logvar is (9.6)'s (sigma^2 - 1) / 2 (over N): against this prior "
                         "the variance enters through sigma^2 / sigma_p^2, so the gradient is "
                         "(sigma^2 / sigma_p^2 - 1) / 2 (over N)")

_PRIOR = {"public": [((5, 2), np.float64, "random"), ((3, 4), np.float64, "standard"),
                     ((1, 3), np.float64, "random"), ((8, 1), np.float64, "random"),
                     ((4, 6), np.float32, "random")],
          "hidden": [((3, 4), np.float64, "random"), ((16, 2), np.float32, "random")]}


def _kl_to_prior_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(92) if rng is None else rng
    cases = []
    for shape, dtype, prior in _PRIOR.get(suite, []):
        k = shape[-1]
        prior_mu, prior_logvar = rng.normal(size=k), rng.uniform(-1.5, 1.5, size=k)
        if prior == "standard":
            prior_mu, prior_logvar = np.zeros(k), np.zeros(k)
        cases.append(Case({**_latent(rng, shape, dtype), "prior_mu": prior_mu.astype(dtype),
                           "prior_logvar": prior_logvar.astype(dtype)}))
    return cases


def _kl_right(mu: np.ndarray, logvar: np.ndarray, prior_mu: np.ndarray,
              prior_logvar: np.ndarray, mistake: str = "") -> dict[str, Any]:
    if mistake == "standard":
        prior_mu, prior_logvar = np.zeros_like(prior_mu), np.zeros_like(prior_logvar)
    n = 1 if mistake == "sum" else mu.shape[0]
    n_grad = 1 if mistake in ("sum", "grads") else mu.shape[0]
    var, prior_var = np.exp(logvar), np.exp(prior_logvar)
    log_ratio = -logvar if mistake == "normaliser" else prior_logvar - logvar
    kl = 0.5 * np.sum(log_ratio + (var + (mu - prior_mu) ** 2) / prior_var - 1) / n
    grad_mu = (mu - prior_mu) / (1.0 if mistake == "grad_mu" else prior_var) / n_grad
    grad_logvar = 0.5 * (var / (1.0 if mistake == "grad_logvar" else prior_var) - 1) / n_grad
    return {"kl": kl, "grad_mu": grad_mu, "grad_logvar": grad_logvar}


def _kl_mutant(mistake: str, *names: str) -> Any:
    return lambda **a: {name: _kl_right(**a, mistake=mistake)[name] for name in names}


_kl_catalogue = catalogue(_kl_right, [
    (KL_NO_MEAN, _kl_mutant("sum", "kl", "grad_mu", "grad_logvar")),
    (KL_GRADS_NO_MEAN, _kl_mutant("grads", "grad_mu", "grad_logvar")),
    (KL_STANDARD_PRIOR, _kl_mutant("standard", "kl")),
    (KL_NO_PRIOR_NORMALISER, _kl_mutant("normaliser", "kl")),
    (KL_GRAD_MU_UNSCALED, _kl_mutant("grad_mu", "grad_mu")),
    (KL_GRAD_LOGVAR_COPIED, _kl_mutant("grad_logvar", "grad_logvar")),
])


def _kl_to_prior_reference(mu: np.ndarray, logvar: np.ndarray, prior_mu: np.ndarray,
                           prior_logvar: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    mu_t, logvar_t = _leaf(mu), _leaf(logvar)
    prior = (torch.tensor(prior_mu).expand_as(mu_t), torch.tensor(prior_logvar).expand_as(mu_t))
    kl = _kl_terms(mu_t, logvar_t, *prior).sum() / mu.shape[0]
    kl.backward()
    return {"kl": kl.detach().numpy(), "grad_mu": mu_t.grad.numpy(),
            "grad_logvar": logvar_t.grad.numpy()}


register(Question(
    id="ch09.kl_to_prior",
    points=3,
    description="KL(N(mu, diag exp(logvar)) || N(prior_mu, diag exp(prior_logvar))) per "
                "example (batch mean) and its gradients with respect to mu and logvar.",
    signature="kl_to_prior(mu, logvar, prior_mu, prior_logvar) -> (kl, grad_mu, grad_logvar)",
    outputs=("kl", "grad_mu", "grad_logvar"),
    **split_suites(_kl_to_prior_cases),
    reference=_kl_to_prior_reference,
    requirements=(_kl_catalogue,),
    needs=("torch",),
))

# -- ch09.negative_elbo (at any logit) ----------------------------------------------------------
ELBO_OVERFLOW = ("np.log(1 + np.exp(a)) (or exp(a) in the sigmoid) overflows for large logits "
                 "(here up to |a| = 800; np.exp is inf above about 709 in float64 and 88 in "
                 "float32): compute log(1 + e^a) as np.logaddexp(0, a) and sigmoid(a) as "
                 "np.exp(-np.logaddexp(0, -a))")
ELBO_PIXEL_MEAN = ("the cross entropy is averaged over the pixels too (divided by N * D, as "
                   "torch's default reduction='mean' does): the likelihood of an image is the "
                   "product over its D pixels, so its log is a sum; the mean weakens it D times "
                   "against the KL (a beta of D, section 7's posterior collapse)")
ELBO_GRAD_NO_MEAN = ("grad_logits is N times too large (N = the batch size): the loss is a mean "
                     "over the batch, so each logit's gradient carries the 1/N")
ELBO_GRAD_SIGN = ("grad_logits has the wrong sign: raising a logit raises the loss where the "
                  "pixel's probability sigmoid(a) already exceeds x")
ELBO_KL_GRADS_NO_MEAN = ("grad_mu and grad_logvar are N times too large (N = the batch size): "
                         "the KL term is averaged over the batch like the reconstruction term")

_ELBO = {"public": [(4, 6, 2, np.float64, 4), (1, 5, 3, np.float64, 4),
                    (7, 4, 1, np.float64, 4), (5, 8, 2, np.float32, 4),
                    (6, 10, 2, np.float64, 800), (4, 9, 3, np.float32, 800)],
         "hidden": [(3, 9, 4, np.float64, 4), (10, 64, 2, np.float32, 4),
                    (5, 16, 2, np.float64, 800), (8, 12, 3, np.float32, 800)]}


def _logits(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Logits of scale 2, or, for ``scale`` > 12, half of them at |a| between 20 and
    ``scale`` with either sign (a naive log(1 + e^a) overflows); one of each extreme."""
    a = 2 * rng.normal(size=shape)
    if scale > 12:
        big = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(20, scale, size=shape)
        a = np.where(rng.random(shape) < 0.5, big, a)
        a.flat[0], a.flat[-1] = scale, -scale
    return a


def _negative_elbo_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(93) if rng is None else rng
    cases = []
    for n, d, k, dtype, scale in _ELBO.get(suite, []):
        cases.append(Case({"logits": _logits(rng, (n, d), scale).astype(dtype),
                           "x": rng.random((n, d)).astype(dtype),
                           **_latent(rng, (n, k), dtype)}))
    return cases


def _elbo_right(logits: np.ndarray, x: np.ndarray, mu: np.ndarray, logvar: np.ndarray,
                mistake: str = "") -> dict[str, Any]:
    n, d = logits.shape
    pixels = n * d if mistake == "pixels" else n
    kl_n = 1 if mistake == "kl_grads" else n
    sigmoid = np.exp(-np.logaddexp(0, -logits))
    grad = (sigmoid - x) * (-1 if mistake == "sign" else 1) / (1 if mistake == "grad" else pixels)
    loss = (np.sum(np.logaddexp(0, logits) - x * logits) / pixels
            + 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar) / n)
    return {"loss": loss, "grad_logits": grad, "grad_mu": mu / kl_n,
            "grad_logvar": 0.5 * (np.exp(logvar) - 1) / kl_n}


def _elbo_mutant(mistake: str, *names: str) -> Any:
    return lambda **a: {name: _elbo_right(**a, mistake=mistake)[name] for name in names}


_elbo_catalogue = catalogue(_elbo_right, [
    (ELBO_PIXEL_MEAN, _elbo_mutant("pixels", "loss", "grad_logits")),
    (ELBO_GRAD_NO_MEAN, _elbo_mutant("grad", "grad_logits")),
    (ELBO_GRAD_SIGN, _elbo_mutant("sign", "grad_logits")),
    (ELBO_KL_GRADS_NO_MEAN, _elbo_mutant("kl_grads", "grad_mu", "grad_logvar")),
])


def _negative_elbo_reference(logits: np.ndarray, x: np.ndarray, mu: np.ndarray,
                             logvar: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    logits_t, mu_t, logvar_t = _leaf(logits), _leaf(mu), _leaf(logvar)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits_t, torch.tensor(x),
                                                               reduction="sum")
    loss = (bce + _kl_terms(mu_t, logvar_t).sum()) / logits.shape[0]
    loss.backward()
    return {"loss": loss.detach().numpy(), "grad_logits": logits_t.grad.numpy(),
            "grad_mu": mu_t.grad.numpy(), "grad_logvar": logvar_t.grad.numpy()}


register(Question(
    id="ch09.negative_elbo",
    points=3,
    description="The negative ELBO per example (Bernoulli cross entropy from logits, large "
                "ones included, + Gaussian KL) and the gradients of logits, mu and logvar.",
    signature="negative_elbo(logits, x, mu, logvar) -> (loss, grad_logits, grad_mu, "
              "grad_logvar)",
    outputs=("loss", "grad_logits", "grad_mu", "grad_logvar"),
    **split_suites(_negative_elbo_cases),
    reference=_negative_elbo_reference,
    requirements=(_finite("loss", "grad_logits", message=ELBO_OVERFLOW), _elbo_catalogue),
    needs=("torch",),
))

# -- ch09.mc_kl (predict, then measure) ---------------------------------------------------------
MC_CLOSED_FORM = ("this is the closed form (9.6) of each row: the task is the Monte Carlo "
                  "estimate from the given draws eps, which equals (9.6) only on average")
MC_NO_NORMALISER = ("log q(z) lacks -log sigma^2 / 2 per coordinate: the normaliser of "
                    "N(mu, sigma^2) is 1 / sqrt(2 pi sigma^2), and only the 2 pi cancels "
                    "against log p(z)")
MC_SUM_DRAWS = ("the estimate is summed over the S draws (S times too large): average "
                "log q(z) - log p(z) over the draws, axis 0")
MC_SIGN = ("the estimate has the wrong sign: KL(q || p) = E_q[log q(z) - log p(z)], "
           "not log p - log q")

_MC = {"public": [(4, 3, 2, np.float64), (1, 5, 1, np.float64), (6, 1, 3, np.float64),
                  (3, 2, 4, np.float32)],
       "hidden": [(5, 2, 3, np.float64), (4, 3, 2, np.float32)]}


def _mc_kl_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(94) if rng is None else rng
    cases = []
    for n, k, s, dtype in _MC.get(suite, []):
        latent = _latent(rng, (n, k), dtype)
        cases.append(Case({**latent, "eps": rng.normal(size=(s, n, k)).astype(dtype)}))
    return cases


def _mc_right(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray,
              mistake: str = "") -> dict[str, Any]:
    if mistake == "closed":
        return {"kl": 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=-1)}
    z = mu + np.exp(0.5 * logvar) * eps
    log_q = -0.5 * ((0 if mistake == "normaliser" else logvar) + eps**2)
    terms = np.sum(log_q + 0.5 * z**2, axis=-1) * (-1 if mistake == "sign" else 1)
    return {"kl": terms.sum(axis=0) if mistake == "sum" else terms.mean(axis=0)}


_mc_catalogue = catalogue(_mc_right, [
    (MC_CLOSED_FORM, lambda **a: _mc_right(**a, mistake="closed")),
    (MC_NO_NORMALISER, lambda **a: _mc_right(**a, mistake="normaliser")),
    (MC_SUM_DRAWS, lambda **a: _mc_right(**a, mistake="sum")),
    (MC_SIGN, lambda **a: _mc_right(**a, mistake="sign")),
])


def _mc_kl_reference(mu: np.ndarray, logvar: np.ndarray,
                     eps: np.ndarray) -> dict[str, np.ndarray]:
    import torch
    from torch.distributions import Normal

    mu_t, logvar_t = torch.tensor(mu), torch.tensor(logvar)
    q = Normal(mu_t, torch.exp(0.5 * logvar_t))
    z = mu_t + q.scale * torch.tensor(eps)
    p = Normal(torch.zeros_like(mu_t), torch.ones_like(mu_t))
    return {"kl": (q.log_prob(z) - p.log_prob(z)).sum(dim=-1).mean(dim=0).numpy()}


register(Question(
    id="ch09.mc_kl",
    points=2,
    description="The Monte Carlo estimate of KL(N(mu, diag exp(logvar)) || N(0, I)) per row, "
                "from S given noise draws eps (z = mu + sigma * eps).",
    signature="mc_kl(mu, logvar, eps) -> kl",
    outputs=("kl",),
    **split_suites(_mc_kl_cases),
    reference=_mc_kl_reference,
    requirements=(_mc_catalogue,),
    needs=("torch",),
))
