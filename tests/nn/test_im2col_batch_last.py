"""im2col's (h, w, n) column order (batch last) gives the same convolution as (n, h, w).

Both layouts are forced in turn on the same inputs (strided, padded, dilated, grouped, batch
1, non-square) and each is compared with torch in float64, forward and backward, through
both input-gradient paths of ``conv2d_backward``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.nn import im2col as im2col_module
from dlbook.nn.im2col import (
    _col2im,
    _im2col,
    _rows,
    _unrows,
    conv2d_backward,
    conv2d_forward,
    prefers_batch_last,
)


def _conv_vs_torch(N, C_g, C_og, groups, H, W, k, stride, padding, dilation, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C_g * groups, H, W))
    w = rng.standard_normal((C_og * groups, C_g, *k))
    b = rng.standard_normal(C_og * groups)
    out, cache = conv2d_forward(x, w, b, stride, padding, dilation, groups)
    g = rng.standard_normal(out.shape)
    grads = conv2d_backward(g, cache)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = tF.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    for got, want in zip(grads, (xt.grad, wt.grad, bt.grad), strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-10)
    return cache.batch_last


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 5), C_g=st.integers(1, 3), C_og=st.integers(1, 3),
       groups=st.integers(1, 2), H=st.integers(3, 7), W=st.integers(3, 7),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       batch_last=st.booleans(), seed=st.integers(0, 10**6))
def test_both_layouts_equal_torch(N, C_g, C_og, groups, H, W, k, stride, padding, dilation,
                                  batch_last, seed):
    reach = [d * (kk - 1) + 1 for d, kk in zip(dilation, k, strict=True)]
    if H + 2 * padding[0] < reach[0] or W + 2 * padding[1] < reach[1]:
        return  # no window fits
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(im2col_module, "prefers_batch_last", lambda *_: batch_last)
        used = _conv_vs_torch(N, C_g, C_og, groups, H, W, k, stride, padding, dilation, seed)
    assert used == batch_last


def test_im2col_batch_last_is_a_column_permutation_of_im2col():
    x = np.random.default_rng(0).standard_normal((3, 2, 5, 6))
    pads, k, s, d = ((1, 0), (2, 1)), (2, 3), (1, 2), (2, 1)
    cols = im2col_module.im2col(x, k, s, pads, d)               # columns (n, h, w)
    Ho, Wo = 4, 4
    cols_last = _im2col(x, k, s, pads, d, (Ho, Wo), True)       # columns (h, w, n)
    assert cols.shape == cols_last.shape == (2 * 6, 3 * Ho * Wo)
    permuted = cols.reshape(-1, 3, Ho, Wo).transpose(0, 2, 3, 1).reshape(cols.shape)
    np.testing.assert_array_equal(cols_last, permuted)
    # col2im is its adjoint: <im2col(x), c> == <x, col2im(c)>
    c = np.random.default_rng(1).standard_normal(cols_last.shape)
    back = _col2im(c, x.shape, k, s, pads, d, (Ho, Wo), True)
    assert np.isclose(np.sum(cols_last * c), np.sum(x * back), rtol=1e-12)


def test_rows_round_trip_and_the_choice():
    a = np.arange(2 * 4 * 3 * 5, dtype=float).reshape(2, 4, 3, 5)
    np.testing.assert_array_equal(_unrows(_rows(a, 2, True), 2, 3, 5, True), a)
    np.testing.assert_array_equal(_unrows(_rows(a, 2), 2, 3, 5), a)
    assert prefers_batch_last(64, (4, 4)) and prefers_batch_last(64, (10, 10))
    assert not prefers_batch_last(1, (4, 4)) and not prefers_batch_last(8, (16, 16))
    assert not prefers_batch_last(64, (16, 16))  # rows of 16 copy fast enough
