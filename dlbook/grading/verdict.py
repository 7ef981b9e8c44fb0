"""The verdict, reached in the grader's process from the raw outputs a kernel sent back.

The outputs are decoded into what the student's function returned (arrays, ``None``, short
strings, or placeholders named after a type that cannot be sent, such as a tensor) and
judged with the question's requirements and reference, through the same
:mod:`dlbook.grading.compare` that ``check`` uses, so the messages read the same.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from dlbook.grading import registry
from dlbook.grading.assignment import TestCell
from dlbook.grading.compare import Mismatch
from dlbook.grading.evaluate import describe_exception, judge_outputs
from dlbook.grading.gradebook import QuestionGrade


class _Placeholder:
    """Stands for a value the kernel could not send as an array (a tensor, a list of text),
    under the same type name, so compare.py words its message as in ``check``."""


def _placeholder(spec: dict[str, Any]) -> Any:
    if spec.get("mapping"):
        return {"?": None}
    cls = type(str(spec.get("type", "object"))[:50], (_Placeholder,), {})
    cls.__module__ = "torch" if str(spec.get("module", "")).startswith("torch") else "student"
    return cls()


def _recorded_model(spec: dict[str, Any], arrays: dict[str, np.ndarray],
                    case: registry.Case) -> Any:
    from dlbook.nn import Module

    probes = spec.get("probes") if isinstance(spec.get("probes"), dict) else {}
    recorded = [(case.probes[name], arrays[key]) for name, key in probes.items()
                if name in case.probes and key in arrays]

    class RecordedModel(Module):
        """The student's model, as the outputs it gave on the grader's inputs."""

        def forward(self, x: np.ndarray) -> np.ndarray:
            for given, out in recorded:
                if given.shape == x.shape and np.array_equal(given, x):
                    return out
            raise Mismatch("the model's output on the held-out inputs is missing")

    return RecordedModel()


def _decode(spec: Any, arrays: dict[str, np.ndarray], case: registry.Case) -> Any:
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind == "array":
        if spec.get("key") not in arrays:
            raise Mismatch("no result: an output is missing")
        return arrays[spec["key"]]
    if kind == "none":
        return None
    if kind == "str":
        return str(spec.get("value", ""))
    if kind == "model":
        return _recorded_model(spec, arrays, case)
    return _placeholder(spec if isinstance(spec, dict) else {})


def expected_outputs(question: registry.Question, cases: list[registry.Case]
                     ) -> list[dict[str, Any] | None]:
    """The reference's outputs for each case (None without a reference), computed here."""
    if question.reference is None:
        return [None] * len(cases)
    return [question.reference(*copy.deepcopy(c.args).values()) for c in cases]


def judge_suite(question: registry.Question, cases: list[registry.Case], report: Any,
                arrays: dict[str, np.ndarray],
                expected: list[dict[str, Any] | None] | None = None) -> str:
    """``"passed"`` or what is wrong with one suite's raw outputs on ``cases``, given the
    reference's ``expected`` outputs (computed if None)."""
    expected = expected_outputs(question, cases) if expected is None else expected
    if not isinstance(report, dict):
        return "no result for these tests"
    status, message = report.get("status"), str(report.get("message", ""))[:500]
    got_cases = report.get("cases") if isinstance(report.get("cases"), list) else []
    for i, case in enumerate(cases):
        where = f" (input {i + 1} of {len(cases)}: {case.describe()})" if case.args else ""
        if i >= len(got_cases):
            if status == "not implemented":
                return "not implemented yet"
            if status in ("failed", "error", "missing"):
                return f"{message}{where if status != 'missing' else ''}"
            return "no result for these tests"
        try:
            specs = got_cases[i] if isinstance(got_cases[i], dict) else {}
            got = {name: _decode(specs.get(name), arrays, case) for name in question.outputs}
            judge_outputs(question, got, case, expected[i])
        except Mismatch as err:
            return f"{err}{where}"
        except Exception as err:
            return f"{describe_exception(err)}{where}"
    return "passed"


def judge(test: TestCell, raw: dict[str, Any] | None, cases: dict[str, list[registry.Case]],
          expected: dict[str, list[dict[str, Any] | None]] | None = None) -> QuestionGrade:
    """Points for one test cell from the raw result its graded cell sent back, judged on
    ``cases`` (by suite: the very inputs the kernel was given) and the reference's
    ``expected`` outputs on them (by suite; computed if None)."""
    question = registry.get(test.question)

    def grade(points: int, message: str) -> QuestionGrade:
        return QuestionGrade(test.grade_id, test.question, points, test.points, message)

    if raw is None:
        return grade(0, "not run (the notebook stopped before this test)")
    if "missing" in raw:
        return grade(0, raw["missing"])
    meta = raw.get("meta")
    suites = meta.get("suites") if isinstance(meta, dict) else None
    if not isinstance(suites, dict):
        return grade(0, "no result: the result file is malformed")
    for suite in registry.SUITES:
        verdict = judge_suite(question, cases[suite], suites.get(suite), raw["arrays"],
                              expected[suite] if expected else None)
        if verdict != "passed":
            label = " (hidden tests)" if suite == "hidden" else ""
            return grade(0, f"{verdict}{label}")
    return grade(test.points, "passed")


