r"""Loss functions as modules, mirroring ``torch.nn``'s, each with a hand-derived backward.

``loss = crit(input, target)`` returns a Python float (a NumPy array of per-element losses
when ``reduction='none'``); ``crit.backward()`` returns :math:`\partial L/\partial\,\text{input}`.
``backward(grad_out)`` takes the upstream gradient of the loss: a number for ``'mean'`` and
``'sum'`` (1.0 by default), an array of the loss's shape for ``'none'``.

Every loss first computes per-element losses :math:`\ell_n`, then reduces them:
``'none'`` keeps :math:`\ell`, ``'sum'`` is :math:`\sum_n \ell_n`, ``'mean'`` is
:math:`\sum_n \ell_n / D` where the denominator :math:`D` is the number of elements, or, for
``NLLLoss``/``CrossEntropyLoss`` with class-index targets, the summed class weight of the
targets that are not ``ignore_index`` (torch's weighted mean). So each backward is
:math:`s_n\,\partial \ell_n / \partial x` with the upstream scale :math:`s_n` equal to
:math:`g_n`, :math:`g` or :math:`g / D`; ``_Loss`` computes :math:`s`, each loss the rest.

NOTE: where torch warns and broadcasts a target whose shape differs from the input's,
dlbook raises: the broadcast is almost always a bug (a ``(N,)`` target against ``(N, 1)``
predictions silently makes an ``(N, N)`` loss).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dlbook.nn import activation_functional as F
from dlbook.nn._checks import check_grad, float_array
from dlbook.nn.module import Module

_REDUCTIONS = ("none", "mean", "sum")
_BCE_EPSILON = float(np.float32(1e-12))  # torch's float constant EPSILON in BCE's backward


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str,
                      allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    """torch's ``_Reduction.legacy_get_string``: the deprecated flags win when given."""
    if size_average is None and reduce is None:
        if reduction not in allowed:
            raise ValueError(f"{reduction} is not a valid value for reduction "
                             f"(expected one of {allowed})")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


