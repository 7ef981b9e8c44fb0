"""The speed paths of the normalisation and convolution layers equal the plain ones:
``group_sum``'s matrix-vector sums, ``out=`` writes, and the buffers a forward takes back from
the cache the last backward consumed (``Module.reusable_buffer``), which must never be an
array a caller can still see."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook import nn
from dlbook.nn.im2col import conv2d_backward, conv2d_forward
from dlbook.nn.normalization import group_sum, normalize_backward, normalize_forward


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axes", [((7, 5), (1,)), ((7, 5), (0,)), ((3, 4, 5), (1, 2)),
                                         ((3, 4, 5), (0, 1)), ((3, 4, 5), (0, 2)),
                                         ((3, 4, 5), (1,)), ((0, 5), (1,))])
def test_group_sum_fast_paths_equal_numpy_sums(shape, axes, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    got = group_sum(axes, a)
    assert got.shape == np.sum(a, axis=axes, keepdims=True).shape and got.dtype == dtype
    np.testing.assert_allclose(got, np.sum(a.astype(np.float64), axis=axes, keepdims=True), **tol)
    np.testing.assert_allclose(group_sum(axes, a, b),
                               np.sum(a.astype(np.float64) * b, axis=axes, keepdims=True), **tol)
    # a non-contiguous input takes the einsum path and agrees
    np.testing.assert_allclose(group_sum(axes, np.asfortranarray(a)), got, **tol)


def test_normalize_out_arguments_equal_fresh_arrays():
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((6, 4, 9)), rng.standard_normal((6, 4, 9))
    x_hat, mean, var, cache = normalize_forward(x, (0, 2), 1e-5)
    buf = np.full_like(x, np.nan)
    x_hat2, mean2, var2, cache2 = normalize_forward(x, (0, 2), 1e-5, out=buf)
    assert x_hat2 is buf
    np.testing.assert_array_equal(x_hat2, x_hat)
    out = np.full_like(x, np.nan)
    got = normalize_backward(g, cache2, out=out)
    assert got is out
    np.testing.assert_array_equal(got, normalize_backward(g, cache))


def _steps(module, xs, gs):
    outs = []
    for x, g in zip(xs, gs, strict=True):
        y = module(x)
        outs.append((y.copy(), module.backward(g).copy()))
    return outs


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Conv2d(3, 4, 3, padding=1, dtype=np.float64), (2, 3, 6, 6)),
    (lambda: nn.Conv2d(4, 4, 3, padding=1, groups=4, dtype=np.float64), (5, 4, 7, 7)),
    (lambda: nn.LayerNorm(6, dtype=np.float64), (3, 5, 6)),
    (lambda: nn.LayerNorm(6, elementwise_affine=False, dtype=np.float64), (3, 5, 6)),
    (lambda: nn.BatchNorm2d(3, dtype=np.float64), (4, 3, 5, 5)),
    (lambda: nn.BatchNorm2d(3, affine=False, dtype=np.float64), (4, 3, 5, 5)),
])
def test_reused_buffers_give_the_results_of_fresh_modules(make, shape):
    """Three steps of one module (buffers reused from step 2 on) equal each step on a fresh
    copy of the module, and outputs kept from step 1 are not overwritten by later steps."""
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(shape) for _ in range(3)]
    module = make()
    gs = [rng.standard_normal(module(x).shape) for x in xs]
    module.clear_caches()
    kept = [module(xs[0])]
    kept_copy = kept[0].copy()
    module.backward(gs[0])
    reused = _steps(module, xs[1:], gs[1:])
    np.testing.assert_array_equal(kept[0], kept_copy)
    for (y, gx), x, g in zip(reused, xs[1:], gs[1:], strict=True):
        fresh = make()
        fresh.load_state_dict(module.state_dict())
        fresh.train(module.training)
        y_want = fresh(x)
        gx_want = fresh.backward(g)
        np.testing.assert_allclose(y, y_want, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(gx, gx_want, rtol=1e-13, atol=1e-13)


def test_conv_reuses_its_im2col_matrix_only_when_nothing_else_holds_it():
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64)
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 5))
    g = np.ones((2, 3, 5, 5))
    conv(x)
    address = conv.saved.cache.cols.ctypes.data  # no reference kept
    conv.backward(g)
    conv(x)  # the spent cache is alive until now, so a fresh array would lie elsewhere
    assert conv.saved.cache.cols.ctypes.data == address  # taken back: nothing referred to it
    held = conv.saved.cache.cols
    conv.backward(g)
    conv(x)
    assert conv.saved.cache.cols is not held  # ``held`` (a caller's reference) is left alone
    assert not held.flags.writeable


def test_reusable_buffer_refuses_an_array_a_caller_still_sees():
    ln = nn.LayerNorm(4, elementwise_affine=False, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((3, 4))
    y = ln(x)  # with no affine map the output is a view of the cached x_hat
    ln.backward(np.ones_like(x))
    find = lambda c: c.cache.x_hat  # noqa: E731
    assert ln.reusable_buffer(find, (3, 4), np.float64) is None
    del y
    buf = ln.reusable_buffer(find, (3, 4), np.float64)
    assert buf is not None and buf.flags.writeable
    assert ln.reusable_buffer(find, (3, 4), np.float64) is None  # taken once


def test_conv2d_forward_cols_buffer_equals_a_fresh_matrix():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((4, 1, 3, 3))
    y, cache = conv2d_forward(x, w, None, 1, 1, 1, 4)
    buf = np.full_like(cache.cols, np.nan)
    y2, cache2 = conv2d_forward(x, w, None, 1, 1, 1, 4, cols_buffer=buf)
    assert cache2.cols is buf
    np.testing.assert_array_equal(y2, y)
    g = rng.standard_normal(y.shape)
    for a, b in zip(conv2d_backward(g, cache), conv2d_backward(g, cache2), strict=True):
        np.testing.assert_array_equal(a, b)
