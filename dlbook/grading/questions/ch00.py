"""Chapter 0 demo questions: what ``check`` does, shown on the smallest possible exercises."""
from __future__ import annotations

import numpy as np

from dlbook.grading.registry import Case, Question, register


def _relu_cases(suite: str) -> list[Case]:
    if suite != "public":
        return []
    rng = np.random.default_rng(0)
    return [Case({"x": rng.normal(size=shape).astype(dtype)})
            for shape, dtype in [((3, 4), np.float64), ((1,), np.float64),
                                 ((2, 3, 5), np.float32)]]


def _relu_reference(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"out": (x + np.abs(x)) / 2}  # max(x, 0), written another way


register(Question(
    id="ch00.relu",
    points=1,
    description="ReLU, elementwise max(x, 0), same shape and dtype as x.",
    signature="relu(x) -> out",
    outputs=("out",),
    cases=_relu_cases,
    reference=_relu_reference,
))


def _no_inputs(suite: str) -> list[Case]:
    return [Case({})] if suite == "public" else []


register(Question(
    id="ch00.linear_parameters",
    points=1,
    description="The number of learnable numbers in nn.Linear(3, 2): weights plus biases.",
    signature="linear_parameters",
    outputs=("count",),
    cases=_no_inputs,
    reference=lambda: {"count": np.int64(3 * 2 + 2)},
    takes_value=True,
))
