"""dlbook.nn.functional: one namespace of pure functions, each written once; every fast path
that is kept is proved equal to the plain one here (sigmoid in place, the attention softmax,
the fused LSTM loop), and every dropout in the library draws its mask from one function."""
from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.nn import activation_functional, attention_functional, dropout_functional
from dlbook.nn import functional as F
from dlbook.nn import rnn_functional as R

NN_DIR = pathlib.Path(nn.__file__).parent


def test_every_name_is_the_one_defined_in_its_file():
    for name in F.__all__:
        fn = getattr(F, name)
        home = fn.__module__
        assert home.startswith("dlbook.nn.") and home != "dlbook.nn.functional", name
        assert getattr(__import__(home, fromlist=[name]), name) is fn


def test_no_file_of_dlbook_nn_imports_the_namespace():
    """The namespace imports the files; a file importing it back would be an import cycle."""
    for path in NN_DIR.glob("*.py"):
        if path.name in ("__init__.py", "functional.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "dlbook.nn":
                assert "functional" not in [a.name for a in node.names], path.name
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names]
                assert "dlbook.nn.functional" not in names, path.name


def test_one_sigmoid_one_softmax_one_mask():
    """The old copies are gone: the models and layers use the functions of the namespace."""
    from dlbook.models import autoencoder

    assert autoencoder.sigmoid is F.sigmoid is activation_functional.sigmoid
    assert not hasattr(R, "_sigmoid") and not hasattr(R, "_sigmoid_")
    assert F.dropout_mask is dropout_functional.dropout_mask


# -- sigmoid ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_into_out_equals_the_plain_call(dtype):
    rng = np.random.default_rng(0)
    x = (30 * rng.standard_normal((7, 12))).astype(dtype)
    x[0, :4] = [-1e4, 1e4, 0.0, -0.0]
    want = F.sigmoid(x)
    view = x.copy()[:, 2:9]  # a strided view, written in place as the GRU does
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got = F.sigmoid(view, out=view)
    assert got is view and got.dtype == dtype
    np.testing.assert_array_equal(got, want[:, 2:9])
    out = np.empty_like(x)
    assert F.sigmoid(x, out=out) is out
    np.testing.assert_array_equal(out, want)
    np.testing.assert_allclose(want, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=0)


# -- softmax: the attention fast path equals the plain one ------------------------------------
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 7)),
       seed=st.integers(0, 2**16), spread=st.sampled_from([1.0, 30.0, 1e3]),
       dtype=st.sampled_from([np.float64, np.float32]))
@settings(max_examples=40, deadline=None)
def test_softmax_rows_equals_softmax_on_the_last_axis(shape, seed, spread, dtype):
    rng = np.random.default_rng(seed)
    scores = (spread * rng.standard_normal(shape)).astype(dtype)
    scores[..., 0, :] -= 2000.0 if shape[1] > 1 else 0.0  # one row far below the others
    want = F.softmax(scores, -1)
    got = attention_functional.softmax_rows(scores.copy())
    tol = dict(rtol=1e-12, atol=1e-300) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-38)
    np.testing.assert_allclose(got, want, **tol)
    assert got.dtype == dtype


# -- dropout: one mask ------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_mask_is_a_scaled_bernoulli_draw(p):
    shape = (40, 50)
    draws = np.random.default_rng(3).random(shape)
    keep = F.keep_mask(shape, p, np.random.default_rng(3))
    np.testing.assert_array_equal(keep, draws >= p)
    mask = F.dropout_mask(shape, p, np.float32, np.random.default_rng(3))
    assert mask.dtype == np.float32
    want = np.zeros(shape) if p == 1.0 else (draws >= p) / (1 - p)
    np.testing.assert_array_equal(mask, want.astype(np.float32))
    if 0 < p < 1:
        assert abs(keep.mean() - (1 - p)) < 0.05  # 2000 draws: 5 standard deviations


def test_every_dropout_draws_the_same_mask(randn):
    """Dropout, RNN dropout between layers and attention dropout: the mask of dropout_mask."""
    p, x = 0.4, randn(3, 5, 8)
    want = F.dropout_mask(x.shape, p, x.dtype, np.random.default_rng(7))
    drop = nn.Dropout(p, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(drop(x), x * want)
    rnn = nn.RNN(8, 8, num_layers=2, dropout=p, generator=np.random.default_rng(0), dtype=x.dtype)
    rnn.generator = np.random.default_rng(7)
    np.testing.assert_array_equal(rnn._dropout_mask(x), want)
    q = randn(2, 4, 3)
    _, weights, cache = attention_functional.attention_forward(
        q, q, q, dropout_p=p, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(cache.keep, F.dropout_mask((2, 4, 4), p, q.dtype,
                                                              np.random.default_rng(7)))


# -- the LSTM: the fused fast loop equals the plain loop --------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("T", "N", "n_in", "H"), [(1, 1, 1, 1), (5, 3, 4, 6), (9, 2, 3, 5)])
def test_fused_lstm_equals_the_plain_loop(T, N, n_in, H, dtype):
    """``lstm_layer_forward/backward`` (gates reordered, one exp for all, feature-major) against
    ``lstm_proj_layer_forward/backward`` with ``w_hr = I``: the textbook loop with F.sigmoid."""
    rng = np.random.default_rng(T * 100 + H)

    def draw(*shape):
        return (0.6 * rng.standard_normal(shape)).astype(dtype)

    weights = (draw(4 * H, n_in), draw(4 * H, H), draw(4 * H), draw(4 * H))
    x, h0, c0 = 3 * draw(T, N, n_in), draw(N, H), draw(N, H)
    fast = R.lstm_layer_forward(x, weights, (h0, c0))
    plain = R.lstm_proj_layer_forward(x, weights, (h0, c0), np.eye(H, dtype=dtype))
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for a, b in zip((fast[0], *fast[1]), (plain[0], *plain[1]), strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)
    grad_out, grad_h, grad_c = draw(T, N, H), draw(N, H), draw(N, H)
    g_fast = R.lstm_layer_backward(grad_out, (grad_h, grad_c), fast[2])
    g_plain = R.lstm_proj_layer_backward(grad_out, (grad_h, grad_c), plain[2])
    flat_fast = [g_fast[0], *g_fast[1], *g_fast[2]]
    flat_plain = [g_plain[0], *g_plain[1], *g_plain[2][:4]]
    for a, b in zip(flat_fast, flat_plain, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)
