r"""The two pieces a variational autoencoder adds to a network (Kingma & Welling 2014).

The encoder of a VAE outputs the mean :math:`\mu` and the log-variance
:math:`\log\sigma^2` of a diagonal Gaussian :math:`q(z \mid x)`. Training maximises the
evidence lower bound (ELBO)

.. math::
    \log p(x) \ge \mathbb{E}_{q(z\mid x)}\big[\log p(x \mid z)\big]
    - \mathrm{KL}\big(q(z \mid x)\,\|\,\mathcal N(0, I)\big),

which needs two things that ordinary layers do not provide:

- :class:`Reparameterize`: a sample :math:`z = \mu + \sigma \odot \varepsilon`,
  :math:`\varepsilon \sim \mathcal N(0, I)`, written so that the randomness sits in
  :math:`\varepsilon` and gradients flow to :math:`\mu` and :math:`\log\sigma^2`.
- :class:`GaussianKLLoss`: the KL term in closed form, a loss with a hand backward.

torch has no module for either (a torch VAE writes ``mu + torch.exp(0.5 * logvar) * eps``
and the KL sum inline); the tests compare both with those torch expressions and with
``torch.distributions.kl_divergence``.

References:
    D. P. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    https://arxiv.org/abs/1312.6114
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook import random as dlrandom
from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.loss import _Loss
from dlbook.nn.module import Module


def _mu_logvar(mu: Any, logvar: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``mu`` and ``logvar`` as float arrays of one shape (``logvar`` in ``mu``'s dtype)."""
    mu = float_array(mu, who, "mu")
    logvar = float_array(logvar, who, "logvar").astype(mu.dtype, copy=False)
    if logvar.shape != mu.shape:
        raise ValueError(f"{who}: mu and logvar must have the same shape, got {mu.shape} "
                         f"and {logvar.shape}")
    return mu, logvar


class Reparameterize(Module):
    r"""The reparameterisation trick: :math:`z = \mu + e^{\frac12\log\sigma^2} \odot \varepsilon`.

    In training mode :math:`\varepsilon` is drawn from ``generator`` (dlbook's default
    generator when None) unless ``forward`` is given one: pass the same ``eps`` to a torch
    twin to compare the two exactly. In eval mode :math:`z = \mu`, the mean of
    :math:`q(z \mid x)` (NOTE: the usual choice for reconstructing and for the latent map;
    call ``train()`` to sample).

    Args:
        generator: an explicit ``np.random.Generator`` for :math:`\varepsilon`.

    Shape:
        - ``mu``, ``logvar``, ``eps``: ``(*)``, one shape; Output ``z``: ``(*)``.

    Backward, with :math:`\sigma = e^{\frac12\log\sigma^2}` and :math:`G = \partial L/\partial z`:

    .. math::
        \frac{\partial L}{\partial \mu} = G, \qquad
        \frac{\partial L}{\partial \log\sigma^2} = \tfrac12\, G \odot \sigma \odot \varepsilon
        \quad (0 \text{ in eval mode}).
    """

    def __init__(self, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, mu: np.ndarray, logvar: np.ndarray,
                eps: np.ndarray | None = None) -> np.ndarray:
        mu, logvar = _mu_logvar(mu, logvar, "Reparameterize")
        if not self.training:
            eps = np.zeros_like(mu)
        elif eps is None:
            eps = dlrandom.resolve(self.generator).standard_normal(mu.shape).astype(mu.dtype)
        else:
            eps = float_array(eps, "Reparameterize", "eps").astype(mu.dtype, copy=False)
            if eps.shape != mu.shape:
                raise ValueError(f"Reparameterize: eps must have mu's shape {mu.shape}, "
                                 f"got {eps.shape}")
        std = np.exp(0.5 * logvar)
        self.save_for_backward(std=std, eps=eps)
        return mu + std * eps

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.saved
        grad_z = check_grad(grad_out, s.eps.shape, "Reparameterize")
        return grad_z, 0.5 * grad_z * s.std * s.eps


class GaussianKLLoss(_Loss):
    r""":math:`\mathrm{KL}\big(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,\mathcal N(0, I)\big)`
    in closed form, per latent coordinate

    .. math::
        \ell = \tfrac12\big(\mu^2 + \sigma^2 - 1 - \log\sigma^2\big),

    from :math:`\mathrm{KL} = \mathbb E_q[\log q - \log p]` with
    :math:`\log q = -\frac12\big(\log 2\pi + \log\sigma^2 + (z-\mu)^2/\sigma^2\big)`,
    :math:`\log p = -\frac12(\log 2\pi + z^2)`, :math:`\mathbb E_q[(z-\mu)^2] = \sigma^2` and
    :math:`\mathbb E_q[z^2] = \mu^2 + \sigma^2` (Kingma & Welling 2014, appendix B).

    ``loss = crit(mu, logvar)``; ``crit.backward(grad_out=1.0)`` returns
    ``(grad_mu, grad_logvar)``.

    Args:
        reduction: ``'batchmean'`` (default: the sum over everything divided by the batch size
            ``N``, i.e. the KL per example as the ELBO needs it, as ``torch.nn.KLDivLoss``'s
            ``'batchmean'``), ``'sum'``, ``'mean'`` (over all elements, as torch's losses) or
            ``'none'``. NOTE: the default differs from torch's losses' ``'mean'`` because only
            ``'batchmean'`` is the KL divergence of one example.

    Shape:
        - ``mu``, ``logvar``: ``(N, *)``, one shape; Output: scalar, or ``(N, *)`` for
          ``'none'``.

    Backward, with upstream scale :math:`s` (:math:`g`, :math:`g/N`, :math:`g/\text{numel}`,
    or the array :math:`g` for ``'none'``):

    .. math::
        \frac{\partial L}{\partial \mu} = s\,\mu, \qquad
        \frac{\partial L}{\partial \log\sigma^2} = \tfrac{s}{2}\big(\sigma^2 - 1\big).
    """

    _reductions = ("none", "mean", "sum", "batchmean")

    def __init__(self, reduction: str = "batchmean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, mu: np.ndarray, logvar: np.ndarray) -> float | np.ndarray:
        mu, logvar = _mu_logvar(mu, logvar, "GaussianKLLoss")
        if mu.ndim == 0:
            raise ValueError("GaussianKLLoss: expected mu of shape (N, *), got a scalar")
        var = np.exp(logvar)
        losses = 0.5 * (mu * mu + var - 1.0 - logvar)
        denominator = mu.shape[0] if self.reduction == "batchmean" else mu.size
        return self._finish(losses, denominator, mu=mu, var=var)

    def _backward(self, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.saved
        return scale * s.mu, 0.5 * scale * (s.var - 1.0)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
