"""MultiheadAttention and scaled dot-product attention against torch, forward and backward."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import nn
from dlbook.nn.attention_functional import (
    additive_mask,
    attention_backward,
    attention_forward,
    causal_mask,
    scaled_dot_product_attention,
    softmax_rows,
)

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def tensor(x, device="cpu", grad=False):
    return torch.tensor(np.asarray(x), device=device, requires_grad=grad)


def close(ours, theirs, dtype, what=""):
    theirs = theirs.detach().cpu().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert np.asarray(ours).shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, err_msg=what, **TOL[dtype])


# -- the functional form ------------------------------------------------------------------------


def torch_attention(q, k, v, mask):
    scores = q @ k.transpose(-1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


@pytest.mark.parametrize("mask_kind", [None, "causal", "float", "bool"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_attention_functions_match_torch_autograd(mask_kind, dtype, randn, device):
    q, k, v = randn(2, 3, 5, 4, dtype=dtype), randn(2, 3, 5, 4, dtype=dtype), randn(
        2, 3, 5, 6, dtype=dtype)
    mask = {None: None, "causal": causal_mask(5, dtype), "float": randn(5, 5, dtype=dtype),
            "bool": np.triu(np.ones((5, 5), bool), 1)}[mask_kind]
    mask = additive_mask(mask, dtype)
    out, weights, cache = attention_forward(q, k, v, mask)
    g_out, g_w = randn(*out.shape, dtype=dtype), randn(*weights.shape, dtype=dtype)
    grads = attention_backward(g_out, cache, g_w)

    tq, tk, tv = (tensor(a, device, grad=True) for a in (q, k, v))
    t_out, t_w = torch_attention(tq, tk, tv, None if mask is None else tensor(mask, device))
    ((t_out * tensor(g_out, device)).sum() + (t_w * tensor(g_w, device)).sum()).backward()
    close(out, t_out, dtype, "output")
    close(weights, t_w, dtype, "weights")
    for ours, t, name in zip(grads, (tq, tk, tv), "qkv", strict=True):
        close(ours, t.grad, dtype, f"grad {name}")


def test_attention_matches_torch_sdpa_and_causal_rows_ignore_the_future(randn):
    q, k, v = randn(1, 2, 6, 4), randn(1, 2, 6, 4), randn(1, 2, 6, 4)
    out, weights, _ = attention_forward(q, k, v, causal_mask(6, np.float64))
    want = torch.nn.functional.scaled_dot_product_attention(
        tensor(q), tensor(k), tensor(v), is_causal=True)
    close(out, want, np.float64)
    assert np.all(np.triu(weights[0, 0], 1) == 0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)


def test_attention_backward_with_dropout_by_central_differences(randn):
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3)
    g = randn(2, 3, 3)

    def run():
        out, _, cache = attention_forward(q, k, v, dropout_p=0.4,
                                          generator=np.random.default_rng(7))
        return out, cache

    out, cache = run()
    assert np.any(cache.keep == 0)
    grads = attention_backward(g, cache)
    for x, ours in zip((q, k, v), grads, strict=True):
        np.testing.assert_allclose(ours, numeric_grad(lambda: float((run()[0] * g).sum()), x),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mask_kind", [None, "bool", "float", "causal", "scale"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_matches_torch_functional(mask_kind, dtype, randn, device):
    q, k, v = randn(2, 3, 5, 4, dtype=dtype), randn(2, 3, 7, 4, dtype=dtype), randn(
        2, 3, 7, 6, dtype=dtype)
    kwargs = {None: {}, "bool": {"attn_mask": randn(5, 7) > -0.5},
              "float": {"attn_mask": randn(1, 3, 5, 7, dtype=dtype)},
              "causal": {"is_causal": True}, "scale": {"scale": 0.3}}[mask_kind]
    ours = scaled_dot_product_attention(q, k, v, **kwargs)
    t_kwargs = {n: tensor(a, device) if isinstance(a, np.ndarray) else a
                for n, a in kwargs.items()}
    want = torch.nn.functional.scaled_dot_product_attention(
        tensor(q, device), tensor(k, device), tensor(v, device), **t_kwargs)
    close(ours, want, dtype, str(mask_kind))
    assert ours.dtype == dtype


def test_sdpa_is_reachable_from_functional_and_rejects_bad_input(randn):
    q = randn(2, 3, 4)
    np.testing.assert_array_equal(nn.functional.scaled_dot_product_attention(q, q, q),
                                  scaled_dot_product_attention(q, q, q))
    with pytest.raises(ValueError, match="not both"):
        scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match="key"):
        scaled_dot_product_attention(q, randn(2, 3, 5), q)
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, q, q, dropout_p=1.5)
    with pytest.raises(TypeError, match="boolean or floating"):
        scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), int))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_rows_survives_rows_far_below_the_rest(dtype):
    scores = np.array([[[0.0, 1.0, 2.0], [-1000.0, -999.0, -1001.0], [5.0, -np.inf, 4.0]]],
                      dtype=dtype)
    want = torch.softmax(torch.tensor(scores), dim=-1).numpy()
    np.testing.assert_allclose(softmax_rows(scores.copy()), want, **TOL[dtype])
    masked = np.array([[[-np.inf, -np.inf], [0.0, 1.0]]], dtype=dtype)
    got = softmax_rows(masked.copy())
    assert np.isnan(got[0, 0]).all()
    assert torch.softmax(torch.tensor(masked), -1)[0, 0].isnan().all()  # torch agrees
    np.testing.assert_allclose(got[0, 1], torch.softmax(torch.tensor(masked[0, 1]), -1).numpy(),
                               **TOL[dtype])


# -- the module ---------------------------------------------------------------------------------


def pair(dtype, device="cpu", **kwargs):
    """A dlbook MultiheadAttention with the weights of a fresh torch one."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(**kwargs).to(device=device, dtype=TORCH_DTYPE[dtype])
    ours = nn.MultiheadAttention(**kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def run_both(ours, theirs, inputs, dtype, randn, device="cpu", grad_weights=False, **fwd):
    """Forward and backward on both; compare output, weights, input and parameter grads."""
    out, weights = ours(*inputs, **fwd)
    t_inputs = [tensor(x, device, grad=True) for x in inputs]
    t_fwd = {k: (tensor(v, device) if isinstance(v, np.ndarray) else v) for k, v in fwd.items()}
    t_out, t_weights = theirs(*t_inputs, **t_fwd)
    close(out, t_out, dtype, "output")
    if t_weights is None:
        assert weights is None
    else:
        close(weights, t_weights, dtype, "weights")
    g = randn(*out.shape, dtype=dtype)
    loss = (t_out * tensor(g, device)).sum()
    gw = None
    if grad_weights:
        gw = randn(*weights.shape, dtype=dtype)
        loss = loss + (t_weights * tensor(gw, device)).sum()
    loss.backward()
    grads = ours.backward(g, gw) if grad_weights else ours.backward(g)
    for ours_g, t in zip(grads, t_inputs, strict=True):
        close(ours_g, t.grad, dtype, "input grad")
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        close(params[name].grad, p.grad, dtype, f"grad {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_first", [True, False])
def test_cross_attention_matches_torch(dtype, batch_first, randn, device):
    ours, theirs = pair(dtype, device, embed_dim=8, num_heads=2, batch_first=batch_first)
    n, length, s = 3, 4, 6
    shape = (lambda t: (n, t, 8)) if batch_first else (lambda t: (t, n, 8))
    inputs = [randn(*shape(length), dtype=dtype), randn(*shape(s), dtype=dtype),
              randn(*shape(s), dtype=dtype)]
    run_both(ours, theirs, inputs, dtype, randn, device, grad_weights=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_masks_match_torch(dtype, randn, device):
    ours, theirs = pair(dtype, device, embed_dim=12, num_heads=3, batch_first=True)
    x = randn(2, 5, 12, dtype=dtype)
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    run_both(ours, theirs, [x, x, x], dtype, randn, device,
             attn_mask=np.triu(np.ones((5, 5), bool), 1), key_padding_mask=padding)
    ours, theirs = pair(dtype, device, embed_dim=12, num_heads=3, batch_first=True)
    run_both(ours, theirs, [x, x, x], dtype, randn, device,
             attn_mask=randn(6, 5, 5, dtype=dtype), average_attn_weights=False,
             key_padding_mask=randn(2, 5, dtype=dtype))


def test_kdim_vdim_no_bias_and_no_weights(randn, device):
    ours, theirs = pair(np.float64, device, embed_dim=6, num_heads=2, kdim=4, vdim=5,
                        bias=False)
    assert ours.in_proj_weight is None and ours.q_proj_weight.data.shape == (6, 6)
    inputs = [randn(3, 2, 6), randn(7, 2, 4), randn(7, 2, 5)]
    run_both(ours, theirs, inputs, np.float64, randn, device, need_weights=False)


def test_unbatched_and_batch_of_one(randn, device):
    ours, theirs = pair(np.float64, device, embed_dim=4, num_heads=1)
    x = randn(5, 4)
    run_both(ours, theirs, [x, x, x], np.float64, randn, device, grad_weights=True,
             key_padding_mask=np.array([False, False, True, False, False]))
    ours, theirs = pair(np.float64, device, embed_dim=4, num_heads=4, batch_first=True)
    x = randn(1, 1, 4)
    run_both(ours, theirs, [x, x, x], np.float64, randn, device)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), length=st.integers(1, 5), s=st.integers(1, 5),
       heads=st.sampled_from([1, 2, 4]), batch_first=st.booleans())
