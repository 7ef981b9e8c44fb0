"""dlbook.nn activations and dlbook.nn.functional against torch: forward, backward, gradcheck."""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.nn import functional as F

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (name, kwargs); every case takes inputs of shape (N, 3, ...) so PReLU(3) fits too.
CASES = [
    ("ReLU", {}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}),
    ("PReLU", {}), ("PReLU", {"num_parameters": 3, "init": 0.1}),
    ("ELU", {}), ("ELU", {"alpha": 0.7}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}), ("Sigmoid", {}), ("Tanh", {}),
    ("Softmax", {"dim": 1}), ("Softmax", {"dim": -1}), ("Softmax", {"dim": 0}),
    ("LogSoftmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}),
]
IDS = [f"{n}{k or ''}" for n, k in CASES]
SHAPES = [(1, 3), (4, 3), (2, 3, 5), (2, 3, 1, 4)]
NAMES = sorted({n for n, _ in CASES})


def make_pair(name: str, kwargs: dict, dtype=torch.float64, device: str = "cpu"):
    tm = getattr(torch.nn, name)(**kwargs).to(device=device, dtype=dtype)
    dm = getattr(nn, name)(**kwargs)
    dm.load_state_dict(tm.state_dict())
    return dm, tm


def away_from_kinks(x: np.ndarray) -> np.ndarray:
    """Push entries out of (-0.05, 0.05) so central differences never straddle a kink at 0."""
    return np.where(np.abs(x) < 0.05, np.sign(x) * 0.05 + x, x)


def torch_run(tm, x: np.ndarray, g: np.ndarray, device: str):
    tx = torch.tensor(x, device=device, requires_grad=True)
    out = tm(tx)
    out.backward(torch.tensor(g, device=device))
    grads = {k: p.grad.cpu().numpy() for k, p in tm.named_parameters()}
    return out.detach().cpu().numpy(), tx.grad.cpu().numpy(), grads


def assert_parity(dm, tm, x, g, device, rtol, atol):
    want_out, want_gx, want_params = torch_run(tm, x, g, device)
    x_before, g_before = x.copy(), g.copy()
    out = dm(x)
    gx = dm.backward(g)
    assert out.dtype == x.dtype and gx.dtype == x.dtype
    np.testing.assert_allclose(out, want_out, rtol=rtol, atol=atol)
    np.testing.assert_allclose(gx, want_gx, rtol=rtol, atol=atol)
    for name, p in dm.named_parameters():
        np.testing.assert_allclose(p.grad, want_params[name], rtol=rtol, atol=atol)
    np.testing.assert_array_equal(x, x_before)  # inputs are never modified
    np.testing.assert_array_equal(g, g_before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_float64_matches_torch(name, kwargs, shape, device):
    rng = np.random.default_rng(0)
    dm, tm = make_pair(name, kwargs, torch.float64, device)
    x = 2 * rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    assert_parity(dm, tm, x, g, device, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_float32_matches_torch(name, kwargs, device):
    rng = np.random.default_rng(1)
    dm, tm = make_pair(name, kwargs, torch.float32, device)
    x = (3 * rng.standard_normal((5, 3, 4))).astype(np.float32)
    g = rng.standard_normal((5, 3, 4)).astype(np.float32)
    assert_parity(dm, tm, x, g, device, rtol=2e-5, atol=1e-6)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), name=st.sampled_from(NAMES),
       seed=st.integers(0, 2**16))
@settings(max_examples=15, deadline=None)
def test_drawn_shapes_match_torch(shape, name, seed):
    rng = np.random.default_rng(seed)
    kwargs = {"dim": int(rng.integers(-len(shape), len(shape)))} if "Softmax" in name else {}
    dm, tm = make_pair(name, kwargs)
    x = rng.standard_normal(shape)
    assert_parity(dm, tm, x, rng.standard_normal(shape), "cpu", rtol=1e-10, atol=1e-12)




@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_gradcheck_central_differences(name, kwargs):
    rng = np.random.default_rng(2)
    dm = getattr(nn, name)(**kwargs).double()
    x = away_from_kinks(rng.standard_normal((2, 3, 4)))
    g = rng.standard_normal((2, 3, 4))
    dm(x)
    gx = dm.backward(g)
    np.testing.assert_allclose(gx, numeric_grad(lambda: np.sum(dm(x) * g), x), atol=1e-8)
    for p in dm.parameters():
        np.testing.assert_allclose(p.grad, numeric_grad(lambda: np.sum(dm(x) * g), p.data),
                                   atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_extreme_inputs_finite_and_silent(name, kwargs, dtype):
    """|x| ~ 1000: no overflow warnings, no inf/nan, and torch's values."""
    x = np.array([[-1000.0, -50.0, 0.0], [1000.0, 50.0, -0.5], [-1e4, 1e4, 30.0]], dtype=dtype)
    g = np.ones_like(x)
    dm, tm = make_pair(name, kwargs, getattr(torch, np.dtype(dtype).name))
    want_out, want_gx, _ = torch_run(tm, x, g, "cpu")
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        out, gx = dm(x), dm.backward(g)
    assert np.isfinite(out).all() and np.isfinite(gx).all()
    np.testing.assert_allclose(out, want_out, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-6, atol=1e-6)


def test_kinks_take_torchs_derivative_at_zero():
    x = np.zeros((2, 3))
    g = np.full((2, 3), 2.0)
    for name, kwargs in [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.3}),
                         ("ELU", {"alpha": 0.6}), ("PReLU", {"num_parameters": 3})]:
        dm, tm = make_pair(name, kwargs)
        assert_parity(dm, tm, x, g, "cpu", rtol=0, atol=0)


