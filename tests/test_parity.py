"""dlbook.parity: compare() against torch, gradcheck(), and the report they return."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import dlbook.nn as nn
from dlbook import parity
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter
from dlbook.parity import ParityReport, ParityRow, compare, compare_arrays, gradcheck


class DoubledLinear(nn.Linear):
    """A deliberately wrong Linear: its weight gradient is twice the true one."""

    def backward(self, grad_out):
        grad_x = super().backward(grad_out)
        self.weight.grad = 2 * self.weight.grad
        return grad_x


class TorchPair(torch.nn.Module):
    """Returns a tuple, as LSTM or MultiheadAttention do: (2 x, sum of x^2)."""

    def forward(self, x, scale=2.0):
        return scale * x, (x ** 2).sum()


class NumpyPair(Module):
    def forward(self, x, scale=2.0):
        self.save_for_backward(x=x)
        return scale * x, np.sum(x ** 2)

    def backward(self, grad_out):  # gradient of the element compare() was told to pick
        g = np.asarray(grad_out)
        return 2 * g if g.ndim else 2 * self.saved.x * g


class TorchLookup(torch.nn.Module):
    """Integer input (an index array) and a running mean buffer updated by forward."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64))
        self.register_buffer("running_mean", torch.zeros(3, dtype=torch.float64))

    def forward(self, idx):
        out = self.weight[idx]
        with torch.no_grad():
            self.running_mean.mul_(0.9).add_(0.1 * out.reshape(-1, 3).mean(dim=0))
        return out


class NumpyLookup(Module):
    def __init__(self, forget_buffer=False):
        super().__init__()
        self.weight = Parameter(np.zeros((5, 3)))
        if not forget_buffer:
            self.register_buffer("running_mean", np.zeros(3))

    def forward(self, idx):
        assert np.issubdtype(idx.dtype, np.integer)
        out = self.weight.data[idx]
        if "running_mean" in self._buffers:
            mean = out.reshape(-1, 3).mean(axis=0)
            self.register_buffer("running_mean", 0.9 * self.running_mean + 0.1 * mean)
        self.save_for_backward(idx=idx)
        return out

    def backward(self, grad_out):
        grad_w = np.zeros_like(self.weight.data)
        np.add.at(grad_w, self.saved.idx, grad_out)
        self.weight.accumulate_grad(grad_w)
        return None


# -- compare -----------------------------------------------------------------------------------
def test_linear_float64_matches_on_every_device(device):
    torch.manual_seed(0)
    tm = torch.nn.Linear(4, 3).double()
    report = compare(nn.Linear(4, 3), tm, torch.randn(5, 4, dtype=torch.float64), device=device)
    assert report.ok, report
    assert [r.quantity for r in report.rows] == ["output", "grad input 0", "grad weight",
                                                 "grad bias"]
    assert report.worst < 1e-12
    assert report["grad weight"].shape == (3, 4)
    report.assert_ok()


def test_float32_uses_float32_tolerances_and_restores_tf32(device):
    torch.manual_seed(0)
    flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    dm = nn.Linear(16, 4)
    report = compare(dm, torch.nn.Linear(16, 4), x, device=device)
    assert report.ok, report
    assert dm.weight.data.dtype == np.float32 and "(float32)" in report.title
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == flags


def test_compare_loads_torch_weights_and_dtype_and_leaves_torch_module_alone():
    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2).double().eval()
    before = {k: v.clone() for k, v in tm.state_dict().items()}
    dm = nn.Linear(3, 2)
    compare(dm, tm, np.ones((2, 3), dtype=np.float32), device="cpu").assert_ok()
    assert dm.weight.data.dtype == np.float64  # float inputs take the module's dtype
    np.testing.assert_array_equal(dm.weight.data, before["weight"].numpy())
    assert dm.training is False  # the NumPy module takes torch's mode
    assert all(p.grad is None for p in tm.parameters())
    assert all(torch.equal(v, before[k]) for k, v in tm.state_dict().items())


def test_compare_catches_a_wrong_gradient():
    torch.manual_seed(0)
    report = compare(DoubledLinear(4, 3), torch.nn.Linear(4, 3).double(),
                     np.random.default_rng(0).standard_normal((5, 4)), device="cpu")
    assert not report.ok
    assert not report["grad weight"].ok and report["grad bias"].ok
    assert "1 of 4 FAIL" in str(report)
    with pytest.raises(AssertionError, match="grad weight"):
        report.assert_ok()


