r"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``.

All of them standardise the input over some axes and then apply a learned per-feature affine
map; they differ only in *which* axes are averaged over:

============  ===================================  ==================================
layer         statistics over                      affine parameters per
============  ===================================  ==================================
BatchNorm     the batch and every spatial position  channel ``C``
LayerNorm     the last ``len(normalized_shape)``    element of ``normalized_shape``
GroupNorm     each sample's group of channels       channel ``C``
============  ===================================  ==================================

So one pair of pure functions, :func:`normalize_forward` and :func:`normalize_backward`, does
the standardising for all of them (and is what an exercise asks for).

Backward of the standardisation, over the :math:`M` entries :math:`x_i` of one group, with
:math:`\mu = \frac1M\sum_i x_i`, :math:`\sigma^2 = \frac1M\sum_i (x_i-\mu)^2` (biased),
:math:`\hat x_i = (x_i - \mu)/\sqrt{\sigma^2+\epsilon}` and upstream gradient
:math:`g_i = \partial L/\partial \hat x_i`:

1. :math:`\hat x_i` depends on :math:`x_j` directly and through :math:`\mu` and
   :math:`\sigma^2`. With :math:`s = (\sigma^2+\epsilon)^{-1/2}`:
   :math:`\partial \hat x_i/\partial x_j = s\,(\delta_{ij} - \frac1M)
   + (x_i-\mu)\,\partial s/\partial x_j`.
2. :math:`\partial \sigma^2/\partial x_j = \frac2M (x_j-\mu)` (the :math:`\mu` term sums to
   zero), so :math:`\partial s/\partial x_j = -\frac12 s^3 \cdot \frac2M (x_j-\mu)
   = -\frac{s^2}{M}\,\hat x_j` and :math:`(x_i-\mu)\,\partial s/\partial x_j
   = -\frac{s}{M}\,\hat x_i \hat x_j`.
3. Hence :math:`\partial \hat x_i/\partial x_j = \frac{s}{M}\,(M\delta_{ij} - 1
   - \hat x_i \hat x_j)`, and summing :math:`g_i` against it gives the compact form

.. math::
    \frac{\partial L}{\partial x_j} = \frac{1}{M\sqrt{\sigma^2+\epsilon}}
    \Big(M g_j - \sum_i g_i - \hat x_j \sum_i g_i \hat x_i\Big)

(Ioffe & Szegedy 2015 give it term by term; this is the same sum collected). After the
affine map :math:`y = \gamma \hat x + \beta` the upstream gradient of :math:`\hat x` is
:math:`g = \gamma\,\partial L/\partial y`, while
:math:`\partial L/\partial\gamma = \sum \partial L/\partial y \odot \hat x` and
:math:`\partial L/\partial\beta = \sum \partial L/\partial y`, summed over every axis the
parameter is shared across.

References:
    S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
    Internal Covariate Shift", ICML 2015. https://arxiv.org/abs/1502.03167
    J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization", 2016.
    https://arxiv.org/abs/1607.06450
    Y. Wu, K. He, "Group Normalization", ECCV 2018. https://arxiv.org/abs/1803.08494
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlbook.nn._checks import check_dim, check_grad, check_ndim, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


# -- the shared standardisation ---------------------------------------------------------------
@dataclass(frozen=True)
class NormCache:
    """What :func:`normalize_backward` needs: the standardised input and :math:`1/\\sigma`."""

    x_hat: np.ndarray
    inv_std: np.ndarray
    axes: tuple[int, ...]


def normalize_forward(x: np.ndarray, axes: tuple[int, ...], eps: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, NormCache]:
    r"""Standardise ``x`` over ``axes``: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`.

    Returns ``(x_hat, mean, var, cache)``; ``mean`` and the *biased* ``var`` keep the reduced
    axes (size 1), so they broadcast against ``x``.
    """
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return x_hat, mean, var, NormCache(x_hat, inv_std, axes)


