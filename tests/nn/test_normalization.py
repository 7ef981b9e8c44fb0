"""dlbook.nn BatchNorm1d/2d, LayerNorm and GroupNorm against torch, over several steps."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
from dlbook.nn.normalization import normalize_backward, normalize_forward
from dlbook.parity import gradcheck

SETTINGS = settings(max_examples=15, deadline=None)


def to_torch(x, device, requires_grad=False):
    """A torch tensor holding a copy of ``x`` (same dtype) on ``device``."""
    return torch.tensor(np.asarray(x), device=device, requires_grad=requires_grad)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-4)}
DTYPES = st.sampled_from([np.float64, np.float32])


def torch_twin(name, kwargs, dtype, device, seed=0):
    """torch's module with random (not the default ones/zeros) affine parameters."""
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, name)(**kwargs)
    theirs.to(device=device, dtype=getattr(torch, dtype.__name__))
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    return theirs


def assert_close(got, want, dtype, scale=1.0):
    """allclose with the dtype's tolerances, ``atol`` times the quantity's natural ``scale``."""
    want = want.detach().cpu().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape
    tol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale)


def float32_scale(ours):
    """The natural size of float32 rounding errors here: max(1/sigma) * max|gamma|.

    ``x_hat = (x - mean) s`` and the input gradient ``s/M (M g - sum g - x_hat sum g x_hat)``
    cancel for tiny groups (M = 1 or 2) or nearly constant ones, so float32 rounding (torch's
    and ours, each about 1e-7 of ``s |x|`` or ``s |g|``) is relative to this scale, not to the
    small result. (In such cases dlbook is the closer of the two to the float64 answer.)
    """
    weight = ours.weight.data if ours.weight is not None else np.ones(1)
    saved = ours.saved
    inv_std = saved.inv_std if hasattr(saved, "inv_std") else saved.cache.inv_std
    return float(np.max(inv_std)) * max(1.0, float(np.max(np.abs(weight))))


def run_steps(ours, theirs, xs, modes, dtype, device, seed=0):
    """Forward and backward both modules on each input in its mode; compare everything."""
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(seed)
    for x, training in zip(xs, modes, strict=True):
        ours.train(training)
        theirs.train(training)
        ours.zero_grad()
        theirs.zero_grad()
        tx = to_torch(x, device, requires_grad=True)
        t_out = theirs(tx)
        x0 = x.copy()
        out = ours(x)
        assert out.dtype == dtype
        scale = float32_scale(ours) if dtype == np.float32 else 1.0
        assert_close(out, t_out, dtype, scale)
        g = rng.standard_normal(x.shape).astype(dtype)
        g0 = g.copy()
        t_out.backward(to_torch(g, device))
        grad_x = ours.backward(g)
        assert grad_x.dtype == dtype
        assert_close(grad_x, tx.grad, dtype, scale)
        np.testing.assert_array_equal(x, x0)  # neither input nor grad_out is modified
        np.testing.assert_array_equal(g, g0)
        params = dict(ours.named_parameters())
        assert set(params) == {name for name, _ in theirs.named_parameters()}
        for name, p in theirs.named_parameters():
            assert_close(params[name].grad, p.grad, dtype, scale)
        state = ours.state_dict()
        assert list(state) == list(theirs.state_dict())
        for name, b in theirs.named_buffers():
            if b.dtype.is_floating_point:
                assert_close(state[name], b, dtype)
            else:
                assert int(state[name]) == int(b.item())


# -- BatchNorm --------------------------------------------------------------------------------
@st.composite
def batchnorm_case(draw):
    name = draw(st.sampled_from(["BatchNorm1d", "BatchNorm2d"]))
    n, c = draw(st.integers(2, 5)), draw(st.integers(1, 4))
    if name == "BatchNorm2d":
        shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    else:
        shape = draw(st.sampled_from([(n, c), (n, c, draw(st.integers(1, 5)))]))
    kwargs = dict(num_features=c, momentum=draw(st.sampled_from([0.1, 0.3, None])),
                  affine=draw(st.booleans()), track_running_stats=draw(st.booleans()),
                  eps=draw(st.sampled_from([1e-5, 1e-3])))
    return name, shape, kwargs


