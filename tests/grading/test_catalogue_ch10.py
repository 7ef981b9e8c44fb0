"""The self-check catalogue of chapter 10: every named mistake is planted in an otherwise
right answer, and the check must fail with exactly that entry's message (no other entry's);
the right answers pass the public suite and two hidden draws. The catalogue lives in
dlbook/grading/questions/ch10.py."""
from __future__ import annotations

import numpy as np
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch10

# -- right answers (NumPy only, as a student would write them), each with its mistakes --------


def discriminator_loss(logits_real, logits_fake, mistake=""):
    if mistake == "naive":
        with np.errstate(over="ignore", divide="ignore"):
            loss = -np.mean(np.log(1 / (1 + np.exp(-logits_real)))) - np.mean(
                np.log(1 - 1 / (1 + np.exp(-logits_fake))))
    else:
        loss = np.mean(np.logaddexp(0, -logits_real)) + np.mean(np.logaddexp(0, logits_fake))
    sig_r = np.exp(-np.logaddexp(0, -logits_real))
    sig_f = np.exp(-np.logaddexp(0, -logits_fake))
    n_r, n_f = logits_real.size, logits_fake.size
    if mistake == "pooled":
        n_r = n_f = n_r + n_f
    if mistake == "sum":
        n_r = n_f = 1
    sign = -1 if mistake == "sign" else 1
    return loss, sign * (sig_r - 1) / n_r, sign * sig_f / n_f


def optimal_discriminator(p_data, p_g, mistake=""):
    total = p_data + p_g
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (p_g if mistake == "swapped" else p_data) / total
    d[total == 0] = 0.0 if mistake == "empty" else 0.5
    log = np.log2 if mistake == "bits" else np.log
    if mistake == "nan":
        with np.errstate(divide="ignore", invalid="ignore"):
            return d, np.sum(p_data * log(d)) + np.sum(p_g * log(1 - d))
    real, fake = p_data > 0, p_g > 0
    with np.errstate(divide="ignore"):              # the swapped D* puts log(0) in V
        return d, np.sum(p_data[real] * log(d[real])) + np.sum(p_g[fake] * log(1 - d[fake]))


def gradient_penalty(W, b, v, real, fake, alpha, mistake=""):
    mixed = real if mistake == "real" else alpha * real + (1 - alpha) * fake
    active = (mixed @ W.T + b) > 0
    grad = (v if mistake == "mask" else active * v) @ W
    if mistake == "mask":
        grad = np.broadcast_to(grad, mixed.shape)
    if mistake == "batch":
        return (np.linalg.norm(grad) - 1) ** 2
    norm = (grad**2).sum(axis=1) if mistake == "squared" else np.linalg.norm(grad, axis=1)
    return np.mean((norm - 1) ** 2)


def style_adain(content, w, A, b, mistake=""):
    c, extra = content.shape[1], (1,) * (content.ndim - 2)
    axes = tuple(range(2, content.ndim))
    if mistake == "batch":
        axes = (0, *axes)
    mu = content.mean(axis=axes, keepdims=True)
    var = content.var(axis=axes, keepdims=True, ddof=1 if mistake == "ddof" else 0)
    std = np.sqrt(var) + 1e-5 if mistake == "eps" else np.sqrt(var + 1e-5)
    style = w @ A.T + b
    scale, shift = style[:, :c].reshape(-1, c, *extra), style[:, c:].reshape(-1, c, *extra)
    if mistake == "swap":
        scale, shift = shift, scale
    return scale * (content - mu) / std + shift


RIGHT = {"ch10.discriminator_loss": discriminator_loss,
         "ch10.optimal_discriminator": optimal_discriminator,
         "ch10.gradient_penalty": gradient_penalty, "ch10.style_adain": style_adain}

MUTANTS = [
    ("ch10.discriminator_loss", "naive", ch10.D_OVERFLOW),
    ("ch10.discriminator_loss", "pooled", ch10.D_POOLED),
    ("ch10.discriminator_loss", "sum", ch10.D_NO_MEAN),
    ("ch10.discriminator_loss", "sign", ch10.D_SIGN),
    ("ch10.optimal_discriminator", "nan", ch10.OPT_NAN),
    ("ch10.optimal_discriminator", "swapped", ch10.OPT_SWAPPED),
    ("ch10.optimal_discriminator", "bits", ch10.OPT_BITS),
    ("ch10.optimal_discriminator", "empty", ch10.OPT_EMPTY),
    ("ch10.gradient_penalty", "batch", ch10.GP_BATCH_NORM),
    ("ch10.gradient_penalty", "squared", ch10.GP_SQUARED_NORM),
    ("ch10.gradient_penalty", "mask", ch10.GP_NO_MASK),
    ("ch10.gradient_penalty", "real", ch10.GP_AT_REAL),
    ("ch10.style_adain", "ddof", ch10.ADAIN_UNBIASED),
    ("ch10.style_adain", "batch", ch10.ADAIN_BATCH_STATS),
    ("ch10.style_adain", "eps", ch10.ADAIN_EPS_OUTSIDE),
    ("ch10.style_adain", "swap", ch10.ADAIN_SWAPPED),
]


(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(RIGHT, MUTANTS, [ch10])


def test_the_large_logit_cases_break_a_naive_loss():
    # the public suite holds logits of |l| = 800, where log(sigmoid(l)) is -inf
    from dlbook.grading.registry import get, iter_cases

    cases = list(iter_cases(get("ch10.discriminator_loss"), "public", None))
    assert max(np.abs(c.args["logits_fake"]).max() for c in cases) >= 800
    with np.errstate(over="ignore", divide="ignore"):
        assert not np.isfinite(discriminator_loss(**cases[-1].args, mistake="naive")[0])
