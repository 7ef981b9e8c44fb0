"""The self-check catalogue of chapter 9: every named mistake is planted in an otherwise right
answer, and the check must fail with exactly that entry's message (no other entry's); the right
answers pass the public suite and two hidden draws. The catalogue lives in
dlbook/grading/questions/ch09.py."""
from __future__ import annotations

import numpy as np
import pytest
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch09

# -- right answers (NumPy only, as a student would write them), each with its mistakes --------


def reparameterize(mu, logvar, eps, grad_z, mistake=""):
    std = np.exp(logvar) if mistake == "var" else np.exp(0.5 * logvar)
    z = mu + std * eps
    if mistake == "var":                           # the colleague's code, left as it was
        return z, grad_z.copy(), grad_z * std * eps
    if mistake == "half":                          # the forward fixed, the backward not
        return z, grad_z.copy(), grad_z * std * eps
    if mistake == "sigma":
        return z, grad_z.copy(), grad_z * eps
    return z, grad_z.copy(), 0.5 * grad_z * std * eps


def kl_to_prior(mu, logvar, prior_mu, prior_logvar, mistake=""):
    n = mu.shape[0]
    if mistake == "standard":                      # (9.6) copied
        prior_mu, prior_logvar = np.zeros_like(prior_mu), np.zeros_like(prior_logvar)
    var, prior_var = np.exp(logvar), np.exp(prior_logvar)
    log_ratio = -logvar if mistake == "normaliser" else prior_logvar - logvar
    kl = 0.5 * np.sum(log_ratio + (var + (mu - prior_mu) ** 2) / prior_var - 1)
    grad_mu = (mu - prior_mu) if mistake == "grad_mu" else (mu - prior_mu) / prior_var
    grad_logvar = 0.5 * (var - 1) if mistake == "grad_logvar" else 0.5 * (var / prior_var - 1)
    if mistake == "sum":
        return kl, grad_mu, grad_logvar
    if mistake == "grads":
        return kl / n, grad_mu, grad_logvar
    return kl / n, grad_mu / n, grad_logvar / n


def negative_elbo(logits, x, mu, logvar, mistake=""):
    n, d = logits.shape
    if mistake == "naive":
        with np.errstate(over="ignore"):
            softplus = np.log(1 + np.exp(logits))
    else:
        softplus = np.logaddexp(0, logits)
    sigmoid = np.exp(-np.logaddexp(0, -logits))
    count = n * d if mistake == "pixels" else n
    bce = np.sum(softplus - x * logits) / count
    grad = (sigmoid - x) / count
    if mistake == "grad":
        grad = sigmoid - x
    if mistake == "sign":
        grad = -grad
    var = np.exp(logvar)
    kl = 0.5 * np.sum(mu**2 + var - 1 - logvar) / n
    kl_n = 1 if mistake == "kl_grads" else n
    return bce + kl, grad, mu / kl_n, 0.5 * (var - 1) / kl_n


def mc_kl(mu, logvar, eps, mistake=""):
    if mistake == "closed":
        return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=-1)
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * eps                           # (S, N, k)
    log_q = -0.5 * (np.log(2 * np.pi) + (0 if mistake == "normaliser" else logvar)
                    + (z - mu) ** 2 / sigma**2)
    log_p = -0.5 * (np.log(2 * np.pi) + z**2)
    draws = np.sum(log_p - log_q if mistake == "sign" else log_q - log_p, axis=-1)
    kl = draws.sum(axis=0) if mistake == "sum" else draws.mean(axis=0)
    return kl.astype(mu.dtype)


RIGHT = {"ch09.reparameterize": reparameterize, "ch09.kl_to_prior": kl_to_prior,
         "ch09.negative_elbo": negative_elbo, "ch09.mc_kl": mc_kl}

MUTANTS = [
    ("ch09.reparameterize", "var", ch09.REP_STD_IS_VAR),
    ("ch09.reparameterize", "half", ch09.REP_GRAD_NO_HALF),
    ("ch09.reparameterize", "sigma", ch09.REP_GRAD_WRT_SIGMA),
    ("ch09.kl_to_prior", "sum", ch09.KL_NO_MEAN),
    ("ch09.kl_to_prior", "grads", ch09.KL_GRADS_NO_MEAN),
    ("ch09.kl_to_prior", "standard", ch09.KL_STANDARD_PRIOR),
    ("ch09.kl_to_prior", "normaliser", ch09.KL_NO_PRIOR_NORMALISER),
    ("ch09.kl_to_prior", "grad_mu", ch09.KL_GRAD_MU_UNSCALED),
    ("ch09.kl_to_prior", "grad_logvar", ch09.KL_GRAD_LOGVAR_COPIED),
    ("ch09.negative_elbo", "naive", ch09.ELBO_OVERFLOW),
    ("ch09.negative_elbo", "pixels", ch09.ELBO_PIXEL_MEAN),
    ("ch09.negative_elbo", "grad", ch09.ELBO_GRAD_NO_MEAN),
    ("ch09.negative_elbo", "sign", ch09.ELBO_GRAD_SIGN),
    ("ch09.negative_elbo", "kl_grads", ch09.ELBO_KL_GRADS_NO_MEAN),
    ("ch09.mc_kl", "closed", ch09.MC_CLOSED_FORM),
    ("ch09.mc_kl", "normaliser", ch09.MC_NO_NORMALISER),
    ("ch09.mc_kl", "sum", ch09.MC_SUM_DRAWS),
    ("ch09.mc_kl", "sign", ch09.MC_SIGN),
]


(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(RIGHT, MUTANTS, [ch09])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_large_logit_cases_break_a_naive_softplus(dtype):
    # public and hidden suites hold logits of |a| = 800 in both dtypes, where
    # np.log(1 + np.exp(a)) is inf; the largest logit of the old suite was 6.3
    from dlbook.grading.registry import get, iter_cases

    for suite, seed in [("public", None), ("hidden", 1)]:
        cases = [c for c in iter_cases(get("ch09.negative_elbo"), suite, seed)
                 if c.args["logits"].dtype == dtype and np.abs(c.args["logits"]).max() >= 800]
        assert cases, (suite, dtype)
        with np.errstate(over="ignore"):
            assert not np.isfinite(negative_elbo(**cases[0].args, mistake="naive")[0])