def test_prelu_parameter_matches_torch_layout():
    dm, tm = nn.PReLU(4, init=0.3), torch.nn.PReLU(4, init=0.3)
    assert list(dm.state_dict()) == list(tm.state_dict()) == ["weight"]
    assert dm.weight.shape == (4,) and dm.weight.dtype == np.float32
    np.testing.assert_array_equal(dm.weight.data, tm.weight.detach().numpy())


def test_prelu_weight_grad_accumulates():
    rng = np.random.default_rng(3)
    dm = nn.PReLU(3).double()
    x, g = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    dm(x)
    dm.backward(g)
    first = dm.weight.grad.copy()
    dm(x)  # one forward per backward: each backward consumes its forward's cache
    dm.backward(g)
    np.testing.assert_allclose(dm.weight.grad, 2 * first)


def test_prelu_single_parameter_on_scalar_and_vector():
    dm, tm = make_pair("PReLU", {})
    for x in (np.array(-2.0), np.array([-1.0, 2.0, -3.0])):
        dm.zero_grad()
        tm.zero_grad()
        assert_parity(dm, tm, x, np.ones_like(x), "cpu", rtol=1e-12, atol=0)


def test_softmax_sums_to_one_and_log_softmax_is_its_log():
    x = np.random.default_rng(4).standard_normal((3, 5, 2)) * 30
    y = nn.Softmax(dim=1)(x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=1)(x)), y, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 5), (2, 3, 4), (2, 3, 4, 2)])
def test_softmax_implicit_dim_follows_torch_and_warns(cls, shape):
    x = np.random.default_rng(5).standard_normal(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = getattr(torch.nn, cls)()(torch.tensor(x)).numpy()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = getattr(nn, cls)()(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_softmax_of_a_scalar():
    for cls in ("Softmax", "LogSoftmax"):
        dm, tm = make_pair(cls, {"dim": 0})
        assert_parity(dm, tm, np.array(0.7), np.array(1.5), "cpu", rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_repr_and_signature_match_torch(name, kwargs):
    assert repr(getattr(nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))
    ours = inspect.signature(getattr(nn, name)).parameters
    theirs = inspect.signature(getattr(torch.nn, name)).parameters
    keep = [k for k, p in theirs.items() if k not in ("device", "dtype")
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]  # Sigmoid(*args, **kwargs)
    assert [k for k in ours if k != "dtype"] == keep
    assert all(ours[k].default == theirs[k].default for k in keep)


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "SiLU"])
def test_inplace_is_accepted_and_input_kept(name):
    x = np.array([-1.0, 2.0])
    m = getattr(nn, name)(inplace=True)
    assert repr(m) == repr(getattr(torch.nn, name)(inplace=True))
    m(x)
    np.testing.assert_array_equal(x, [-1.0, 2.0])


@pytest.mark.parametrize("name", NAMES)
def test_clear_errors(name):
    m = getattr(nn, name)(dim=1) if "Softmax" in name else getattr(nn, name)()
    m.double()
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.ones((2, 3)))
    with pytest.raises(TypeError, match="floating"):
        m(np.ones((2, 3), dtype=np.int64))
    m(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(3, 2\)"):
        m.backward(np.ones((3, 2)))


def test_specific_errors():
    with pytest.raises(ValueError, match=r"num_parameters = 3 needs input of shape \(N, 3, \*\)"):
        nn.PReLU(3)(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"num_parameters = 3"):
        nn.PReLU(3)(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        nn.GELU(approximate="sigmoid")
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        nn.Softmax(dim=2)(np.ones((2, 3)))
    with pytest.raises(IndexError, match="dim -3 is out of range"):
        nn.LogSoftmax(dim=-3)(np.ones((2, 3)))


# -- dlbook.nn.functional ------------------------------------------------------------------

def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, 2.5, -2.5, 40.0, -40.0]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(F.erf(x), want, rtol=0, atol=2e-15)
    assert F.erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(F.erf(np.array(np.nan)))
    assert F.erf(np.float32([0.5])).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_logsigmoid_extremes(dtype):
    x = np.array([-1e4, -1000.0, -80.0, -1.0, 0.0, 1.0, 80.0, 1000.0, 1e4], dtype=dtype)
    tx = torch.tensor(x)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        sig, logsig = F.sigmoid(x), F.logsigmoid(x)
    assert sig.dtype == logsig.dtype == dtype
    np.testing.assert_allclose(sig, torch.sigmoid(tx).numpy(), rtol=1e-6, atol=0)
    np.testing.assert_allclose(logsig, torch.nn.functional.logsigmoid(tx).numpy(), rtol=1e-6)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 100.0, 1e4]))
@settings(max_examples=15, deadline=None)
def test_softmax_functions_match_torch(shape, seed, scale):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape)
    dim = int(rng.integers(-len(shape), len(shape)))
    tx = torch.tensor(x)
    np.testing.assert_allclose(F.softmax(x, dim), torch.softmax(tx, dim).numpy(),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(F.log_softmax(x, dim), torch.log_softmax(tx, dim).numpy(),
                               rtol=1e-12, atol=1e-9)