def test_compare_picks_an_element_of_a_tuple_output():
    x = np.random.default_rng(1).standard_normal((3, 4))
    first = compare(NumpyPair(), TorchPair(), x, device="cpu")
    second = compare(NumpyPair(), TorchPair(), x, device="cpu", output=1)
    assert first.ok and second.ok, (first, second)
    assert first["output"].shape == (3, 4) and second["output"].shape == ()
    scaled = compare(NumpyPair(), TorchPair(), x, device="cpu", forward_kwargs={"scale": 3.0})
    assert scaled["output"].ok and not scaled["grad input 0"].ok  # backward assumes scale 2


def test_integer_inputs_buffers_and_parameter_gradients():
    torch.manual_seed(0)
    idx = np.array([[0, 4, 4], [2, 1, 0]])
    report = compare(NumpyLookup(), TorchLookup(), idx, device="cpu")
    assert report.ok, report
    names = [r.quantity for r in report.rows]
    assert names == ["output", "buffer running_mean", "grad weight"]  # no input gradient
    missing = compare(NumpyLookup(forget_buffer=True), TorchLookup(), idx, device="cpu")
    with pytest.raises(AssertionError, match="running_mean"):
        missing.assert_ok()
    extra = NumpyLookup()
    extra.scale = Parameter(np.ones(2))
    extra_report = compare(extra, TorchLookup(), idx, device="cpu")
    assert not extra_report.ok and "scale (not in torch's state_dict)" in str(extra_report)


def test_losses_compare_the_prediction_gradient():
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    report = compare(nn.MSELoss(), torch.nn.MSELoss(), pred, target, device="cpu")
    assert report.ok, report
    assert [r.quantity for r in report.rows] == ["output", "grad input 0"]


def test_given_grad_out_is_used_and_checked():
    torch.manual_seed(0)
    x = np.random.default_rng(3).standard_normal((2, 3))
    g = np.zeros((2, 2))
    dm = nn.Linear(3, 2)
    compare(dm, torch.nn.Linear(3, 2).double(), x, grad_out=g, device="cpu").assert_ok()
    assert np.all(dm.weight.grad == 0)
    with pytest.raises(ValueError, match="grad_out has shape"):
        compare(nn.Linear(3, 2), torch.nn.Linear(3, 2).double(), x, grad_out=np.zeros(3))


def test_same_seed_same_report():
    torch.manual_seed(0)
    tm = torch.nn.Linear(4, 3).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    a = compare(nn.Linear(4, 3), tm, x, device="cpu", seed=7)
    b = compare(nn.Linear(4, 3), tm, x, device="cpu", seed=7)
    assert [r.max_abs for r in a.rows] == [r.max_abs for r in b.rows]


# -- the report ------------------------------------------------------------------------------
def test_report_text_is_rounded_to_machine_independent_buckets():
    rows = [ParityRow("output", (2, 3), 3.1e-17, 1.2e-16, True),
            ParityRow("grad weight", (3,), 2.3e-3, 4.0e-2, False)]
    report = ParityReport("Demo vs torch.nn.Demo (float64)", rows, floors=(1e-12, 1e-12))
    text = str(report)
    assert text.splitlines()[0] == "Demo vs torch.nn.Demo (float64): 1 of 2 FAIL"
    assert "< 1e-12" in text and "2e-03" in text and "4e-02" in text and "FAIL" in text
    assert "3.1e-17" not in text and repr(report) == text
    assert "3.10e-17" in report.table(exact=True)
    html = report._repr_html_()
    assert html.count("<tr>") == 3 and "<table>" in html and "&lt; 1e-12" in html
    assert report.worst == 2.3e-3 and not report.ok


def test_compare_arrays_errors():
    row = compare_arrays("x", np.array([1.0, 2.0]), np.array([1.0, 2.5]), rtol=0, atol=1e-3)
    assert row.max_abs == 0.5 and row.max_rel == pytest.approx(0.2) and not row.ok
    bad = compare_arrays("x", np.zeros(3), np.zeros(4), rtol=0, atol=1)
    assert not bad.ok and "shape" in bad.quantity


