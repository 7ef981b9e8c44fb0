"""dlbook.nn.RNN, LSTM, GRU and their cells against torch: outputs, final states, gradients of
input, initial states and every parameter; central differences; errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.parity import compare, gradcheck

SETTINGS = settings(max_examples=15, deadline=None)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=2e-5)}
MODES = ["RNN", "RNN_RELU", "LSTM", "GRU"]


def make_pair(mode: str, dtype, device: str = "cpu", seed: int = 0, **kwargs):
    """The torch module and the dlbook module with torch's weights copied in."""
    name = "RNN" if mode.startswith("RNN") else mode
    if mode == "RNN_RELU":
        kwargs["nonlinearity"] = "relu"
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, name)(**kwargs).to(getattr(torch, np.dtype(dtype).name)).to(device)
    ours = getattr(nn, name)(**kwargs)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def close(name, got, want, dtype):
    want = want.detach().cpu().numpy()
    assert np.shape(got) == want.shape, f"{name}: shape {np.shape(got)} != {want.shape}"
    np.testing.assert_allclose(got, want, err_msg=name, **TOL[dtype])


def check_sequence(mode, x, hx, dtype, device, seed=0, **kwargs):
    """Forward and backward with gradients on output, h_n (and c_n), compared with torch."""
    theirs, ours = make_pair(mode, dtype, device, seed, **kwargs)
    rng = np.random.default_rng(seed + 1)
    tx = torch.tensor(x, device=device, requires_grad=True)
    lstm = mode == "LSTM"
    t_hx = None if hx is None else [torch.tensor(h, device=device, requires_grad=True)
                                    for h in (hx if lstm else [hx])]
    t_out, t_state = theirs(tx, None if t_hx is None else (tuple(t_hx) if lstm else t_hx[0]))
    out, state = ours(x.copy(), None if hx is None else hx)
    t_states = list(t_state) if lstm else [t_state]
    states = list(state) if lstm else [state]
    close("output", out, t_out, dtype)
    for k, (s, ts) in enumerate(zip(states, t_states, strict=True)):
        close(f"state {k}", s, ts, dtype)
        assert s.dtype == dtype
    assert out.dtype == dtype
    g = rng.standard_normal(out.shape).astype(dtype)
    gs = [rng.standard_normal(s.shape).astype(dtype) for s in states]
    g0, gs0 = g.copy(), [a.copy() for a in gs]
    loss = (t_out * torch.tensor(g, device=device)).sum()
    for ts, a in zip(t_states, gs, strict=True):
        loss = loss + (ts * torch.tensor(a, device=device)).sum()
    loss.backward()
    grads = ours.backward(g, *gs)
    np.testing.assert_array_equal(g, g0)  # upstream gradients are not modified
    for a, b in zip(gs, gs0, strict=True):
        np.testing.assert_array_equal(a, b)
    if hx is None:
        close("grad input", grads, tx.grad, dtype)
    else:
        grad_x, grad_hx = grads
        close("grad input", grad_x, tx.grad, dtype)
        for k, (gh, th) in enumerate(zip(grad_hx if lstm else [grad_hx], t_hx, strict=True)):
            close(f"grad hx {k}", gh, th.grad, dtype)
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [n for n, _ in theirs.named_parameters()]
    for name, p in theirs.named_parameters():
        close(f"grad {name}", ours_params[name].grad, p.grad, dtype)


@SETTINGS
@given(mode=st.sampled_from(MODES), T=st.integers(1, 5), N=st.integers(1, 3),
       n_in=st.integers(1, 4), hidden=st.integers(1, 5), layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(),
       given_hx=st.booleans(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**16))
def test_sequence_matches_torch(device, mode, T, N, n_in, hidden, layers, bidirectional,
                                batch_first, bias, given_hx, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, n_in) if batch_first else (T, N, n_in)).astype(dtype)
    state_shape = (layers * (1 + bidirectional), N, hidden)
    hx = None
    if given_hx:
        hx = rng.standard_normal(state_shape).astype(dtype)
        if mode == "LSTM":
            hx = (hx, rng.standard_normal(state_shape).astype(dtype))
    check_sequence(mode, x, hx, dtype, device, seed, input_size=n_in, hidden_size=hidden,
                   num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                   bias=bias)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given_hx", [False, True])
