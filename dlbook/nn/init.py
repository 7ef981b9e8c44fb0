"""Weight initialisers with torch's names and distributions (``torch.nn.init``).

Each function fills a ``Parameter`` (or array) in place and returns it. Random draws come from
``generator`` or dlbook's default generator (``dlbook.random.manual_seed``); the *streams* differ
from torch's, the *distributions* are the same, so a NumPy layer and its torch twin start equally
well-scaled. Parity tests copy torch's weights across instead of relying on equal draws.
"""
from __future__ import annotations

import math

import numpy as np

from dlbook.nn.parameter import Parameter
from dlbook.random import resolve


def _array(tensor: Parameter | np.ndarray) -> np.ndarray:
    return tensor.data if isinstance(tensor, Parameter) else tensor


def calculate_fan_in_and_fan_out(tensor: Parameter | np.ndarray) -> tuple[int, int]:
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field (as torch)."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid",
                        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
            raise ValueError(f"negative_slope {param} not a valid number")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fan(tensor: Parameter | np.ndarray, mode: str) -> int:
    """fan_in or fan_out; at least 1, so that zero-element tensors reach the no-op fill."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return max(fan_in if mode == "fan_in" else fan_out, 1)


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b)."""
    arr = _array(tensor)
    if arr.size == 0:  # as torch: initialising a zero-element tensor is a no-op
        return tensor
    arr[...] = resolve(generator).uniform(a, b, size=arr.shape)
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std^2)."""
    arr = _array(tensor)
    arr[...] = resolve(generator).normal(mean, std, size=arr.shape)
    return tensor


def constant_(tensor, val: float):
    _array(tensor)[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / max(fan_in + fan_out, 1)), generator)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def default_layer_init_(weight: Parameter, bias: Parameter | None, generator=None) -> None:
    """torch's ``reset_parameters`` for Linear and Conv layers.

    weight ~ kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias ~ the
    same bound.
    """
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator)
