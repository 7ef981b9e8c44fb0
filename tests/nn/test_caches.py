"""The rules of ``Module`` that keep gradients right (see its docstring): a stack of forward
caches consumed in reverse order, ``no_grad``, read-only caches (in-place edits of outputs
raise, of inputs are harmless), no silent dtype promotion, one backward return convention.
Every dlbook.nn module is exercised."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import dlbook.random
from dlbook import nn


def _rng(seed=0):
    return np.random.default_rng(seed)


def _x(*shape, seed=0):
    return _rng(seed).standard_normal(shape)


def _labels(n, k, seed=0):
    return _rng(seed).integers(0, k, n)


def _adj(n):
    a = (_rng(1).random((n, n)) < 0.5).astype(np.float64)
    return nn.normalized_adjacency(np.triu(a, 1) + np.triu(a, 1).T)


def _cases():
    """(id, factory of a float64 module, inputs) for every dlbook.nn module."""
    x = _x(4, 5)
    img = _x(2, 3, 6, 6)
    seq = _x(5, 2, 3)
    tok = _x(2, 4, 8)
    cases = [(name, lambda name=name: getattr(nn, name)(), (x,))
             for name in ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh",
                          "Identity", "Flatten"]]
    cases += [
        ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (x,)),
        ("PReLU", lambda: nn.PReLU(5), (x,)),
        ("Softmax", lambda: nn.Softmax(dim=1), (x,)),
        ("LogSoftmax", lambda: nn.LogSoftmax(dim=1), (x,)),
        ("Linear", lambda: nn.Linear(5, 3), (x,)),
        ("Sequential", lambda: nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2),
                                             nn.Sigmoid()), (x,)),
        ("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding=1), (img,)),
        ("Conv2d-groups", lambda: nn.Conv2d(3, 6, 3, groups=3), (img,)),
        ("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), (img,)),
        ("MaxPool2d", lambda: nn.MaxPool2d(2), (img,)),
        ("AvgPool2d", lambda: nn.AvgPool2d(2), (img,)),
        ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2), (img,)),
        ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(2), (img,)),
        ("BatchNorm1d", lambda: nn.BatchNorm1d(5), (x,)),
        ("BatchNorm1d-noaffine", lambda: nn.BatchNorm1d(5, affine=False), (x,)),
        ("BatchNorm2d", lambda: nn.BatchNorm2d(3), (img,)),
        ("LayerNorm", lambda: nn.LayerNorm(5), (x,)),
        ("LayerNorm-noaffine", lambda: nn.LayerNorm(5, elementwise_affine=False), (x,)),
        ("GroupNorm", lambda: nn.GroupNorm(1, 3), (img,)),
        ("Dropout", lambda: nn.Dropout(0.5, generator=_rng(2)), (x,)),
        ("Dropout2d", lambda: nn.Dropout2d(0.5, generator=_rng(2)), (img,)),
        ("Embedding", lambda: nn.Embedding(6, 3), (_labels(7, 6),)),
        ("GCNConv", lambda: nn.GCNConv(5, 3), (x, _adj(4))),
        ("AdaIN", lambda: nn.AdaIN(), (img, _x(2, 3, 4, 4, seed=1))),
        ("PixelNorm", lambda: nn.PixelNorm(), (x,)),
        ("RNN", lambda: nn.RNN(3, 4, num_layers=2), (seq,)),
        ("LSTM", lambda: nn.LSTM(3, 4, bidirectional=True), (seq,)),
        ("GRU", lambda: nn.GRU(3, 4), (seq,)),
        ("RNNCell", lambda: nn.RNNCell(3, 4), (seq[0],)),
        ("LSTMCell", lambda: nn.LSTMCell(3, 4), (seq[0],)),
        ("GRUCell", lambda: nn.GRUCell(3, 4), (seq[0],)),
        ("MultiheadAttention", lambda: nn.MultiheadAttention(8, 2),
         (tok, _x(3, 4, 8, seed=1), _x(3, 4, 8, seed=2))),
        ("TransformerEncoderLayer",
         lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), (tok,)),
        ("TransformerDecoderLayer",
         lambda: nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), (tok, _x(3, 4, 8, seed=1))),
        ("Reparameterize", lambda: nn.Reparameterize(generator=_rng(3)), (x, _x(4, 5, seed=1))),
        ("MSELoss", lambda: nn.MSELoss(), (x, _x(4, 5, seed=1))),
        ("L1Loss", lambda: nn.L1Loss(), (x, _x(4, 5, seed=1))),
        ("HuberLoss", lambda: nn.HuberLoss(), (x, _x(4, 5, seed=1))),
        ("SmoothL1Loss", lambda: nn.SmoothL1Loss(), (x, _x(4, 5, seed=1))),
        ("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(), (x, _labels(4, 5))),
        ("NLLLoss", lambda: nn.NLLLoss(), (x, _labels(4, 5))),
        ("BCELoss", lambda: nn.BCELoss(), (1 / (1 + np.exp(-x)), _rng(1).random((4, 5)))),
        ("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(), (x, _rng(1).random((4, 5)))),
        ("GaussianKLLoss", lambda: nn.GaussianKLLoss(), (x, _x(4, 5, seed=1))),
    ]
    return cases


CASES = _cases()
IDS = [c[0] for c in CASES]


def _first(out):
    while isinstance(out, tuple):
        out = out[0]
    return out


def _arrays(out):
    if isinstance(out, np.ndarray):
        return [out]
    if isinstance(out, tuple):
        return [a for o in out for a in _arrays(o)]
    return []


def _is_loss(module):
    return isinstance(module, (nn.MSELoss, nn.L1Loss, nn.CrossEntropyLoss, nn.NLLLoss,
                               nn.BCELoss, nn.BCEWithLogitsLoss, nn.GaussianKLLoss,
                               nn.HuberLoss, nn.SmoothL1Loss))


def _run(module, inputs, mutate_output=False, mutate_input=False):
    """Forward, optionally edit outputs and inputs in place, backward; the gradients."""
    inputs = [a.copy() for a in inputs]
    out = module(*inputs)
    if mutate_output:
        for a in _arrays(out):
            with pytest.raises(ValueError, match="read-only"):
                a += 1.0
            assert not a.flags.writeable
    if mutate_input:
        for a in inputs:
            a += 1 if a.dtype.kind == "f" else 0
            a[...] = a[::-1] if a.ndim else a  # scramble, not only shift
    if _is_loss(module):
        grads = module.backward()
    else:
        g = _rng(9).standard_normal(_first(out).shape)
        grads = module.backward(g)
    params = {k: None if p.grad is None else p.grad.copy()
              for k, p in module.named_parameters()}
    return grads, params


def _same(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif a is None:
        assert b is None
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("name", "factory", "inputs"), CASES, ids=IDS)
def test_in_place_edits_of_outputs_raise_and_of_inputs_are_harmless(name, factory, inputs):
    module = factory().double()
    ref = copy.deepcopy(module)
    want = _run(ref, inputs)
    got = _run(module, inputs, mutate_output=_cached_outputs(name), mutate_input=True)
    _same(got[0], want[0])
    assert got[1].keys() == want[1].keys()
    for k in want[1]:
        _same(got[1][k], want[1][k])


def _cached_outputs(name):
    """Modules whose backward reads their own output: that output must be read-only."""
    return name in ("Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Sequential",
                    "BatchNorm1d-noaffine", "LayerNorm-noaffine")


@pytest.mark.parametrize(("name", "factory", "inputs"), CASES, ids=IDS)
def test_a_module_used_twice_gets_each_forwards_cache(name, factory, inputs):
    """Two forwards, then two backwards in reverse order = the two single runs, added."""
    module = factory().double()
    one = copy.deepcopy(module)
    other = [a[::-1].copy() if a.dtype.kind == "f" else a for a in inputs]
    g1, p1 = _run(one, inputs)
    two = copy.deepcopy(one)  # random layers: the generator where the second forward finds it
    two.zero_grad()
    g2, p2 = _run(two, other)
    both = copy.deepcopy(module)
    out_a = both(*[a.copy() for a in inputs])
    out_b = both(*[a.copy() for a in other])
    if _is_loss(both):
        got_b, got_a = both.backward(), both.backward()
    else:
        g = _rng(9).standard_normal(_first(out_b).shape)
        got_b = both.backward(g)
        got_a = both.backward(_rng(9).standard_normal(_first(out_a).shape))
    _same(got_a, g1)
    _same(got_b, g2)
    for k, p in both.named_parameters():
        if p1[k] is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, p1[k] + p2[k], rtol=1e-13, atol=1e-13)
    with pytest.raises(RuntimeError, match="before forward"):  # every cache consumed
        both.backward() if _is_loss(both) else both.backward(g)


@pytest.mark.parametrize(("name", "factory", "inputs"), CASES, ids=IDS)
def test_no_grad_keeps_no_cache_and_eval_mode_does(name, factory, inputs):
    module = factory().double()
    with nn.no_grad():
        assert not nn.is_grad_enabled()
        out = module(*inputs)
    assert nn.is_grad_enabled()
    assert all(not m._caches for m in module.modules())
    g = None if _is_loss(module) else np.ones_like(_first(out))
    with pytest.raises(RuntimeError, match="before forward"):
        module.backward() if g is None else module.backward(g)
    module.eval()
    module(*inputs)
    module.backward() if g is None else module.backward(g)  # eval mode still records


@pytest.mark.parametrize(("name", "factory", "inputs"), CASES, ids=IDS)
def test_mixed_dtypes_raise_naming_both(name, factory, inputs):
    module = factory().float()
    if not any(True for _ in module.parameters()) or name == "Embedding":
        pytest.skip("no parameters to disagree with")
    with pytest.raises(TypeError, match="float64.*float32"):
        module(*inputs)


def test_shared_linear_weight_gradient_is_the_sum_as_in_torch():
    """The review's example: f(a), f(b), two backwards (was 4 where torch gives 3)."""
    lin, t_lin = nn.Linear(1, 1, bias=False).double(), torch.nn.Linear(1, 1, bias=False).double()
    lin.load_state_dict(t_lin.state_dict())
    a, b = np.array([[1.0]]), np.array([[2.0]])
    lin(a), lin(b)
    lin.backward(np.ones((1, 1)))
    lin.backward(np.ones((1, 1)))
    (t_lin(torch.tensor(a)) + t_lin(torch.tensor(b))).sum().backward()
    assert lin.weight.grad[0, 0] == t_lin.weight.grad[0, 0] == 3.0


