"""Transformer encoder/decoder layers and stacks against torch, forward and backward."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad

from dlbook import nn
from dlbook.nn.attention_functional import causal_mask

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=5e-4, atol=5e-5)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def tensor(x, device="cpu", grad=False):
    return torch.tensor(np.asarray(x), device=device, requires_grad=grad)


def close(ours, theirs, dtype, what=""):
    theirs = theirs.detach().cpu().numpy()
    assert np.asarray(ours).shape == theirs.shape, what
    assert np.asarray(ours).dtype == theirs.dtype == dtype, what  # no silent promotion
    np.testing.assert_allclose(ours, theirs, err_msg=what, **TOL[dtype])


def twins(name, dtype, device, *args, **kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(device=device, dtype=TORCH_DTYPE[dtype])
    ours = getattr(nn, name)(*args, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def compare_grads(ours, theirs, dtype):
    params = dict(ours.named_parameters())
    assert set(params) == {n for n, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        close(params[name].grad, p.grad, dtype, f"grad {name}")


LAYER = dict(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_layer_matches_torch(dtype, norm_first, activation, batch_first, randn, device):
    ours, theirs = twins("TransformerEncoderLayer", dtype, device, norm_first=norm_first,
                         activation=activation, batch_first=batch_first, **LAYER)
    x = randn(*((3, 5, 8) if batch_first else (5, 3, 8)), dtype=dtype)
    mask = causal_mask(5, dtype)
    out = ours(x, src_mask=mask, is_causal=True)
    t_x = tensor(x, device, grad=True)
    t_out = theirs(t_x, src_mask=tensor(mask, device), is_causal=True)
    close(out, t_out, dtype, "output")
    g = randn(*out.shape, dtype=dtype)
    t_out.backward(tensor(g, device))
    close(ours.backward(g), t_x.grad, dtype, "grad src")
    compare_grads(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(dtype, norm_first, randn, device):
    ours, theirs = twins("TransformerDecoderLayer", dtype, device, norm_first=norm_first,
                         batch_first=True, **LAYER)
    tgt, memory = randn(2, 4, 8, dtype=dtype), randn(2, 6, 8, dtype=dtype)
    padding = np.array([[False] * 6, [False] * 4 + [True] * 2])
    kwargs = dict(tgt_mask=causal_mask(4, dtype), memory_key_padding_mask=padding)
    out = ours(tgt, memory, **kwargs)
    t_tgt, t_mem = tensor(tgt, device, grad=True), tensor(memory, device, grad=True)
    t_out = theirs(t_tgt, t_mem, **{k: tensor(v, device) for k, v in kwargs.items()})
    close(out, t_out, dtype, "output")
    g = randn(*out.shape, dtype=dtype)
    t_out.backward(tensor(g, device))
    grad_tgt, grad_mem = ours.backward(g)
    close(grad_tgt, t_tgt.grad, dtype, "grad tgt")
    close(grad_mem, t_mem.grad, dtype, "grad memory")
    compare_grads(ours, theirs, dtype)


def test_stacks_match_torch_with_their_names(randn, device):
    torch.manual_seed(0)
    t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**LAYER), 2,
                                        norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(**LAYER), 2,
                                        norm=torch.nn.LayerNorm(8))
    t_enc, t_dec = t_enc.double().to(device), t_dec.double().to(device)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(**LAYER), 2, norm=nn.LayerNorm(8))
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(**LAYER), 2, norm=nn.LayerNorm(8))
    assert list(enc.state_dict()) == list(t_enc.state_dict())
    assert list(dec.state_dict()) == list(t_dec.state_dict())
    enc.load_state_dict(t_enc.state_dict())
    dec.load_state_dict(t_dec.state_dict())

    src, tgt = randn(5, 2, 8), randn(3, 2, 8)
    out = dec(tgt, enc(src), tgt_mask=causal_mask(3, np.float64))
    t_src, t_tgt = tensor(src, device, grad=True), tensor(tgt, device, grad=True)
    t_out = t_dec(t_tgt, t_enc(t_src), tgt_mask=tensor(causal_mask(3, np.float64), device))
    close(out, t_out, np.float64, "output")
    g = randn(*out.shape)
    t_out.backward(tensor(g, device))
    grad_tgt, grad_memory = dec.backward(g)
    close(grad_tgt, t_tgt.grad, np.float64, "grad tgt")
    close(enc.backward(grad_memory), t_src.grad, np.float64, "grad src")
    compare_grads(enc, t_enc, np.float64)
    compare_grads(dec, t_dec, np.float64)


def test_unbatched_batch_of_one_and_padding(randn, device):
    ours, theirs = twins("TransformerEncoderLayer", np.float64, device, **LAYER)
    for x, pad in [(randn(4, 8), np.array([False, False, True, False])),
                   (randn(1, 1, 8), None)]:
        out = ours(x, src_key_padding_mask=pad)
        t_x = tensor(x, device, grad=True)
        t_out = theirs(t_x, src_key_padding_mask=None if pad is None else tensor(pad, device))
        close(out, t_out, np.float64, "output")
        g = randn(*out.shape)
        t_out.backward(tensor(g, device))
        close(ours.backward(g), t_x.grad, np.float64, "grad src")


def test_encoder_layer_gradient_by_central_differences(randn):
    layer = nn.TransformerEncoderLayer(6, 2, dim_feedforward=10, dropout=0.0,
                                       norm_first=True).double()
    x, g = randn(3, 2, 6), randn(3, 2, 6)

    def loss():
        return float((layer(x) * g).sum())

    loss()
    np.testing.assert_allclose(layer.backward(g), numeric_grad(loss, x), rtol=1e-6,
                               atol=1e-8)


def test_dropout_acts_in_training_only(randn):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3).double()
    x = randn(4, 2, 8)
    assert not np.allclose(layer(x), layer(x))  # fresh masks each call
    layer.eval()
    np.testing.assert_array_equal(layer(x), layer(x))


def test_clear_errors():
    with pytest.raises(ValueError, match="activation should be"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.TransformerDecoderLayer(8, 3)
    layer = nn.TransformerEncoderLayer(8, 2, dropout=0.0)
    with pytest.raises(ValueError, match="features"):
        layer(np.zeros((3, 2, 7), np.float32))
    with pytest.raises(TypeError, match="src must be a floating"):
        layer(np.zeros((3, 2, 8), int))