def test_unbatched_matches_torch(device, mode, given_hx, randn):
    hx = None
    if given_hx:
        hx = (randn(4, 3), randn(4, 3)) if mode == "LSTM" else randn(4, 3)
    check_sequence(mode, randn(6, 2), hx, np.float64, device, input_size=2, hidden_size=3,
                   num_layers=2, bidirectional=True)


@pytest.mark.parametrize("mode", MODES)
def test_long_sequence_float32(device, mode, randn):
    """40 steps, a batch of 8, two stacked layers: float32 stays within torch's tolerance."""
    check_sequence(mode, randn(40, 8, 5, dtype=np.float32), None, np.float32, device,
                   input_size=5, hidden_size=16, num_layers=2)


@pytest.mark.parametrize("mode", MODES)
def test_compare_report_is_ok(mode, randn):
    """The notebook's way: dlbook.parity.compare on the output (float64)."""
    theirs, ours = make_pair(mode, np.float64, input_size=3, hidden_size=4, batch_first=True)
    report = compare(ours, theirs, randn(2, 5, 3), device="cpu")
    assert report.ok, report
    assert len(report.rows) == 2 + 4  # output, grad input, four parameter gradients


@pytest.mark.parametrize("mode", ["RNN", "RNN_RELU", "GRU"])
def test_gradcheck_with_initial_state(mode, randn):
    _, ours = make_pair(mode, np.float64, input_size=3, hidden_size=4, num_layers=2,
                        bidirectional=True)
    report = gradcheck(ours, randn(4, 2, 3), randn(4, 2, 4))
    assert report.ok, report


def test_lstm_central_differences_all_outputs(randn):
    """Loss on output, h_n and c_n; gradients of x, h_0, c_0 and two parameters."""
    _, m = make_pair("LSTM", np.float64, input_size=3, hidden_size=4, num_layers=2,
                     bidirectional=True, batch_first=True)
    x, h0, c0 = randn(2, 4, 3), randn(4, 2, 4), randn(4, 2, 4)
    g, gh, gc = randn(2, 4, 8), randn(4, 2, 4), randn(4, 2, 4)

    def loss() -> float:
        out, (h, c) = m(x, (h0, c0))
        return float(np.sum(g * out) + np.sum(gh * h) + np.sum(gc * c))

    loss()
    m.zero_grad()
    grad_x, (grad_h0, grad_c0) = m.backward(g, gh, gc)
    analytic = {"weight_hh_l1_reverse": m.weight_hh_l1_reverse.grad.copy(),
                "bias_ih_l0": m.bias_ih_l0.grad.copy()}
    for got, arr in ((grad_x, x), (grad_h0, h0), (grad_c0, c0)):
        np.testing.assert_allclose(got, numeric_grad(loss, arr), rtol=1e-6, atol=1e-8)
    for name, got in analytic.items():
        np.testing.assert_allclose(got, numeric_grad(loss, getattr(m, name).data),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_only_h_n_gets_a_gradient(mode, randn):
    """backward(None, grad_h_n): a classifier reading the last state, as torch's autograd."""
    theirs, ours = make_pair(mode, np.float64, input_size=3, hidden_size=4, num_layers=2)
    x = randn(5, 2, 3)
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_state = theirs(tx)
    t_h = t_state[0] if mode == "LSTM" else t_state
    gh = randn(2, 2, 4)
    (t_h * torch.tensor(gh)).sum().backward()
    ours(x)
    grad_x = ours.backward(None, gh)
    close("grad input", grad_x, tx.grad, np.float64)
    close("grad weight_ih_l0", ours.weight_ih_l0.grad, theirs.weight_ih_l0.grad, np.float64)


def test_gradients_accumulate_over_backward_calls(randn):
    _, m = make_pair("GRU", np.float64, input_size=2, hidden_size=3)
    x, g = randn(4, 1, 2), randn(4, 1, 3)
    m(x)
    m.backward(g)
    once = m.weight_hh_l0.grad.copy()
    m(x)
    m.backward(g)
    np.testing.assert_allclose(m.weight_hh_l0.grad, 2 * once, rtol=1e-14)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_parameters_names_shapes_init_as_torch(mode, layers, bidirectional):
    kwargs = dict(input_size=5, hidden_size=6, num_layers=layers, bidirectional=bidirectional)
    theirs = getattr(torch.nn, mode)(**kwargs)
    ours = getattr(nn, mode)(**kwargs, generator=np.random.default_rng(0))
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    got = {k: v.shape for k, v in ours.state_dict().items()}
    assert list(got) == list(want) and got == want
    bound = 1 / math.sqrt(6)
    for name, p in ours.named_parameters():
        assert p.dtype == np.float32, name
        assert np.all(np.abs(p.data) <= bound), name
        assert p.data.std() > bound / 4, name  # filled, not left empty or zero
    assert ours(np.zeros((3, 2, 5), dtype=np.float32))[0].dtype == np.float32
    with pytest.raises(TypeError, match="float64.*float32"):  # torch raises, no promotion
        ours(np.zeros((3, 2, 5), dtype=np.float64))


def test_generator_makes_init_reproducible():
    a = nn.LSTM(3, 4, generator=np.random.default_rng(7))
    b = nn.LSTM(3, 4, generator=np.random.default_rng(7))
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_eval_mode_has_no_dropout_like_torch(randn):
    """dropout acts between layers in training only; eval equals torch's eval."""
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.5)
    theirs, ours = make_pair("LSTM", np.float64, input_size=3, hidden_size=4, num_layers=3,
                             dropout=0.5)
    theirs.eval()
    ours.eval()
    x = randn(5, 2, 3)
    close("output", ours(x)[0], theirs(torch.tensor(x))[0], np.float64)


