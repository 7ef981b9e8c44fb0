"""Chapter 8 runners: gradient clipping returns a list of arrays, one per gradient."""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.compare import Mismatch


class Grads(list):
    """A plain list of arrays that describes itself by shapes in check's messages."""

    def __repr__(self) -> str:
        return "[" + ", ".join(f"array {g.shape}" for g in self) + "]"


def flatten(grads: list[np.ndarray]) -> np.ndarray:
    """Every gradient's entries, one after the other."""
    return np.concatenate([np.ravel(g) for g in grads])


def clip_grad_norm(fn: Any, args: dict[str, Any]) -> tuple[Any, Any]:
    """``fn(grads, max_norm)``: the clipped list flattened (checked shape by shape) and the
    total norm."""
    grads = args["grads"]
    before = [g.copy() for g in grads]
    clipped, total = fn(grads, args["max_norm"])
    if any(not np.array_equal(a, b) for a, b in zip(before, grads, strict=True)):
        raise Mismatch("your function changed the gradients in place; return new arrays")
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
        raise Mismatch(f"clipped should be a list of {len(grads)} arrays, one per gradient")
    for k, (g, c) in enumerate(zip(grads, clipped, strict=True)):
        if np.shape(c) != g.shape:
            raise Mismatch(f"clipped[{k}] has shape {np.shape(c)}, expected {g.shape}")
    return flatten([np.asarray(c) for c in clipped]), total
