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

import functools
import math
from dataclasses import dataclass

import numpy as np

from dlbook.nn._checks import check_dim, check_grad, check_ndim, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


# -- the shared standardisation ---------------------------------------------------------------
@dataclass(frozen=True)
class NormCache:
    """What :func:`normalize_backward` needs: the standardised input and :math:`1/\\sigma`
    (with the reduced axes kept, size 1), and the reduced axes."""

    x_hat: np.ndarray
    inv_std: np.ndarray
    axes: tuple[int, ...]


@functools.lru_cache(maxsize=256)
def _ones(m: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``m`` ones, made once per size and dtype."""
    ones = np.ones(m, dtype)
    ones.flags.writeable = False
    return ones


@functools.lru_cache(maxsize=256)
def _sum_plan(shape: tuple[int, ...], axes: tuple[int, ...], product: bool
              ) -> tuple[str, int, tuple[int, ...], str]:
    """How :func:`group_sum` sums ``axes`` of ``shape``: ``("rows" | "cols" | "einsum",
    size of the summed block, the kept shape, the einsum spec)``, worked out once per shape
    (at batch 1 the bookkeeping otherwise costs 4x the sum)."""
    nd, k = len(shape), len(axes)
    keep = tuple(1 if i in axes else n for i, n in enumerate(shape))
    kind = ("rows" if axes == tuple(range(nd - k, nd)) else
            "cols" if axes == tuple(range(k)) else "einsum")
    letters = "abcdefghijklmnopqrstuvwxyz"[:nd]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    spec = f"{letters},{letters}->{kept}" if product else f"{letters}->{kept}"
    return kind, math.prod(shape[i] for i in axes), keep, spec


def group_sum(axes: tuple[int, ...], a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``sum(a * b)`` (or ``sum(a)``) over ``axes`` (sorted, non-negative), keeping them
    (size 1); no temporary.

    A plain sum over leading or trailing axes of a contiguous array is a matrix-vector product
    with a ones vector (BLAS gemv, one pass at full speed; LayerNorm's row sums of 64 values
    run 3x faster than ``einsum``'s). Otherwise one ``einsum`` pass over memory: the product
    is never stored, which keeps the normalisation layers memory-bound rather than
    allocation-bound. Both give the same sums up to roundoff (tested).
    """
    kind, m, keep, spec = _sum_plan(a.shape, tuple(axes), b is not None)
    if b is None and kind != "einsum" and a.size and a.flags.c_contiguous:
        ones = _ones(m, a.dtype)
        total = a.reshape(-1, m) @ ones if kind == "rows" else ones @ a.reshape(m, -1)
        return total.reshape(keep)
    total = np.einsum(spec, a) if b is None else np.einsum(spec, a, b)
    return total.reshape(keep)


@functools.lru_cache(maxsize=256)
def _positive_axes(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(sorted(a % ndim for a in axes))


def normalize_forward(x: np.ndarray, axes: tuple[int, ...], eps: float,
                      out: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, NormCache]:
    r"""Standardise ``x`` over ``axes``: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`.

    Returns ``(x_hat, mean, var, cache)``; ``mean`` and the *biased* ``var`` keep the reduced
    axes (size 1), so they broadcast against ``x``. Two-pass (mean, then the variance of the
    centred values, which is accurate where :math:`E[x^2] - \mu^2` cancels), three passes
    over memory in all: sum, centre, sum of squares and scale in place. ``out``: an array
    shaped like ``x`` to write ``x_hat`` into (see ``Module.reusable_buffer``).
    """
    axes = _positive_axes(tuple(axes), x.ndim)
    m = _sum_plan(x.shape, axes, False)[1]
    mean = group_sum(axes, x) / m
    x_hat = np.subtract(x, mean, out=out)
    var = group_sum(axes, x_hat, x_hat) / m
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, mean, var, NormCache(x_hat, inv_std, axes)


def normalize_backward(grad_x_hat: np.ndarray, cache: NormCache,
                       sums: tuple[np.ndarray, np.ndarray] | None = None,
                       gain: np.ndarray | None = None, out: np.ndarray | None = None
                       ) -> np.ndarray:
    r"""Input gradient of :func:`normalize_forward` (the compact form of the module docstring):

    .. math::
        \frac{\partial L}{\partial x} = \frac{s}{M}\Big(M g - \sum g
        - \hat x \sum g \hat x\Big), \qquad s = (\sigma^2+\epsilon)^{-1/2}.

    ``sums``: ``(sum g, sum g x_hat)`` over the axes if the caller has them (BatchNorm's
    parameter gradients are exactly these). ``gain``: a factor constant over each group
    (BatchNorm's per-channel :math:`\gamma`, shaped like ``inv_std``): the result is then the
    gradient for :math:`g \cdot` ``gain`` without forming that product, since the formula is
    linear in :math:`g`. ``out``: an array shaped like ``x_hat`` (not ``grad_x_hat``) to
    write the result into, saving one fresh array (and its page faults) per call.
    """
    g, x_hat, axes = grad_x_hat, cache.x_hat, cache.axes
    m = _sum_plan(x_hat.shape, axes, False)[1]
    sum_g, sum_g_x_hat = sums if sums is not None else (group_sum(axes, g),
                                                        group_sum(axes, g, x_hat))
    scale = cache.inv_std if gain is None else cache.inv_std * gain
    # s (g - sum g / M - x_hat sum(g x_hat) / M), in place over one fresh array
    grad_x = np.multiply(x_hat, sum_g_x_hat * (-1.0 / m), out=out)
    grad_x += g
    grad_x -= sum_g * (1.0 / m)
    grad_x *= scale
    return grad_x


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
        bias.accumulate_grad(group_sum(axes, grad_out).reshape(-1))
    if weight is None:
        return grad_out
    weight.accumulate_grad(group_sum(axes, grad_out, x_hat).reshape(-1))
    return grad_out * weight.data.reshape(_channel_shape(grad_out.ndim))


# -- batch normalisation ----------------------------------------------------------------------
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
        # Statistics per channel over (N, L): the shared standardisation on an (N, C, L) view.
        x3 = x.reshape(x.shape[0], self.num_features, math.prod(x.shape[2:]))
        if x.size == 0:  # an empty batch, as torch: an empty output, statistics untouched
            cache = NormCache(x3.copy(), np.ones((1, self.num_features, 1), x.dtype), (0, 2))
        elif use_batch_stats:
            m = x.size // self.num_features
            if m == 1:
                raise ValueError(f"{who}: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            reuse = self.reusable_buffer(lambda c: c.cache.x_hat, x3.shape, x.dtype)
            _, mean, var, cache = normalize_forward(x3, (0, 2), self.eps, out=reuse)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.reshape(-1), var.reshape(-1) * m / (m - 1))
        else:
            inv_std = (1.0 / np.sqrt(self.running_var + self.eps)).reshape(1, -1, 1)
            x_hat = (x3 - self.running_mean.reshape(1, -1, 1)) * inv_std
            cache = NormCache(x_hat, inv_std, (0, 2))
        self.save_for_backward(cache=cache, batch_stats=use_batch_stats, shape=x.shape)
        out = _channel_affine(cache.x_hat, self.weight, self.bias)
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    def _update_running_stats(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked = np.asarray(self.num_batches_tracked + 1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        rm, rv = self.running_mean, self.running_var
        self.running_mean = ((1 - m) * rm + m * mean).astype(rm.dtype)
        self.running_var = ((1 - m) * rv + m * unbiased_var).astype(rv.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        c = s.cache
        grad_out = check_grad(grad_out, s.shape, type(self).__name__)
        g3 = grad_out.reshape(c.x_hat.shape)
        sums = group_sum((0, 2), g3), group_sum((0, 2), g3, c.x_hat)
        if self.bias is not None:
            self.bias.accumulate_grad(sums[0].reshape(-1))
        if self.weight is not None:
            self.weight.accumulate_grad(sums[1].reshape(-1))
        gain = None if self.weight is None else self.weight.data.reshape(1, -1, 1)
        if s.batch_stats:
            grad_x = normalize_backward(g3, c, sums=sums, gain=gain)
        else:  # eval: affine in x, with constant statistics
            grad_x = g3 * (c.inv_std if gain is None else c.inv_std * gain)
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
        # Rows of M = prod(normalized_shape) values: one 2-D layout for every input shape.
        rows = x.reshape(-1, math.prod(self.normalized_shape))
        reuse = self.reusable_buffer(lambda c: c.cache.x_hat, rows.shape, x.dtype)
        x_hat, _, _, cache = normalize_forward(rows, (1,), self.eps, out=reuse)
        self.save_for_backward(cache=cache, shape=x.shape)
        if self.weight is None:
            out = x_hat if self.bias is None else x_hat + self.bias.data.reshape(-1)
        else:
            out = x_hat * self.weight.data.reshape(-1)
            if self.bias is not None:
                out += self.bias.data.reshape(-1)  # in place: ``out`` is a new array
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.saved
        c = s.cache
        grad_out = check_grad(grad_out, s.shape, "LayerNorm")
        g = grad_out.reshape(c.x_hat.shape)
        if self.bias is not None:
            self.bias.accumulate_grad(group_sum((0,), g).reshape(self.normalized_shape))
        if self.weight is None:
            grad_x = normalize_backward(g, c)
        else:
            w = self.weight.data.reshape(-1)
            grad_x = g * c.x_hat  # g x_hat first, then (below) the input gradient in place
            self.weight.accumulate_grad(group_sum((0,), grad_x).reshape(self.normalized_shape))
            # The row sums of g w and g w x_hat are matrix-vector products with w (BLAS gemv).
            sums = (g @ w)[:, None], (grad_x @ w)[:, None]
            grad_x = normalize_backward(self._scaled(g, w), c, sums=sums, out=grad_x)
        return grad_x.reshape(grad_out.shape).astype(grad_out.dtype, copy=False)

    def _scaled(self, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``g * w`` in a scratch array this module reuses from call to call: a fresh array
        per backward costs page faults (glibc hands large freed blocks back to the OS), about
        as much time as the arithmetic at (64, 32, 64)."""
        scratch = self.__dict__.get("_scratch")
        dtype = np.result_type(g, w)
        if scratch is None or scratch.shape != g.shape or scratch.dtype != dtype:
            scratch = np.empty(g.shape, dtype)
            object.__setattr__(self, "_scratch", scratch)
        return np.multiply(g, w, out=scratch)

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
