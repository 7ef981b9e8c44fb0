"""dlbook.models.mlp: the one MLP builder of the models, the same network in both libraries."""
from __future__ import annotations

import numpy as np
import torch

from dlbook import nn
from dlbook.models.mlp import mlp


def test_mlp_layers_and_names_match_torch():
    ours, theirs = mlp(nn, (3, 5, 4, 2), nn.Tanh), mlp(torch.nn, (3, 5, 4, 2), torch.nn.Tanh)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs] == [
        "Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_one_layer_has_no_activation():
    net = mlp(nn, (3, 2), nn.ReLU)
    assert [type(m).__name__ for m in net] == ["Linear"]