def test_dropout_between_layers_backward(randn):
    """Training-mode dropout: the backward uses the forward's masks (same seed, same mask)."""
    m = nn.GRU(3, 4, num_layers=2, dropout=0.4).double()
    x, g = randn(5, 2, 3), randn(5, 2, 4)

    def loss() -> float:
        m.generator = np.random.default_rng(1)
        return float(np.sum(g * m(x)[0]))

    loss()
    grad_x = m.backward(g)
    np.testing.assert_allclose(grad_x, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    m.generator = np.random.default_rng(1)
    out_a = m(x)[0]
    m.generator = np.random.default_rng(2)
    assert not np.allclose(out_a, m(x)[0])  # the masks are random


# -- cells ---------------------------------------------------------------------------------
@SETTINGS
@given(cell=st.sampled_from(["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"]),
       batch=st.sampled_from([(), (1,), (3,)]), n_in=st.integers(1, 4), hidden=st.integers(1, 4),
       bias=st.booleans(), given_hx=st.booleans(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**16))
def test_cells_match_torch(device, cell, batch, n_in, hidden, bias, given_hx, dtype, seed):
    kwargs = dict(input_size=n_in, hidden_size=hidden, bias=bias)
    name = cell.split("_")[0]
    if cell.endswith("relu"):
        kwargs["nonlinearity"] = "relu"
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, name)(**kwargs).to(getattr(torch, np.dtype(dtype).name)).to(device)
    ours = getattr(nn, name)(**kwargs)
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*batch, n_in)).astype(dtype)
    lstm = name == "LSTMCell"
    hx = [rng.standard_normal((*batch, hidden)).astype(dtype) for _ in range(1 + lstm)]
    tx = torch.tensor(x, device=device, requires_grad=True)
    t_hx = [torch.tensor(h, device=device, requires_grad=True) for h in hx]
    t_arg = (tuple(t_hx) if lstm else t_hx[0]) if given_hx else None
    arg = (tuple(hx) if lstm else hx[0]) if given_hx else None
    t_out = list(theirs(tx, t_arg)) if lstm else [theirs(tx, t_arg)]
    out = list(ours(x, arg)) if lstm else [ours(x, arg)]
    gs = [rng.standard_normal(o.shape).astype(dtype) for o in out]
    loss = sum((t * torch.tensor(g, device=device)).sum() for t, g in zip(t_out, gs, strict=True))
    loss.backward()
    for k, (o, t) in enumerate(zip(out, t_out, strict=True)):
        close(f"output {k}", o, t, dtype)
    grads = ours.backward(*gs)
    if not given_hx:
        close("grad input", grads, tx.grad, dtype)
    else:
        close("grad input", grads[0], tx.grad, dtype)
        for k, (gh, th) in enumerate(zip(grads[1] if lstm else [grads[1]], t_hx, strict=True)):
            close(f"grad hx {k}", gh, th.grad, dtype)
    mine = dict(ours.named_parameters())
    for pname, p in theirs.named_parameters():
        close(f"grad {pname}", mine[pname].grad, p.grad, dtype)


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(nonlinearity="sigmoid"), "Unknown nonlinearity"),
    (dict(dropout=1.5), "dropout"),
    (dict(num_layers=0), "num_layers"),
    (dict(hidden_size=0), "hidden_size"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = dict(input_size=3, hidden_size=4) | kwargs
    with pytest.raises(ValueError, match=match):
        nn.RNN(**args)


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_projections_equal_torch(batch_first, randn):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2,
                           batch_first=batch_first).double()
    ours = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2,
                   batch_first=batch_first).double()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = randn(3, 5, 3) if batch_first else randn(5, 3, 3)  # N = 3, T = 5
    h0, c0 = randn(4, 3, 2), randn(4, 3, 5)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    t_out, (t_h, t_c) = theirs(tx, (th, tc))
    out, (h, c) = ours(x, (h0, c0))
    g, gh, gc = randn(*out.shape), randn(*h.shape), randn(*c.shape)
    torch.autograd.backward([t_out, t_h, t_c], [torch.tensor(a) for a in (g, gh, gc)])
    gx, (gh0, gc0) = ours.backward(g, gh, gc)
    for mine, ref in [(out, t_out), (h, t_h), (c, t_c), (gx, tx.grad), (gh0, th.grad),
                      (gc0, tc.grad)] + [(p.grad, dict(theirs.named_parameters())[k].grad)
                                         for k, p in ours.named_parameters()]:
        np.testing.assert_allclose(mine, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)


