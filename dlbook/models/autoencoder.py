r"""Autoencoders for the 8x8 digits: undercomplete, denoising and variational, NumPy and torch.

- :class:`Autoencoder` (Hinton & Salakhutdinov 2006): an encoder squeezes the 64 pixels into a
  ``latent``-dimensional code, a decoder maps the code back to 64 pixel logits; trained to
  reproduce its input, a code narrower than the input must keep what matters.
- :class:`DenoisingAutoencoder` (Vincent et al. 2008): the same network, fed in training mode a
  copy of the input with a fraction ``noise`` of the pixels set to 0 (masking noise) and
  trained to reproduce the *clean* input.
- :class:`VAE` (Kingma & Welling 2014): the encoder outputs the mean and log-variance of
  :math:`q(z \mid x)`, a sample :math:`z = \mu + \sigma\odot\varepsilon` is decoded, and
  :class:`VAELoss` is the negative ELBO, reconstruction plus KL to :math:`\mathcal N(0, I)`.

Every decoder outputs logits; ``torch.sigmoid``/:func:`sigmoid` of them are the pixels, and
the reconstruction loss is the binary cross entropy with logits summed over the pixels.
Each NumPy network has a torch twin (:func:`autoencoder_torch`,
:func:`denoising_autoencoder_torch`, :func:`vae_torch`, :func:`vae_loss_torch`) with the same
parameter names, so a ``state_dict`` loads across; torch is imported inside those functions.

References:
    G. E. Hinton, R. R. Salakhutdinov, "Reducing the Dimensionality of Data with Neural
    Networks", Science 313, 2006.
    P. Vincent, H. Larochelle, Y. Bengio, P.-A. Manzagol, "Extracting and Composing Robust
    Features with Denoising Autoencoders", ICML 2008.
    D. P. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook import nn
from dlbook import random as dlrandom
from dlbook.models.mlp import mlp
from dlbook.nn.functional import keep_mask, sigmoid


def mask_noise(x: np.ndarray, noise: float,
               generator: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Masking noise (Vincent et al. 2008): each entry set to 0 with probability ``noise``.

    Returns ``(corrupted, keep)``, ``keep`` the boolean mask of the entries left untouched.
    """
    if not 0 <= noise < 1:
        raise ValueError(f"mask_noise: noise must be in [0, 1), got {noise}")
    x = np.asarray(x)
    keep = keep_mask(x.shape, noise, generator)
    return x * keep, keep


class Autoencoder(nn.Module):
    """An undercomplete autoencoder: ``decoder(encoder(x))``, logits of the pixels.

    Args:
        in_features: pixels per image (64 for the digits).
        hidden: width of the hidden layer of the encoder and of the decoder.
        latent: size of the code (smaller than ``in_features``: undercomplete).

    Shape:
        - Input: ``(N, in_features)``; code: ``(N, latent)``; Output: logits
          ``(N, in_features)``.
        - ``encoder``: ``Linear(in, hidden)``, ReLU, ``Linear(hidden, latent)``;
          ``decoder``: ``Linear(latent, hidden)``, ReLU, ``Linear(hidden, in)``.

    Backward: the decoder's, then the encoder's; returns the gradient w.r.t. the input.
    """

    def __init__(self, in_features: int = 64, hidden: int = 64, latent: int = 8) -> None:
        super().__init__()
        self.encoder = mlp(nn, (in_features, hidden, latent), nn.ReLU)
        self.decoder = mlp(nn, (latent, hidden, in_features), nn.ReLU)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The code of ``x``."""
        return self.encoder(x)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Pixel logits of code ``z``."""
        return self.decoder(z)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.encoder.backward(self.decoder.backward(grad_out))

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """Pixels in [0, 1] reconstructed from ``x`` (in the current mode)."""
        return sigmoid(self(x))


