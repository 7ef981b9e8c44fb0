"""dlbook.models.flows: the affine coupling's log-determinant against the brute-force Jacobian,
its inverse, its hand backward against central differences, and the whole RealNVP stack (NLL,
every gradient, one Adam step) equal to its torch twin in float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import optim
from dlbook.models import AffineCoupling, Permutation, RealNVP, coupling_mask, realnvp_torch
from dlbook.parity import gradcheck

TOL = dict(rtol=1e-10, atol=1e-12)


def _twins(dim=2, hidden=8, n_couplings=3, seed=0, scale=3.0):
    torch.manual_seed(seed)
    flow_t = realnvp_torch(dim, hidden, n_couplings).double()
    for p in flow_t.parameters():  # larger weights than the init: scales far from 1
        p.data.mul_(scale)
    flow = RealNVP(dim, hidden, n_couplings)
    flow.load_state_dict(flow_t.state_dict())
    return flow, flow_t


def _coupling(dim, hidden=6, seed=0):
    layer = AffineCoupling(dim, hidden).double()
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data = 2.0 * rng.standard_normal(p.data.shape)
    return layer


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_coupling_logdet_is_the_log_abs_jacobian_determinant(dim):
    layer = _coupling(dim)
    x = np.random.default_rng(1).standard_normal((4, dim))
    _, logdet = layer(x)
    for n in range(len(x)):
        jac = np.empty((dim, dim))
        for j in range(dim):  # central differences, column by column
            e = np.zeros(dim)
            e[j] = 1e-6
            jac[:, j] = (layer(x[n:n + 1] + e)[0][0] - layer(x[n:n + 1] - e)[0][0]) / 2e-6
        assert abs(np.linalg.slogdet(jac)[1] - logdet[n]) < 1e-7
        assert np.allclose(np.triu(jac, 1)[:dim // 2, dim // 2:], 0)  # kept rows: identity


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_coupling_inverse_and_kept_coordinates(dim):
    layer = _coupling(dim)
    x = np.random.default_rng(2).standard_normal((7, dim))
    y, _ = layer(x)
    keep = coupling_mask(dim).astype(bool)
    assert np.array_equal(y[:, keep], x[:, keep])
    assert not np.allclose(y[:, ~keep], x[:, ~keep])
    assert np.max(np.abs(layer.inverse(y) - x)) < 1e-12


@pytest.mark.parametrize("dim", [2, 4])
def test_coupling_backward_matches_central_differences(dim):
    layer = _coupling(dim, seed=3)
    x = np.random.default_rng(4).standard_normal((5, dim))
    g_logdet = np.random.default_rng(5).standard_normal(5)

    def f(x_):
        y, logdet = layer(x_)
        return y, logdet

    y, logdet = f(x)
    g_y = np.random.default_rng(6).standard_normal(y.shape)
    layer.zero_grad()
    grad_x = layer.backward(g_y, g_logdet)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        (yp, lp), (ym, lm) = f(xp), f(xm)
        numeric[idx] = (np.sum(g_y * (yp - ym)) + np.sum(g_logdet * (lp - lm))) / (2 * eps)
    assert np.allclose(grad_x, numeric, rtol=1e-6, atol=1e-8)
    report = gradcheck(layer.net, np.random.default_rng(7).standard_normal((3, dim)))
    assert report.ok


def test_permutation_is_volume_preserving_and_inverts():
    perm = Permutation([2, 0, 1])
    x = np.arange(6.0).reshape(2, 3)
    y, logdet = perm(x)
    assert np.array_equal(y, x[:, [2, 0, 1]]) and np.array_equal(logdet, [0.0, 0.0])
    assert np.array_equal(perm.inverse(y), x)
    assert np.array_equal(perm.backward(y), x)
    with pytest.raises(ValueError, match="not a permutation"):
        Permutation([0, 0, 1])


@pytest.mark.parametrize("dim,n_couplings", [(2, 3), (3, 2), (4, 4)])
def test_realnvp_nll_gradients_and_adam_step_equal_torch(dim, n_couplings):
    flow, flow_t = _twins(dim, 8, n_couplings)
    x = np.random.default_rng(8).standard_normal((11, dim))
    opt = optim.Adam(flow.parameters(), lr=1e-2)
    opt_t = torch.optim.Adam(flow_t.parameters(), lr=1e-2)
    opt.zero_grad()
    loss = flow.nll(x)
    grad_x = flow.backward()
    x_t = torch.tensor(x, requires_grad=True)
    loss_t = flow_t.nll(x_t)
    opt_t.zero_grad()
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-10
    assert np.allclose(grad_x, x_t.grad.numpy(), **TOL)
    params = dict(flow.named_parameters())
    assert set(params) == {n for n, _ in flow_t.named_parameters()}
    for name, p in flow_t.named_parameters():
        assert np.allclose(params[name].grad, p.grad.numpy(), **TOL), name
    opt.step()
    opt_t.step()
    for name, p in flow_t.named_parameters():
        assert np.allclose(params[name].data, p.detach().numpy(), **TOL), name


def test_realnvp_log_prob_inverse_and_sampling_agree_with_torch():
    flow, flow_t = _twins(2, 8, 4, seed=1)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 2))
    z, _ = flow(x)
    assert np.max(np.abs(flow.inverse(z) - x)) < 1e-12
    with torch.no_grad():
        assert np.allclose(flow.log_prob(x), flow_t.log_prob(torch.tensor(x)).numpy(), **TOL)
        assert np.allclose(flow.inverse(z), flow_t.inverse(torch.tensor(z)).numpy(), **TOL)
    samples = flow.sample(5, np.random.default_rng(0), dtype=np.float64)
    assert samples.shape == (5, 2) and np.all(np.isfinite(samples))


def test_realnvp_density_integrates_to_one():
    """A change of variables done right keeps total probability 1 (a 2-D grid sum)."""
    flow, _ = _twins(2, 8, 3, seed=2, scale=1.5)
    grid = np.linspace(-12, 12, 601)
    xx, yy = np.meshgrid(grid, grid)
    density = np.exp(flow.log_prob(np.stack([xx.ravel(), yy.ravel()], axis=1)))
    assert abs(density.sum() * (grid[1] - grid[0]) ** 2 - 1) < 1e-3


def test_clear_errors():
    with pytest.raises(ValueError, match="dim >= 2"):
        AffineCoupling(1)
    with pytest.raises(ValueError, match="D = 2"):
        AffineCoupling(2)(np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="nll"):
        RealNVP(2, 4, 2).backward()