def test_bad_inputs_raise_clear_errors(randn):
    m = nn.LSTM(3, 4).double()
    with pytest.raises(ValueError, match="input_size. Expected 3, got 5"):
        m(randn(2, 2, 5))
    with pytest.raises(ValueError, match="expected input of shape"):
        m(randn(2, 2, 2, 3))
    with pytest.raises(TypeError, match="floating"):
        m(np.ones((2, 2, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="torch tensor"):
        m(torch.zeros(2, 2, 3))
    with pytest.raises(TypeError, match="tuple"):
        m(randn(2, 2, 3), randn(1, 2, 4))
    with pytest.raises(ValueError, match="expected c_0 of shape"):
        m(randn(2, 2, 3), (randn(1, 2, 4), randn(1, 3, 4)))
    with pytest.raises(ValueError, match="sequence length"):
        m(randn(0, 2, 3))


def test_backward_errors(randn):
    m = nn.GRU(3, 4).double()
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(randn(2, 1, 4))
    m(randn(2, 1, 3))
    with pytest.raises(ValueError, match="grad_out has shape"):
        m.backward(randn(2, 1, 5))
    with pytest.raises(ValueError, match="grad_h_n"):
        m.backward(randn(2, 1, 4), randn(2, 1, 4))
    cell = nn.LSTMCell(3, 4).double()
    with pytest.raises(RuntimeError, match="before forward"):
        cell.backward(randn(1, 4))
    with pytest.raises(ValueError, match="input_size"):
        cell(randn(2, 5))


def test_inputs_are_not_modified(randn):
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    x, h0, c0 = randn(4, 2, 3), randn(4, 2, 4), randn(4, 2, 4)
    copies = [a.copy() for a in (x, h0, c0)]
    m(x, (h0, c0))
    m.backward(randn(4, 2, 8), randn(4, 2, 4), randn(4, 2, 4))
    for a, b in zip((x, h0, c0), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_repr_like_torch():
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == repr(
        torch.nn.LSTM(3, 4, num_layers=2, batch_first=True))
    assert repr(nn.RNN(3, 4, nonlinearity="relu", bidirectional=True)) == repr(
        torch.nn.RNN(3, 4, nonlinearity="relu", bidirectional=True))
    assert repr(nn.GRUCell(3, 4, bias=False)) == repr(torch.nn.GRUCell(3, 4, bias=False))