@SETTINGS
@given(case=batchnorm_case(), dtype=DTYPES, seed=st.integers(0, 2**16))
def test_batchnorm_steps_match_torch(device, case, dtype, seed):
    """Three training steps (buffers updated each time), then two eval steps."""
    name, shape, kwargs = case
    rng = np.random.default_rng(seed)
    xs = [(rng.standard_normal(shape) * 3 + 1).astype(dtype) for _ in range(5)]
    theirs = torch_twin(name, kwargs, dtype, device, seed)
    run_steps(getattr(nn, name)(**kwargs), theirs, xs, [True] * 3 + [False] * 2, dtype, device,
              seed)


@pytest.mark.parametrize("name,shape", [
    ("BatchNorm1d", (2, 3)),          # the smallest batch
    ("BatchNorm1d", (1, 3, 4)),       # one sample, but 4 values per channel
    ("BatchNorm1d", (5, 4, 7)),
    ("BatchNorm2d", (2, 3, 4, 7)),    # non-square H x W
    ("BatchNorm2d", (1, 2, 5, 3)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batchnorm_odd_shapes(device, name, shape, dtype):
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal(shape).astype(dtype) for _ in range(4)]
    kwargs = dict(num_features=shape[1])
    run_steps(getattr(nn, name)(**kwargs), torch_twin(name, kwargs, dtype, device), xs,
              [True, True, False, True], dtype, device)


def test_batchnorm_running_stats_by_hand(randn):
    """Independent of torch: the running update uses the unbiased variance."""
    m = nn.BatchNorm1d(3, momentum=0.2).double()
    x = randn(6, 3)
    m(x)
    np.testing.assert_allclose(m.running_mean, 0.2 * x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(m.running_var, 0.8 + 0.2 * x.var(0, ddof=1), rtol=1e-14)
    assert int(m.num_batches_tracked) == 1
    m.eval()
    out = m(x)
    np.testing.assert_allclose(out, (x - m.running_mean) / np.sqrt(m.running_var + 1e-5),
                               rtol=1e-13)


def test_batchnorm_cumulative_average_when_momentum_none(randn):
    m = nn.BatchNorm2d(2, momentum=None).double()
    xs = [randn(3, 2, 2, 3) for _ in range(4)]
    for x in xs:
        m(x)
    want = np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0)
    np.testing.assert_allclose(m.running_mean, want, rtol=1e-13)
    assert int(m.num_batches_tracked) == 4


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(randn):
    m = nn.BatchNorm1d(4, track_running_stats=False).double().eval()
    x = randn(5, 4)
    np.testing.assert_allclose(m(x), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)
    assert "running_mean" not in m.state_dict()


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 4, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradcheck(shape, training, randn):
    m = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1]).double()
    m.weight.data = randn(shape[1]) + 1.5
    m.bias.data = randn(shape[1])
    m.running_mean, m.running_var = randn(shape[1]), randn(shape[1]) ** 2 + 0.5
    m.train(training)
    report = gradcheck(m, randn(*shape) * 2)
    assert report.ok, report


def test_batchnorm_state_dict_names_and_dtypes_as_torch():
    for kw in (dict(), dict(affine=False), dict(track_running_stats=False)):
        ours, theirs = nn.BatchNorm2d(5, **kw), torch.nn.BatchNorm2d(5, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for name, value in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[name], value.numpy())
            assert ours.state_dict()[name].dtype == value.numpy().dtype
    assert repr(nn.BatchNorm1d(3)) == repr(torch.nn.BatchNorm1d(3))


