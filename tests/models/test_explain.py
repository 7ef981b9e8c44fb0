"""Integrated gradients (completeness), saliency and occlusion on models with known gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook.models.explain import integrated_gradients, occlusion, saliency


def torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)
                               ).double()


def test_completeness_numerically() -> None:
    net = torch_model()

    def f(x: np.ndarray) -> np.ndarray:
        return net(torch.tensor(x)).detach().numpy()[..., 0]

    def grad_fn(x: np.ndarray) -> np.ndarray:
        t = torch.tensor(x, requires_grad=True)
        net(t).sum().backward()
        return t.grad.numpy()

    x = np.random.default_rng(0).standard_normal(6)
    base = np.full(6, 0.3)
    ig = integrated_gradients(grad_fn, x, base, steps=200)
    np.testing.assert_allclose(ig.sum(), f(x) - f(base), rtol=1e-4, atol=1e-6)


def test_linear_model_exact() -> None:
    w = np.array([1.0, -2.0, 0.5])
    ig = integrated_gradients(lambda x: np.broadcast_to(w, x.shape), np.array([1.0, 1, 2]),
                              steps=1)
    np.testing.assert_allclose(ig, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(saliency(lambda x: np.broadcast_to(w, x.shape), np.zeros(3)),
                               np.abs(w))


def test_occlusion_finds_the_pixel() -> None:
    def score(batch: np.ndarray) -> np.ndarray:
        return batch[:, 1, 2] * 3.0

    img = np.ones((4, 4))
    out = occlusion(score, img, patch=2)
    expected = np.zeros((4, 4))
    expected[0:2, 2:4] = 3.0
    np.testing.assert_allclose(out, expected)


def test_errors() -> None:
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(lambda x: x, np.zeros(2), steps=0)
    with pytest.raises(ValueError, match="baseline shape"):
        integrated_gradients(lambda x: x, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="2-D"):
        occlusion(lambda b: b.sum(), np.zeros((1, 4, 4)))
