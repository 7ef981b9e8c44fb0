"""dlbook.optim.lr_scheduler against torch.optim.lr_scheduler: the learning-rate sequences."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.nn as nn
import dlbook.optim as optim
from dlbook.optim import lr_scheduler as sched

STEPS = 40


def optimizers(name: str = "SGD", lrs=(0.1, 0.03), **kwargs):
    """A dlbook and a torch optimizer, each with one param group per entry of ``lrs``."""
    ours = [{"params": [nn.Parameter(np.zeros(2))], "lr": lr} for lr in lrs]
    theirs = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return (getattr(optim, name)(ours, lr=lrs[0], **kwargs),
            getattr(torch.optim, name)(theirs, lr=lrs[0], **kwargs))


def lr_sequences(make, steps: int = STEPS, name: str = "SGD", lrs=(0.1, 0.03), keys=("lr",),
                 **kwargs):
    """The values of ``keys`` in every group after construction and after each step."""
    opt, topt = optimizers(name, lrs, **kwargs)
    ours, theirs = make(sched, opt), make(torch.optim.lr_scheduler, topt)
    got, want = [], []
    for _ in range(steps + 1):
        got.append([[g[k] for k in keys] for g in opt.param_groups] + [ours.get_last_lr()])
        want.append([[g[k] for k in keys] for g in topt.param_groups] + [theirs.get_last_lr()])
        opt.step()
        topt.step()
        ours.step()
        theirs.step()
    return got, want


CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-default-gamma": lambda m, o: m.StepLR(o, step_size=3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30),
    "CosineAnnealingLR-past-T_max": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "LinearLR-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=8),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                              total_iters=20),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e),
                                                      lambda e: e // 10 + 1]),
    "SequentialLR-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=5), m.CosineAnnealingLR(o, T_max=25)],
        milestones=[5]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.2, total_iters=3), m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=4, gamma=0.5)], milestones=[6, 15]),
    "SequentialLR-nested": lambda m, o: m.SequentialLR(
        o, [m.SequentialLR(o, [m.LinearLR(o, total_iters=3), m.ExponentialLR(o, gamma=0.9)],
                           milestones=[3]),
            m.CosineAnnealingLR(o, T_max=10)], milestones=[12]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=STEPS + 1),
    "OneCycleLR-linear-three-phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.5, epochs=3, steps_per_epoch=14, anneal_strategy="linear", three_phase=True,
        pct_start=0.25),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS,
                                                        cycle_momentum=False),
}


@pytest.mark.filterwarnings("ignore:Detected call of")  # torch's, for its nested SequentialLR
@pytest.mark.parametrize("case", sorted(CASES))
def test_lr_sequence_equals_torch(case):
    """Exactly equal: the same float arithmetic in the same order."""
    kwargs = dict(momentum=0.9) if case.startswith("OneCycleLR") else {}
    keys = ("lr", "momentum") if kwargs else ("lr",)
    steps = STEPS - 1 if case == "OneCycleLR-no-momentum" else STEPS
    got, want = lr_sequences(CASES[case], steps=steps, keys=keys, **kwargs)
    assert got == want


def test_one_cycle_cycles_adam_beta1_as_torch():
    def make(m, o):
        return m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=40, pct_start=0.25)
    got, want = lr_sequences(make, steps=39, name="Adam", keys=("lr", "betas"))
    assert got == want
    lrs = [row[0][0] for row in got]
    beta1 = [row[0][1][0] for row in got]
    assert lrs[0] == pytest.approx(0.1 / 25) and beta1[0] == pytest.approx(0.95)
    assert max(lrs) == pytest.approx(0.1) and lrs.index(max(lrs)) == 9  # 25% of 40 steps
    assert beta1[9] == pytest.approx(0.85)  # momentum moves opposite to the learning rate
    assert lrs[-1] == pytest.approx(0.1 / 25 / 1e4, rel=1e-3)


def test_warmup_then_cosine_shape():
    """Independent of torch: the closed forms of the warmup and the cosine."""
    opt, _ = optimizers(lrs=(0.1,))
    warmup = sched.LinearLR(opt, start_factor=0.1, total_iters=5)
    cosine = sched.CosineAnnealingLR(opt, T_max=20, eta_min=0.0)
    s = sched.SequentialLR(opt, [warmup, cosine], milestones=[5])
    lrs = []
    for _ in range(25):
        lrs.append(s.get_last_lr()[0])
        s.step()
    np.testing.assert_allclose(lrs[:5], 0.1 * (0.1 + 0.9 * np.arange(5) / 5), rtol=1e-12)
    t = np.arange(20)
    np.testing.assert_allclose(lrs[5:], 0.05 * (1 + np.cos(np.pi * t / 20)), rtol=1e-12,
                               atol=1e-15)


@settings(max_examples=15, deadline=None)
@given(gamma=st.floats(0.1, 1.0), step_size=st.integers(1, 9), t_max=st.integers(1, 15),
       eta_min=st.sampled_from([0.0, 1e-4]), lr=st.floats(1e-4, 1.0))
def test_drawn_hyperparameters_equal_torch(gamma, step_size, t_max, eta_min, lr):
    for make in (lambda m, o: m.StepLR(o, step_size=step_size, gamma=gamma),
                 lambda m, o: m.ExponentialLR(o, gamma=gamma),
                 lambda m, o: m.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min)):
        got, want = lr_sequences(make, steps=30, lrs=(lr,))
        assert got == want


@pytest.mark.parametrize("case,kwargs", [("CosineAnnealingLR", dict(T_max=30)),
                                         ("StepLR", dict(step_size=7)),
                                         ("ExponentialLR", dict(gamma=0.9))])
def test_resume_with_last_epoch_equals_torch(case, kwargs):
    """``last_epoch >= 0`` resumes from the groups' ``initial_lr`` (a checkpoint's)."""
    def make(m, o):
        for group in o.param_groups:
            group["initial_lr"] = group["lr"] * 2
        return getattr(m, case)(o, last_epoch=6, **kwargs)
    got, want = lr_sequences(make, steps=15)
    assert got == want


def test_state_dict_round_trip_continues_the_schedule():
    opt, _ = optimizers()
    s = sched.SequentialLR(opt, [sched.LinearLR(opt, total_iters=4),
                                 sched.CosineAnnealingLR(opt, T_max=20)], milestones=[4])
    for _ in range(9):
        s.step()
    saved = s.state_dict()
    lrs = [g["lr"] for g in opt.param_groups]
    expected = []
    for _ in range(5):
        s.step()
        expected.append(s.get_last_lr())
    opt2, _ = optimizers()
    s2 = sched.SequentialLR(opt2, [sched.LinearLR(opt2, total_iters=4),
                                   sched.CosineAnnealingLR(opt2, T_max=20)], milestones=[4])
    s2.load_state_dict(saved)
    for group, lr in zip(opt2.param_groups, lrs, strict=True):
        group["lr"] = lr  # the optimizer's own state dict carries its learning rates
    got = []
    for _ in range(5):
        s2.step()
        got.append(s2.get_last_lr())
    assert got == expected


def test_lambda_state_dict_leaves_out_the_functions():
    opt, _ = optimizers()
    state = sched.LambdaLR(opt, lambda e: 1.0).state_dict()
    assert "lr_lambdas" not in state and "optimizer" not in state
    assert state["last_epoch"] == 0 and state["base_lrs"] == [0.1, 0.03]


def test_scheduler_errors():
    opt, topt = optimizers()
    with pytest.raises(TypeError, match="not a dlbook Optimizer"):
        sched.StepLR(topt, step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        sched.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="lr_lambda"):
        sched.LambdaLR(opt, [lambda e: 1.0])
    a, b = sched.StepLR(opt, 2), sched.StepLR(opt, 3)
    with pytest.raises(ValueError, match="one milestone fewer"):
        sched.SequentialLR(opt, [a, b], milestones=[])
    opt2, _ = optimizers()
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [a, sched.StepLR(opt2, 2)], milestones=[3])
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    adagrad = optim.Adagrad([nn.Parameter(np.zeros(2))])
    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    one_cycle = sched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        one_cycle.step()


def test_torch_emits_no_warning_for_the_call_order_used_here():
    """The comparisons above call optimizer.step() before scheduler.step(), as torch asks."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, want = lr_sequences(CASES["StepLR"], steps=3)
    assert got == want and math.isclose(got[-1][0][0], 0.1)
