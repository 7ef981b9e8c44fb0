"""dlbook.nn.Embedding against torch: lookup, scatter-added gradient, padding, frequency scaling."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.parity import compare, gradcheck

SETTINGS = settings(max_examples=15, deadline=None)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


@SETTINGS
@given(vocab=st.integers(1, 9), dim=st.integers(1, 5),
       idx_shape=st.lists(st.integers(1, 6), max_size=3), padding=st.booleans(),
       negative_padding=st.booleans(), scale=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_embedding_matches_torch(device, vocab, dim, idx_shape, padding, negative_padding, scale,
                                 dtype, seed):
    """Small vocabularies make repeated indices (accumulated gradients) the common case."""
    rng = np.random.default_rng(seed)
    padding_idx = None
    if padding:
        padding_idx = int(rng.integers(0, vocab)) - (vocab if negative_padding else 0)
    kwargs = dict(num_embeddings=vocab, embedding_dim=dim, padding_idx=padding_idx,
                  scale_grad_by_freq=scale)
    torch.manual_seed(seed)
    theirs = torch.nn.Embedding(**kwargs).to(getattr(torch, np.dtype(dtype).name))
    ours = nn.Embedding(**kwargs)
    idx = rng.integers(0, vocab, size=idx_shape)
    report = compare(ours, theirs, idx, device=device, seed=seed, **TOL[dtype])
    assert report.ok, report
    assert ours(idx).dtype == dtype
    assert ours.padding_idx == theirs.padding_idx


def test_embedding_gradient_by_hand_with_repeats_and_padding():
    """Independent of torch: rows of grad_out are summed into the rows they read."""
    m = nn.Embedding(4, 2, padding_idx=3).double()
    idx = np.array([[0, 2, 0], [3, 0, 1]])
    g = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    np.testing.assert_array_equal(m(idx), m.weight.data[idx])
    assert m.backward(g) is None
    want = np.zeros((4, 2))
    want[0] = g[0, 0] + g[0, 2] + g[1, 1]
    want[1] = g[1, 2]
    want[2] = g[0, 1]  # row 3 (padding) stays zero
    np.testing.assert_array_equal(m.weight.grad, want)
    m(idx)
    m.backward(g)
    np.testing.assert_array_equal(m.weight.grad, 2 * want)  # gradients accumulate


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_gradcheck(padding_idx):
    """With the padding row unused: its zero gradient is by design, not the derivative."""
    m = nn.Embedding(6, 3, padding_idx=padding_idx).double()
    report = gradcheck(m, np.array([[0, 3, 5], [5, 5, 2]]))
    assert report.ok, report


def test_embedding_init_like_torch():
    m = nn.Embedding(2000, 50, padding_idx=-2)
    w = m.weight.data
    assert w.dtype == np.float32 and w.shape == (2000, 50)
    assert m.padding_idx == torch.nn.Embedding(2000, 50, padding_idx=-2).padding_idx == 1998
    np.testing.assert_array_equal(w[1998], 0)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1), as torch
    assert list(m.state_dict()) == list(torch.nn.Embedding(3, 2).state_dict())
    assert repr(m) == repr(torch.nn.Embedding(2000, 50, padding_idx=-2))


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_like_torch(freeze, randn):
    table = randn(5, 3)
    ours = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=2)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze,
                                                padding_idx=2)
    idx = np.array([2, 4, 4, 0])
    t_out = theirs(torch.tensor(idx))
    np.testing.assert_array_equal(ours(idx), t_out.detach().numpy())
    np.testing.assert_array_equal(ours.weight.data, table)  # the padding row is not zeroed
    g = randn(4, 3)
    ours.backward(g)
    if freeze:
        assert ours.weight.grad is None and not t_out.requires_grad
    else:
        t_out.backward(torch.tensor(g))
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-15)


def test_embedding_errors():
    m = nn.Embedding(5, 2)
    with pytest.raises(TypeError, match="integer"):
        m(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer"):
        m(np.array([True, False]))
    for bad in (5, -1):
        with pytest.raises(IndexError, match=f"index {bad} is out of range"):
            m(np.array([[0, bad]]))
        with pytest.raises(IndexError):
            torch.nn.Embedding(5, 2)(torch.tensor([[0, bad]]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(5, 2, max_norm=1.0)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Embedding(5, 2).backward(np.zeros((1, 2)))
    m(np.array([1, 2]))
    with pytest.raises(ValueError, match="grad_out has shape"):
        m.backward(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(np.zeros(3))