def test_drawn_shapes_match_torch(n, length, s, heads, batch_first):
    rng = np.random.default_rng(n * 100 + length * 10 + s)
    ours, theirs = pair(np.float64, embed_dim=8, num_heads=heads, batch_first=batch_first)
    shape = (lambda t: (n, t, 8)) if batch_first else (lambda t: (t, n, 8))
    inputs = [rng.standard_normal(shape(t)) for t in (length, s, s)]
    run_both(ours, theirs, inputs, np.float64,
             lambda *sh, dtype=np.float64: rng.standard_normal(sh).astype(dtype))


def test_parameters_match_torch_names_shapes_and_init():
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(16, 4)
    ours = nn.MultiheadAttention(16, 4)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = np.sqrt(6 / (16 + 48))  # Xavier-uniform over the stacked (3E, E) matrix
    w = ours.in_proj_weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not ours.in_proj_bias.data.any() and not ours.out_proj.bias.data.any()
    assert ours.in_proj_weight.data.dtype == np.float32


def test_self_attention_gradient_by_central_differences(randn):
    mha = nn.MultiheadAttention(6, 2, batch_first=True).double()
    x, g = randn(2, 4, 6), randn(2, 4, 6)
    mask = causal_mask(4, np.float64)

    def loss():
        return float((mha(x, x, x, attn_mask=mask)[0] * g).sum())

    loss()
    grad_x = sum(mha.backward(g))
    np.testing.assert_allclose(grad_x, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    w = mha.in_proj_weight.data
    mha.zero_grad()
    loss()
    mha.backward(g)
    np.testing.assert_allclose(mha.in_proj_weight.grad, numeric_grad(loss, w),
                               rtol=1e-6, atol=1e-8)


def test_dropout_only_in_training():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True,
                                generator=np.random.default_rng(0)).double()
    x = np.random.default_rng(1).standard_normal((2, 6, 8))
    _, w_train = mha(x, x, x, average_attn_weights=False)
    assert np.any(w_train == 0) and np.isclose(w_train.sum(-1).mean(), 1.0, atol=0.25)
    mha.eval()
    _, w_eval = mha(x, x, x, average_attn_weights=False)
    assert np.all(w_eval > 0)
    np.testing.assert_allclose(w_eval.sum(-1), 1.0, rtol=1e-12)


