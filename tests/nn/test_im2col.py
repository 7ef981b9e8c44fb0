"""dlbook.nn.im2col: im2col/col2im against their definition, conv passes against torch,
central-difference gradient checks of the pure forward/backward functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.nn.im2col import (
    col2im,
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    im2col,
)

SETTINGS = settings(max_examples=20, deadline=None)


def naive_im2col(x, k, s, pads, d):
    """The definition, one window at a time."""
    (t, b), (left, r) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    N, C, Hp, Wp = xp.shape
    Ho = (Hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    Wo = (Wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = np.zeros((C, k[0], k[1], N, Ho, Wo))
    for n in range(N):
        for h in range(Ho):
            for w in range(Wo):
                for i in range(k[0]):
                    for j in range(k[1]):
                        cols[:, i, j, n, h, w] = xp[n, :, h * s[0] + i * d[0], w * s[1] + j * d[1]]
    return cols.reshape(C * k[0] * k[1], -1)


@st.composite
def geometry(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    H = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - sum(pads[0])), 7))
    W = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - sum(pads[1])), 7))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W), k, s, pads, d


@SETTINGS
@given(geometry())
def test_im2col_matches_definition(geo):
    shape, k, s, pads, d = geo
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(im2col(x, k, s, pads, d), naive_im2col(x, k, s, pads, d))


@SETTINGS
@given(geometry())
def test_col2im_is_the_adjoint_of_im2col(geo):
    """<im2col(x), c> == <x, col2im(c)> for all x, c: col2im is im2col transposed."""
    shape, k, s, pads, d = geo
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    cols = im2col(x, k, s, pads, d)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, shape, k, s, pads, d)
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_im2col_int_and_pair_padding_agree():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 5))
    np.testing.assert_array_equal(im2col(x, 3, 1, 1), im2col(x, (3, 3), 1, ((1, 1), (1, 1))))
    np.testing.assert_array_equal(im2col(x, 3, 1, (1, 0)), im2col(x, 3, 1, ((1, 1), (0, 0))))


@st.composite
def conv_config(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    C, C_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["same", "valid", 0, 1, (2, 1)]))
    s = (1, 1) if padding == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    H = draw(st.integers(d[0] * (k[0] - 1) + 1, 9))
    W = draw(st.integers(d[1] * (k[1] - 1) + 1, 8))
    return dict(shape=(draw(st.integers(1, 3)), C, H, W), O=C_out, k=k, stride=s, padding=padding,
                dilation=d, groups=groups, bias=draw(st.booleans()))


def torch_conv(x, w, b, g, **kw):
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    out = tF.conv2d(tx, tw, tb, **kw)
    out.backward(torch.tensor(g))
    return (out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
            None if b is None else tb.grad.numpy())


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@SETTINGS
@given(conv_config())
def test_conv2d_functions_match_torch_float64(cfg):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(cfg["shape"])
    w = rng.standard_normal((cfg["O"], cfg["shape"][1] // cfg["groups"], *cfg["k"]))
    b = rng.standard_normal(cfg["O"]) if cfg["bias"] else None
    kw = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
              groups=cfg["groups"])
    out, cache = conv2d_forward(x, w, b, **kw)
    g = rng.standard_normal(out.shape)
    x0, g0 = x.copy(), g.copy()
    got = (out, *conv2d_backward(g, cache))
    want = torch_conv(x, w, b, g, **kw)
    for a, e in zip(got, want, strict=True):
        if e is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-11)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)




@pytest.mark.parametrize("kw", [
    dict(stride=1, padding=1, dilation=1, groups=1),          # the flipped-kernel route
    dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),   # the col2im route
    dict(stride=1, padding=3, dilation=1, groups=1),          # padding beyond the kernel
])
def test_conv2d_gradcheck(kw):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((4, 2 // kw["groups"], 3, 2))
    b = rng.standard_normal(4)
    out, cache = conv2d_forward(x, w, b, **kw)
    g = rng.standard_normal(out.shape)
    gx, gw, gb = conv2d_backward(g, cache)

    def loss():
        return np.sum(conv2d_forward(x, w, b, **kw)[0] * g)

    for analytic, a in ((gx, x), (gw, w), (gb, b)):
        np.testing.assert_allclose(analytic, numeric_grad(loss, a), rtol=1e-6, atol=1e-8)


@st.composite
def transpose_config(draw):
    groups = draw(st.sampled_from([1, 2]))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
    return dict(shape=(draw(st.integers(1, 2)), 2 * groups, draw(st.integers(2, 5)),
                       draw(st.integers(2, 6))),
                O=groups * draw(st.integers(1, 2)), k=k, stride=s, padding=p, output_padding=op,
                dilation=d, groups=groups)


@SETTINGS
@given(transpose_config())
def test_conv_transpose2d_functions_match_torch_float64(cfg):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(cfg["shape"])
    w = rng.standard_normal((cfg["shape"][1], cfg["O"] // cfg["groups"], *cfg["k"]))
    b = rng.standard_normal(cfg["O"])
    kw = {k: cfg[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    try:
        tout = tF.conv_transpose2d(tx, tw, tb, **kw)
    except RuntimeError:        # torch rejects it (empty output): so must we
        with pytest.raises(ValueError):
            conv_transpose2d_forward(x, w, b, **kw)
        return
    out, cache = conv_transpose2d_forward(x, w, b, **kw)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    got = (out, *conv_transpose2d_backward(g, cache))
    want = (tout.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    for a, e in zip(got, want, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-11)


def test_conv_transpose2d_gradcheck():
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal(s) for s in ((2, 2, 3, 4), (2, 3, 3, 2), (3,)))
    kw = dict(stride=2, padding=1, output_padding=1, groups=1, dilation=1)
    out, cache = conv_transpose2d_forward(x, w, b, **kw)
    g = rng.standard_normal(out.shape)
    gx, gw, gb = conv_transpose2d_backward(g, cache)

    def loss():
        return np.sum(conv_transpose2d_forward(x, w, b, **kw)[0] * g)

    for analytic, a in ((gx, x), (gw, w), (gb, b)):
        np.testing.assert_allclose(analytic, numeric_grad(loss, a), rtol=1e-6, atol=1e-8)


def test_float32_stays_float32():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out, cache = conv2d_forward(x, w, np.zeros(4, np.float32), padding=1)
    assert out.dtype == np.float32
    assert all(a.dtype == np.float32 for a in conv2d_backward(np.ones_like(out), cache))


def test_clear_errors():
    x = np.zeros((1, 3, 4, 4))
    with pytest.raises(ValueError, match="too small"):
        conv2d_forward(x, np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="input channels"):
        conv2d_forward(x, np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="strided"):
        conv2d_forward(x, np.zeros((2, 3, 3, 3)), stride=2, padding="same")
    with pytest.raises(ValueError, match="'valid', 'same'"):
        conv2d_forward(x, np.zeros((2, 3, 3, 3)), padding="full")
    with pytest.raises(ValueError, match="non-negative"):
        im2col(x, 3, padding=-1)
    with pytest.raises(ValueError, match="positive"):
        im2col(x, 3, stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d_forward(x, np.zeros((3, 2, 3, 3)), stride=2, output_padding=2)