def test_sequential_with_a_shared_layer_equals_torch():
    shared, t_shared = nn.Linear(4, 4).double(), torch.nn.Linear(4, 4).double()
    shared.load_state_dict(t_shared.state_dict())
    net = nn.Sequential(shared, nn.Tanh(), shared)
    t_net = torch.nn.Sequential(t_shared, torch.nn.Tanh(), t_shared)
    x, g = _x(3, 4), _x(3, 4, seed=1)
    tx = torch.tensor(x, requires_grad=True)
    t_net(tx).backward(torch.tensor(g))
    np.testing.assert_allclose(net(x), t_net(tx).detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(net.backward(g), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(shared.weight.grad, t_shared.weight.grad.numpy(), rtol=1e-12)


def test_a_second_backward_and_a_failed_backward():
    lin = nn.Linear(3, 2).double()
    lin(_x(4, 3))
    with pytest.raises(ValueError, match="grad_out"):
        lin.backward(np.ones((4, 5)))  # a failed backward keeps the cache: retry works
    lin.backward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        lin.backward(np.ones((4, 2)))


def test_pending_caches_are_bounded_and_a_dropped_one_is_a_clear_error():
    lin = nn.Linear(3, 2).double()
    lin.max_pending_caches = 3
    for i in range(5):
        lin(_x(4, 3, seed=i))
    assert len(lin._caches) == 3
    for _ in range(3):
        lin.backward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="dropped"):
        lin.backward(np.ones((4, 2)))
    lin.clear_caches()
    assert lin._caches == [] and lin._dropped_caches == 0


def test_backward_return_convention():
    """One gradient per floating argument forward got; None for an integer-only input."""
    x = _x(5, 2, 3)
    lin = nn.Linear(3, 2).double()
    assert lin.backward(np.ones_like(lin(x))).shape == x.shape
    lstm = nn.LSTM(3, 4).double()
    out, _ = lstm(x)
    assert isinstance(lstm.backward(np.ones_like(out)), np.ndarray)
    out, _ = lstm(x, (_x(1, 2, 4), _x(1, 2, 4)))
    gx, (gh, gc) = lstm.backward(np.ones_like(out))
    assert gx.shape == x.shape and gh.shape == gc.shape == (1, 2, 4)
    mha = nn.MultiheadAttention(3, 1).double()
    out, _ = mha(x, x, x)
    grads = mha.backward(np.ones_like(out))
    assert isinstance(grads, tuple) and len(grads) == 3
    emb = nn.Embedding(4, 2).double()
    emb(np.array([0, 3]))
    assert emb.backward(np.ones((2, 2))) is None


@pytest.mark.parametrize("make", [
    lambda g: nn.Linear(4, 3, generator=g), lambda g: nn.Conv2d(2, 3, 3, generator=g),
    lambda g: nn.ConvTranspose2d(2, 3, 3, generator=g), lambda g: nn.Embedding(5, 3, generator=g),
    lambda g: nn.GCNConv(4, 3, generator=g), lambda g: nn.MultiheadAttention(4, 2, generator=g),
    lambda g: nn.TransformerEncoderLayer(4, 2, 8, generator=g),
    lambda g: nn.TransformerDecoderLayer(4, 2, 8, generator=g),
    lambda g: nn.LSTM(3, 4, generator=g), lambda g: nn.GRUCell(3, 4, generator=g)])
def test_generator_decides_every_initial_weight(make):
    """The same generator seed gives the same weights whatever the global generator does."""
    dlbook.random.manual_seed(1)
    a = make(np.random.default_rng(5)).state_dict()
    dlbook.random.manual_seed(2)  # dlbook's default generator elsewhere: no effect
    b = make(np.random.default_rng(5)).state_dict()
    c = make(np.random.default_rng(6)).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
