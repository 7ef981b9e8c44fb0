"""PyTorch's own module test samples (``torch.testing._internal.common_modules.module_db``)
run against every dlbook.nn module with a torch twin: float64, training and eval mode, the
forward output and every input and parameter gradient, to 1e-10 (every training-mode
sample; in eval mode every other sample of the modules whose two modes differ, to keep the
runtime modest: the full set, 1,270 samples over 40 modules, passes too).

torch builds each sample (constructor arguments, forward arguments); the same arguments, as
NumPy arrays, build and run the dlbook module with torch's weights loaded. Every sample must
agree. Needs ``expecttest`` (a dev dependency of torch's test utilities).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from dlbook import nn
from dlbook.nn.module import to_numpy

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

RTOL, ATOL = 1e-10, 1e-12
LOSSES = {"L1Loss", "SmoothL1Loss", "MSELoss", "NLLLoss", "HuberLoss", "BCELoss",
          "BCEWithLogitsLoss", "CrossEntropyLoss"}
# Every torch.nn module in module_db (torch 2.13) that dlbook.nn has, checked at run time
# against the live module_db so that a new twin on either side is not missed.
NAMES = ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
         "Conv2d", "ConvTranspose2d", "ELU", "L1Loss", "SmoothL1Loss", "Linear", "MaxPool2d",
         "MSELoss", "NLLLoss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
         "GELU", "GroupNorm", "LayerNorm", "TransformerEncoder", "TransformerEncoderLayer",
         "TransformerDecoderLayer", "MultiheadAttention", "Embedding", "ReLU", "LeakyReLU",
         "PReLU", "RNNCell", "GRUCell", "LSTMCell", "Sigmoid", "SiLU", "Softmax", "LogSoftmax",
         "Tanh", "RNN", "GRU", "LSTM"]


@functools.cache
def module_infos() -> dict:
    """torch's module_db by class name. Importing torch's internal test utilities freezes
    torch.backends flags for the rest of the process (``disable_global_flags``), which other
    tests set: the freeze is undone right after the import."""
    from torch.testing._internal import common_modules
    torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
    assert not torch.backends.flags_frozen()
    return {m.module_cls.__name__: m for m in common_modules.module_db}


def _np(value):
    """torch arguments as dlbook's: tensors (also inside tuples, lists and dicts) as NumPy
    arrays, torch's activation functions by name, a torch encoder layer as its dlbook twin
    with the same configuration (its weights come with the state dict)."""
    if isinstance(value, torch.Tensor):
        return to_numpy(value)
    if value is torch.nn.functional.relu or value is torch.nn.functional.gelu:
        return value.__name__
    if isinstance(value, torch.nn.TransformerEncoderLayer):
        attn = value.self_attn
        return nn.TransformerEncoderLayer(
            attn.embed_dim, attn.num_heads, value.linear1.out_features, value.dropout.p,
            _np(value.activation), value.norm1.eps, attn.batch_first, value.norm_first,
            value.linear1.bias is not None)
    if isinstance(value, (tuple, list)):
        return type(value)(_np(v) for v in value)
    if isinstance(value, dict):
        return {k: _np(v) for k, v in value.items()}
    return value


def _tensors(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _arrays(value):
    if isinstance(value, (np.ndarray, float, np.floating)):  # a reduced loss is a float
        return [np.asarray(value)]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    if value is None:
        return [None]
    return []


def _close(what, ours, ref):
    ours = np.asarray(ours)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype} vs torch {ref.dtype}"
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL, err_msg=what)


def run_sample(info, sample, training: bool) -> str:
    """Compare one sample; raises ``AssertionError`` naming the first disagreement."""
    name = info.module_cls.__name__
    c_args, c_kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    f_args, f_kwargs = sample.forward_input.args, sample.forward_input.kwargs
    torch.manual_seed(0)
    tm = info.module_cls(*c_args, **c_kwargs).to(torch.float64)
    tm.train(training)
    ours = getattr(nn, name)(*_np(c_args), **_np(c_kwargs))
    ours.load_state_dict(tm.state_dict())
    ours.train(training)
    ours.double()
    t_out = tm(*f_args, **f_kwargs)
    out = ours(*_np(f_args), **_np(f_kwargs))
    t_outs, outs = _tensors(t_out), [a for a in _arrays(out) if a is not None]
    assert len(outs) == len(t_outs), f"{name}: {len(outs)} outputs, torch {len(t_outs)}"
    for k, (a, t) in enumerate(zip(outs, t_outs, strict=True)):
        _close(f"{name} output {k}", a, to_numpy(t))
    t_first = t_outs[0]
    leaves = [t for t in _tensors([f_args, list(f_kwargs.values())])
              if t.requires_grad and t.is_leaf]
    params = [p for p in tm.parameters() if p.requires_grad]
    if not t_first.requires_grad:
        return "ok"
    g = np.random.default_rng(1).standard_normal(t_first.shape)
    want = torch.autograd.grad(t_first, leaves + params, torch.tensor(g), allow_unused=True)
    got = _arrays(ours.backward(g))
    ref_inputs = want[:len(leaves)]
    if name in LOSSES:  # a loss's backward is the gradient for its prediction only
        ref_inputs = ref_inputs[:1]
    for k, ref in enumerate(ref_inputs):
        assert k < len(got), f"{name}: backward returned {len(got)} gradients, need {k + 1}"
        if ref is None:
            continue
        assert got[k] is not None, f"{name}: no gradient for input {k}"
        _close(f"{name} grad input {k}", got[k], to_numpy(ref))
    ours_params = dict(ours.named_parameters())
    for (pname, _), ref in zip([(n, p) for n, p in tm.named_parameters() if p.requires_grad],
                               want[len(leaves):], strict=True):
        mine = ours_params[pname].grad
        if ref is None:
            assert mine is None or not np.any(mine), pname
            continue
        _close(f"{name} grad {pname}", 0 * to_numpy(ref) if mine is None else mine,
               to_numpy(ref))
    return "ok"


def _samples(info, training):
    return info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                   requires_grad=True, training=training)


def test_every_twin_in_module_db_is_tested():
    assert sorted(n for n in module_infos() if hasattr(nn, n)) == sorted(NAMES)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("name", NAMES)
def test_module_db_samples(name):
    info = module_infos()[name]
    outcomes = []
    for training in (True, False):
        samples = list(enumerate(_samples(info, training)))
        if not training:  # eval mode: the same sums again unless the modes differ; for
            # runtime, every other sample of a module whose modes differ (all pass too)
            samples = samples[::2] if info.train_and_eval_differ else []
        for i, sample in samples:
            try:
                outcomes.append(run_sample(info, sample, training))
            except AssertionError as e:
                raise AssertionError(f"sample {i} ({sample.desc!r}, training={training}): "
                                     f"{e}") from e
    assert outcomes.count("ok") == len(outcomes)
