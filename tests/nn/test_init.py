"""dlbook.nn.init against torch.nn.init: fans and gains exactly, distributions statistically.

The random streams differ from torch's by design, so the initialisers are checked by their
statistics on large arrays: the empirical mean, standard deviation and range against the formula
(within five standard errors) and against torch's own initialiser on a tensor of the same shape.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dlbook.nn as nn
import dlbook.random
from dlbook.nn import init

FAN_SHAPES = [(3, 5), (1, 1), (7, 2, 3, 3), (4, 6, 5), (2, 3, 4, 5, 6), (5, 0)]
GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
         ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
         ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
         ("leaky_relu", None), ("leaky_relu", 0), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5))]
BIG = [(256, 512), (96, 64, 3, 3), (512, 300)]  # about 1e5 draws each


@pytest.mark.parametrize("shape", FAN_SHAPES, ids=str)
def test_fan_in_and_fan_out_equal_torchs(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(np.empty(shape)) == want
    assert init.calculate_fan_in_and_fan_out(nn.Parameter(np.empty(shape))) == want


@pytest.mark.parametrize("shape", [(), (4,)], ids=str)
def test_fans_need_two_dimensions(shape):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out(np.empty(shape))


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_gain_equals_torchs(nonlinearity, param):
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(want, rel=1e-15)


def test_unknown_nonlinearity_and_mode_raise():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal_(np.empty((3, 4)), mode="fan_avg")


def check_stats(x: np.ndarray, mean: float, std: float, bound: float | None = None) -> None:
    """Empirical mean and std within five standard errors of the formula; uniform range."""
    n = x.size
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n)
    assert x.std() == pytest.approx(std, rel=5 / math.sqrt(n))
    if bound is None:  # normal: 68.27% of the draws within one standard deviation
        inside = np.mean(np.abs(x - mean) < std)
        assert inside == pytest.approx(0.6827, abs=5 * 0.47 / math.sqrt(n))
    else:
        assert x.min() >= mean - bound and x.max() <= mean + bound
        assert x.min() < mean - 0.999 * bound and x.max() > mean + 0.999 * bound


def draw_both(name: str, shape: tuple[int, ...], **kwargs) -> tuple[np.ndarray, np.ndarray]:
    ours = getattr(init, name)(np.empty(shape), generator=np.random.default_rng(0), **kwargs)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64),
                                          generator=torch.Generator().manual_seed(0), **kwargs)
    return ours, theirs.numpy()


def check_both(ours: np.ndarray, theirs: np.ndarray, mean: float, std: float,
               bound: float | None = None) -> None:
    check_stats(ours, mean, std, bound)
    check_stats(theirs, mean, std, bound)  # the formula is torch's too
    assert ours.std() == pytest.approx(theirs.std(), rel=10 / math.sqrt(ours.size))


@pytest.mark.parametrize("a, b", [(0.0, 1.0), (-3.0, 0.5)])
def test_uniform(a, b):
    check_both(*draw_both("uniform_", (400, 300), a=a, b=b), (a + b) / 2,
               (b - a) / math.sqrt(12), (b - a) / 2)


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (2.0, 0.01)])
def test_normal(mean, std):
    check_both(*draw_both("normal_", (400, 300), mean=mean, std=std), mean, std)


@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
@pytest.mark.parametrize("shape", BIG, ids=str)
def test_xavier(shape, gain):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(np.empty(shape))
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    check_both(*draw_both("xavier_uniform_", shape, gain=gain), 0.0, bound / math.sqrt(3), bound)
    check_both(*draw_both("xavier_normal_", shape, gain=gain), 0.0,
               gain * math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("a, mode, nonlinearity", [
    (0, "fan_in", "leaky_relu"), (0, "fan_in", "relu"), (0.2, "fan_out", "leaky_relu"),
    (math.sqrt(5), "fan_in", "leaky_relu"), (0, "fan_out", "tanh"), (0, "fan_in", "linear")])
@pytest.mark.parametrize("shape", BIG, ids=str)
def test_kaiming(shape, a, mode, nonlinearity):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(np.empty(shape))
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(
        fan_in if mode == "fan_in" else fan_out)
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity)
    check_both(*draw_both("kaiming_uniform_", shape, **kw), 0.0, std, math.sqrt(3) * std)
    check_both(*draw_both("kaiming_normal_", shape, **kw), 0.0, std)


@pytest.mark.parametrize("layer, args", [("Linear", (300, 400)), ("Conv2d", (32, 128, 5))])
def test_default_layer_init_matches_torchs_reset_parameters(layer, args):
    """weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch's layers."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, layer)(*args)
    weight = nn.Parameter(np.empty(tuple(theirs.weight.shape)))
    bias = nn.Parameter(np.empty(tuple(theirs.bias.shape)))
    init.default_layer_init_(weight, bias, generator=np.random.default_rng(1))
    bound = 1 / math.sqrt(init.calculate_fan_in_and_fan_out(weight)[0])
    check_both(weight.data, theirs.weight.detach().double().numpy(), 0.0, bound / math.sqrt(3),
               bound)
    for b in (bias.data, theirs.bias.detach().numpy()):  # only a few hundred draws: the range
        assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound


def test_constant_zeros_ones_fill_in_place():
    x = np.empty((3, 4), np.float32)
    assert init.constant_(x, 0.25) is x
    np.testing.assert_array_equal(x, np.full((3, 4), 0.25, np.float32))
    p = nn.Parameter(np.empty((2, 5), np.float32))
    assert init.zeros_(p) is p and not p.data.any()
    assert init.ones_(p) is p and (p.data == 1).all()
    assert p.dtype == np.float32


@pytest.mark.parametrize("name, kwargs", [("uniform_", {}), ("normal_", {}),
                                          ("xavier_uniform_", {}), ("xavier_normal_", {}),
                                          ("kaiming_uniform_", {}), ("kaiming_normal_", {})])
def test_initialisers_fill_in_place_keep_dtype_and_follow_their_generator(name, kwargs):
    fn = getattr(init, name)
    p = nn.Parameter(np.zeros((6, 4), np.float32))
    data = p.data
    assert fn(p, generator=np.random.default_rng(7), **kwargs) is p
    assert p.data is data and p.dtype == np.float32 and p.data.std() > 0
    again = fn(np.zeros((6, 4), np.float32), generator=np.random.default_rng(7), **kwargs)
    np.testing.assert_array_equal(p.data, again)
    dlbook.random.manual_seed(3)
    first = fn(np.zeros((6, 4)), **kwargs)
    dlbook.random.manual_seed(3)
    np.testing.assert_array_equal(fn(np.zeros((6, 4)), **kwargs), first)
    assert not np.array_equal(fn(np.zeros((6, 4)), **kwargs), first)
