"""dlbook.nn pooling layers against torch: forward, backward, indices, ties, ceil_mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SETTINGS = settings(max_examples=20, deadline=None)


def run_both(name, kw, x, g_seed=1, device="cpu"):
    """(dlbook outputs, grad_x) and torch's, for input x and a random grad_out."""
    tm, dm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    tx = torch.tensor(x, device=device, requires_grad=True)
    tout = tm(tx)
    touts = tout if isinstance(tout, tuple) else (tout,)
    g = np.random.default_rng(g_seed).standard_normal(tuple(touts[0].shape)).astype(x.dtype)
    touts[0].backward(torch.tensor(g, device=device))
    x0 = x.copy()
    douts = dm(x)
    douts = douts if isinstance(douts, tuple) else (douts,)
    gx = dm.backward(g)
    np.testing.assert_array_equal(x, x0)
    return ([o for o in douts] + [gx],
            [t.detach().cpu().numpy() for t in touts] + [tx.grad.cpu().numpy()])


def assert_same(name, kw, x, rtol=1e-12, atol=1e-12, device="cpu"):
    got, want = run_both(name, kw, x, device=device)
    assert len(got) == len(want)
    for a, e in zip(got, want, strict=True):
        assert a.shape == e.shape
        if np.issubdtype(e.dtype, np.integer):
            np.testing.assert_array_equal(a, e)
        else:
            assert a.dtype == x.dtype
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


@st.composite
def pool_case(draw, dilation=True):
    k = draw(st.sampled_from([1, 2, 3, (3, 2), (2, 4)]))
    kk = (k, k) if isinstance(k, int) else k
    d = draw(st.sampled_from([1, 2, (2, 1)])) if dilation else 1
    dd = (d, d) if isinstance(d, int) else d
    p = tuple(draw(st.integers(0, kk[a] // 2)) for a in range(2))
    kw = dict(kernel_size=k, stride=draw(st.sampled_from([None, 1, 2, (1, 3)])), padding=p,
              ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = d
    H = draw(st.integers(dd[0] * (kk[0] - 1) + 1, 9))
    W = draw(st.integers(dd[1] * (kk[1] - 1) + 1, 9))
    return kw, (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W)


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(pool_case())
def test_maxpool_matches_torch(device, case):
    kw, shape = case
    x = np.random.default_rng(0).standard_normal(shape)
    assert_same("MaxPool2d", dict(kw, return_indices=True), x, device=device)


@pytest.mark.parametrize("x", [
    np.ones((2, 3, 7, 8)),                                                  # all equal
    np.maximum(np.random.default_rng(0).standard_normal((2, 3, 9, 9)), 0),  # ReLU'd: many 0s
    np.random.default_rng(1).integers(0, 3, (2, 3, 9, 8)).astype(np.float64),  # many ties
    -np.ones((1, 2, 5, 5)),                      # ties with the -inf padding around them
], ids=["ones", "relu", "small-ints", "negative"])
@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, dilation=2),
])
def test_maxpool_ties_go_to_the_first_maximum(x, kw):
    assert_same("MaxPool2d", dict(kw, return_indices=True), x)


def test_maxpool_gradcheck_and_float32():
    rng = np.random.default_rng(2)
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0  # distinct: no ties
    pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    g = rng.standard_normal(pool(x).shape)
    gx = pool.backward(g)
    eps = 1e-3  # values are 0.1 apart, so the argmax never changes
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        num[idx] = (np.sum(pool(x + e) * g) - np.sum(pool(x - e) * g)) / (2 * eps)
    np.testing.assert_allclose(gx, num, rtol=1e-9, atol=1e-9)
    assert_same("MaxPool2d", dict(kernel_size=2), x.astype(np.float32), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(pool_case(dilation=False), st.booleans(), st.sampled_from([None, 3]))
def test_avgpool_matches_torch(device, case, count_include_pad, divisor_override):
    kw, shape = case
    kw = dict(kw, count_include_pad=count_include_pad, divisor_override=divisor_override)
    x = np.random.default_rng(0).standard_normal(shape)
    assert_same("AvgPool2d", kw, x, device=device)


def test_avgpool_float32_and_gradcheck():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 5))
    assert_same("AvgPool2d", dict(kernel_size=2), x.astype(np.float32), rtol=1e-6, atol=1e-6)
    pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    g = rng.standard_normal(pool(x).shape)
    gx = pool.backward(g)
    # The layer is linear, so the gradient is exactly the matrix transpose: check via basis.
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = 1.0
        num[idx] = np.sum(pool(e) * g)
    np.testing.assert_allclose(gx, num, rtol=1e-12, atol=1e-12)