def _input_and_target(input: Any, target: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``input`` as a float array and ``target`` in its dtype, of the same shape (else raise)."""
    x = float_array(input, who)
    t = float_array(target, who, "target").astype(x.dtype, copy=False)
    if t.shape != x.shape:
        raise ValueError(f"{who}: target must have the input's shape {x.shape}, "
                         f"got shape {t.shape}")
    return x, t


def _float_weight(weight: Any, who: str, name: str = "weight") -> np.ndarray | None:
    return None if weight is None else float_array(weight, who, name).copy()


class _Loss(Module):
    """Shared reduction logic: ``_finish`` saves and reduces, ``backward`` scales.

    ``_reductions`` lists the reductions a loss accepts; any other than ``'none'`` and
    ``'sum'`` divides by the denominator given to ``_finish`` (``'batchmean'`` of
    :class:`~dlbook.nn.GaussianKLLoss` passes the batch size).
    """

    _reductions: tuple[str, ...] = _REDUCTIONS

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction, self._reductions)

    def _finish(self, losses: np.ndarray, denominator: float, **saved: Any) -> float | np.ndarray:
        """Save what backward needs (``saved`` and how the loss was reduced); reduce ``losses``."""
        self.save_for_backward(loss_shape=losses.shape, dtype=losses.dtype,
                               denominator=denominator, **saved)
        if self.reduction == "none":
            return losses
        total = losses.sum()
        if self.reduction == "sum":
            return float(total)
        return float(total / denominator) if denominator != 0 else float("nan")

    def _upstream(self, grad_out: Any) -> np.ndarray:
        r"""The scale :math:`s` of ``backward``, one per element of the unreduced loss."""
        s = self.saved
        shape, name = s.loss_shape, type(self).__name__
        if self.reduction == "none":
            if np.ndim(grad_out) == 0 and shape != ():
                raise ValueError(f"{name}.backward: reduction='none' gave a loss of shape "
                                 f"{shape}; pass grad_out of that shape")
            return check_grad(grad_out, shape, name).astype(s.dtype, copy=False)
        if np.ndim(grad_out) != 0:
            raise ValueError(f"{name}.backward: the loss is a scalar (reduction="
                             f"'{self.reduction}'), got grad_out of shape {np.shape(grad_out)}")
        scale = float(grad_out)
        if self.reduction != "sum":  # 'mean', 'batchmean'; all ignored: torch's loss nan, grad 0
            scale = scale / float(s.denominator) if s.denominator != 0 else 0.0
        return np.full(shape, scale, dtype=s.dtype)

    def backward(self, grad_out: Any = 1.0) -> np.ndarray | tuple[np.ndarray, ...]:
        """The gradient with respect to the input (a tuple for a loss of several inputs), for
        upstream gradient ``grad_out``."""
        return self._backward(self._upstream(grad_out))

    def _backward(self, scale: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        raise NotImplementedError


class MSELoss(_Loss):
    r"""Mean squared error, :math:`\ell_n = (x_n - y_n)^2`.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` for ``'none'``.

    Backward: :math:`\partial L / \partial x_n = 2\,(x_n - y_n)\, s_n`.
    """

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x, t = _input_and_target(input, target, "MSELoss")
        diff = x - t
        return self._finish(diff * diff, diff.size, diff=diff)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        return 2 * self.saved.diff * scale


class L1Loss(_Loss):
    r"""Mean absolute error, :math:`\ell_n = |x_n - y_n|`.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` for ``'none'``.

    Backward, the subgradient torch uses (:math:`\mathrm{sign}(0) = 0`):
    :math:`\partial L / \partial x_n = \mathrm{sign}(x_n - y_n)\, s_n`.
    """

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x, t = _input_and_target(input, target, "L1Loss")
        diff = x - t
        return self._finish(np.abs(diff), diff.size, diff=diff)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        return np.sign(self.saved.diff) * scale


def _class_axis(x: np.ndarray, who: str) -> int:
    """Torch's class axis: 0 for an unbatched ``(C,)`` input, else 1 (``(N, C, d1, ...)``)."""
    if x.ndim == 0:
        raise ValueError(f"{who}: expected input of shape (C,) or (N, C, d1, ...), got a scalar")
    return 0 if x.ndim == 1 else 1


def _class_targets(x: np.ndarray, axis: int, target: Any, who: str, ignore_index: int,
                   alternative: str = "") -> np.ndarray:
    """Validate integer class targets for input ``x``; return them as an int64 array."""
    target = np.asarray(target)
    expected = x.shape[:axis] + x.shape[axis + 1:]
    layout = "()" if axis == 0 else "(N, d1, ...)"
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"{who}: expected a class-index target of integers, shape {expected} "
                        f"{layout}{alternative}, got dtype {target.dtype}")
    if target.shape != expected:
        raise ValueError(f"{who}: for input of shape {x.shape}, expected a class-index target of "
                         f"shape {expected} {layout}{alternative}, got shape {target.shape}")
    n_classes = x.shape[axis]
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bad.any():
        raise IndexError(f"{who}: target {target[bad].flat[0]} is out of bounds: expected "
                         f"0 <= target < {n_classes} (C) or target == ignore_index "
                         f"({ignore_index})")
    return target.astype(np.int64)


def _class_weights(weight: np.ndarray | None, n_classes: int, dtype: np.dtype,
                   who: str) -> np.ndarray:
    """The per-class weights in ``dtype`` (ones when absent); checks their shape is (C,)."""
    if weight is None:
        return np.ones(n_classes, dtype=dtype)
    if weight.shape != (n_classes,):
        raise ValueError(f"{who}: weight must have shape (C,) = ({n_classes},), "
                         f"got shape {weight.shape}")
    return weight.astype(dtype, copy=False)


