r"""Gradient clipping, mirroring ``torch.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``.

Clipping by norm rescales *all* gradients together by one factor, so the update keeps its
direction and only its length is capped: the remedy for exploding gradients in recurrent nets
(Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks",
https://arxiv.org/abs/1211.5063). Clipping by value caps each entry and can turn the direction.

Like torch's, these functions change each parameter's ``.grad`` in place (the trailing ``_``).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from dlbook.nn.parameter import Parameter

ParamsT = Parameter | Iterable[Parameter]


def _grads(parameters: ParamsT) -> list[np.ndarray]:
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def get_total_norm(tensors: np.ndarray | Iterable[np.ndarray], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> float:
    r"""The :math:`p`-norm of all ``tensors`` viewed as one vector, as ``torch.nn.utils``'s.

    Computed as the norm of the per-tensor norms, :math:`\|(\|g_1\|_p, \dots, \|g_k\|_p)\|_p`,
    which equals the norm of the concatenation for every :math:`p`, including ``inf`` (the
    largest absolute entry). An empty list has norm 0.

    Raises:
        RuntimeError: if ``error_if_nonfinite`` and the norm is ``nan`` or infinite.
    """
    tensors = [tensors] if isinstance(tensors, np.ndarray) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return 0.0
    norms = np.array([np.linalg.norm(np.ravel(t), norm_type) for t in tensors])
    total = float(np.linalg.norm(norms, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable this "
                           "error and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: ParamsT, max_norm: float, total_norm: float) -> None:
    r"""Scale every gradient by :math:`\min\left(\frac{\text{max\_norm}}
    {\text{total\_norm} + 10^{-6}}, 1\right)`, in place (torch's formula, ``1e-6`` included)."""
    coef = min(float(max_norm) / (total_norm + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # an infinite norm gives coef 0 and inf * 0 = nan
        for grad in _grads(parameters):
            grad *= coef


def clip_grad_norm_(parameters: ParamsT, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    r"""Rescale the gradients so their joint ``norm_type``-norm is at most ``max_norm``.

    .. math::
        \|g\| = \Big\| \big(\|g_1\|_p, \dots, \|g_k\|_p\big) \Big\|_p, \qquad
        g_i \leftarrow g_i \cdot \min\left(\frac{\text{max\_norm}}{\|g\| + 10^{-6}}, 1\right)

    Args:
        parameters: a ``Parameter`` or an iterable of them; those whose ``.grad`` is ``None``
            are left out.
        max_norm: the largest norm allowed.
        norm_type: :math:`p`, a float, or ``float("inf")`` / ``"inf"`` for the largest entry.
        error_if_nonfinite: raise ``RuntimeError`` if the norm is ``nan`` or infinite.

    Returns:
        The total norm of the gradients *before* clipping, as a float (torch returns a 0-d
        tensor).
    """
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    total = get_total_norm(_grads(params), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: ParamsT, clip_value: float) -> None:
    r"""Clamp every gradient entry into :math:`[-c, c]` (:math:`c` = ``clip_value``), in place."""
    clip_value = float(clip_value)
    for grad in _grads(parameters):
        np.clip(grad, -clip_value, clip_value, out=grad)