def normalize_backward(grad_x_hat: np.ndarray, cache: NormCache) -> np.ndarray:
    r"""Input gradient of :func:`normalize_forward` (the compact form of the module docstring):

    .. math::
        \frac{\partial L}{\partial x} = \frac{s}{M}\Big(M g - \sum g
        - \hat x \sum g \hat x\Big), \qquad s = (\sigma^2+\epsilon)^{-1/2}.
    """
    g, x_hat, axes = grad_x_hat, cache.x_hat, cache.axes
    m = math.prod(x_hat.shape[a] for a in axes)
    sum_g = g.sum(axis=axes, keepdims=True)
    sum_g_x_hat = (g * x_hat).sum(axis=axes, keepdims=True)
    return cache.inv_std / m * (m * g - sum_g - x_hat * sum_g_x_hat)


def _affine_params(shape: tuple[int, ...], affine: bool, bias: bool, dtype
                   ) -> tuple[Parameter | None, Parameter | None]:
    """``weight`` of ones and ``bias`` of zeros (as torch's ``reset_parameters``), or None."""
    if not affine:
        return None, None
    weight = Parameter(np.ones(shape, dtype=dtype))
    return weight, (Parameter(np.zeros(shape, dtype=dtype)) if bias else None)


def _channel_shape(ndim: int) -> tuple[int, ...]:
    """Broadcast shape of a per-channel ``(C,)`` array against ``(N, C, *)``."""
    return (1, -1) + (1,) * (ndim - 2)


def _channel_affine(x_hat: np.ndarray, weight: Parameter | None,
                    bias: Parameter | None) -> np.ndarray:
    r""":math:`\gamma_c \hat x + \beta_c` for each channel ``c`` of ``(N, C, *)``."""
    shape = _channel_shape(x_hat.ndim)
    if weight is not None:
        out = x_hat * weight.data.reshape(shape)
        if bias is not None:
            out += bias.data.reshape(shape)  # in place: ``out`` is a new array
        return out
    return x_hat if bias is None else x_hat + bias.data.reshape(shape)


def _channel_affine_backward(grad_out: np.ndarray, x_hat: np.ndarray, weight: Parameter | None,
                             bias: Parameter | None) -> np.ndarray:
    """Add the per-channel parameter gradients; return the gradient of ``x_hat``."""
    axes = (0, *range(2, grad_out.ndim))
    if bias is not None:
        bias.accumulate_grad(grad_out.sum(axis=axes))
    if weight is None:
        return grad_out
    weight.accumulate_grad((grad_out * x_hat).sum(axis=axes))
    return grad_out * weight.data.reshape(_channel_shape(grad_out.ndim))


