"""The Optimizer base class, through every optimizer: param groups, skipped parameters, in-place
updates, zero_grad, state dicts (dlbook's and torch's), closures and construction errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
import dlbook.optim as optim

KWARGS = {"SGD": dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=True),
          "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.1),
          "AdamW": dict(lr=0.01, weight_decay=0.1),
          "RMSprop": dict(lr=0.003, momentum=0.5, centered=True),
          "Adagrad": dict(lr=0.05, lr_decay=0.01)}
NAMES = list(KWARGS)


def two_groups(model):
    """The first layer in a group of its own, with lr 1e-3 and no weight decay."""
    return [{"params": model[0].parameters(), "lr": 1e-3, "weight_decay": 0},
            {"params": model[2].parameters()}]


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_lr_follow_torch(train, name):
    assert train(name, KWARGS[name], steps=50, groups=two_groups) < 1e-10


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 4), max_size=3), name=st.sampled_from(NAMES),
       seed=st.integers(0, 2**16))
def test_any_parameter_shape_follows_torch(shape, name, seed):
    """Updates are elementwise: scalars, vectors and 3-d parameters all follow torch."""
    rng = np.random.default_rng(seed)
    p = nn.Parameter(rng.standard_normal(shape))
    t = torch.tensor(p.data, requires_grad=True)
    opt = getattr(optim, name)([p], **KWARGS[name])
    topt = getattr(torch.optim, name)([t], **KWARGS[name])
    for _ in range(3):
        g = rng.standard_normal(shape)
        p.grad, t.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_grad_are_skipped_like_torch(train, name, pair):
    """The first layer's weight never gets a gradient: it stays put and gets no step state."""
    ours, _ = pair()
    w0 = ours[0].weight.data.copy()
    assert train(name, KWARGS[name], steps=20, drop_grad=lambda m: [m[0].weight]) < 1e-10
    opt = getattr(optim, name)(ours.parameters(), **KWARGS[name])
    ours[2].weight.grad = np.ones((3, 7), np.float32)
    opt.step()
    np.testing.assert_array_equal(ours[0].weight.data, w0)
    assert opt.state.get(ours[0].weight, {}).get("step", 0) == 0


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_step_updates_data_in_place_and_leaves_grad_alone(name, maximize, pair, backward, randn):
    ours, theirs = pair(np.float64)
    opt = getattr(optim, name)(ours.parameters(), maximize=maximize, **KWARGS[name])
    for _ in range(2):
        backward(ours, theirs, randn(4, 5), randn(4, 3))
        arrays = [p.data for p in ours.parameters()]
        grads = [(p.grad, p.grad.copy()) for p in ours.parameters()]
        opt.step()
        assert all(p.data is a for p, a in zip(ours.parameters(), arrays, strict=True))
        for p, (grad, copy) in zip(ours.parameters(), grads, strict=True):
            assert p.grad is grad
            np.testing.assert_array_equal(grad, copy)


def test_zero_grad_sets_none_or_zeros(pair, backward, randn):
    ours, theirs = pair()
    opt = optim.SGD(ours.parameters(), lr=0.1)
    backward(ours, theirs, randn(2, 5), randn(2, 3))
    opt.zero_grad(set_to_none=False)
    for p in ours.parameters():
        np.testing.assert_array_equal(p.grad, np.zeros(p.shape))
    opt.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_step_returns_the_closures_loss():
    p = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure() -> float:
        opt.zero_grad()
        p.accumulate_grad(2 * p.data)  # d/dp p^2
        return float(p.data[0] ** 2)

    assert opt.step(closure) == 9.0
    assert p.data[0] == pytest.approx(1.5)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_exactly(name, pair, backward, randn):
    xs = [(randn(4, 5), randn(4, 3)) for _ in range(6)]
    ours, theirs = pair()
    opt = getattr(optim, name)(ours.parameters(), **KWARGS[name])
    resumed = None
    for i, (x, y) in enumerate(xs):
        if i == 3:
            resumed, _ = pair()
            resumed.load_state_dict(ours.state_dict())
            opt2 = getattr(optim, name)(resumed.parameters(), lr=123.0)
            opt2.load_state_dict(opt.state_dict())
            assert opt2.param_groups[0]["lr"] == KWARGS[name]["lr"]
        for model, o in [(ours, opt)] + ([(resumed, opt2)] if resumed is not None else []):
            o.zero_grad()
            model.backward(2 * (model(x) - y) / y.size)
            o.step()
    for p, q in zip(ours.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("name", NAMES)
def test_loads_torchs_state_dict_and_continues_equal(name, pair, backward, randn):
    """Train in torch for 5 steps, move model and optimizer to dlbook, train both 5 more."""
    ours, theirs = pair()
    topt = getattr(torch.optim, name)(theirs.parameters(), **KWARGS[name])
    for _ in range(5):
        topt.zero_grad()
        ((theirs(torch.tensor(randn(4, 5))) - torch.tensor(randn(4, 3))) ** 2).mean().backward()
        topt.step()
    ours.load_state_dict(theirs.state_dict())
    opt = getattr(optim, name)(ours.parameters())
    opt.load_state_dict(topt.state_dict())
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        backward(ours, theirs, randn(4, 5), randn(4, 3))
        opt.step()
        topt.step()
    for p, tp in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_load_state_dict_rejects_other_groups():
    m = nn.Linear(3, 2)
    opt = optim.Adam(m.parameters())
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict(optim.Adam([{"params": [m.weight]}, {"params": [m.bias]}])
                            .state_dict())
    with pytest.raises(ValueError, match="group of 1 parameters"):
        opt.load_state_dict(optim.Adam([m.weight]).state_dict())


def test_repr_lists_each_group():
    m = nn.Linear(3, 2)
    text = repr(optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1))
    assert text.startswith("SGD (") and "Parameter Group 1" in text
    assert "lr: 0.1" in text and "lr: 0.5" in text and "momentum: 0" in text


@pytest.mark.parametrize("params, error, match", [
    ([], ValueError, "empty parameter list"),
    (nn.Parameter(np.zeros(2)), TypeError, "iterable of Parameters"),
    ({nn.Parameter(np.zeros(2))}, TypeError, "ordered collections"),
    ([{"params": {nn.Parameter(np.zeros(2))}}], TypeError, "ordered collections"),
    ([np.zeros(2)], TypeError, "can only optimize dlbook Parameters"),
    ([{"params": [nn.Parameter(np.zeros(2))], "lr": -1.0}], ValueError, "Invalid learning rate"),
])
def test_bad_params_raise(params, error, match):
    with pytest.raises(error, match=match):
        optim.SGD(params)


def test_a_parameter_twice_raises():
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