ADAPTIVE_SIZES = [1, 3, (2, 5), (None, 2), (7, 4), 10]  # 7 and 10 exceed / do not divide


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("output_size", ADAPTIVE_SIZES)
@pytest.mark.parametrize("shape", [(2, 3, 8, 9), (1, 2, 5, 7)])
def test_adaptive_avgpool_matches_torch(device, output_size, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    assert_same("AdaptiveAvgPool2d", dict(output_size=output_size), x, 1e-12, 1e-12, device)
    assert_same("AdaptiveAvgPool2d", dict(output_size=output_size), x.astype(np.float32),
                1e-5, 1e-6, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("output_size", ADAPTIVE_SIZES)
def test_adaptive_maxpool_matches_torch(device, output_size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 9))
    kw = dict(output_size=output_size, return_indices=True)
    assert_same("AdaptiveMaxPool2d", kw, x, device=device)
    ties = rng.integers(0, 2, (2, 3, 8, 9)).astype(np.float64)
    assert_same("AdaptiveMaxPool2d", kw, ties, device=device)


@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                                  "AdaptiveMaxPool2d"])
def test_unbatched_input(name):
    kw = dict(output_size=(2, 3)) if name.startswith("Adaptive") else dict(kernel_size=2)
    x = np.random.default_rng(0).standard_normal((3, 7, 6))
    assert_same(name, kw, x)


def test_module_attributes_as_torch():
    for kw in (dict(kernel_size=2), dict(kernel_size=(3, 2), stride=1, padding=1)):
        for name in ("MaxPool2d", "AvgPool2d"):
            tm, dm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
            for attr in ("kernel_size", "stride", "padding", "ceil_mode"):
                assert getattr(dm, attr) == getattr(tm, attr)
            assert list(dm.parameters()) == []


def test_clear_errors():
    with pytest.raises(ValueError, match="half"):
        nn.MaxPool2d(2, padding=2)(np.zeros((1, 1, 6, 6)))
    with pytest.raises(ValueError, match="too small"):
        nn.MaxPool2d(3)(np.zeros((1, 1, 2, 6)))
    with pytest.raises(ValueError, match="too small"):
        nn.AvgPool2d(4)(np.zeros((1, 1, 6, 3)))
    with pytest.raises(TypeError, match="floating"):
        nn.AvgPool2d(2)(np.zeros((1, 1, 4, 4), dtype=np.int32))
    with pytest.raises(ValueError, match="shape"):
        nn.MaxPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool2d((0, 2))(np.zeros((1, 1, 4, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.MaxPool2d(2).backward(np.zeros((1, 1, 2, 2)))
    pool = nn.AvgPool2d(2)
    pool(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="grad_out"):
        pool.backward(np.zeros((1, 1, 3, 2)))


def _adaptive_max_plain(x, out_size):
    """The plain loop over output positions (the reference for the vectorised gather)."""
    from dlbook.nn.pooling import adaptive_windows
    N, C, H, W = x.shape
    (h0, h1), (w0, w1) = adaptive_windows(H, out_size[0]), adaptive_windows(W, out_size[1])
    out = np.empty((N, C) + tuple(out_size), dtype=x.dtype)
    idx = np.empty((N, C) + tuple(out_size), dtype=np.int64)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            window = x[:, :, h0[i]:h1[i], w0[j]:w1[j]].reshape(N, C, -1)
            k = window.argmax(axis=2)
            out[:, :, i, j] = np.take_along_axis(window, k[..., None], axis=2)[..., 0]
            width = w1[j] - w0[j]
            idx[:, :, i, j] = (h0[i] + k // width) * W + w0[j] + k % width
    return out, idx


@pytest.mark.parametrize(("shape", "out_size"), [((2, 3, 7, 5), (3, 4)), ((1, 2, 5, 9), (5, 2)),
                                                 ((2, 1, 4, 4), (7, 3)), ((1, 1, 6, 6), (1, 1))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adaptive_max_pool_gather_equals_the_plain_loop(shape, out_size, dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties: the first maximum must win
    x.flat[::7] = -np.inf
    x.flat[5] = np.nan
    out, idx = nn.AdaptiveMaxPool2d(out_size, return_indices=True)(x)
    want, want_idx = _adaptive_max_plain(x, out_size)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, want_idx)
