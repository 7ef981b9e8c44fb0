"""dlbook.nn.Sequential against torch.nn.Sequential: forward, backward, names, indexing."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import dlbook.nn as nn
from dlbook.parity import compare, gradcheck


def pair(sizes: list[int], dtype=torch.float64):
    torch.manual_seed(0)
    theirs, ours = [], []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        theirs.append(torch.nn.Linear(a, b, bias=i % 2 == 0))
        ours.append(nn.Linear(a, b, bias=i % 2 == 0))
    return nn.Sequential(*ours), torch.nn.Sequential(*theirs).to(dtype)


@pytest.mark.parametrize("shape", [(1, 6), (5, 6), (2, 3, 6)])
def test_sequential_of_linear_float64(shape, device, randn):
    ours, theirs = pair([6, 5, 4, 3])
    report = compare(ours, theirs, randn(*shape), device=device, rtol=1e-10, atol=1e-12)
    assert report.ok, report
    names = [r.quantity for r in report.rows]
    assert names == ["output", "grad input 0", "grad 0.weight", "grad 0.bias", "grad 1.weight",
                     "grad 2.weight", "grad 2.bias"]


def test_sequential_of_linear_float32(device, randn):
    ours, theirs = pair([8, 7, 3], dtype=torch.float32)
    report = compare(ours, theirs, randn(4, 8, dtype=np.float32), device=device)
    assert report.ok, report
    assert ours[0].weight.dtype == np.float32


def test_sequential_with_flatten_and_activation(device, randn):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 2)).double()
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 2))
    report = compare(ours, theirs, randn(3, 3, 4), device=device, rtol=1e-10, atol=1e-12)
    assert report.ok, report


def test_sequential_gradcheck(randn):
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    assert gradcheck(net, randn(5, 4)).ok


def test_backward_walks_the_chain_in_reverse(randn):
    a, b = nn.Linear(3, 4).double(), nn.Linear(4, 2).double()
    x, g = randn(5, 3), randn(5, 2)
    net = nn.Sequential(a, b)
    out = net(x)
    np.testing.assert_array_equal(out, b(a(x)))
    grad_x = net.backward(g)
    np.testing.assert_allclose(grad_x, g @ b.weight.data @ a.weight.data, rtol=1e-13)


def test_indexing_slicing_len_iter_append():
    layers = [nn.Linear(2, 3), nn.Linear(3, 4), nn.Linear(4, 5)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and list(net) == layers
    assert net[1] is layers[1] and net[-1] is layers[2]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert head[0] is layers[0]  # a slice shares the modules
    assert net.append(nn.Linear(5, 1)) is net and len(net) == 4
    assert [n for n, _ in net.named_parameters()][-2:] == ["3.weight", "3.bias"]


def test_ordered_dict_names_as_torch():
    ours = nn.Sequential(OrderedDict(hidden=nn.Linear(2, 3), out=nn.Linear(3, 1)))
    theirs = torch.nn.Sequential(OrderedDict(hidden=torch.nn.Linear(2, 3),
                                             out=torch.nn.Linear(3, 1)))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_non_module_argument_is_a_clear_error():
    with pytest.raises(TypeError, match="argument 1 is a function"):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)


def test_slicing_keeps_names_as_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert list(ours[2:].state_dict()) == list(theirs[2:].state_dict()) == ["2.weight", "2.bias"]
    assert ours[1:][1] is ours[2]
    layers = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    part = layers[1:]
    assert isinstance(part, nn.ModuleList) and list(part) == [layers[1], layers[2]]
    assert [n for n, _ in part.named_children()] == ["0", "1"]  # renumbered, as torch


def test_shared_submodule_named_once_but_saved_under_each_name_as_torch():
    shared, t_shared = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    ours = nn.Sequential(shared, nn.Tanh(), shared)
    theirs = torch.nn.Sequential(t_shared, torch.nn.Tanh(), t_shared)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