# -- gradcheck ---------------------------------------------------------------------------------
def test_gradcheck_linear_module_restores_it_and_keeps_analytic_grads():
    layer = nn.Linear(4, 3).double()
    weights = {k: v.copy() for k, v in layer.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((5, 4))
    x_before = x.copy()
    report = gradcheck(layer, x)
    assert report.ok, report
    assert [r.quantity for r in report.rows] == ["grad input 0", "grad weight", "grad bias"]
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, weights[k])
    np.testing.assert_array_equal(x, x_before)
    g = np.random.default_rng(0).standard_normal((5, 3))  # gradcheck's grad_out for seed 0
    np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=1e-12)


def test_gradcheck_catches_a_wrong_gradient():
    layer = DoubledLinear(3, 2).double()
    report = gradcheck(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert not report.ok and not report["grad weight"].ok and report["grad input 0"].ok


def test_gradcheck_of_a_function_pair():
    x = np.random.default_rng(2).standard_normal((3, 4))
    ok = gradcheck((np.tanh, lambda g: g * (1 - np.tanh(x) ** 2)), x)
    assert ok.ok and [r.quantity for r in ok.rows] == ["grad input 0"]
    wrong = gradcheck((np.tanh, lambda g: g * (1 - np.tanh(x))), x)
    assert not wrong.ok


def test_gradcheck_restores_buffers():
    torch.manual_seed(0)
    dm = NumpyLookup()
    dm.load_state_dict(TorchLookup().state_dict())
    before = dm.running_mean.copy()
    report = gradcheck(dm, np.array([0, 3, 3]))  # integer input: parameters only
    assert report.ok and [r.quantity for r in report.rows] == ["grad weight"]
    np.testing.assert_array_equal(dm.running_mean, before)


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(nn.Linear(3, 2), np.zeros((2, 3)))  # float32 parameters
    with pytest.raises(TypeError, match="float64"):
        gradcheck(nn.Linear(3, 2).double(), np.zeros((2, 3), dtype=np.float32))


def test_importing_dlbook_does_not_import_torch():
    code = ("import sys, dlbook, dlbook.nn, dlbook.parity, dlbook.autograd, dlbook.utils, "
            "dlbook.data; assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


class PromotingTanh(Module):
    """A deliberately wrong Tanh: right values, but computed and returned in float64."""

    def forward(self, x):
        self.save_for_backward(y=np.tanh(x.astype(np.float64)))
        return self.saved.y

    def backward(self, grad_out):
        return grad_out * (1 - self.saved.y ** 2)


class MutatingTanh(nn.Tanh):
    """A deliberately wrong Tanh: it scribbles on its input and on the upstream gradient."""

    def forward(self, x):
        out = super().forward(x)
        x[...] = 0
        return out

    def backward(self, grad_out):
        grad = super().backward(grad_out)
        grad_out[...] = 0
        return grad


def test_compare_fails_rows_whose_dtype_differs_from_torch():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    report = compare(PromotingTanh(), torch.nn.Tanh(), x, device="cpu")
    assert not report.ok
    assert report.rows[0].quantity == "output (dtype float64 vs float32)"
    assert report.rows[0].max_abs < 1e-6  # the values agree: only the dtype is wrong
    assert not compare_arrays("x", np.ones(2, np.float32), np.ones(2), 1e-7, 1e-9).ok


def test_compare_passes_the_callers_arrays_and_fails_if_they_change():
    x = np.random.default_rng(0).standard_normal((3, 4))
    report = compare(MutatingTanh(), torch.nn.Tanh(), x, device="cpu")
    names = [r.quantity for r in report.rows if not r.ok]
    assert "input 0 (changed in place by MutatingTanh)" in names
    assert "grad_out (changed in place by backward)" in names
    assert compare(nn.Tanh(), torch.nn.Tanh(), x, device="cpu").ok


def test_float64_default_tolerance_is_1e_10():
    ref = np.ones(3)
    assert not compare_arrays("x", ref + 1e-9, ref, *parity.TOLERANCES[np.dtype(np.float64)]).ok
    assert compare_arrays("x", ref + 1e-11, ref, *parity.TOLERANCES[np.dtype(np.float64)]).ok
