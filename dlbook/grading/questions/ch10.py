"""Chapter 10 exercises: the discriminator's loss and gradients, the generator's two losses
(saturating and non-saturating) and their gradients, the WGAN-GP penalty of a small critic,
and adaptive instance normalisation.

Every reference here is independent of solutions/ch10_gans.ipynb and of ``dlbook.nn`` /
``dlbook.models``: torch autograd for every gradient (``torch.autograd.grad`` for the
critic's input gradient), ``binary_cross_entropy_with_logits`` and ``logsigmoid`` for the
losses, and ``torch.nn.functional.instance_norm`` for AdaIN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites


def _leaf(a: np.ndarray) -> Any:
    import torch

    return torch.tensor(a, requires_grad=True)


def _logit_cases(suite: str, seed: int, specs: dict[str, list],
                 rng: np.random.Generator | None = None) -> list[Case]:
    """Logits spread over [-12, 12] (both losses' flat regions included)."""
    rng = np.random.default_rng(seed) if rng is None else rng
    cases = []
    for shapes, dtype in specs.get(suite, []):
        cases.append(Case({name: (4 * rng.normal(size=shape)).clip(-12, 12).astype(dtype)
                           for name, shape in shapes.items()}))
    return cases


# -- ch10.discriminator_loss -------------------------------------------------------------------
_D = {"public": [({"logits_real": (6, 1), "logits_fake": (6, 1)}, np.float64),
                 ({"logits_real": (1, 1), "logits_fake": (1, 1)}, np.float64),
                 ({"logits_real": (5, 1), "logits_fake": (3, 1)}, np.float64),
                 ({"logits_real": (8, 1), "logits_fake": (8, 1)}, np.float32)],
      "hidden": [({"logits_real": (4,), "logits_fake": (7,)}, np.float64),
                 ({"logits_real": (64, 1), "logits_fake": (64, 1)}, np.float32)]}


def _discriminator_loss_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    return _logit_cases(suite, 101, _D, rng)


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
    description="The discriminator's loss -mean log D(x) - mean log(1 - D(G(z))) from logits, "
                "and its gradients with respect to both sets of logits.",
    signature="discriminator_loss(logits_real, logits_fake) -> (loss, grad_real, grad_fake)",
    outputs=("loss", "grad_real", "grad_fake"),
    **split_suites(_discriminator_loss_cases),
    reference=_discriminator_loss_reference,
    needs=("torch",),
))

# -- ch10.generator_losses ---------------------------------------------------------------------
_G = {"public": [({"logits_fake": (6, 1)}, np.float64), ({"logits_fake": (1, 1)}, np.float64),
                 ({"logits_fake": (9,)}, np.float64), ({"logits_fake": (8, 1)}, np.float32)],
      "hidden": [({"logits_fake": (3, 1)}, np.float64), ({"logits_fake": (64, 1)}, np.float32)]}


def _generator_losses_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    return _logit_cases(suite, 102, _G, rng)


def _generator_losses_reference(logits_fake: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    ns, sat = _leaf(logits_fake), _leaf(logits_fake)
    ns_loss = -torch.nn.functional.logsigmoid(ns).mean()           # -log D(G(z))
    sat_loss = torch.nn.functional.logsigmoid(-sat).mean()         # log(1 - D(G(z)))
    ns_loss.backward()
    sat_loss.backward()
    return {"ns_loss": ns_loss.detach().numpy(), "ns_grad": ns.grad.numpy(),
            "sat_loss": sat_loss.detach().numpy(), "sat_grad": sat.grad.numpy()}


register(Question(
    id="ch10.generator_losses",
    points=3,
    description="The non-saturating (-mean log D(G(z))) and saturating (mean log(1 - D(G(z)))) "
                "generator losses from the fake logits, with their gradients.",
    signature="generator_losses(logits_fake) -> (ns_loss, ns_grad, sat_loss, sat_grad)",
    outputs=("ns_loss", "ns_grad", "sat_loss", "sat_grad"),
    **split_suites(_generator_losses_cases),
    reference=_generator_losses_reference,
    needs=("torch",),
))

# -- ch10.gradient_penalty ---------------------------------------------------------------------
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
    description="The WGAN-GP penalty mean (|grad_x f(x_hat)| - 1)^2 of the critic "
                "f(x) = v . relu(W x + b) at x_hat = alpha real + (1 - alpha) fake.",
    signature="gradient_penalty(W, b, v, real, fake, alpha) -> penalty",
    outputs=("penalty",),
    **split_suites(_gradient_penalty_cases),
    reference=_gradient_penalty_reference,
    needs=("torch",),
))

# -- ch10.adain --------------------------------------------------------------------------------
_ADAIN = {"public": [((2, 3, 4, 4), (2, 3, 4, 4), np.float64),
                     ((1, 1, 3, 5), (1, 1, 2, 2), np.float64),
                     ((3, 2, 6), (3, 2, 4), np.float64), ((2, 4, 3, 3), (2, 4, 5, 5), np.float32)],
          "hidden": [((4, 2, 2, 3), (4, 2, 3, 2), np.float64),
                     ((1, 8, 8, 8), (1, 8, 4, 4), np.float32)]}


def _adain_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(104) if rng is None else rng
    cases = []
    for shape_x, shape_y, dtype in _ADAIN.get(suite, []):
        cases.append(Case({"content": rng.normal(size=shape_x).astype(dtype),
                           "style": (3 * rng.normal(size=shape_y) + 1).astype(dtype)}))
    return cases


def _adain_reference(content: np.ndarray, style: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    y = torch.tensor(style)
    axes = tuple(range(2, y.dim()))
    sigma = torch.sqrt(y.var(dim=axes, keepdim=True, unbiased=False) + 1e-5)
    out = sigma * torch.nn.functional.instance_norm(torch.tensor(content), eps=1e-5)
    return {"out": (out + y.mean(dim=axes, keepdim=True)).numpy()}


register(Question(
    id="ch10.adain",
    points=2,
    description="Adaptive instance normalisation: the content's channels standardised over "
                "their spatial axes, then given the style's mean and standard deviation.",
    signature="adain(content, style) -> out",
    outputs=("out",),
    **split_suites(_adain_cases),
    reference=_adain_reference,
    needs=("torch",),
))