def test_inputs_are_not_modified(randn):
    mha = nn.MultiheadAttention(4, 2).double()
    x = randn(3, 2, 4)
    before = x.copy()
    out, _ = mha(x, x, x)
    mha.backward(np.ones_like(out))
    np.testing.assert_array_equal(x, before)


def test_clear_errors():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = np.zeros((2, 3, 8), np.float32)
    with pytest.raises(ValueError, match="query has 7 features"):
        mha(np.zeros((2, 3, 7), np.float32), x, x)
    with pytest.raises(ValueError, match="must all be 3-D"):
        mha(x, x[0], x)
    with pytest.raises(ValueError, match="attn_mask has shape"):
        mha(x, x, x, attn_mask=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="key_padding_mask has shape"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(RuntimeError, match="needs attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="boolean or floating"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), int))
    with pytest.raises(TypeError, match="floating"):
        mha(np.zeros((2, 3, 8), int), x, x)
    with pytest.raises(RuntimeError, match="before forward|backward"):
        nn.MultiheadAttention(8, 2).backward(x)
    out, _ = mha(x, x, x, need_weights=False)
    with pytest.raises(ValueError, match="grad_out has shape"):
        mha.backward(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="need_weights=False"):
        mha.backward(out, np.zeros((2, 3, 3), np.float32))


@pytest.mark.parametrize(("bias_kv", "zero_attn"), [(True, False), (False, True), (True, True)])
def test_bias_kv_and_zero_attn_equal_torch_with_masks(bias_kv, zero_attn):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(6, 2, add_bias_kv=bias_kv, add_zero_attn=zero_attn,
                                         kdim=4, vdim=5).double()
    ours = nn.MultiheadAttention(6, 2, add_bias_kv=bias_kv, add_zero_attn=zero_attn,
                                 kdim=4, vdim=5).double()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((3, 2, 6)), rng.standard_normal((4, 2, 4)), \
        rng.standard_normal((4, 2, 5))
    padding = np.array([[False, False, True, False], [False, True, False, False]])
    causal = np.triu(np.ones((3, 4), dtype=bool), 1)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    t_out, t_w = theirs(tq, tk, tv, key_padding_mask=torch.tensor(padding),
                        attn_mask=torch.tensor(causal))
    out, w = ours(q, k, v, key_padding_mask=padding, attn_mask=causal)
    g, gw = rng.standard_normal(out.shape), rng.standard_normal(w.shape)
    torch.autograd.backward([t_out, t_w], [torch.tensor(g), torch.tensor(gw)])
    grads = ours.backward(g, gw)
    pairs = [(out, t_out), (w, t_w)] + list(zip(grads, (tq.grad, tk.grad, tv.grad),
                                                strict=True))
    pairs += [(p.grad, dict(theirs.named_parameters())[n].grad)
              for n, p in ours.named_parameters()]
    for mine, ref in pairs:
        np.testing.assert_allclose(mine, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
