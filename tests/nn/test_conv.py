"""dlbook.nn.Conv2d and ConvTranspose2d against torch: parameters, init, forward, backward."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.parity import compare

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SETTINGS = settings(max_examples=20, deadline=None)


def make_pair(name, kwargs, dtype=torch.float64, device="cpu"):
    tm = getattr(torch.nn, name)(**kwargs).to(device=device, dtype=dtype)
    dm = getattr(nn, name)(**kwargs)
    dm.load_state_dict(tm.state_dict())
    return dm, tm


def assert_parity(dm, tm, x, device, rtol, atol, forward_kwargs=None):
    """Forward and backward (input and every parameter gradient) equal torch's."""
    forward_kwargs = forward_kwargs or {}
    tx = torch.tensor(x, device=device, requires_grad=True)
    tout = tm(tx, **forward_kwargs)
    g = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(x.dtype)
    tout.backward(torch.tensor(g, device=device))
    x0, g0 = x.copy(), g.copy()
    out = dm(x, **forward_kwargs)
    gx = dm.backward(g)
    assert out.dtype == x.dtype and gx.dtype == x.dtype
    np.testing.assert_allclose(out, tout.detach().cpu().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(gx, tx.grad.cpu().numpy(), rtol=rtol, atol=atol)
    dparams = dict(dm.named_parameters())
    assert dparams.keys() == dict(tm.named_parameters()).keys()
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(dparams[name].grad, p.grad.cpu().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


@st.composite
def conv_kwargs(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    padding = draw(st.sampled_from([0, 1, 2, (1, 0), "same", "valid"]))
    kw = dict(in_channels=groups * draw(st.integers(1, 2)),
              out_channels=groups * draw(st.integers(1, 2)),
              kernel_size=draw(st.sampled_from([1, 2, 3, (3, 2), (1, 4)])),
              stride=1 if padding == "same" else draw(st.sampled_from([1, 2, (2, 1), 3])),
              padding=padding, dilation=draw(st.sampled_from([1, 2, (1, 2)])), groups=groups,
              bias=draw(st.booleans()))
    k = [kw["kernel_size"]] * 2 if isinstance(kw["kernel_size"], int) else kw["kernel_size"]
    d = [kw["dilation"]] * 2 if isinstance(kw["dilation"], int) else kw["dilation"]
    H = draw(st.integers(d[0] * (k[0] - 1) + 1, 10))    # odd sizes: last window partial
    W = draw(st.integers(d[1] * (k[1] - 1) + 1, 9))
    return kw, (draw(st.integers(1, 3)), kw["in_channels"], H, W)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(conv_kwargs())
def test_conv2d_float64_matches_torch(device, case):
    kw, shape = case
    dm, tm = make_pair("Conv2d", kw, device=device)
    x = np.random.default_rng(0).standard_normal(shape)
    assert_parity(dm, tm, x, device, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [
    dict(in_channels=1, out_channels=6, kernel_size=5),
    dict(in_channels=8, out_channels=8, kernel_size=3, padding=1, groups=8),
    dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2),
])
def test_conv2d_float32_matches_torch(device, kw):
    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = False
    dm, tm = make_pair("Conv2d", kw, torch.float32, device)
    x = np.random.default_rng(0).standard_normal((3, kw["in_channels"], 12, 11)).astype(
        np.float32)
    assert_parity(dm, tm, x, device, rtol=1e-4, atol=1e-5)


@st.composite
def transpose_kwargs(draw):
    groups = draw(st.sampled_from([1, 2]))
    stride, dilation = draw(st.sampled_from([1, 2, (3, 2)])), draw(st.sampled_from([1, 2]))
    s = [stride] * 2 if isinstance(stride, int) else stride
    op = tuple(draw(st.integers(0, max(s[a], dilation) - 1)) for a in range(2))
    kw = dict(in_channels=2 * groups, out_channels=groups * draw(st.integers(1, 2)),
              kernel_size=draw(st.sampled_from([2, 3, (3, 1), 4])), stride=stride,
              padding=draw(st.sampled_from([0, 1, (1, 0)])), output_padding=op, groups=groups,
              bias=draw(st.booleans()), dilation=dilation)
    return kw, (draw(st.integers(1, 2)), kw["in_channels"], draw(st.integers(2, 5)),
                draw(st.integers(2, 6)))


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(transpose_kwargs())
def test_conv_transpose2d_float64_matches_torch(device, case):
    kw, shape = case
    def pair(v):
        return (v, v) if isinstance(v, int) else v

    sizes = [(shape[2 + a] - 1) * pair(kw["stride"])[a] - 2 * pair(kw["padding"])[a]
             + pair(kw["dilation"])[a] * (pair(kw["kernel_size"])[a] - 1)
             + kw["output_padding"][a] + 1 for a in range(2)]
    assume(min(sizes) >= 1)  # torch refuses an empty output
    dm, tm = make_pair("ConvTranspose2d", kw, device=device)
    x = np.random.default_rng(0).standard_normal(shape)
    assert_parity(dm, tm, x, device, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("device", DEVICES)
def test_conv_transpose2d_output_size_and_float32(device):
    kw = dict(in_channels=4, out_channels=3, kernel_size=3, stride=2, padding=1)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 6))
    dm, tm = make_pair("ConvTranspose2d", kw, device=device)
    assert_parity(dm, tm, x, device, 1e-10, 1e-11, dict(output_size=(10, 12)))
    assert dm(x, output_size=(2, 4, 10, 11)).shape == (2, 3, 10, 11)
    dm, tm = make_pair("ConvTranspose2d", kw, torch.float32, device)
    assert_parity(dm, tm, x.astype(np.float32), device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["Conv2d", "ConvTranspose2d"])
def test_unbatched_input(name):
    dm, tm = make_pair(name, dict(in_channels=2, out_channels=3, kernel_size=3, stride=2))
    x = np.random.default_rng(0).standard_normal((2, 7, 6))
    assert_parity(dm, tm, x, "cpu", rtol=1e-10, atol=1e-11)
    assert dm(x).ndim == 3


@pytest.mark.parametrize(("name", "kw"), [
    ("Conv2d", dict(in_channels=6, out_channels=4, kernel_size=(3, 2), groups=2, bias=False)),
    ("Conv2d", dict(in_channels=3, out_channels=8, kernel_size=5)),
    ("ConvTranspose2d", dict(in_channels=6, out_channels=4, kernel_size=3, groups=2)),
])
def test_parameters_and_init_as_torch(name, kw):
    tm = getattr(torch.nn, name)(**kw)
    dm = getattr(nn, name)(**kw)
    tshapes = {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert {k: v.shape for k, v in dm.state_dict().items()} == tshapes
    assert dm.weight.dtype == np.float32
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(tm.weight)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias share it
    for p in dm.parameters():
        assert np.abs(p.data).max() <= bound
        if p.data.size >= 32:  # a few draws (a bias of 4) can all fall below half: 6%
            assert np.abs(p.data).max() > 0.5 * bound
    for attr in ("kernel_size", "stride", "padding", "dilation", "groups", "output_padding"):
        assert getattr(dm, attr) == getattr(tm, attr), attr


def test_gradients_accumulate_and_zero_grad():
    dm = nn.Conv2d(2, 3, 3)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    g = np.ones((2, 3, 3, 3), np.float32)
    dm(x)
    dm.backward(g)
    first = dm.weight.grad.copy()
    dm(x)
    dm.backward(g)
    np.testing.assert_allclose(dm.weight.grad, 2 * first, rtol=1e-6)
    dm.zero_grad()
    assert dm.weight.grad is None


def test_clear_errors():
    conv = nn.Conv2d(3, 4, 3).double()
    with pytest.raises(ValueError, match="in_channels"):
        conv(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="too small"):
        conv(np.zeros((1, 3, 2, 5)))
    with pytest.raises(TypeError, match="floating"):
        conv(np.zeros((1, 3, 5, 5), dtype=np.int64))
    with pytest.raises(TypeError, match="torch tensor"):
        conv(torch.zeros(1, 3, 5, 5))
    with pytest.raises(ValueError, match="shape"):
        conv(np.zeros((3, 5, 5, 1, 1)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Conv2d(3, 4, 3).backward(np.zeros((1, 4, 3, 3)))
    conv(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="grad_out"):
        conv.backward(np.zeros((1, 4, 2, 3)))
    with pytest.raises(NotImplementedError, match="reflect"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="reachable"):
        nn.ConvTranspose2d(3, 4, 3, stride=2).double()(np.zeros((1, 3, 4, 4)),
                                                       output_size=(5, 20))
    with pytest.raises(TypeError, match="float64.*float32"):  # torch raises, no promotion
        nn.Conv2d(3, 4, 3)(np.zeros((1, 3, 5, 5)))


@pytest.mark.parametrize("route", [True, False])
@pytest.mark.parametrize(("c_in", "c_out", "k", "pad", "dil", "groups"),
                         [(6, 16, 5, 0, 1, 1), (3, 4, 3, 1, 1, 1), (4, 2, 3, 2, 2, 2),
                          (2, 6, 3, 1, 1, 2)])
def test_both_input_gradient_routes_equal_torch(monkeypatch, route, c_in, c_out, k, pad, dil,
                                                groups):
    """conv2d_backward's gather (a convolution of grad_out) and scatter (col2im) routes, each
    forced, give torch's input gradient (stride 1, where both apply)."""
    import dlbook.nn.im2col as im2col
    calls = []
    monkeypatch.setattr(im2col, "_gather_is_cheaper", lambda *a: calls.append(route) or route)
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(c_in, c_out, k, padding=pad, dilation=dil, groups=groups).double()
    ours = nn.Conv2d(c_in, c_out, k, padding=pad, dilation=dil, groups=groups).double()
    report = compare(ours, theirs, np.random.default_rng(1).standard_normal((3, c_in, 9, 8)),
                     device="cpu")
    assert report.ok, report
    assert calls == [route]  # the route was asked for, so it was the one taken
