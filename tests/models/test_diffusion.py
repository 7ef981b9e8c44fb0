"""dlbook.models.diffusion: schedules, the closed-form forward process against the step-by-step
chain, the denoiser's backward and one full training step (loss, every gradient, Adam) equal
to torch in float64, and the DDPM / DDIM samplers on data whose exact noise predictor is known
(a Gaussian), where both must return the data distribution."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlbook import optim
from dlbook.models import (
    Denoiser,
    Schedule,
    cosine_schedule,
    ddim_sample,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    ddpm_step,
    denoiser_step,
    denoiser_torch,
    diffusion_loss_torch,
    linear_schedule,
    q_sample,
    timestep_embedding,
)
from dlbook.parity import gradcheck

TOL = dict(rtol=1e-10, atol=1e-12)


def test_schedules():
    lin = linear_schedule(1000)
    assert lin.betas[0] == pytest.approx(1e-4) and lin.betas[-1] == pytest.approx(0.02)
    assert np.allclose(lin.alpha_bar, np.cumprod(1 - lin.betas))
    assert lin.alpha_bar[-1] < 1e-4                       # x_T is (almost) pure noise
    assert np.allclose(linear_schedule(100).betas[[0, -1]], [1e-3, 0.2])
    cos = cosine_schedule(1000)
    steps = np.arange(1, 1001) / 1000
    f = np.cos((steps + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    assert np.allclose(cos.alpha_bar[:-20], f[:-20], rtol=1e-10)   # before the beta clipping
    assert np.all(np.diff(np.log(cos.snr)) < 0) and np.all(np.diff(np.log(lin.snr)) < 0)
    with pytest.raises(ValueError, match="betas"):
        Schedule.from_betas(np.array([0.1, 1.0]))


def test_q_sample_matches_the_chain_in_distribution():
    """x_t by the closed form and by t single steps: same mean and variance (100,000 draws)."""
    sched = linear_schedule(50)
    rng = np.random.default_rng(0)
    x0 = np.full((100_000, 1), 1.5)
    x = x0.copy()
    for t in range(30):
        x = math.sqrt(1 - sched.betas[t]) * x + math.sqrt(sched.betas[t]) * rng.standard_normal(
            x.shape)
    closed = q_sample(x0, np.full(len(x0), 29), rng.standard_normal(x0.shape), sched.alpha_bar)
    ab = sched.alpha_bar[29]
    for sample in (x, closed):
        assert abs(sample.mean() - math.sqrt(ab) * 1.5) < 0.01
        assert abs(sample.var() - (1 - ab)) < 0.01


def test_q_sample_per_sample_timesteps_and_dtype():
    sched = cosine_schedule(10)
    x0 = np.ones((3, 2, 2), np.float32)
    eps = np.zeros_like(x0)
    out = q_sample(x0, np.array([0, 4, 9]), eps, sched.alpha_bar)
    assert out.dtype == np.float32
    assert np.allclose(out[:, 0, 0], np.sqrt(sched.alpha_bar[[0, 4, 9]]))


def test_timestep_embedding():
    emb = timestep_embedding(np.array([0, 3, 999]), 8)
    assert emb.shape == (3, 8)
    assert np.allclose(emb[0], [1, 1, 1, 1, 0, 0, 0, 0])
    assert np.allclose(emb[1, 0], math.cos(3)) and np.allclose(emb[1, 4], math.sin(3))
    assert np.allclose(np.sum(emb[:, :4] ** 2 + emb[:, 4:] ** 2, axis=1), 4)
    with pytest.raises(ValueError, match="even"):
        timestep_embedding(np.array([1]), 5)


def _twins(data_dim, n_classes, seed=0):
    torch.manual_seed(seed)
    model_t = denoiser_torch(data_dim, 16, 8, n_classes).double()
    model = Denoiser(data_dim, 16, 8, n_classes)
    model.load_state_dict(model_t.state_dict())
    return model, model_t


@pytest.mark.parametrize("data_dim,n_classes", [(2, 0), (5, 3)])
def test_denoiser_forward_and_input_gradient(data_dim, n_classes):
    model, model_t = _twins(data_dim, n_classes)
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((6, data_dim)), rng.integers(0, 100, 6)
    y = rng.integers(0, n_classes + 1, 6) if n_classes else None
    out = model(x, t, y)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = model_t(x_t, torch.tensor(t), None if y is None else torch.tensor(y))
    assert np.allclose(out, out_t.detach().numpy(), **TOL)
    g = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(g))
    assert np.allclose(model.backward(g), x_t.grad.numpy(), **TOL)
    report = gradcheck((lambda x_: model(x_, t, y), model.backward), x)
    assert report.ok
    if n_classes:  # y=None is the null class
        assert np.allclose(model(x, t), model(x, t, np.full(6, n_classes)))


@pytest.mark.parametrize("data_dim,n_classes,dtype,tol", [(2, 0, np.float64, TOL),
                                                          (3, 4, np.float64, TOL),
                                                          (2, 0, np.float32,
                                                           dict(rtol=1e-4, atol=1e-6))])
def test_one_training_step_equals_torch(data_dim, n_classes, dtype, tol):
    model, model_t = _twins(data_dim, n_classes, seed=2)
    if dtype == np.float32:
        model_t = model_t.float()
        model.load_state_dict(model_t.state_dict())
    sched = linear_schedule(40)
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((9, data_dim)).astype(dtype)
    t, eps = rng.integers(0, 40, 9), rng.standard_normal((9, data_dim)).astype(dtype)
    y = rng.integers(0, n_classes + 1, 9) if n_classes else None
    opt = optim.Adam(model.parameters(), lr=1e-2)
    opt_t = torch.optim.Adam(model_t.parameters(), lr=1e-2)
    for _ in range(2):  # two steps: Adam's moments are used, not only initialised
        loss = denoiser_step(model, opt, x0, t, eps, sched.alpha_bar, y)
        loss_t = diffusion_loss_torch(model_t, torch.tensor(x0), torch.tensor(t),
                                      torch.tensor(eps), torch.tensor(sched.alpha_bar),
                                      None if y is None else torch.tensor(y))
        opt_t.zero_grad()
        loss_t.backward()
        params = dict(model.named_parameters())
        for name, p in model_t.named_parameters():
            assert np.allclose(params[name].grad, p.grad.numpy(), **tol), name
        opt_t.step()
        assert loss == pytest.approx(loss_t.item(), rel=tol["rtol"])
    if dtype == np.float64:  # in float32, Adam's division amplifies roundoff in tiny gradients
        for name, p in model_t.named_parameters():
            assert np.allclose(params[name].data, p.detach().numpy(), **tol), name


def test_ddim_timesteps():
    assert ddim_timesteps(100, 5).tolist() == [99, 74, 50, 25, 0]
    assert ddim_timesteps(10, 10).tolist() == list(range(9, -1, -1))
    with pytest.raises(ValueError, match="steps"):
        ddim_timesteps(10, 11)


def test_steps_with_the_true_noise_recover_x0():
    """Given the noise actually added, DDIM lands on x0 in one step and DDPM's mean is the
    posterior mean of q(x_{t-1} | x_t, x0)."""
    sched = linear_schedule(100)
    rng = np.random.default_rng(4)
    x0, eps = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    t = 60
    x_t = q_sample(x0, np.full(5, t), eps, sched.alpha_bar)
    assert np.allclose(ddim_step(x_t, eps, sched.alpha_bar[t], 1.0), x0, **TOL)
    ab, ab_prev, beta = sched.alpha_bar[t], sched.alpha_bar[t - 1], sched.betas[t]
    posterior_mean = (math.sqrt(ab_prev) * beta / (1 - ab) * x0
                      + math.sqrt(sched.alphas[t]) * (1 - ab_prev) / (1 - ab) * x_t)
    assert np.allclose(ddpm_step(x_t, eps, ab, ab_prev, None), posterior_mean, **TOL)


def _gaussian_eps(mu, sigma, sched):
    """The exact noise predictor for data N(mu, sigma^2 I): E[eps | x_t]."""
    def eps(x, t):
        ab = sched.alpha_bar[t][:, None]
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * mu) / (ab * sigma ** 2 + 1 - ab)
    return eps


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_samplers_return_the_data_distribution_with_the_exact_predictor(kind):
    sched, mu, sigma = linear_schedule(200), np.array([2.0, -1.0]), 0.5
    rng = np.random.default_rng(5)
    x_T = rng.standard_normal((20_000, 2))
    eps = _gaussian_eps(mu, sigma, sched)
    if kind == "ddpm":
        samples = ddpm_sample(eps, sched, x_T, rng)
    else:
        samples = ddim_sample(eps, sched, x_T, 200)
    assert np.allclose(samples.mean(axis=0), mu, atol=0.02)
    assert np.allclose(samples.std(axis=0), sigma, atol=0.02)


def test_denoiser_clear_errors():
    model = Denoiser(2, 8, 4)
    with pytest.raises(ValueError, match="integers"):
        model(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="D = 2"):
        model(np.zeros((3, 4)), np.zeros(3, dtype=int))
