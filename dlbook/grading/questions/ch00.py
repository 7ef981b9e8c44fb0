"""Chapter 0 demo questions: what ``check`` does, shown on the smallest possible exercises."""
from __future__ import annotations

import numpy as np

from dlbook.grading.registry import Case, Question, register


def _relu_cases(rng: np.random.Generator, shapes: list) -> list[Case]:
    return [Case({"x": rng.normal(size=shape).astype(dtype)}) for shape, dtype in shapes]


def _relu_public() -> list[Case]:
    return _relu_cases(np.random.default_rng(0), [((3, 4), np.float64), ((1,), np.float64),
                                                  ((2, 3, 5), np.float32)])


def _relu_hidden(rng: np.random.Generator) -> list[Case]:
    shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(1, 4)))
    return _relu_cases(rng, [(shape, np.float64), (shape[::-1], np.float32)])


def _relu_reference(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"out": (x + np.abs(x)) / 2}  # max(x, 0), written another way


register(Question(
    id="ch00.relu",
    points=1,
    description="ReLU, elementwise max(x, 0), same shape and dtype as x.",
    signature="relu(x) -> out",
    outputs=("out",),
    public=_relu_public,
    hidden=_relu_hidden,
    reference=_relu_reference,
))


register(Question(
    id="ch00.linear_parameters",
    points=1,
    description="The number of learnable numbers in nn.Linear(3, 2): weights plus biases.",
    signature="linear_parameters",
    outputs=("count",),
    public=lambda: [Case({})],
    hidden=lambda rng: [Case({})],  # a value, not a function: the same question, graded again
    reference=lambda: {"count": np.int64(3 * 2 + 2)},
    takes_value=True,
))
