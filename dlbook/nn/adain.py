r"""Adaptive instance normalisation (Huang & Belongie 2017), the style operator of StyleGAN.

Instance normalisation standardises each channel of each sample over its spatial positions;
*adaptive* instance normalisation then gives the channel the mean and standard deviation of
another feature map, the style:

.. math::
    \mathrm{AdaIN}(x, y) = \sigma(y)\,\frac{x - \mu(x)}{\sigma(x)} + \mu(y),

with :math:`\mu, \sigma` per sample and channel over the spatial axes. It has no parameters:
the style enters only through its statistics. StyleGAN (Karras et al. 2019) computes the
scale and shift from a learned style vector instead of a style image; :func:`adain_stats`
gives the scale and shift this layer takes from ``y``.

torch has no AdaIN module (the authors' code writes it inline); the tests compare with those
torch expressions and with ``torch.nn.functional.instance_norm``.

References:
    X. Huang, S. Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
    Normalization", ICCV 2017. https://arxiv.org/abs/1703.06868
    T. Karras, S. Laine, T. Aila, "A Style-Based Generator Architecture for Generative
    Adversarial Networks", CVPR 2019. https://arxiv.org/abs/1812.04948
"""
from __future__ import annotations

import numpy as np

from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.module import Module
from dlbook.nn.normalization import normalize_backward, normalize_forward


def _spatial_axes(x: np.ndarray, who: str, name: str) -> tuple[int, ...]:
    if x.ndim < 3:
        raise ValueError(f"{who}: expected {name} of shape (N, C, *spatial) with at least one "
                         f"spatial axis, got shape {x.shape}")
    return tuple(range(2, x.ndim))


def adain_stats(y: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""The mean :math:`\mu(y)` and :math:`\sigma(y) = \sqrt{\mathrm{Var}(y) + \epsilon}` (biased
    variance) of each sample and channel, shaped ``(N, C, 1, ..., 1)``."""
    y = float_array(y, "adain_stats", "style")
    axes = _spatial_axes(y, "adain_stats", "style")
    return y.mean(axis=axes, keepdims=True), np.sqrt(y.var(axis=axes, keepdims=True) + eps)


class AdaIN(Module):
    r"""Adaptive instance normalisation: ``out = AdaIN()(content, style)``.

    Args:
        eps: added to both variances, as in ``torch.nn.InstanceNorm2d``. NOTE: both
            :math:`\sigma` use the biased variance (instance norm's); the authors' code takes the
            unbiased one for the style, which differs by the factor :math:`\sqrt{M/(M-1)}`.

    Shape:
        - ``content``: ``(N, C, *)``; ``style``: ``(N, C, *')`` (its spatial size may differ);
          Output: ``content``'s shape.

    Backward, with :math:`\hat x = (x - \mu_x)/\sigma_x`, :math:`\hat y = (y - \mu_y)/\sigma_y`,
    :math:`G = \partial L / \partial\,\text{out}`, sums over the spatial positions of one
    channel and :math:`M, M'` the number of those positions:

    .. math::
        \frac{\partial L}{\partial x} = \frac{\sigma_y}{\sigma_x M}\Big(M G - \sum G
        - \hat x \sum G \hat x\Big), \qquad
        \frac{\partial L}{\partial y} = \frac{1}{M'}\Big(\sum G + \hat y \sum G \hat x\Big),

    the second from :math:`\partial\mu_y/\partial y = 1/M'` and
    :math:`\partial\sigma_y/\partial y = \hat y / M'`.
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        x = float_array(content, "AdaIN", "content")
        y = float_array(style, "AdaIN", "style").astype(x.dtype, copy=False)
        axes = _spatial_axes(x, "AdaIN", "content")
        style_axes = _spatial_axes(y, "AdaIN", "style")
        if y.shape[:2] != x.shape[:2]:
            raise ValueError(f"AdaIN: content and style need the same (N, C), got {x.shape} "
                             f"and {y.shape}")
        x_hat, _, _, cache = normalize_forward(x, axes, self.eps)
        y_hat, _, _, _ = normalize_forward(y, style_axes, self.eps)
        mu_y, sigma_y = adain_stats(y, self.eps)
        self.save_for_backward(cache=cache, y_hat=y_hat, sigma_y=sigma_y, style_axes=style_axes)
        return (sigma_y * x_hat + mu_y).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.saved
        g = check_grad(grad_out, s.cache.x_hat.shape, "AdaIN")
        grad_x = normalize_backward(g * s.sigma_y, s.cache)
        sum_g = g.sum(axis=s.cache.axes, keepdims=True)
        sum_g_x_hat = (g * s.cache.x_hat).sum(axis=s.cache.axes, keepdims=True)
        m_style = s.y_hat[0, 0].size
        grad_y = (sum_g + s.y_hat * sum_g_x_hat) / m_style
        return grad_x.astype(g.dtype, copy=False), grad_y.astype(g.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
