r"""Generative adversarial networks: MLP GANs in NumPy and torch, a DCGAN for the 8x8 digits,
the WGAN-GP gradient penalty, the CycleGAN cycle loss and a StyleGAN mapping network.

A GAN (Goodfellow et al. 2014) trains a generator :math:`G` against a discriminator
:math:`D` in the minimax game

.. math::
    \min_G \max_D\; \mathbb E_{x}\big[\log D(x)\big] + \mathbb E_{z}\big[\log(1 - D(G(z)))\big].

:class:`Generator` and :class:`Discriminator` are small MLPs for 2-D data (the ring of
Gaussians); :func:`discriminator_step` and :func:`generator_step` are one step of each player
in NumPy with the discriminator loss above and the *non-saturating* generator loss
:math:`-\mathbb E_z \log D(G(z))` (or the saturating one, to see why it is not used). Their
torch twins (:func:`generator_torch`, :func:`discriminator_torch`, :func:`gan_losses_torch`)
have the same parameter names, so a ``state_dict`` loads across and one training step can be
compared exactly in float64. torch is imported only inside the torch functions.

References:
    I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein GAN", ICML 2017.
    I. Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    A. Radford, L. Metz, S. Chintala, "Unsupervised Representation Learning with Deep
    Convolutional Generative Adversarial Networks", ICLR 2016.
    J.-Y. Zhu, T. Park, P. Isola, A. A. Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017.
    T. Karras, S. Laine, T. Aila, "A Style-Based Generator Architecture for Generative
    Adversarial Networks", CVPR 2019.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook import nn
from dlbook.models.mlp import mlp
from dlbook.nn.pixel_norm import PixelNorm

GENERATOR_LOSSES = ("non_saturating", "saturating")


class Generator(nn.Module):
    """An MLP generator: noise ``z`` to a point, ``Linear``/ReLU layers, linear output.

    Args:
        z_dim: size of the noise vector.
        hidden: width of the two hidden layers.
        out_features: size of a sample (2 for the ring).

    Shape:
        - Input ``z``: ``(N, z_dim)``; Output: ``(N, out_features)``.
        - ``net``: ``Linear(z_dim, hidden)``, ReLU, ``Linear(hidden, hidden)``, ReLU,
          ``Linear(hidden, out_features)``.
    """

    def __init__(self, z_dim: int = 2, hidden: int = 64, out_features: int = 2) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(nn, (z_dim, hidden, hidden, out_features), nn.ReLU)

    def forward(self, z: np.ndarray) -> np.ndarray:
        return self.net(z)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.net.backward(grad_out)


class Discriminator(nn.Module):
    r"""An MLP discriminator: a point to one logit, ``Linear``/LeakyReLU(0.2) layers.

    :math:`D(x) = \sigma(\text{logit})` is the probability that ``x`` is real; the losses take
    the logit (``BCEWithLogitsLoss``), and a WGAN critic uses it as the score itself.

    Shape:
        - Input: ``(N, in_features)``; Output: logits ``(N, 1)``.
        - ``net``: ``Linear(in, hidden)``, LeakyReLU, ``Linear(hidden, hidden)``, LeakyReLU,
          ``Linear(hidden, 1)``.
    """

    def __init__(self, in_features: int = 2, hidden: int = 64) -> None:
        super().__init__()
        self.net = mlp(nn, (in_features, hidden, hidden, 1), lambda: nn.LeakyReLU(0.2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.net(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.net.backward(grad_out)


def discriminator_step(D: Discriminator, opt: Any, real: np.ndarray,
                       fake: np.ndarray) -> float:
    r"""One step of the discriminator: minimise
    :math:`-\frac1N\sum\log D(x) - \frac1N\sum\log(1 - D(G(z)))` and return it.

    Real and fake go through ``D`` as one batch (one forward, one backward), labelled 1 and 0;
    the BCE summed over the batch and divided by ``N`` (the size of each half) is the sum of
    the two means. The gradient of the logits is :math:`(\sigma(\ell) - t)/N`.
    ``fake`` is treated as data: the generator gets no gradient from this step.
    """
    bce = nn.BCEWithLogitsLoss(reduction="sum")
    n = len(real)
    batch = np.concatenate([real, fake]).astype(real.dtype, copy=False)
    target = np.concatenate([np.ones((n, 1)), np.zeros((len(fake), 1))]).astype(real.dtype)
    opt.zero_grad()
    loss = bce(D(batch), target) / n
    D.backward(bce.backward(1.0 / n))
    opt.step()
    return loss


def generator_step(G: Generator, D: Discriminator, opt: Any, z: np.ndarray,
                   loss: str = "non_saturating") -> float:
    r"""One step of the generator through the discriminator; returns the generator loss.

    - ``"non_saturating"`` (Goodfellow et al. 2014, section 3): minimise
      :math:`-\frac1N\sum\log D(G(z))`, the BCE of the fake logits with label 1; gradient
      of a logit :math:`(\sigma(\ell) - 1)/N`, largest when ``D`` rejects the sample.
    - ``"saturating"``: minimise :math:`\frac1N\sum\log(1 - D(G(z)))`, the minimax value;
      gradient :math:`-\sigma(\ell)/N`, which vanishes exactly when ``D`` rejects the sample.

    The gradient reaches ``G`` through ``D.backward`` (which also adds into ``D``'s ``.grad``:
    :func:`discriminator_step` clears it before using it). Only ``opt``'s parameters move.
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"generator_step: loss must be one of {GENERATOR_LOSSES}, got {loss!r}")
    bce = nn.BCEWithLogitsLoss()
    opt.zero_grad()
    logits = D(G(z))
    if loss == "non_saturating":
        value = bce(logits, np.ones_like(logits))
        grad_logits = bce.backward()
    else:
        value = -bce(logits, np.zeros_like(logits))
        grad_logits = -bce.backward()
    G.backward(D.backward(grad_logits))
    opt.step()
    return value


