"""Autoencoder, DenoisingAutoencoder and VAE in NumPy against their torch twins."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from finite_diff import numeric_grad

from dlbook import optim
from dlbook.models import (
    VAE,
    Autoencoder,
    DenoisingAutoencoder,
    VAELoss,
    autoencoder_torch,
    denoising_autoencoder_torch,
    mask_noise,
    vae_loss_torch,
    vae_torch,
)
from dlbook.models.autoencoder import sigmoid

DTYPES = [(torch.float64, np.float64, 1e-10), (torch.float32, np.float32, 1e-4)]


def twins(ours, theirs, dtype=torch.float64, device="cpu"):
    torch.manual_seed(0)
    theirs = theirs.to(dtype).to(device)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def assert_param_grads(ours, theirs, tol):
    params = dict(ours.named_parameters())
    assert set(params) == {name for name, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.cpu().numpy(), rtol=tol,
                                   atol=tol, err_msg=name)


@pytest.mark.parametrize("ours,theirs", [
    (Autoencoder(64, 32, 8), autoencoder_torch(64, 32, 8)),
    (DenoisingAutoencoder(64, 32, 8), denoising_autoencoder_torch(64, 32, 8)),
    (VAE(64, 16, 2), vae_torch(64, 16, 2)),
], ids=["ae", "dae", "vae"])
def test_names_and_shapes_match_torch(ours, theirs):
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("tdtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("n", [1, 6])
@pytest.mark.parametrize("kind", ["ae", "dae-eval"])
def test_autoencoder_forward_backward_match_torch(device, kind, n, tdtype, dtype, tol):
    if kind == "ae":
        ours, theirs = twins(Autoencoder(10, 7, 3), autoencoder_torch(10, 7, 3), tdtype, device)
    else:
        ours, theirs = twins(DenoisingAutoencoder(10, 7, 3, noise=0.5),
                             denoising_autoencoder_torch(10, 7, 3, noise=0.5), tdtype, device)
        ours.eval()
        theirs.eval()
    rng = np.random.default_rng(n)
    x, g = rng.random((n, 10)).astype(dtype), rng.standard_normal((n, 10)).astype(dtype)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    out_t = theirs(x_t)
    out_t.backward(torch.tensor(g, device=device))
    np.testing.assert_allclose(ours(x), out_t.detach().cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.backward(g), x_t.grad.cpu().numpy(), rtol=tol, atol=tol)
    assert_param_grads(ours, theirs, tol)


def test_denoising_autoencoder_masks_in_training_mode_only():
    dae = DenoisingAutoencoder(64, 16, 4, noise=0.3, generator=np.random.default_rng(0)).double()
    x = np.random.default_rng(1).random((200, 64)) + 0.5
    out = dae(x)
    keep = dae.saved.keep
    assert abs(keep.mean() - 0.7) < 0.02
    plain = Autoencoder(64, 16, 4).double()
    plain.load_state_dict(dae.state_dict())
    np.testing.assert_allclose(out, plain(x * keep), rtol=1e-12)
    g = np.random.default_rng(2).standard_normal(out.shape)
    np.testing.assert_allclose(dae.backward(g), plain.backward(g) * keep, rtol=1e-12)
    dae.eval()
    np.testing.assert_allclose(dae(x), plain(x), rtol=1e-12)


def test_mask_noise():
    x = np.ones((100, 100))
    corrupted, keep = mask_noise(x, 0.25, np.random.default_rng(0))
    assert abs((corrupted == 0).mean() - 0.25) < 0.01
    np.testing.assert_array_equal(corrupted, x * keep)
    np.testing.assert_array_equal(x, 1.0)
    np.testing.assert_array_equal(mask_noise(x, 0.0)[0], x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        mask_noise(x, 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DenoisingAutoencoder(noise=-0.1)


@pytest.mark.parametrize("tdtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("n", [1, 5])
def test_vae_forward_backward_match_torch(device, n, tdtype, dtype, tol):
    ours, theirs = twins(VAE(12, 9, 3), vae_torch(12, 9, 3), tdtype, device)
    rng = np.random.default_rng(n)
    x, eps = rng.random((n, 12)).astype(dtype), rng.standard_normal((n, 3)).astype(dtype)
    grads = [rng.standard_normal(s).astype(dtype) for s in ((n, 12), (n, 3), (n, 3))]
    x_t = torch.tensor(x, device=device, requires_grad=True)
    outs_t = theirs(x_t, torch.tensor(eps, device=device))
    torch.autograd.backward(outs_t, [torch.tensor(g, device=device) for g in grads])
    for mine, ref in zip(ours(x, eps), outs_t, strict=True):
        np.testing.assert_allclose(mine, ref.detach().cpu().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.backward(*grads), x_t.grad.cpu().numpy(), rtol=tol,
                               atol=tol)
    assert_param_grads(ours, theirs, tol)


def test_vae_eval_mode_decodes_the_mean():
    ours, theirs = twins(VAE(12, 9, 3), vae_torch(12, 9, 3))
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).random((4, 12))
    logits, mu, _ = ours(x)
    np.testing.assert_allclose(logits, theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(logits, ours.decode(mu), rtol=1e-12)


def test_vae_input_gradient_equals_central_differences():
    vae = VAE(6, 5, 2).double()
    rng = np.random.default_rng(4)
    x, eps = rng.random((3, 6)), rng.standard_normal((3, 2))
    grads = [rng.standard_normal(s) for s in ((3, 6), (3, 2), (3, 2))]

    def f():
        return float(sum(np.sum(g * o) for g, o in zip(grads, vae(x, eps), strict=True)))
    vae(x, eps)
    np.testing.assert_allclose(vae.backward(*grads), numeric_grad(f, x), rtol=1e-6, atol=1e-8)
    vae.zero_grad()
    vae(x, eps)
    vae.backward(*grads)
    w = vae.fc_logvar.weight
    np.testing.assert_allclose(w.grad, numeric_grad(f, w.data), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_vae_loss_matches_torch(beta):
    rng = np.random.default_rng(7)
    logits, x = rng.standard_normal((5, 8)), rng.random((5, 8))
    mu, logvar = rng.standard_normal((5, 2)), rng.uniform(-2, 2, (5, 2))
    crit = VAELoss(beta)
    loss = crit(logits, x, mu, logvar)
    ts = [torch.tensor(a, requires_grad=True) for a in (logits, mu, logvar)]
    loss_t = vae_loss_torch(ts[0], torch.tensor(x), ts[1], ts[2], beta)
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-12
    assert abs(crit.reconstruction + beta * crit.kl - loss) < 1e-12
    for mine, t in zip(crit.backward(), ts, strict=True):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_one_vae_training_step_equals_torch_in_float64():
    """Same loss, same gradients and same Adam-updated parameters, with the same eps."""
    ours, theirs = twins(VAE(64, 32, 2), vae_torch(64, 32, 2))
    rng = np.random.default_rng(11)
    x, eps = rng.random((16, 64)), rng.standard_normal((16, 2))
    opt = optim.Adam(ours.parameters(), lr=1e-2)
    opt_t = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    crit = VAELoss()
    opt.zero_grad()
    logits, mu, logvar = ours(x, eps)
    loss = crit(logits, x, mu, logvar)
    ours.backward(*crit.backward())
    opt_t.zero_grad()
    logits_t, mu_t, logvar_t = theirs(torch.tensor(x), torch.tensor(eps))
    loss_t = vae_loss_torch(logits_t, torch.tensor(x), mu_t, logvar_t)
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-10
    assert_param_grads(ours, theirs, 1e-10)
    opt.step()
    opt_t.step()
    state = ours.state_dict()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(state[name], p.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_vae_sampling_uses_the_given_generator():
    vae = VAE(64, 16, 2)
    a = vae.sample(5, np.random.default_rng(0))
    np.testing.assert_array_equal(a, vae.sample(5, np.random.default_rng(0)))
    assert a.shape == (5, 64) and a.dtype == np.float32 and ((a > 0) & (a < 1)).all()


def test_sigmoid_is_stable_and_keeps_dtype():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0], dtype=np.float32)
    np.testing.assert_allclose(sigmoid(x), torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6)
    assert sigmoid(x).dtype == np.float32


def test_vae_errors():
    vae = VAE(8, 4, 2)
    with pytest.raises(ValueError, match="eps must have"):
        vae(np.zeros((3, 8), dtype=np.float32), np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="in_features"):
        vae(np.zeros((3, 7), dtype=np.float32))
    with pytest.raises(RuntimeError):
        VAE(8, 4, 2).backward(np.zeros((3, 8)))
    with pytest.raises(ValueError, match="same shape"):
        VAELoss()(np.zeros((2, 8)), np.zeros((2, 8)), np.zeros((2, 2)), np.zeros((2, 3)))
