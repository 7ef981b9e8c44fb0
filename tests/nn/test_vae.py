"""Reparameterize and GaussianKLLoss against torch (float64 and float32) and central differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import nn
from dlbook.random import manual_seed

SHAPES = [(1, 1), (5, 3), (2, 3, 4), (7,)]
DTYPES = [(np.float64, 1e-10), (np.float32, 1e-5)]
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def _tensors(device, *arrays):
    return [torch.tensor(a, device=device, requires_grad=True) for a in arrays]


def _draw(randn, shape, dtype):
    """mu, logvar (spread over [-2, 2]), eps and an upstream gradient."""
    return (randn(*shape, dtype=dtype), (1.5 * randn(*shape)).clip(-2, 2).astype(dtype),
            randn(*shape, dtype=dtype), randn(*shape, dtype=dtype))


# -- Reparameterize ----------------------------------------------------------------------------
def _check_reparameterize(device, mu, logvar, eps, g, tol):
    rep = nn.Reparameterize()
    z = rep(mu, logvar, eps)
    grad_mu, grad_logvar = rep.backward(g)
    mu_t, logvar_t = _tensors(device, mu, logvar)
    z_t = mu_t + torch.exp(0.5 * logvar_t) * torch.tensor(eps, device=device)
    z_t.backward(torch.tensor(g, device=device))
    assert z.dtype == mu.dtype and grad_logvar.dtype == mu.dtype
    np.testing.assert_allclose(z, z_t.detach().cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_mu, mu_t.grad.cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_logvar, logvar_t.grad.cpu().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_reparameterize_matches_torch(device, randn, shape, dtype, tol):
    _check_reparameterize(device, *_draw(randn, shape, dtype), tol)


@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_reparameterize_matches_torch_on_drawn_shapes(device, shape, seed):
    rng = np.random.default_rng(seed)
    mu, logvar, eps, g = (rng.standard_normal(shape) for _ in range(4))
    _check_reparameterize(device, mu, logvar, eps, g, 1e-10)


def test_reparameterize_gradients_equal_central_differences(randn):
    mu, logvar, eps, g = _draw(randn, (3, 4), np.float64)
    rep = nn.Reparameterize()
    rep(mu, logvar, eps)
    grad_mu, grad_logvar = rep.backward(g)

    def f():
        return float(np.sum(g * rep(mu, logvar, eps)))
    np.testing.assert_allclose(grad_mu, numeric_grad(f, mu), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad_logvar, numeric_grad(f, logvar), rtol=1e-6, atol=1e-8)


def test_reparameterize_draws_from_dlbooks_generator(randn):
    mu, logvar = randn(2000, 2), randn(2000, 2)
    rep = nn.Reparameterize()
    manual_seed(3)
    z1 = rep(mu, logvar)
    eps = rep.saved.eps
    manual_seed(3)
    np.testing.assert_array_equal(rep(mu, logvar), z1)
    np.testing.assert_allclose(z1, mu + np.exp(0.5 * logvar) * eps)
    assert abs(eps.mean()) < 0.1 and abs(eps.std() - 1) < 0.1
    gen = nn.Reparameterize(generator=np.random.default_rng(5))
    np.testing.assert_array_equal(
        gen(mu, logvar), mu + np.exp(0.5 * logvar) * np.random.default_rng(5).standard_normal(
            mu.shape))


def test_reparameterize_in_eval_mode_returns_the_mean(randn):
    mu, logvar, eps, g = _draw(randn, (4, 3), np.float32)
    rep = nn.Reparameterize().eval()
    np.testing.assert_array_equal(rep(mu, logvar, eps), mu)
    grad_mu, grad_logvar = rep.backward(g)
    np.testing.assert_array_equal(grad_mu, g)
    np.testing.assert_array_equal(grad_logvar, np.zeros_like(g))


def test_reparameterize_does_not_modify_its_inputs(randn):
    mu, logvar, eps, g = _draw(randn, (3, 2), np.float64)
    copies = [a.copy() for a in (mu, logvar, eps, g)]
    rep = nn.Reparameterize()
    rep(mu, logvar, eps)
    rep.backward(g)
    for a, b in zip((mu, logvar, eps, g), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_reparameterize_errors(randn):
    rep = nn.Reparameterize()
    with pytest.raises(RuntimeError):
        rep.backward(randn(2, 3))
    with pytest.raises(ValueError, match="same shape"):
        rep(randn(2, 3), randn(3, 2))
    with pytest.raises(ValueError, match="eps must have"):
        rep(randn(2, 3), randn(2, 3), randn(3))
    with pytest.raises(TypeError, match="floating"):
        rep(np.ones((2, 3), dtype=np.int64), randn(2, 3))
    rep(randn(2, 3), randn(2, 3))
    with pytest.raises(ValueError, match="grad_out has shape"):
        rep.backward(randn(3, 2))


# -- GaussianKLLoss ----------------------------------------------------------------------------
def _torch_kl(mu_t, logvar_t, reduction):
    """Closed-form KL per element, then torch-style reduction."""
    losses = -0.5 * (1 + logvar_t - mu_t.pow(2) - logvar_t.exp())
    return {"none": losses, "sum": losses.sum(), "mean": losses.mean(),
            "batchmean": losses.sum() / mu_t.shape[0]}[reduction]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_kl_matches_torch(device, randn, shape, dtype, tol, reduction):
    mu, logvar, _, g = _draw(randn, shape, dtype)
    crit = nn.GaussianKLLoss(reduction=reduction)
    loss = crit(mu, logvar)
    mu_t, logvar_t = _tensors(device, mu, logvar)
    loss_t = _torch_kl(mu_t, logvar_t, reduction)
    upstream = g if reduction == "none" else 0.7
    loss_t.backward(torch.tensor(upstream, device=device, dtype=loss_t.dtype))
    grad_mu, grad_logvar = crit.backward(upstream)
    np.testing.assert_allclose(loss, loss_t.detach().cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_mu, mu_t.grad.cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad_logvar, logvar_t.grad.cpu().numpy(), rtol=tol, atol=tol)
    assert grad_mu.dtype == dtype and grad_logvar.dtype == dtype
    if reduction == "none":
        assert loss.dtype == dtype and loss.shape == shape
    else:
        assert isinstance(loss, float)


@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_kl_equals_torch_distributions_on_drawn_shapes(shape, seed):
    rng = np.random.default_rng(seed)
    mu, logvar = rng.standard_normal(shape), rng.uniform(-2, 2, shape)
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(shape, dtype=torch.float64),
                                   torch.ones(shape, dtype=torch.float64))
    ref = torch.distributions.kl_divergence(q, p).numpy()
    np.testing.assert_allclose(nn.GaussianKLLoss("none")(mu, logvar), ref, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(nn.GaussianKLLoss()(mu, logvar), ref.sum() / shape[0],
                               rtol=1e-10)


def test_kl_is_zero_exactly_at_the_prior():
    crit = nn.GaussianKLLoss("sum")
    assert crit(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0
    grad_mu, grad_logvar = crit.backward()
    assert not grad_mu.any() and not grad_logvar.any()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
def test_kl_gradients_equal_central_differences(randn, reduction):
    mu, logvar, _, g = _draw(randn, (4, 3), np.float64)
    crit = nn.GaussianKLLoss(reduction)
    upstream = g if reduction == "none" else 1.3

    def f():
        return float(np.sum(upstream * crit(mu, logvar)))
    crit(mu, logvar)
    grad_mu, grad_logvar = crit.backward(upstream)
    np.testing.assert_allclose(grad_mu, numeric_grad(f, mu), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad_logvar, numeric_grad(f, logvar), rtol=1e-6, atol=1e-8)


def test_kl_errors(randn):
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.GaussianKLLoss("avg")
    crit = nn.GaussianKLLoss()
    with pytest.raises(RuntimeError):
        crit.backward()
    with pytest.raises(ValueError, match="same shape"):
        crit(randn(2, 3), randn(2, 4))
    with pytest.raises(ValueError, match="scalar"):
        crit(np.float64(1.0), np.float64(0.0))
    with pytest.raises(TypeError, match="torch tensor"):
        crit(torch.zeros(2, 3), randn(2, 3))
    crit(randn(2, 3), randn(2, 3))
    with pytest.raises(ValueError, match="the loss is a scalar"):
        crit.backward(np.ones((2, 3)))
    none = nn.GaussianKLLoss("none")
    none(randn(2, 3), randn(2, 3))
    with pytest.raises(ValueError, match="grad_out has shape"):
        none.backward(np.ones(3))
