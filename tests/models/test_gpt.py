"""TinyGPT in NumPy against its torch twin: names, logits and every parameter gradient."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook.models import TinyGPT, tiny_gpt_torch

CONFIG = dict(vocab_size=11, context=7, d_model=8, nhead=2, num_layers=2)


def twins(dtype=torch.float64):
    torch.manual_seed(0)
    theirs = tiny_gpt_torch(**CONFIG).to(dtype)
    ours = TinyGPT(**CONFIG)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_parameter_names_and_shapes_match_torch():
    ours, theirs = twins()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 2e-4)])
@pytest.mark.parametrize("shape", [(3, 7), (1, 1), (2, 4)])
def test_logits_and_gradients_match_torch(dtype, tol, shape):
    ours, theirs = twins(dtype)
    rng = np.random.default_rng(sum(shape))
    idx = rng.integers(0, CONFIG["vocab_size"], shape)
    logits = ours(idx)
    t_logits = theirs(torch.tensor(idx))
    np.testing.assert_allclose(logits, t_logits.detach().numpy(), rtol=tol, atol=tol)
    assert logits.dtype == t_logits.detach().numpy().dtype  # float32 stays float32
    g = rng.standard_normal(logits.shape).astype(logits.dtype)
    t_logits.backward(torch.tensor(g))
    assert ours.backward(g) is None
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert params[name].grad.dtype == p.grad.numpy().dtype, name
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


def test_a_position_never_sees_the_future():
    ours, _ = twins()
    idx = np.array([[1, 2, 3, 4, 5]])
    changed = idx.copy()
    changed[0, 3:] = [9, 9]
    np.testing.assert_allclose(ours(idx)[:, :3], ours(changed)[:, :3], rtol=1e-12)
    assert not np.allclose(ours(idx)[:, 3:], ours(changed)[:, 3:])


def test_clear_errors():
    ours, _ = twins()
    with pytest.raises(ValueError, match="exceeds the context"):
        ours(np.zeros((1, 8), int))
    with pytest.raises(ValueError, match="integer token ids"):
        ours(np.zeros((1, 3)))
