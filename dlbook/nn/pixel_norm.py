r"""Pixelwise feature normalisation (Karras et al. 2018), the first layer of StyleGAN's mapping
network: each vector scaled to unit root mean square.

torch's twin is ``torch.nn.RMSNorm(D, eps=eps, elementwise_affine=False)`` (Zhang & Sennrich
2019 call the same map RMS normalisation); the tests compare the two.

References:
    T. Karras, T. Aila, S. Laine, J. Lehtinen, "Progressive Growing of GANs for Improved
    Quality, Stability, and Variation", ICLR 2018, section 4.2. https://arxiv.org/abs/1710.10196
    B. Zhang, R. Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019.
    https://arxiv.org/abs/1910.07467
"""
from __future__ import annotations

import numpy as np

from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.module import Module


class PixelNorm(Module):
    r"""Normalise each vector to unit root mean square, :math:`y = z / \sqrt{\overline{z^2}
    + \epsilon}`, the bar a mean over the last axis.

    Args:
        eps: added to the mean square, as StyleGAN's 1e-8.

    Shape:
        - Input: ``(*, D)``; Output: ``(*, D)``, the same shape and dtype.

    Backward, with :math:`r = (\overline{z^2} + \epsilon)^{-1/2}` per row and
    :math:`G = \partial L / \partial y`: since :math:`\partial r/\partial z_j = -r^3 z_j / D`,

    .. math::
        \frac{\partial L}{\partial z} = r\,\big(G - y\,\overline{G\odot y}\big).
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, z: np.ndarray) -> np.ndarray:
        z = float_array(z, "PixelNorm", "input")
        r = (1.0 / np.sqrt(np.mean(z * z, axis=-1, keepdims=True) + self.eps)).astype(z.dtype)
        y = z * r
        self.save_for_backward(r=r, y=y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        g = check_grad(grad_out, s.y.shape, "PixelNorm")
        return s.r * (g - s.y * np.mean(g * s.y, axis=-1, keepdims=True))

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
