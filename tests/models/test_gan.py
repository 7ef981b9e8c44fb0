"""dlbook.models.gan: one full GAN training step (discriminator, then generator) equal to torch
in float64, the mapping network, the cycle loss, the gradient penalty, DCGAN."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import optim
from dlbook.models import (
    Discriminator,
    Generator,
    MappingNetwork,
    PixelNorm,
    cycle_consistency_loss,
    dcgan,
    dcgan_torch,
    discriminator_step,
    discriminator_torch,
    gan_losses_torch,
    generator_step,
    generator_torch,
    gradient_penalty,
    mapping_network_torch,
)
from dlbook.parity import compare

TOL = dict(rtol=1e-10, atol=1e-12)


def _twins(seed=0, z_dim=3, hidden=16):
    torch.manual_seed(seed)
    G_t, D_t = generator_torch(z_dim, hidden).double(), discriminator_torch(2, hidden).double()
    G, D = Generator(z_dim, hidden), Discriminator(2, hidden)
    G.load_state_dict(G_t.state_dict())
    D.load_state_dict(D_t.state_dict())
    return G, D, G_t, D_t


def _assert_same(module, torch_module, what):
    for name, p in torch_module.named_parameters():
        ours = dict(module.named_parameters())[name]
        np.testing.assert_allclose(ours.data, p.detach().numpy(), **TOL, err_msg=f"{what} {name}")


@pytest.mark.parametrize("g_loss", ["non_saturating", "saturating"])
@pytest.mark.parametrize("batch", [1, 7])
def test_one_full_gan_step_matches_torch(g_loss, batch):
    G, D, G_t, D_t = _twins()
    rng = np.random.default_rng(batch)
    real, z_d, z_g = rng.normal(size=(batch, 2)), rng.normal(size=(batch, 3)), \
        rng.normal(size=(batch, 3))
    opt_g, opt_d = (optim.Adam(m.parameters(), lr=0.01, betas=(0.5, 0.999)) for m in (G, D))
    opt_gt, opt_dt = (torch.optim.Adam(m.parameters(), lr=0.01, betas=(0.5, 0.999))
                      for m in (G_t, D_t))
    # discriminator step
    d_loss = discriminator_step(D, opt_d, real, G(z_d))
    opt_dt.zero_grad()
    fake_t = G_t(torch.tensor(z_d)).detach()
    d_loss_t, _ = gan_losses_torch(D_t(torch.tensor(real)), D_t(fake_t))
    d_loss_t.backward()
    d_grads = {n: p.grad.clone() for n, p in D_t.named_parameters()}
    opt_dt.step()
    np.testing.assert_allclose(d_loss, d_loss_t.item(), **TOL)
    for name, p in D.named_parameters():
        np.testing.assert_allclose(p.grad, d_grads[name].numpy(), **TOL, err_msg=name)
    _assert_same(D, D_t, "D after its step")
    _assert_same(G, G_t, "G untouched by D's step")
    # generator step through the updated discriminator
    g_value = generator_step(G, D, opt_g, z_g, loss=g_loss)
    opt_gt.zero_grad()
    logits = D_t(G_t(torch.tensor(z_g)))
    if g_loss == "non_saturating":
        g_loss_t = gan_losses_torch(logits.detach(), logits)[1]
    else:
        g_loss_t = torch.log1p(-torch.sigmoid(logits)).mean()
    g_loss_t.backward()
    g_grads = {n: p.grad.clone() for n, p in G_t.named_parameters()}
    opt_gt.step()
    np.testing.assert_allclose(g_value, g_loss_t.item(), **TOL)
    for name, p in G.named_parameters():
        np.testing.assert_allclose(p.grad, g_grads[name].numpy(), **TOL, err_msg=name)
    _assert_same(G, G_t, "G after its step")
    _assert_same(D, D_t, "D untouched by G's step")


def test_generator_and_discriminator_match_torch_layer_by_layer(device):
    G, D, G_t, D_t = _twins(seed=1)
    z = np.random.default_rng(0).normal(size=(5, 3))
    assert compare(G, G_t, z, device=device).ok
    assert compare(D, D_t, np.random.default_rng(1).normal(size=(4, 2)), device=device).ok
    assert [n for n, _ in G.named_parameters()] == [n for n, _ in G_t.named_parameters()]


def test_one_gan_step_in_float32_matches_torch_to_relative_tolerance():
    G, D, G_t, D_t = _twins(seed=2)
    G_t, D_t = G_t.float(), D_t.float()
    G.load_state_dict(G_t.state_dict())
    D.load_state_dict(D_t.state_dict())
    rng = np.random.default_rng(5)
    real, z = (rng.normal(size=(6, k)).astype(np.float32) for k in (2, 3))
    opt_d = optim.SGD(D.parameters(), lr=0.0)
    d_loss = discriminator_step(D, opt_d, real, G(z))
    d_loss_t, _ = gan_losses_torch(D_t(torch.tensor(real)), D_t(G_t(torch.tensor(z)).detach()))
    d_loss_t.backward()
    assert D.net[0].weight.grad.dtype == np.float32
    np.testing.assert_allclose(d_loss, d_loss_t.item(), rtol=1e-5)
    for name, p in D_t.named_parameters():
        np.testing.assert_allclose(dict(D.named_parameters())[name].grad, p.grad.numpy(),
                                   rtol=1e-4, atol=1e-6, err_msg=name)


def test_non_saturating_gradient_is_large_where_saturating_vanishes():
    """For a rejected fake (logit -8) the two losses' logit gradients: sigma-1 vs -sigma."""
    G, D, _, _ = _twins()
    D.net[-1].bias.data[:] = -8.0
    D.net[-1].weight.data[:] = 0.0
    grads = {}
    for loss in ("non_saturating", "saturating"):
        opt = optim.SGD(G.parameters(), lr=0.0)
        generator_step(G, D, opt, np.ones((1, 3)), loss=loss)
        grads[loss] = D.net[-1].bias.grad.copy()
        D.zero_grad()
    s = 1 / (1 + np.exp(8.0))
    np.testing.assert_allclose(grads["non_saturating"], [s - 1], rtol=1e-6)
    np.testing.assert_allclose(grads["saturating"], [-s], rtol=1e-6)
    with pytest.raises(ValueError, match="loss must be"):
        generator_step(G, D, opt, np.ones((1, 3)), loss="minimax")


