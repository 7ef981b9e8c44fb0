"""dlbook.nn.Module: registration with torch's names, state dicts, modes, gradients, errors."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import dlbook.nn as nn
from dlbook.nn import Module, Parameter


class Block(Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = Parameter(np.ones(4))
        self.register_buffer("running", np.zeros(4))
        self.inner = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2, bias=False))


class Net(Module):
    def __init__(self):
        super().__init__()
        self.embed = Parameter(np.zeros((5, 3)))
        self.block = Block()
        self.blocks = nn.Sequential(Block(), Block())


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.scale = torch.nn.Parameter(torch.ones(4))
        self.register_buffer("running", torch.zeros(4))
        self.inner = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2, bias=False))


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.zeros(5, 3))
        self.block = TorchBlock()
        self.blocks = torch.nn.Sequential(TorchBlock(), TorchBlock())


def shapes(named) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in named]


def test_names_and_shapes_equal_torchs_for_the_same_structure():
    ours, theirs = Net(), TorchNet()
    assert shapes(ours.named_parameters()) == shapes(theirs.named_parameters())
    assert shapes(ours.named_buffers()) == shapes(theirs.named_buffers())
    assert shapes(ours.state_dict().items()) == shapes(theirs.state_dict().items())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["embed"]


def test_shared_parameter_is_listed_once_as_in_torch():
    ours, theirs = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3)), \
        torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    ours[1].weight = ours[0].weight
    theirs[1].weight = theirs[0].weight
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert set(ours.state_dict()) == set(theirs.state_dict())  # both copies of the tied weight


def test_reassigning_a_parameter_keeps_its_place_as_in_torch():
    ours, theirs = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    ours.weight = nn.Parameter(np.zeros((3, 3)))
    theirs.weight = torch.nn.Parameter(torch.zeros(3, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]


def test_reassigning_an_attribute_moves_it_between_registries():
    m = Block()
    m.fc = 3  # no longer a child module
    assert "fc" not in dict(m.named_children()) and m.fc == 3
    m.scale = None  # a None that is not weight/bias is a plain attribute
    assert "scale" not in dict(m.named_parameters())
    m.weight = None  # an absent optional parameter, as torch keeps it
    assert m.weight is None and "weight" not in m.state_dict()


def test_assigning_a_registered_buffer_keeps_it_a_buffer():
    m = Block()
    m.running = np.ones(4)
    assert "running" in m.state_dict()
    np.testing.assert_array_equal(m.state_dict()["running"], np.ones(4))


def test_typos_raise_instead_of_returning_none():
    with pytest.raises(AttributeError, match="no attribute 'wieght'"):
        nn.Linear(2, 2).wieght  # noqa: B018


def test_setattr_before_init_is_a_clear_error():
    class Forgot(Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="Module.__init__"):
        Forgot()


def test_state_dict_round_trip_is_a_copy():
    m = Net()
    sd = m.state_dict()
    sd["block.fc.weight"][...] = 7.0  # a copy: the module is unchanged
    assert not np.any(m.block.fc.weight.data == 7.0)
    other = Net()
    other.load_state_dict(sd)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, sd[key])
    assert other.block.fc.weight.data is not sd["block.fc.weight"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_load_state_dict_from_torch_keeps_torchs_dtype(dtype):
    theirs = TorchNet().to(dtype)
    ours = Net()
    ours.load_state_dict(theirs.state_dict())
    want = np.float64 if dtype == torch.float64 else np.float32
    for key, value in ours.state_dict().items():
        assert value.dtype == want, key
        np.testing.assert_array_equal(value, theirs.state_dict()[key].numpy())


def test_load_state_dict_clear_errors():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['bias'\]"):
        m.load_state_dict({"weight": sd["weight"]})
    with pytest.raises(KeyError, match=r"unexpected keys \['extra'\]"):
        m.load_state_dict({**sd, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 3\)"):
        m.load_state_dict({"weight": np.zeros((3, 3)), "bias": sd["bias"]})
    m.load_state_dict({"weight": np.ones((2, 3))}, strict=False)  # partial load allowed
    np.testing.assert_array_equal(m.weight.data, np.ones((2, 3)))


def test_backward_before_forward_is_a_clear_error():
    for m in (nn.Linear(3, 2), nn.Flatten(), nn.Sequential(nn.Linear(3, 2))):
        with pytest.raises(RuntimeError, match="before forward"):
            m.backward(np.zeros((1, 2)))


def test_wrong_input_dtype_and_shape_are_clear_errors():
    m = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="floating"):
        m(np.zeros((4, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="torch tensor"):
        m(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="in_features = 3"):
        m(np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="float64.*float32"):  # torch raises too
        m(np.zeros((4, 3)))


def test_train_and_eval_propagate_to_every_submodule():
    m = Net()
    assert m.eval() is m
    assert all(not sub.training for sub in m.modules())
    m.blocks.train()
    assert m.blocks[1].inner[0].training and not m.block.training
    m.train()
    assert all(sub.training for sub in m.modules())


def test_zero_grad():
    m = nn.Sequential(nn.Linear(3, 2).double())
    m(np.ones((1, 3)))
    m.backward(np.ones((1, 2)))
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_gradients_accumulate_over_two_backwards_as_in_torch():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)).double()
    ours = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 3))
    ours.load_state_dict(theirs.state_dict())
    for _ in range(2):
        x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
        ours(x)
        ours.backward(g)
        theirs(torch.tensor(x)).backward(torch.tensor(g))
    tgrads = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name], rtol=1e-10, atol=1e-12)


def test_to_double_and_float_cast_parameters_and_grads():
    m = nn.Linear(3, 2)
    assert m.weight.dtype == np.float32
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    m(np.ones((1, 3)))
    m.backward(np.ones((1, 2)))
    m.float()
    assert m.weight.grad.dtype == np.float32


def test_repr_matches_torch_for_sequential_of_linear():
    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2, bias=False))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2, bias=False))
    assert repr(ours) == repr(theirs)
    named = nn.Sequential(OrderedDict(first=nn.Linear(2, 2)))
    assert [n for n, _ in named.named_parameters()] == ["first.weight", "first.bias"]