# -- torch twins -------------------------------------------------------------------------------
def generator_torch(z_dim: int = 2, hidden: int = 64, out_features: int = 2) -> Any:
    """:class:`Generator` in torch (a ``Module`` with ``net``; same parameter names)."""
    import torch

    class TorchGenerator(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.z_dim = z_dim
            self.net = mlp(torch.nn, (z_dim, hidden, hidden, out_features), torch.nn.ReLU)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.net(z)

    return TorchGenerator()


def discriminator_torch(in_features: int = 2, hidden: int = 64) -> Any:
    """:class:`Discriminator` in torch (same parameter names)."""
    import torch

    class TorchDiscriminator(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp(torch.nn, (in_features, hidden, hidden, 1),
                            lambda: torch.nn.LeakyReLU(0.2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    return TorchDiscriminator()


def gan_losses_torch(d_real: Any, d_fake: Any, kind: str = "gan") -> tuple[Any, Any]:
    r"""``(discriminator loss, generator loss)`` from the logits of real and fake samples.

    - ``"gan"``: the BCE losses of :func:`discriminator_step` and the non-saturating
      :func:`generator_step`.
    - ``"wgan"``: the critic minimises :math:`\mathbb E\,f(G(z)) - \mathbb E\,f(x)` (the negative
      estimate of the Wasserstein-1 distance), the generator :math:`-\mathbb E\,f(G(z))`
      (Arjovsky et al. 2017).

    Compute ``d_fake`` from a detached fake for the discriminator loss and from the live one
    for the generator loss.
    """
    import torch

    if kind == "wgan":
        return d_fake.mean() - d_real.mean(), -d_fake.mean()
    if kind != "gan":
        raise ValueError(f"gan_losses_torch: kind must be 'gan' or 'wgan', got {kind!r}")
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
    return d_loss, bce(d_fake, torch.ones_like(d_fake))


def gradient_penalty(critic: Any, real: Any, fake: Any, alpha: Any = None) -> Any:
    r"""The WGAN-GP penalty :math:`\mathbb E_{\hat x}\big(\lVert\nabla_{\hat x} f(\hat x)\rVert_2
    - 1\big)^2` at :math:`\hat x = \alpha x + (1 - \alpha)\tilde x` (Gulrajani et al. 2017).

    ``alpha`` (one per sample, uniform in [0, 1) when None) mixes real and fake. The gradient
    of the critic with respect to its *input* is computed with ``create_graph=True``: the
    penalty is a function of that gradient, and training the critic needs the gradient of the
    penalty with respect to the weights, a second derivative (double backward).
    """
    import torch

    if alpha is None:
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), dtype=real.dtype,
                           device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _dcgan_layers(lib: Any, z_dim: int, width: int) -> tuple[Any, Any]:
    """The DCGAN generator and discriminator as two ``lib.Sequential`` (``lib`` is
    ``dlbook.nn`` or ``torch.nn``: the same layers, so the same parameter names)."""
    generator = lib.Sequential(
        lib.ConvTranspose2d(z_dim, 2 * width, 4, bias=False), lib.BatchNorm2d(2 * width),
        lib.ReLU(),
        lib.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), lib.BatchNorm2d(width),
        lib.ReLU(),
        lib.Conv2d(width, 1, 3, padding=1), lib.Tanh())
    discriminator = lib.Sequential(
        lib.Conv2d(1, width, 4, 2, 1), lib.LeakyReLU(0.2),
        lib.Conv2d(width, 2 * width, 4, 2, 1, bias=False), lib.BatchNorm2d(2 * width),
        lib.LeakyReLU(0.2),
        lib.Conv2d(2 * width, 1, 2))
    return generator, discriminator


def dcgan(z_dim: int = 16, width: int = 32) -> tuple[nn.Sequential, nn.Sequential]:
    r""":func:`dcgan_torch` in NumPy: ``(generator, discriminator)``, two ``dlbook.nn``
    ``Sequential`` with torch's parameter names, convolution weights drawn from
    :math:`\mathcal N(0, 0.02^2)` (DCGAN's initialisation) by ``dlbook``'s default generator.

    Shape:
        - generator: ``(N, z_dim, 1, 1)`` → ``(N, 1, 8, 8)``;
          discriminator: ``(N, 1, 8, 8)`` → ``(N, 1, 1, 1)``.
    """
    generator, discriminator = _dcgan_layers(nn, z_dim, width)
    for m in list(generator) + list(discriminator):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
    return generator, discriminator


def dcgan_torch(z_dim: int = 16, width: int = 32) -> tuple[Any, Any]:
    """A DCGAN (Radford et al. 2016) generator and discriminator for 8x8 one-channel images.

    Generator: ``z`` ``(N, z_dim, 1, 1)`` → ``ConvTranspose2d(z_dim, 2w, 4)`` (4x4), BatchNorm,
    ReLU → ``ConvTranspose2d(2w, w, 4, stride 2, padding 1)`` (8x8), BatchNorm, ReLU →
    ``Conv2d(w, 1, 3, padding 1)``, tanh: pixels in [-1, 1].
    Discriminator: ``Conv2d(1, w, 4, 2, 1)`` (4x4), LeakyReLU(0.2) →
    ``Conv2d(w, 2w, 4, 2, 1)`` (2x2), BatchNorm, LeakyReLU(0.2) → ``Conv2d(2w, 1, 2)``: one
    logit ``(N, 1, 1, 1)``. As the paper: strided convolutions instead of pooling, batch norm
    except at the generator's output and the discriminator's input, no fully connected layers.
    :func:`dcgan` builds the same two networks in NumPy.
    """
    import torch

    generator, discriminator = _dcgan_layers(torch.nn, z_dim, width)
    for m in list(generator) + list(discriminator):  # DCGAN's initialisation
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
    return generator, discriminator


def cycle_consistency_loss(x: Any, x_cycled: Any, y: Any, y_cycled: Any,
                           weight: float = 1.0) -> Any:
    r"""CycleGAN's cycle loss (Zhu et al. 2017, eq. 2), times ``weight``:

    .. math::
        \lambda\Big(\tfrac1N \textstyle\sum_n \lVert F(G(x_n)) - x_n\rVert_1
        + \tfrac1M \sum_m \lVert G(F(y_m)) - y_m\rVert_1\Big),

    each :math:`\lVert\cdot\rVert_1` summed over a sample's coordinates and averaged over
    the batch (axis 0). ``weight`` is :math:`\lambda`, 1 by default: the paper adds the loss
    to the adversarial losses with :math:`\lambda = 10`; pass ``weight=10`` for that term.

    Works on NumPy arrays (returns a float) and on torch tensors (returns a tensor that
    autograd differentiates): ``x_cycled = F(G(x))``, ``y_cycled = G(F(y))``.

    Shape:
        - ``x``, ``x_cycled``: ``(N, *)``; ``y``, ``y_cycled``: ``(M, *)``.
    """
    for name, a, b in (("x", x, x_cycled), ("y", y, y_cycled)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"cycle_consistency_loss: {name} has shape {tuple(a.shape)} but its "
                             f"cycle has shape {tuple(b.shape)}")
        if len(a.shape) == 0 or a.shape[0] == 0:
            raise ValueError(f"cycle_consistency_loss: {name} needs a batch axis with at least "
                             f"one sample, got shape {tuple(a.shape)}")
    total = sum(abs(b - a).reshape(a.shape[0], -1).sum(-1).mean()
                for a, b in ((x, x_cycled), (y, y_cycled)))
    return weight * (float(total) if isinstance(total, np.generic | float) else total)


class MappingNetwork(nn.Module):
    """StyleGAN's mapping network (Karras et al. 2019), small: :class:`PixelNorm`, then
    ``n_layers`` ``Linear``/LeakyReLU(0.2) layers from ``z`` to the intermediate latent ``w``.

    StyleGAN uses 8 layers of 512; ``w`` then sets each layer's AdaIN scale and shift through
    a learned affine map (see :class:`dlbook.nn.AdaIN`).

    Shape:
        - Input ``z``: ``(N, z_dim)``; Output ``w``: ``(N, w_dim)``.
        - ``net``: ``PixelNorm``, then ``Linear``, ``LeakyReLU`` pairs (``net.1``, ``net.3``, ...
          hold the weights, as in :func:`mapping_network_torch`).
    """

    def __init__(self, z_dim: int = 8, w_dim: int = 8, n_layers: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(PixelNorm(), *_mapping_layers(nn, z_dim, w_dim, n_layers))

    def forward(self, z: np.ndarray) -> np.ndarray:
        return self.net(z)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.net.backward(grad_out)


def _mapping_layers(lib: Any, z_dim: int, w_dim: int, n_layers: int) -> list:
    layers = []
    for i in range(n_layers):
        layers += [lib.Linear(z_dim if i == 0 else w_dim, w_dim), lib.LeakyReLU(0.2)]
    return layers


def mapping_network_torch(z_dim: int = 8, w_dim: int = 8, n_layers: int = 4) -> Any:
    """:class:`MappingNetwork` in torch (same parameter names)."""
    import torch

    class TorchPixelNorm(torch.nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return z * torch.rsqrt(z.pow(2).mean(dim=-1, keepdim=True) + 1e-8)

    class TorchMappingNetwork(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(TorchPixelNorm(),
                                           *_mapping_layers(torch.nn, z_dim, w_dim, n_layers))

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.net(z)

    return TorchMappingNetwork()