def _target_mass(x: np.ndarray, axis: int, target: np.ndarray, w: np.ndarray,
                 ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    r"""For class indices: :math:`w_{y_n}\,\mathrm{onehot}(y_n)` laid out like ``x``, and
    the weight :math:`w_{y_n}` of each target (0 where ignored)."""
    kept = target != ignore_index
    safe = np.where(kept, target, 0)
    w_target = np.where(kept, w[safe], 0).astype(x.dtype)
    classes = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    onehot = np.expand_dims(safe, axis) == classes
    return onehot * np.expand_dims(w_target, axis), w_target


class NLLLoss(_Loss):
    r"""Negative log-likelihood of log-probabilities ``input`` at class indices ``target``.

    :math:`\ell_n = -w_{y_n}\, x_{n, y_n}` and :math:`\ell_n = 0` where
    :math:`y_n` = ``ignore_index``. ``'mean'`` divides by :math:`\sum_n w_{y_n}` over the
    targets that are not ignored (so a weighted mean, as torch; ``nan`` if all are ignored).

    Args:
        weight: optional per-class weights :math:`w`, shape ``(C,)``; kept as a buffer.
        ignore_index: a target value that contributes neither loss nor gradient.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(N, C)``, ``(C,)`` or ``(N, C, d1, ..., dK)``: log-probabilities.
        - Target: ``(N,)``, ``()`` or ``(N, d1, ..., dK)``: integers in ``[0, C)``.
        - Output: scalar, or the target's shape for ``'none'``.

    Backward: only the target entry of each row depends on :math:`x`, so
    :math:`\partial L / \partial x_{n,c} = -w_{y_n}\,[c = y_n]\, s_n`.
    """

    def __init__(self, weight: np.ndarray | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _float_weight(weight, "NLLLoss"))
        self.ignore_index = ignore_index

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x = float_array(input, "NLLLoss")
        axis = _class_axis(x, "NLLLoss")
        target = _class_targets(x, axis, target, "NLLLoss", self.ignore_index)
        w = _class_weights(self.weight, x.shape[axis], x.dtype, "NLLLoss")
        mass, w_target = _target_mass(x, axis, target, w, self.ignore_index)
        return self._finish(-np.sum(mass * x, axis=axis), w_target.sum(), mass=mass, axis=axis)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        s = self.saved
        return -s.mass * np.expand_dims(scale, s.axis)


class CrossEntropyLoss(_Loss):
    r"""Cross entropy between softmax(``input``) and class indices or class probabilities.

    With :math:`p = \log\mathrm{softmax}(x)` along the class axis, every case is
    :math:`\ell_n = -\sum_c q_{n,c}\, p_{n,c}` for a target mass :math:`q`:

    1. class indices :math:`y_n`, smoothing :math:`\varepsilon`, weights :math:`w`:
       :math:`q_{n,c} = (1-\varepsilon)\, w_{y_n} [c = y_n] + \tfrac{\varepsilon}{C}\, w_c`,
       with :math:`q_n = 0` where :math:`y_n` = ``ignore_index``; ``'mean'`` divides by
       :math:`\sum_n w_{y_n}` over targets not ignored (torch's weighted mean);
    2. class probabilities :math:`t` (same shape as the input):
       :math:`q_{n,c} = w_c \bigl((1-\varepsilon)\, t_{n,c} + \varepsilon / C\bigr)`;
       ``'mean'`` divides by the number of rows :math:`N d_1 \cdots d_K` (torch ignores the
       weights here), and ``ignore_index`` must stay negative.

    Args:
        weight: optional per-class weights :math:`w`, shape ``(C,)``; kept as a buffer.
        ignore_index: a class-index target value that contributes neither loss nor gradient.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`; Szegedy et al. (2016), *Rethinking the
            Inception Architecture for Computer Vision*, https://arxiv.org/abs/1512.00567
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(N, C)``, ``(C,)`` or ``(N, C, d1, ..., dK)``: unnormalised logits.
        - Target: integer indices of shape ``(N,)``, ``()`` or ``(N, d1, ..., dK)``; or
          float probabilities of the input's shape.
        - Output: scalar, or ``(N,)``, ``()``, ``(N, d1, ..., dK)`` for ``'none'``.

    Backward. :math:`\partial p_{n,c} / \partial x_{n,j} = [c = j] - \mathrm{softmax}(x)_{n,j}`,
    so with :math:`\pi = e^{p}` and :math:`Q_n = \sum_c q_{n,c}`:

    .. math::
        \frac{\partial L}{\partial x_{n,j}} = s_n \bigl(\pi_{n,j}\, Q_n - q_{n,j}\bigr),

    which, for one-hot unweighted targets, is the familiar :math:`s_n(\pi_{n,j} - [j = y_n])`.
    """

    def __init__(self, weight: np.ndarray | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, "
                             f"got {label_smoothing}")
        self.register_buffer("weight", _float_weight(weight, "CrossEntropyLoss"))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def _index_mass(self, x: np.ndarray, axis: int, target: Any,
                    w: np.ndarray) -> tuple[np.ndarray, float]:
        """Target mass :math:`q` and mean denominator for class-index targets."""
        target = _class_targets(x, axis, target, "CrossEntropyLoss", self.ignore_index,
                                " or class probabilities of the input's shape")
        mass, w_target = _target_mass(x, axis, target, w, self.ignore_index)
        eps = self.label_smoothing
        if eps > 0:
            kept = np.expand_dims(target != self.ignore_index, axis)
            w_c = w.reshape((-1,) + (1,) * (x.ndim - axis - 1))
            mass = (1 - eps) * mass + (eps / x.shape[axis]) * w_c * kept
        return mass, w_target.sum()

    def _prob_mass(self, x: np.ndarray, axis: int, target: np.ndarray,
                   w: np.ndarray) -> tuple[np.ndarray, float]:
        """Target mass :math:`q` and mean denominator for class-probability targets."""
        if self.ignore_index >= 0:
            raise ValueError("CrossEntropyLoss: ignore_index is not supported for class-"
                             f"probability (float) targets, got ignore_index={self.ignore_index}")
        n_classes = x.shape[axis]
        t = target.astype(x.dtype, copy=False)
        if self.label_smoothing > 0:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / n_classes
        w_c = w.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        return t * w_c, x.size / n_classes

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x = float_array(input, "CrossEntropyLoss")
        axis = _class_axis(x, "CrossEntropyLoss")
        w = _class_weights(self.weight, x.shape[axis], x.dtype, "CrossEntropyLoss")
        target = np.asarray(target)
        if target.shape == x.shape:
            target = float_array(target, "CrossEntropyLoss", "a class-probability target "
                                 "(same shape as the input)")
            mass, denominator = self._prob_mass(x, axis, target, w)
        else:
            mass, denominator = self._index_mass(x, axis, target, w)
        logp = F.log_softmax(x, axis)
        return self._finish(-np.sum(mass * logp, axis=axis), denominator,
                            mass=mass, logp=logp, axis=axis)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        s = self.saved
        total = np.sum(s.mass, axis=s.axis, keepdims=True)
        return np.expand_dims(scale, s.axis) * (np.exp(s.logp) * total - s.mass)


def _broadcast_weight(weight: np.ndarray | None, x: np.ndarray, who: str,
                      name: str) -> np.ndarray:
    """``weight`` (or 1) broadcast to ``x``'s shape and dtype, else a clear error."""
    if weight is None:
        return np.ones((), dtype=x.dtype)
    try:
        shape = np.broadcast_shapes(weight.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"{who}: {name} of shape {weight.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return weight.astype(x.dtype, copy=False)


class BCELoss(_Loss):
    r"""Binary cross entropy of probabilities ``input`` against targets ``target`` in [0, 1].

    :math:`\ell_n = -w_n \bigl(y_n \log x_n + (1 - y_n) \log(1 - x_n)\bigr)`, each log clamped
    at :math:`-100` as torch does, so :math:`x_n \in \{0, 1\}` gives a finite loss.

    Args:
        weight: optional rescaling weight, broadcast against the input; kept as a buffer.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(*)`` with values in [0, 1]; Target: ``(*)``, same shape;
          Output: scalar, or ``(*)`` for ``'none'``.

    Backward, as torch computes it (the denominator clamped at :math:`\epsilon = 10^{-12}`,
    rounded to float32 as torch's constant is, rather than the derivative of the clamped logs):

    .. math::
        \frac{\partial L}{\partial x_n} = w_n\, s_n\,
        \frac{x_n - y_n}{\max\bigl(x_n (1 - x_n),\ \epsilon\bigr)}.

    Prefer ``BCEWithLogitsLoss``: it takes logits and is stable without any clamp.
    """

    def __init__(self, weight: np.ndarray | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _float_weight(weight, "BCELoss"))

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x, t = _input_and_target(input, target, "BCELoss")
        if not np.all((x >= 0) & (x <= 1)):
            raise ValueError("BCELoss: all elements of input should be between 0 and 1 "
                             "(probabilities; for logits use BCEWithLogitsLoss)")
        w = _broadcast_weight(self.weight, x, "BCELoss", "weight")
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped like torch
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return self._finish(-w * (t * log_x + (1 - t) * log_1mx), x.size, x=x, t=t, w=w)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        s = self.saved
        return s.w * scale * (s.x - s.t) / np.maximum(s.x * (1 - s.x), _BCE_EPSILON)


class BCEWithLogitsLoss(_Loss):
    r"""Binary cross entropy of ``sigmoid(input)``, computed stably from the logits.

    With :math:`p` the positive-class weight (``pos_weight``, 1 by default) and
    :math:`\log\sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})` (finite for every finite :math:`x`):

    .. math::
        \ell_n = -w_n \bigl(p\, y_n \log\sigma(x_n) + (1 - y_n) \log(1 - \sigma(x_n))\bigr)
        = w_n \bigl((1 - y_n)\, x_n - (1 + (p - 1)\, y_n) \log\sigma(x_n)\bigr),

    using :math:`\log(1 - \sigma(x)) = \log\sigma(x) - x`.

    Args:
        weight: optional rescaling weight, broadcast against the input; kept as a buffer.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        pos_weight: optional weight of positive examples, broadcast against the input (one
            per class, shape ``(C,)``, for multi-label ``(N, C)`` input); kept as a buffer.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(*)`` logits; Target: ``(*)``, same shape;
          Output: scalar, or ``(*)`` for ``'none'``.

    Backward, from :math:`\partial \log\sigma(x)/\partial x = 1 - \sigma(x)`:

    .. math::
        \frac{\partial L}{\partial x_n} = w_n\, s_n
        \bigl((p\, y_n + 1 - y_n)\, \sigma(x_n) - p\, y_n\bigr),

    which is :math:`w_n s_n (\sigma(x_n) - y_n)` when :math:`p = 1`.
    """

    def __init__(self, weight: np.ndarray | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: np.ndarray | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _float_weight(weight, "BCEWithLogitsLoss"))
        self.register_buffer("pos_weight",
                             _float_weight(pos_weight, "BCEWithLogitsLoss", "pos_weight"))

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x, t = _input_and_target(input, target, "BCEWithLogitsLoss")
        w = _broadcast_weight(self.weight, x, "BCEWithLogitsLoss", "weight")
        p = _broadcast_weight(self.pos_weight, x, "BCEWithLogitsLoss", "pos_weight")
        log_weight = 1 + (p - 1) * t
        losses = w * ((1 - t) * x - log_weight * F.logsigmoid(x))
        return self._finish(losses, x.size, x=x, t=t, w=w, p=p)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        s = self.saved
        pt = s.p * s.t
        return s.w * scale * ((pt + 1 - s.t) * F.sigmoid(s.x) - pt)


class _QuadraticThenLinear(_Loss):
    r"""The one kernel of SmoothL1Loss and HuberLoss: with :math:`z = |d|`, :math:`d = x - y`,

    .. math::
        \ell = \begin{cases} \tfrac12 z^2 / q & z < t \\ l\,(z - \tfrac12 t) & \text{otherwise,}
        \end{cases} \qquad
        \frac{\partial \ell}{\partial x} = \mathrm{clip}(d / q, -l, l),

    continuous with a continuous slope when :math:`t = q\,l`. SmoothL1 is :math:`(t, q, l) =
    (\beta, \beta, 1)`, Huber :math:`(\delta, 1, \delta)`: both formulas exactly as torch
    writes them (multiplying or dividing by 1 is exact). :math:`q = 0` (SmoothL1 with
    :math:`\beta = 0`) is the L1 loss, gradient :math:`\mathrm{sign}(d)`.
    """

    _threshold: float
    _quadratic_divisor: float
    _linear_factor: float

    def forward(self, input: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        x, t = _input_and_target(input, target, type(self).__name__)
        diff = x - t
        z = np.abs(diff)
        thr, q, lin = self._threshold, self._quadratic_divisor, self._linear_factor
        losses = z if q == 0 else np.where(z < thr, 0.5 * z * z / q, lin * (z - 0.5 * thr))
        return self._finish(losses.astype(x.dtype, copy=False), diff.size, diff=diff)

    def _backward(self, scale: np.ndarray) -> np.ndarray:
        diff, q, lin = self.saved.diff, self._quadratic_divisor, self._linear_factor
        if q == 0:
            return np.sign(diff) * scale
        return np.clip(diff / q, -lin, lin) * scale


class SmoothL1Loss(_QuadraticThenLinear):
    r"""Smooth L1 loss (Girshick 2015, *Fast R-CNN*): quadratic near zero, linear beyond.

    With :math:`d_n = x_n - y_n`:

    .. math::
        \ell_n = \begin{cases} 0.5\, d_n^2 / \beta & |d_n| < \beta \\
        |d_n| - 0.5\, \beta & \text{otherwise,} \end{cases}

    and ``beta = 0`` is exactly ``L1Loss`` (as in torch).

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        beta: where the loss turns from quadratic to linear; :math:`\beta \ge 0`.
        size_average, reduce: deprecated torch flags, honoured (with torch's warning).

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` for ``'none'``.

    Backward, the gradient clipped to :math:`[-1, 1]`:
    :math:`\partial L / \partial x_n = \mathrm{clip}(d_n / \beta, -1, 1)\, s_n`
    (:math:`\mathrm{sign}(d_n)\, s_n` when :math:`\beta = 0`).

    NOTE: a negative ``beta`` raises here, at construction; torch raises at the first call.
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0 (smooth_l1_loss does not "
                             f"support negative values for beta), got {beta}")
        self.beta = beta

    @property
    def _threshold(self) -> float:
        return self.beta

    @property
    def _quadratic_divisor(self) -> float:
        return self.beta

    _linear_factor = 1.0


class HuberLoss(_QuadraticThenLinear):
    r"""Huber loss (Huber 1964), the loss DQN minimises (Mnih et al. 2015, *Human-level control
    through deep reinforcement learning*): quadratic near zero, linear beyond ``delta``.

    With :math:`d_n = x_n - y_n`:

    .. math::
        \ell_n = \begin{cases} 0.5\, d_n^2 & |d_n| < \delta \\
        \delta\,(|d_n| - 0.5\, \delta) & \text{otherwise,} \end{cases}

    so ``HuberLoss(delta)`` is ``delta`` times ``SmoothL1Loss(beta=delta)``; they agree at
    ``delta = beta = 1``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        delta: where the loss turns from quadratic to linear; :math:`\delta > 0`.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` for ``'none'``.

    Backward, the error clipped to :math:`[-\delta, \delta]` (why DQN's updates stay bounded):
    :math:`\partial L / \partial x_n = \mathrm{clip}(d_n, -\delta, \delta)\, s_n`.

    NOTE: a non-positive ``delta`` raises here, at construction; torch raises at the first call.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0 (huber_loss does not support "
                             f"non-positive values for delta), got {delta}")
        self.delta = delta

    @property
    def _threshold(self) -> float:
        return self.delta

    _quadratic_divisor = 1.0

    @property
    def _linear_factor(self) -> float:
        return self.delta
