"""Chapter 9 exercises: the reparameterisation trick forward and backward, the Gaussian KL term
and its gradient, the whole negative ELBO with its three input gradients, and the KL
divergence between two diagonal Gaussians.

Every reference here is independent of solutions/ch09_autoencoders.ipynb and of
``dlbook.nn``/``dlbook.models``: torch autograd for every gradient,
``torch.distributions.kl_divergence`` for every KL value, and
``torch.nn.functional.binary_cross_entropy_with_logits`` for the reconstruction term.
"""
from __future__ import annotations

from typing import Any

import numpy as np

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


def _latent_cases(suite: str, seed: int, specs: dict[str, list],
                  rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(seed) if rng is None else rng
    cases = []
    for shape, dtype in specs.get(suite, []):
        cases.append(Case({"mu": rng.normal(size=shape).astype(dtype),
                           "logvar": rng.uniform(-2.5, 2.0, size=shape).astype(dtype)}))
    return cases


# -- ch09.reparameterize -----------------------------------------------------------------------
_REPARAM = {"public": [((4, 2), np.float64), ((1, 5), np.float64), ((3, 2, 4), np.float64),
                       ((6, 3), np.float32)],
            "hidden": [((7, 1), np.float64), ((2, 8), np.float32)]}


def _reparameterize_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(91) if rng is None else rng
    cases = []
    for case in _latent_cases(suite, 90, _REPARAM, rng):
        a = case.args
        shape, dtype = a["mu"].shape, a["mu"].dtype
        cases.append(Case({**a, "eps": rng.normal(size=shape).astype(dtype),
                           "grad_z": rng.normal(size=shape).astype(dtype)}))
    return cases


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
    description="z = mu + exp(logvar / 2) * eps and the gradients of mu and logvar.",
    signature="reparameterize(mu, logvar, eps, grad_z) -> (z, grad_mu, grad_logvar)",
    outputs=("z", "grad_mu", "grad_logvar"),
    **split_suites(_reparameterize_cases),
    reference=_reparameterize_reference,
    needs=("torch",),
))

# -- ch09.gaussian_kl --------------------------------------------------------------------------
_KL = {"public": [((5, 2), np.float64), ((1, 3), np.float64), ((8, 1), np.float64),
                  ((4, 6), np.float32)],
       "hidden": [((3, 4), np.float64), ((16, 2), np.float32)]}


def _gaussian_kl_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    return _latent_cases(suite, 92, _KL, rng)


def _gaussian_kl_reference(mu: np.ndarray, logvar: np.ndarray) -> dict[str, np.ndarray]:
    mu_t, logvar_t = _leaf(mu), _leaf(logvar)
    kl = _kl_terms(mu_t, logvar_t).sum() / mu.shape[0]
    kl.backward()
    return {"kl": kl.detach().numpy(), "grad_mu": mu_t.grad.numpy(),
            "grad_logvar": logvar_t.grad.numpy()}


register(Question(
    id="ch09.gaussian_kl",
    points=2,
    description="KL(N(mu, exp(logvar)) || N(0, I)) per example (batch mean) and its gradients.",
    signature="gaussian_kl(mu, logvar) -> (kl, grad_mu, grad_logvar)",
    outputs=("kl", "grad_mu", "grad_logvar"),
    **split_suites(_gaussian_kl_cases),
    reference=_gaussian_kl_reference,
    needs=("torch",),
))

# -- ch09.negative_elbo ------------------------------------------------------------------------
_ELBO = {"public": [(4, 6, 2, np.float64), (1, 5, 3, np.float64), (7, 4, 1, np.float64),
                    (5, 8, 2, np.float32)],
         "hidden": [(3, 9, 4, np.float64), (10, 64, 2, np.float32)]}


def _negative_elbo_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(93) if rng is None else rng
    cases = []
    for n, d, k, dtype in _ELBO.get(suite, []):
        cases.append(Case({"logits": (2 * rng.normal(size=(n, d))).astype(dtype),
                           "x": rng.random((n, d)).astype(dtype),
                           "mu": rng.normal(size=(n, k)).astype(dtype),
                           "logvar": rng.uniform(-2.5, 2.0, size=(n, k)).astype(dtype)}))
    return cases


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
    description="The negative ELBO per example (BCE with logits + Gaussian KL) and the "
                "gradients of logits, mu and logvar.",
    signature="negative_elbo(logits, x, mu, logvar) -> (loss, grad_logits, grad_mu, "
              "grad_logvar)",
    outputs=("loss", "grad_logits", "grad_mu", "grad_logvar"),
    **split_suites(_negative_elbo_cases),
    reference=_negative_elbo_reference,
    needs=("torch",),
))

# -- ch09.kl_diagonal_gaussians ----------------------------------------------------------------
_KL2 = {"public": [((3, 2), np.float64), ((1, 4), np.float64), ((5, 1), np.float32)],
        "hidden": [((6, 3), np.float64), ((2, 7), np.float32)]}


def _kl_diagonal_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(94) if rng is None else rng
    cases = []
    for shape, dtype in _KL2.get(suite, []):
        draw = {"mu1": rng.normal(size=shape), "logvar1": rng.uniform(-2, 2, size=shape),
                "mu2": rng.normal(size=shape), "logvar2": rng.uniform(-2, 2, size=shape)}
        cases.append(Case({k: v.astype(dtype) for k, v in draw.items()}))
    return cases


def _kl_diagonal_reference(mu1: np.ndarray, logvar1: np.ndarray, mu2: np.ndarray,
                           logvar2: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    args = [torch.tensor(a) for a in (mu1, logvar1, mu2, logvar2)]
    return {"kl": _kl_terms(*args).sum(dim=-1).numpy()}


register(Question(
    id="ch09.kl_diagonal_gaussians",
    points=2,
    description="KL(N(mu1, diag exp(logvar1)) || N(mu2, diag exp(logvar2))), one per row.",
    signature="kl_diagonal_gaussians(mu1, logvar1, mu2, logvar2) -> kl",
    outputs=("kl",),
    **split_suites(_kl_diagonal_cases),
    reference=_kl_diagonal_reference,
    needs=("torch",),
))