class DenoisingAutoencoder(Autoencoder):
    """An :class:`Autoencoder` that corrupts its input with :func:`mask_noise` in training mode.

    Train it with the *clean* input as the target; in eval mode it is a plain autoencoder.

    Args:
        in_features, hidden, latent: as :class:`Autoencoder`.
        noise: probability that a pixel is set to 0 in training mode.
        generator: an explicit ``np.random.Generator`` for the masks.

    Backward: the autoencoder's, times the mask (a dropped pixel has no gradient).
    """

    def __init__(self, in_features: int = 64, hidden: int = 64, latent: int = 8,
                 noise: float = 0.3, generator: np.random.Generator | None = None) -> None:
        super().__init__(in_features, hidden, latent)
        mask_noise(np.zeros(0), noise)  # validates noise
        self.noise = noise
        self.generator = generator

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        keep = np.ones(x.shape, dtype=bool)
        if self.training and self.noise > 0:
            x, keep = mask_noise(x, self.noise, self.generator)
        self.save_for_backward(keep=keep)
        return super().forward(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        keep = self.saved.keep
        return super().backward(grad_out) * keep

    def extra_repr(self) -> str:
        return f"noise={self.noise}"


class VAE(nn.Module):
    r"""A variational autoencoder with a diagonal Gaussian :math:`q(z \mid x)`.

    Args:
        in_features: pixels per image.
        hidden: width of the hidden layer of the encoder and of the decoder.
        latent: dimension of :math:`z`.
        generator: an explicit ``np.random.Generator`` for :math:`\varepsilon`.

    Shape:
        - Input: ``x`` ``(N, in_features)``, optional ``eps`` ``(N, latent)``.
        - Output: ``(logits, mu, logvar)``: ``(N, in_features)``, ``(N, latent)``,
          ``(N, latent)``.
        - ``encoder``: ``Linear(in, hidden)``, ReLU; ``fc_mu``, ``fc_logvar``:
          ``Linear(hidden, latent)``; ``decoder``: ``Linear(latent, hidden)``, ReLU,
          ``Linear(hidden, in)``.

    ``forward(x, eps)`` samples :math:`z = \mu + e^{\log\sigma^2/2}\varepsilon` with ``eps``
    (drawn when None) in training mode and takes :math:`z = \mu` in eval mode
    (:class:`dlbook.nn.Reparameterize`). ``backward(grad_logits, grad_mu, grad_logvar)``
    takes the gradients of the loss w.r.t. all three outputs (None counts as zeros), as
    :meth:`VAELoss.backward` returns them, and returns the gradient w.r.t. ``x``:

    .. math::
        \bar h = W_\mu^\top(\bar\mu + \bar z) + W_{\log\sigma^2}^\top\big(\overline{\log\sigma^2}
        + \tfrac12\bar z\odot\sigma\odot\varepsilon\big), \qquad
        \bar z = \partial L / \partial z \text{ from the decoder.}
    """

    def __init__(self, in_features: int = 64, hidden: int = 128, latent: int = 2,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.reparameterize = nn.Reparameterize(generator)
        self.decoder = mlp(nn, (latent, hidden, in_features), nn.ReLU)

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""``(mu, logvar)`` of :math:`q(z \mid x)`."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Pixel logits of latent ``z``."""
        return self.decoder(z)

    def forward(self, x: np.ndarray,
                eps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    def backward(self, grad_logits: np.ndarray, grad_mu: np.ndarray | None = None,
                 grad_logvar: np.ndarray | None = None) -> np.ndarray:
        grad_z_mu, grad_z_logvar = self.reparameterize.backward(
            self.decoder.backward(grad_logits))
        if grad_mu is not None:
            grad_z_mu = grad_z_mu + grad_mu
        if grad_logvar is not None:
            grad_z_logvar = grad_z_logvar + grad_logvar
        grad_h = self.fc_mu.backward(grad_z_mu) + self.fc_logvar.backward(grad_z_logvar)
        return self.encoder.backward(grad_h)

    def sample(self, n: int, generator: np.random.Generator | None = None,
               dtype: type = np.float32) -> np.ndarray:
        r"""``n`` images decoded from :math:`z \sim \mathcal N(0, I)`: pixels ``(n, in)``."""
        z = dlrandom.resolve(generator).standard_normal((n, self.latent)).astype(dtype)
        return sigmoid(self.decode(z))


class VAELoss(nn.Module):
    r"""The negative ELBO per example, :math:`\frac1N\sum_n \big(\mathrm{BCE}(x_n) +
    \beta\,\mathrm{KL}_n\big)`, in nats.

    The reconstruction term is :math:`-\log p(x \mid z)` for a Bernoulli decoder, the binary
    cross entropy of the logits summed over the pixels; the KL term is
    :class:`dlbook.nn.GaussianKLLoss` (``'batchmean'``). ``beta`` = 1 is the ELBO of
    Kingma & Welling (2014); other values give the beta-VAE objective.

    After ``forward``, ``reconstruction`` and ``kl`` hold the two terms (per example).
    ``backward(grad_out=1.0)`` returns ``(grad_logits, grad_mu, grad_logvar)``.

    Shape:
        - ``logits``, ``target``: ``(N, D)``; ``mu``, ``logvar``: ``(N, latent)``;
          Output: scalar.
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.bce = nn.BCEWithLogitsLoss(reduction="sum")
        self.kl_loss = nn.GaussianKLLoss(reduction="batchmean")
        self.reconstruction = float("nan")
        self.kl = float("nan")

    def forward(self, logits: np.ndarray, target: np.ndarray, mu: np.ndarray,
                logvar: np.ndarray) -> float:
        n = np.shape(logits)[0]
        self.reconstruction = self.bce(logits, target) / n
        self.kl = self.kl_loss(mu, logvar)
        self.save_for_backward(n=n)
        return self.reconstruction + self.beta * self.kl

    def backward(self, grad_out: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.saved.n
        grad_mu, grad_logvar = self.kl_loss.backward(self.beta * grad_out)
        return self.bce.backward(grad_out / n), grad_mu, grad_logvar

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


# -- torch twins -------------------------------------------------------------------------------
def autoencoder_torch(in_features: int = 64, hidden: int = 64, latent: int = 8,
                      noise: float = 0.0) -> Any:
    """:class:`Autoencoder` in torch (with ``noise`` > 0: :class:`DenoisingAutoencoder`)."""
    import torch

    class TorchAutoencoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.noise = noise
            self.encoder = mlp(torch.nn, (in_features, hidden, latent), torch.nn.ReLU)
            self.decoder = mlp(torch.nn, (latent, hidden, in_features), torch.nn.ReLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training and self.noise > 0:
                x = x * (torch.rand_like(x) >= self.noise)
            return self.decoder(self.encoder(x))

    return TorchAutoencoder()


def denoising_autoencoder_torch(in_features: int = 64, hidden: int = 64, latent: int = 8,
                                noise: float = 0.3) -> Any:
    """:class:`DenoisingAutoencoder` in torch, with the same parameter names."""
    return autoencoder_torch(in_features, hidden, latent, noise)


def vae_torch(in_features: int = 64, hidden: int = 128, latent: int = 2) -> Any:
    """:class:`VAE` in torch: ``forward(x, eps=None) -> (logits, mu, logvar)``."""
    import torch

    class TorchVAE(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = torch.nn.Sequential(torch.nn.Linear(in_features, hidden),
                                               torch.nn.ReLU())
            self.fc_mu = torch.nn.Linear(hidden, latent)
            self.fc_logvar = torch.nn.Linear(hidden, latent)
            self.decoder = mlp(torch.nn, (latent, hidden, in_features), torch.nn.ReLU)

        def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
            h = self.encoder(x)
            mu, logvar = self.fc_mu(h), self.fc_logvar(h)
            if not self.training:
                return self.decoder(mu), mu, logvar
            eps = torch.randn_like(mu) if eps is None else eps
            return self.decoder(mu + torch.exp(0.5 * logvar) * eps), mu, logvar

    return TorchVAE()


def vae_loss_torch(logits: Any, target: Any, mu: Any, logvar: Any, beta: float = 1.0) -> Any:
    """:class:`VAELoss` in torch: the negative ELBO per example (a scalar tensor)."""
    import torch

    n = logits.shape[0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + beta * kl) / n