# -- batch normalisation ----------------------------------------------------------------------
def _batch_standardize(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise ``(N, C, *)`` per channel; returns ``x_hat`` and the ``(C,)`` mean and biased
    variance. The same maths as :func:`normalize_forward` over axes ``(0, 2, ...)``, written as
    per-channel ``einsum`` reductions of an ``(N, C, L)`` view and in-place updates: a third of
    the passes over memory of the general version.
    """
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    m = n * x3.shape[2]
    mean = np.einsum("ncl->c", x3) / m
    x_hat = x3 - mean[:, None]
    var = np.einsum("ncl,ncl->c", x_hat, x_hat) / m
    x_hat *= (1.0 / np.sqrt(var + eps))[:, None]
    return x_hat.reshape(x.shape), mean, var


class _BatchNorm(Module):
    r"""Batch normalisation over every axis but the channel axis 1 (Ioffe & Szegedy 2015).

    In training (and whenever ``track_running_stats=False``) each channel is standardised with
    the mean and biased variance of the batch, and the backward pass is the compact form of
    the module docstring with :math:`M = N \cdot L` (or :math:`N H W`). In training with
    ``track_running_stats=True`` the running estimates are updated with the *unbiased* batch
    variance, as torch does:

    .. math::
        \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\tfrac{M}{M-1}\sigma_B^2,

    where :math:`m` is ``momentum``, or :math:`1/t` after :math:`t` batches
    (``num_batches_tracked``) when ``momentum=None``: a cumulative average. In eval mode the
    running estimates are constants, the layer is affine in :math:`x`, and its backward is
    :math:`\partial L/\partial x = \gamma\, g / \sqrt{\hat\sigma^2+\epsilon}`.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance for numerical stability.
        momentum: weight of the newest batch in the running estimates, or ``None`` for a
            cumulative moving average.
        affine: learn ``weight`` :math:`\gamma` (ones) and ``bias`` :math:`\beta` (zeros).
        track_running_stats: keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked`` and use them in eval mode; if False, batch statistics are
            used in both modes.
        bias: learn ``bias`` (only with ``affine``; keyword-only, as torch).
        dtype: dtype of the parameters and running estimates (float32 by default, as torch).
    """

    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype=np.float32) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.weight, self.bias = _affine_params((num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen (as torch)."""
        if self.track_running_stats:
            self.running_mean = np.zeros_like(self.running_mean)
            self.running_var = np.ones_like(self.running_var)
            self.num_batches_tracked = np.array(0, dtype=np.int64)

    def forward(self, x: np.ndarray) -> np.ndarray:
        who = type(self).__name__
        x = float_array(x, who)
        check_ndim(x, self._ndims, who, self._layout)
        check_dim(x, 1, self.num_features, who, "num_features")
        use_batch_stats = (self.training or not self.track_running_stats) and x.size > 0
        if x.size == 0:  # an empty batch, as torch: an empty output, statistics untouched
            x_hat, inv_std = x.copy(), np.ones(self.num_features, dtype=x.dtype)
        elif use_batch_stats:
            m = x.size // self.num_features
            if m == 1:
                raise ValueError(f"{who}: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            x_hat, mean, var = _batch_standardize(x, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var * m / (m - 1))
            inv_std = 1.0 / np.sqrt(var + self.eps)
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            x_hat = (x - self.running_mean.reshape(_channel_shape(x.ndim))) \
                * inv_std.reshape(_channel_shape(x.ndim))
        self.save_for_backward(x_hat=x_hat, inv_std=inv_std, batch_stats=use_batch_stats)
        return _channel_affine(x_hat, self.weight, self.bias).astype(x.dtype, copy=False)

    def _update_running_stats(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked = np.asarray(self.num_batches_tracked + 1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        rm, rv = self.running_mean, self.running_var
        self.running_mean = ((1 - m) * rm + m * mean).astype(rm.dtype)
        self.running_var = ((1 - m) * rv + m * unbiased_var).astype(rv.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.x_hat.shape, type(self).__name__)
        n, c = grad_out.shape[:2]
        length = math.prod(grad_out.shape[2:])  # not -1: an empty batch has no size to infer
        g3, x_hat3 = grad_out.reshape(n, c, length), s.x_hat.reshape(n, c, length)
        sum_g = np.einsum("ncl->c", g3)
        sum_g_x_hat = np.einsum("ncl,ncl->c", g3, x_hat3)
        if self.bias is not None:
            self.bias.accumulate_grad(sum_g)
        if self.weight is not None:
            self.weight.accumulate_grad(sum_g_x_hat)
        scale = s.inv_std if self.weight is None else self.weight.data * s.inv_std
        if not s.batch_stats:
            return (grad_out * scale.reshape(_channel_shape(grad_out.ndim))).astype(
                grad_out.dtype, copy=False)
        # The compact form of the module docstring with g = gamma * grad_out, M = N * L:
        # dx = gamma * s * (grad_out - sum(grad_out)/M - x_hat * sum(grad_out * x_hat)/M).
        m = g3.shape[0] * g3.shape[2]
        grad_x = x_hat3 * (-sum_g_x_hat / m)[:, None]
        grad_x += g3
        grad_x -= (sum_g / m)[:, None]
        grad_x *= scale[:, None]
        return grad_x.reshape(grad_out.shape).astype(grad_out.dtype, copy=False)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs, as ``torch.nn.BatchNorm1d``.

    See :class:`_BatchNorm` for the arguments, the running statistics and the backward pass.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``; Output: the same shape.
        - ``weight``, ``bias``, ``running_mean``, ``running_var``: ``(C,)``.
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` inputs, as ``torch.nn.BatchNorm2d``.

    Statistics are per channel over :math:`M = N H W` values. See :class:`_BatchNorm`.

    Shape:
        - Input: ``(N, C, H, W)``; Output: the same shape.
        - ``weight``, ``bias``, ``running_mean``, ``running_var``: ``(C,)``.
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


# -- layer and group normalisation ------------------------------------------------------------
class LayerNorm(Module):
    r"""Layer normalisation over the last dimensions (Ba et al. 2016), as ``torch.nn.LayerNorm``.

    Each sample is standardised over its last ``len(normalized_shape)`` axes with its own mean
    and biased variance, the same in train and eval mode (no running statistics), then scaled
    element-wise: :math:`y = \gamma \odot \hat x + \beta`. The input gradient is the compact
    form of the module docstring with :math:`M = \prod` ``normalized_shape``, applied to
    :math:`\gamma \odot \partial L/\partial y`.

    Args:
        normalized_shape: an int or tuple, the trailing shape to normalise over.
        eps: added to the variance for numerical stability.
        elementwise_affine: learn ``weight`` (ones) and, if ``bias``, ``bias`` (zeros).
        bias: learn the additive ``bias`` (only with ``elementwise_affine``).
        dtype: dtype of the parameters (float32 by default, as torch).

    Shape:
        - Input: ``(*, *normalized_shape)``; Output: the same shape.
        - ``weight``, ``bias``: ``normalized_shape``.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *,
                 dtype=np.float32) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight, self.bias = _affine_params(self.normalized_shape, elementwise_affine, bias,
                                                dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "LayerNorm")
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            trailing = ", ".join(map(str, self.normalized_shape))
            raise ValueError(f"LayerNorm: given normalized_shape={self.normalized_shape}, "
                             f"expected input of shape (*, {trailing}), got shape {x.shape}")
        x_hat, _, _, cache = normalize_forward(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        self.save_for_backward(cache=cache)
        out = x_hat
        if self.weight is not None:
            out = out * self.weight.data
        if self.bias is not None:
            out = out + self.bias.data
        return out.astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        c = self.saved.cache
        grad_out = check_grad(grad_out, c.x_hat.shape, "LayerNorm")
        lead = tuple(range(grad_out.ndim - len(self.normalized_shape)))
        grad_x_hat = grad_out
        if self.weight is not None:
            self.weight.accumulate_grad((grad_out * c.x_hat).sum(axis=lead))
            grad_x_hat = grad_out * self.weight.data
        if self.bias is not None:
            self.bias.accumulate_grad(grad_out.sum(axis=lead))
        return normalize_backward(grad_x_hat, c).astype(grad_out.dtype, copy=False)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    r"""Group normalisation (Wu & He 2018), as ``torch.nn.GroupNorm``.

    The ``C`` channels of each sample are split into ``num_groups`` groups of ``C / G``
    consecutive channels; each group is standardised over its channels and spatial positions
    (independent of the batch, the same in train and eval), then scaled per channel. The
    input gradient is the compact form of the module docstring with
    :math:`M = (C/G) \cdot \prod` spatial sizes.

    Args:
        num_groups: the number of groups ``G``; must divide ``num_channels``.
        num_channels: the number of channels ``C``.
        eps: added to the variance for numerical stability.
        affine: learn per-channel ``weight`` (ones) and ``bias`` (zeros).
        bias: learn ``bias`` (only with ``affine``; keyword-only, as torch).
        dtype: dtype of the parameters (float32 by default, as torch).

    Shape:
        - Input: ``(N, C, *)``; Output: the same shape.
        - ``weight``, ``bias``: ``(C,)``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, bias: bool = True, dtype=np.float32) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.weight, self.bias = _affine_params((num_channels,), affine, bias, dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "GroupNorm")
        if x.ndim < 2:
            raise ValueError(f"GroupNorm: expected input of shape (N, C, *), got shape {x.shape}")
        check_dim(x, 1, self.num_channels, "GroupNorm", "num_channels")
        grouped = x.reshape(x.shape[0], self.num_groups, -1)
        x_hat, _, _, cache = normalize_forward(grouped, (2,), self.eps)
        x_hat = x_hat.reshape(x.shape)
        self.save_for_backward(cache=cache, x_hat=x_hat)
        return _channel_affine(x_hat, self.weight, self.bias).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        grad_out = check_grad(grad_out, s.x_hat.shape, "GroupNorm")
        grad_x_hat = _channel_affine_backward(grad_out, s.x_hat, self.weight, self.bias)
        grouped = grad_x_hat.reshape(s.cache.x_hat.shape)
        grad_x = normalize_backward(grouped, s.cache).reshape(grad_out.shape)
        return grad_x.astype(grad_out.dtype, copy=False)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
