"""The benchmark cases: a dlbook computation and its torch twin, built with the same weights.

``case.build(dtype, batch, device)`` returns a :class:`Pair` of step functions. Each step
returns its result (an output, an input gradient, a loss), so a test can check that the two
sides of every case compute the same thing: a benchmark of unequal work is worthless.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook import nn, optim

# Largest allowed median time ratio NumPy/torch, by kind, in float32 (issue targets).
# Every float64 case has the target 1.0: there torch has no fast low-precision kernels to win with.
FLOAT32_TARGETS = {"conv": 2.5, "lstm": 1.5, "gru": 1.5}
DEFAULT_TARGET = 1.0


@dataclass(frozen=True)
class Pair:
    """One step of work for each side; both return what they computed."""

    numpy_step: Callable[[], Any]
    torch_step: Callable[[], Any]


@dataclass(frozen=True)
class BenchCase:
    """A named computation, timed at several dtypes and batch sizes.

    ``build(dtype, batch, device)`` makes fresh modules and inputs; ``batches`` are the batch
    sizes it runs at (``quick`` runs use the largest only).
    """

    name: str
    kind: str
    build: Callable[[np.dtype, int, str], Pair]
    batches: tuple[int, ...] = (1, 64)

    def target(self, dtype: np.dtype | str) -> float:
        if np.dtype(dtype) == np.float64:
            return DEFAULT_TARGET
        return FLOAT32_TARGETS.get(self.kind, DEFAULT_TARGET)


def _torch_dtype(dtype: np.dtype) -> Any:
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]


def layer_pair(np_module: nn.Module, torch_module: Any, x_shape: tuple[int, ...],
               dtype: np.dtype, device: str, seed: int = 0) -> Pair:
    """Forward and backward of one layer with a fixed upstream gradient, on both sides.

    The torch module's weights (moved to ``dtype`` and ``device``) are loaded into the dlbook
    module, so both compute the same function of the same input.
    """
    import torch

    rng = np.random.default_rng(seed)
    torch_module = torch_module.to(device=device, dtype=_torch_dtype(dtype))
    np_module.load_state_dict(torch_module.state_dict())
    x = rng.standard_normal(x_shape).astype(dtype)
    grad_out = rng.standard_normal(np_module(x).shape).astype(dtype)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    grad_t = torch.tensor(grad_out, device=device)

    def numpy_step() -> np.ndarray:
        np_module(x)
        return np_module.backward(grad_out)

    def torch_step() -> Any:
        x_t.grad = None
        torch_module(x_t).backward(grad_t)
        return x_t.grad

    return Pair(numpy_step, torch_step)


def training_pair(np_model: nn.Module, torch_model: Any,
                  batches: list[tuple[np.ndarray, np.ndarray]], dtype: np.dtype, device: str,
                  lr: float = 0.01) -> Pair:
    """SGD with cross-entropy over ``batches`` in a fixed order (one batch: one step; the
    training set: an epoch), on both sides; each step returns the last loss."""
    import torch

    torch_model = torch_model.to(device=device, dtype=_torch_dtype(dtype))
    np_model.load_state_dict(torch_model.state_dict())
    batches = [(x.astype(dtype), y) for x, y in batches]
    np_crit, np_opt = nn.CrossEntropyLoss(), optim.SGD(np_model.parameters(), lr=lr)
    torch_crit = torch.nn.CrossEntropyLoss()
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=lr)
    torch_batches = [(torch.tensor(x, device=device), torch.tensor(y, device=device))
                     for x, y in batches]

    def numpy_step() -> float:
        for x, y in batches:
            np_opt.zero_grad()
            loss = np_crit(np_model(x), y)
            np_model.backward(np_crit.backward())
            np_opt.step()
        return loss

    def torch_step() -> Any:
        for x, y in torch_batches:
            torch_opt.zero_grad()
            loss = torch_crit(torch_model(x), y)
            loss.backward()
            torch_opt.step()
        return loss.detach()

    return Pair(numpy_step, torch_step)


# -- the cases ---------------------------------------------------------------------------------


def _mlp(dtype: np.dtype, batch: int, device: str) -> Pair:
    import torch

    sizes = (64, 128, 128, 10)

    def layers(lib: Any) -> list[Any]:
        out: list[Any] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
            out += [lib.Linear(fan_in, fan_out)] + ([lib.ReLU()] if i < len(sizes) - 2 else [])
        return out

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, sizes[0])), rng.integers(0, sizes[-1], batch)
    return training_pair(nn.Sequential(*layers(nn)), torch.nn.Sequential(*layers(torch.nn)),
                         [(x, y)], dtype, device)


def _conv(in_ch: int, out_ch: int, k: int, size: int, **kwargs: Any
          ) -> Callable[[np.dtype, int, str], Pair]:
    def build(dtype: np.dtype, batch: int, device: str) -> Pair:
        import torch

        return layer_pair(nn.Conv2d(in_ch, out_ch, k, **kwargs),
                          torch.nn.Conv2d(in_ch, out_ch, k, **kwargs),
                          (batch, in_ch, size, size), dtype, device)
    return build


def _layernorm(dtype: np.dtype, batch: int, device: str) -> Pair:
    import torch

    return layer_pair(nn.LayerNorm(64), torch.nn.LayerNorm(64), (batch, 32, 64), dtype, device)


def _maxpool(dtype: np.dtype, batch: int, device: str) -> Pair:
    import torch

    return layer_pair(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (batch, 16, 16, 16), dtype, device)


def _batchnorm(dtype: np.dtype, batch: int, device: str) -> Pair:
    import torch

    return layer_pair(nn.BatchNorm2d(32), torch.nn.BatchNorm2d(32), (batch, 32, 16, 16),
                      dtype, device)


def _recurrent(name: str, input_size: int = 32, hidden_size: int = 64, steps: int = 20
               ) -> Callable[[np.dtype, int, str], Pair]:
    """Forward and backward of ``nn.LSTM``/``nn.GRU`` through ``steps`` time steps."""
    def build(dtype: np.dtype, batch: int, device: str) -> Pair:
        import torch

        ours = getattr(nn, name)(input_size, hidden_size)
        theirs = getattr(torch.nn, name)(input_size, hidden_size).to(
            device=device, dtype=_torch_dtype(dtype))
        ours.load_state_dict(theirs.state_dict())
        rng = np.random.default_rng(0)
        x = rng.standard_normal((steps, batch, input_size)).astype(dtype)
        grad_out = rng.standard_normal((steps, batch, hidden_size)).astype(dtype)
        x_t = torch.tensor(x, device=device, requires_grad=True)
        grad_t = torch.tensor(grad_out, device=device)

        def numpy_step() -> np.ndarray:
            ours(x)
            return ours.backward(grad_out)

        def torch_step() -> Any:
            x_t.grad = None
            theirs(x_t)[0].backward(grad_t)
            return x_t.grad

        return Pair(numpy_step, torch_step)
    return build


def _attention(dtype: np.dtype, batch: int, device: str) -> Pair:
    """Self-attention forward and backward: 64 features, 4 heads, 32 positions, causal."""
    import torch

    from dlbook.nn.attention_functional import causal_mask

    ours, theirs = nn.MultiheadAttention(64, 4, batch_first=True), torch.nn.MultiheadAttention(
        64, 4, batch_first=True).to(device=device, dtype=_torch_dtype(dtype))
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 32, 64)).astype(dtype)
    grad_out = rng.standard_normal(x.shape).astype(dtype)
    mask = causal_mask(32, dtype)
    x_t = torch.tensor(x, device=device, requires_grad=True)
    grad_t, mask_t = torch.tensor(grad_out, device=device), torch.tensor(mask, device=device)

    def numpy_step() -> np.ndarray:
        ours(x, x, x, attn_mask=mask, need_weights=False)
        return sum(ours.backward(grad_out))

    def torch_step() -> Any:
        x_t.grad = None
        theirs(x_t, x_t, x_t, attn_mask=mask_t, need_weights=False)[0].backward(grad_t)
        return x_t.grad

    return Pair(numpy_step, torch_step)


def _lenet_epoch(dtype: np.dtype, batch: int, device: str) -> Pair:
    """One epoch of SGD over the digits training set, batches in a fixed order."""
    from dlbook.data import load_digits_split
    from dlbook.models import lenet5, lenet5_torch

    data = load_digits_split(seed=0, dtype=dtype)
    x, y = data.X_train.reshape(-1, 1, 8, 8), data.y_train
    batches = [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(x), batch)]
    return training_pair(lenet5(), lenet5_torch(), batches, dtype, device)


def _gpt_step(dtype: np.dtype, batch: int, device: str) -> Pair:
    """One Adam step of a tiny GPT (2 layers, width 64) on a batch of 32-token sequences."""
    import torch

    from dlbook.models import TinyGPT, tiny_gpt_torch

    config = dict(vocab_size=65, context=32, d_model=64, nhead=4, num_layers=2)
    theirs = tiny_gpt_torch(**config).to(device=device, dtype=_torch_dtype(dtype))
    ours = TinyGPT(**config)
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, config["vocab_size"], (batch, config["context"] + 1))
    x, y = tokens[:, :-1], tokens[:, 1:].reshape(-1)
    np_crit, np_opt = nn.CrossEntropyLoss(), optim.Adam(ours.parameters(), lr=1e-3)
    torch_crit, torch_opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(
        theirs.parameters(), lr=1e-3)
    x_t, y_t = torch.tensor(x, device=device), torch.tensor(y, device=device)

    def numpy_step() -> float:
        np_opt.zero_grad()
        loss = np_crit(ours(x).reshape(len(y), -1), y)
        ours.backward(np_crit.backward().reshape(batch, config["context"], -1))
        np_opt.step()
        return loss

    def torch_step() -> Any:
        torch_opt.zero_grad()
        loss = torch_crit(theirs(x_t).reshape(len(y), -1), y_t)
        loss.backward()
        torch_opt.step()
        return loss.detach()

    return Pair(numpy_step, torch_step)


CASES: tuple[BenchCase, ...] = (
    BenchCase("MLP training step 64-128-128-10", "mlp", _mlp),
    BenchCase("Conv2d LeNet 6->16 5x5 on 14x14", "conv", _conv(6, 16, 5, 14)),
    BenchCase("Conv2d ResNet 32->32 3x3 on 16x16", "conv", _conv(32, 32, 3, 16, padding=1)),
    BenchCase("Conv2d 16->32 3x3 pad 1 on 16x16", "conv", _conv(16, 32, 3, 16, padding=1),
              batches=(1, 32)),
    BenchCase("Conv2d depthwise 32 3x3 on 16x16", "conv",
              _conv(32, 32, 3, 16, padding=1, groups=32)),
    BenchCase("MaxPool2d 2x2 on 16x16x16", "pool", _maxpool),
    BenchCase("BatchNorm2d 32 on 16x16 (train)", "norm", _batchnorm),
    BenchCase("LayerNorm 64 on 32 positions", "norm", _layernorm),
    BenchCase("LSTM 32->64, 20 steps", "lstm", _recurrent("LSTM")),
    BenchCase("GRU 32->64, 20 steps", "gru", _recurrent("GRU")),
    BenchCase("MultiheadAttention 64, 4 heads, 32 positions", "attention", _attention),
    BenchCase("LeNet-5, one epoch on digits", "epoch", _lenet_epoch, batches=(16, 64)),
    BenchCase("Tiny GPT training step (2 layers, width 64)", "gpt", _gpt_step),
)


def select(pattern: str | None = None, cases: tuple[BenchCase, ...] = CASES
           ) -> list[BenchCase]:
    """The cases whose name matches ``pattern`` (case-insensitive glob or substring)."""
    if not pattern:
        return list(cases)
    pattern = pattern.lower()
    chosen = [c for c in cases
              if pattern in c.name.lower() or fnmatch.fnmatch(c.name.lower(), pattern)]
    if not chosen:
        names = "\n  ".join(c.name for c in cases)
        raise ValueError(f"no benchmark case matches {pattern!r}; the cases are:\n  {names}")
    return chosen
