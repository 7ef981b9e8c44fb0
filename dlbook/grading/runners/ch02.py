"""Chapter 2 runners: a sigmoid that must not overflow, and gradient norms of a given model."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from dlbook.grading.compare import Mismatch


def _source(fn: Any) -> str:
    """The answer's source code, or "" where Python cannot find it."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def stable_sigmoid(fn: Any, args: dict[str, Any]) -> Any:
    """Call ``fn(x)`` with overflow raising (underflow, exp(-1000) = 0, is harmless).

    An answer that overflows is told why; where its code calls ``where``, the message names
    the usual cause: ``np.where(c, a, b)`` computes both ``a`` and ``b`` for every entry.
    """
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        try:
            return fn(*args.values())
        except FloatingPointError as err:
            if "where" in _source(fn):
                raise Mismatch(
                    f"stable_sigmoid overflowed ({err}) although it picks a branch with "
                    "np.where: np.where(cond, a, b) evaluates both a and b for every entry "
                    "before choosing, so the branch meant for x >= 0 still runs exp(-x) at "
                    "x = -1000 (or exp(x) at x = +1000); compute e = exp(-|x|) first and "
                    "write both branches with e") from None
            raise Mismatch(f"stable_sigmoid overflowed ({err}): exponentiate only "
                           "non-positive numbers, e.g. exp(-|x|)") from None


def weights(X: np.ndarray, y: np.ndarray, depth: int, width: int,
            seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Glorot-normal weights and small biases of ``depth`` hidden layers and the output."""
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + [width] * depth + [int(y.max()) + 1]
    return [(rng.normal(scale=np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_out, fan_in)),
             rng.normal(scale=0.1, size=fan_out))
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]


def build_model(X: np.ndarray, y: np.ndarray, activation: str, depth: int, width: int,
                seed: int) -> Any:
    """The float64 ``dlbook.nn.Sequential`` the student's function is given.

    dlbook's default generator is left as it was (building layers draws from it).
    """
    from dlbook import nn, random

    state = random.default_generator().bit_generator.state
    layers = []
    for weight, bias in weights(X, y, depth, width, seed):
        linear = nn.Linear(weight.shape[1], weight.shape[0], dtype=np.float64)
        linear.load_state_dict({"weight": weight, "bias": bias})
        layers += [linear, getattr(nn, activation)()]
    random.default_generator().bit_generator.state = state
    return nn.Sequential(*layers[:-1])  # no activation after the output layer


def stale_batch(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The batch whose gradients the model already holds when the answer gets it."""
    return X[::-1] * 2.0, y


def layer_grad_norms(fn: Any, args: dict[str, Any]) -> Any:
    """``fn(model, X, y)`` for the model the case describes, handed over as a model is after
    training: holding the gradients of an earlier batch (``stale_batch``), which an answer
    must clear before its backward pass, since gradients accumulate."""
    from dlbook import nn

    X, y = args["X"], args["y"]
    model = build_model(X, y, args["activation"], args["depth"], args["width"], args["seed"])
    crit = nn.CrossEntropyLoss()
    X_old, y_old = stale_batch(X, y)
    crit(model(X_old), y_old)
    model.backward(crit.backward())
    return fn(model, X, y)