def test_wgan_losses_are_the_critic_means():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.5], [-0.5]])
    d_loss, g_loss = gan_losses_torch(real, fake, kind="wgan")
    assert d_loss.item() == pytest.approx(0.0 - 2.0) and g_loss.item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="kind"):
        gan_losses_torch(real, fake, kind="lsgan")


def test_gradient_penalty_of_a_linear_critic_is_closed_form(torch_float64):
    """f(x) = w.x + b has gradient w everywhere: penalty (|w| - 1)^2; its weight gradient
    2(|w| - 1) w/|w| needs the double backward."""
    critic = torch.nn.Linear(3, 1)
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    penalty = gradient_penalty(critic, real, fake)
    w = critic.weight.detach()[0]
    norm = w.norm()
    assert penalty.item() == pytest.approx(((norm - 1) ** 2).item(), rel=1e-12)
    penalty.backward()
    np.testing.assert_allclose(critic.weight.grad[0].numpy(), (2 * (norm - 1) * w / norm).numpy(),
                               rtol=1e-12)


def test_gradient_penalty_is_zero_for_a_unit_gradient(torch_float64):
    critic = torch.nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight[:] = torch.tensor([[0.6, 0.8]])
    alpha = torch.full((4, 1), 0.3)
    assert gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2), alpha).item() < 1e-20


@pytest.mark.parametrize("batch", [1, 6])
def test_mapping_network(randn, device, batch):
    """PixelNorm (dlbook.nn.PixelNorm, tested in tests/nn/test_pixel_norm.py) then the MLP."""
    torch.manual_seed(0)
    assert compare(MappingNetwork(5, 4, 3), mapping_network_torch(5, 4, 3).double(),
                   randn(batch, 5), device=device).ok
    assert isinstance(MappingNetwork(5, 4, 3).net[0], PixelNorm)


def test_cycle_loss_numpy_and_torch(randn):
    # (10.7): the L1 norm of each sample's error (summed over its coordinates), averaged over
    # the batch; written with explicit loops so that it does not repeat the code's reshape
    x, xc, y, yc = randn(4, 3), randn(4, 3), randn(5, 2, 2), randn(5, 2, 2)
    l1_x = sum(sum(abs(xc[n, j] - x[n, j]) for j in range(3)) for n in range(4)) / 4
    l1_y = sum(sum(abs(yc[m, i, j] - y[m, i, j]) for i in range(2) for j in range(2))
               for m in range(5)) / 5
    expected = l1_x + l1_y
    value = cycle_consistency_loss(x, xc, y, yc)
    assert isinstance(value, float) and value == pytest.approx(expected, rel=1e-12)
    assert cycle_consistency_loss(x, xc, y, yc, weight=10.0) == pytest.approx(10 * expected)
    xc_t = torch.tensor(xc, requires_grad=True)
    loss_t = cycle_consistency_loss(torch.tensor(x), xc_t, torch.tensor(y), torch.tensor(yc),
                                    weight=2.0)
    loss_t.backward()
    assert loss_t.item() == pytest.approx(2 * expected, rel=1e-12)
    np.testing.assert_allclose(xc_t.grad.numpy(), 2.0 * np.sign(xc - x) / len(x))
    assert cycle_consistency_loss(x, x, y, y) == 0.0
    with pytest.raises(ValueError, match="cycle has shape"):
        cycle_consistency_loss(x, xc[:, :1], y, yc)
    with pytest.raises(ValueError, match="batch axis"):
        cycle_consistency_loss(x[:0], xc[:0], y, yc)


@pytest.mark.parametrize("batch", [1, 5])
def test_numpy_dcgan_matches_torch(device, batch):
    """Both networks in training mode (batch norm on the batch statistics), float64."""
    torch.manual_seed(3)
    G_t, D_t = (m.double() for m in dcgan_torch(z_dim=6, width=4))
    G, D = dcgan(z_dim=6, width=4)
    assert [n for n, _ in G.named_parameters()] == [n for n, _ in G_t.named_parameters()]
    rng = np.random.default_rng(batch)
    assert compare(G, G_t, rng.normal(size=(batch, 6, 1, 1)), device=device).ok
    assert compare(D, D_t, np.tanh(rng.normal(size=(batch, 1, 8, 8))), device=device).ok


def test_numpy_dcgan_initialisation_and_shapes():
    G, D = dcgan(z_dim=16, width=32)
    assert abs(float(G[0].weight.data.std()) - 0.02) < 0.002
    images = G(np.random.default_rng(0).normal(size=(3, 16, 1, 1)).astype(np.float32))
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32
    assert D(images).shape == (3, 1, 1, 1)


def test_dcgan_shapes_and_parameter_counts():
    G, D = dcgan_torch(z_dim=16, width=32)
    images = G(torch.randn(5, 16, 1, 1))
    assert images.shape == (5, 1, 8, 8) and images.abs().max() <= 1
    assert D(images).shape == (5, 1, 1, 1)
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in G)