def test_batchnorm_errors(randn):
    m = nn.BatchNorm1d(3).double()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(randn(1, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3))
    m.eval()
    m(randn(1, 3))  # fine in eval: running statistics
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, L\)"):
        m(randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="num_features"):
        m(randn(4, 5))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.BatchNorm2d(3).double()(randn(2, 3, 4))
    with pytest.raises(TypeError, match="floating"):
        m(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BatchNorm1d(3).backward(randn(2, 3))
    m(randn(4, 3))
    with pytest.raises(ValueError, match="grad_out has shape"):
        m.backward(randn(4, 2))


# -- LayerNorm and GroupNorm --------------------------------------------------------------------
@SETTINGS
@given(lead=st.lists(st.integers(1, 4), max_size=2),
       norm=st.lists(st.integers(1, 5), min_size=1, max_size=2), as_int=st.booleans(),
       affine=st.booleans(), bias=st.booleans(), dtype=DTYPES, seed=st.integers(0, 2**16))
def test_layernorm_matches_torch(device, lead, norm, as_int, affine, bias, dtype, seed):
    shape = norm[0] if as_int and len(norm) == 1 else tuple(norm)
    kwargs = dict(normalized_shape=shape, elementwise_affine=affine, bias=bias)
    rng = np.random.default_rng(seed)
    xs = [(rng.standard_normal((*lead, *norm)) * 2 - 1).astype(dtype) for _ in range(2)]
    run_steps(nn.LayerNorm(**kwargs), torch_twin("LayerNorm", kwargs, dtype, device, seed), xs,
              [True, False], dtype, device, seed)


@SETTINGS
@given(n=st.integers(1, 3), groups_channels=st.sampled_from([(1, 3), (2, 4), (3, 6), (4, 4)]),
       spatial=st.lists(st.integers(1, 4), max_size=2), affine=st.booleans(), dtype=DTYPES,
       seed=st.integers(0, 2**16))
def test_groupnorm_matches_torch(device, n, groups_channels, spatial, affine, dtype, seed):
    g, c = groups_channels
    kwargs = dict(num_groups=g, num_channels=c, affine=affine)
    shape = (n, c, *spatial)
    if np.prod(shape) // (n * g) == 1:  # one value per group: variance 0, both give 0
        spatial = [*spatial, 2]
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, c, *spatial)).astype(dtype) for _ in range(2)]
    run_steps(nn.GroupNorm(**kwargs), torch_twin("GroupNorm", kwargs, dtype, device, seed), xs,
              [True, False], dtype, device, seed)


@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 5), (3, 5)), ((1, 4), 4)])
def test_layernorm_gradcheck(shape, normalized, randn):
    m = nn.LayerNorm(normalized).double()
    m.weight.data = randn(*m.weight.shape) + 1
    m.bias.data = randn(*m.bias.shape)
    report = gradcheck(m, randn(*shape))
    assert report.ok, report


def test_groupnorm_gradcheck(randn):
    m = nn.GroupNorm(2, 4).double()
    m.weight.data = randn(4) + 1
    report = gradcheck(m, randn(2, 4, 3, 2))
    assert report.ok, report


def test_normalize_pair_gradcheck_and_zero_mean_unit_variance(randn):
    x = randn(3, 4, 5) * 3 + 2
    axes = (0, 2)
    x_hat, mean, var, _ = normalize_forward(x, axes, 0.0)
    np.testing.assert_allclose(x_hat.mean(axis=axes), 0, atol=1e-14)
    np.testing.assert_allclose(x_hat.var(axis=axes), 1, rtol=1e-12)
    assert mean.shape == var.shape == (1, 4, 1)

    def forward(x):
        return normalize_forward(x, axes, 1e-5)[0]

    def backward(g):
        return normalize_backward(g, normalize_forward(x, axes, 1e-5)[3])
    report = gradcheck((forward, backward), x)
    assert report.ok, report


def test_layernorm_and_groupnorm_state_dicts_and_errors(randn):
    for ours, theirs in [(nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))),
                         (nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
                         (nn.LayerNorm(4, elementwise_affine=False),
                          torch.nn.LayerNorm(4, elementwise_affine=False)),
                         (nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6))]:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for name, value in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[name], value.numpy())
    with pytest.raises(ValueError, match=r"expected input of shape \(\*, 5\)"):
        nn.LayerNorm(5).double()(randn(3, 4))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="num_channels"):
        nn.GroupNorm(2, 4).double()(randn(2, 6, 3))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.LayerNorm(3).backward(randn(2, 3))
