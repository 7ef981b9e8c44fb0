"""Run a student's answer against a registered question and return a :class:`Result`.

This is the judging core: no printing, no state. ``check`` (in a student's notebook) and
the instructor's grader both call :func:`evaluate`. A student's exception is caught and
reported as its type, message and the line of the student's code that raised it; an
answer is all or nothing per suite.
"""
from __future__ import annotations

import copy
import importlib.util
import os
import sysconfig
import traceback
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dlbook.grading import registry, rules, runners
from dlbook.grading.compare import Mismatch, compare_outputs, describe_type, name_outputs
from dlbook.grading.diagnose import case_sizes

PASSED, FAILED, NOT_IMPLEMENTED, ERROR, UNCHECKABLE = (
    "passed", "failed", "not implemented", "error", "cannot check")


@dataclass(frozen=True)
class Result:
    """The verdict on one question and suite.

    Attributes:
        question: the question id, e.g. ``"ch01.perceptron"``.
        suite: ``"public"`` or ``"hidden"``.
        status: one of ``passed``, ``failed``, ``not implemented``, ``error``, ``cannot check``.
        points, max_points: points earned (all or nothing) and available.
        message: ``"passed"`` or what is wrong, naming the input it went wrong on.
    """

    question: str
    suite: str
    status: str
    points: int
    max_points: int
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def verdict(self) -> str:
        """The one line ``check`` prints, e.g. ``✔ ch01.perceptron: passed (2/2 points)``."""
        label = self.question + (" (hidden tests)" if self.suite == "hidden" else "")
        if self.passed:
            return f"✔ {label}: passed ({self.points}/{self.max_points} points)"
        return f"✘ {label}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``passed``), for the grader's reports."""
        return {**asdict(self), "passed": self.passed}

    def __str__(self) -> str:
        return self.verdict()

    def _ipython_display_(self) -> None:
        # check() has printed the verdict already; a cell ending in check(...) shows it once.
        pass


def _library_dirs() -> tuple[str, ...]:
    dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # dlbook itself
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs)


def student_line(err: BaseException) -> str:
    """``"raised at line 3 of linear_backward: return x @ w"``: the deepest frame in the student's
    code (not in dlbook, NumPy or the standard library); empty if there is none."""
    lib = _library_dirs()
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not os.path.realpath(f.filename).startswith(lib)]
    if not frames:
        return ""
    f = frames[-1]
    code = f": {f.line.strip()}" if f.line else ""
    return f"raised at line {f.lineno} of {f.name}{code}"


def describe_exception(err: BaseException) -> str:
    """``"ValueError: bad shape, raised at line 3 of f: ..."``: type, message, the line."""
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    where = student_line(err)
    return f"{text}, {where}" if where else text


def _changed_inputs(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    for name, value in before.items():
        if isinstance(value, np.ndarray) and not np.array_equal(value, after[name],
                                                                equal_nan=True):
            return (f"your function changed its argument {name} in place; leave the inputs "
                    "as they are and return new arrays")
    return None


def _run_case(question: registry.Question, answer: Any, case: registry.Case) -> None:
    """Raise Mismatch (wrong answer) or the student's own exception; return if it passes."""
    args = copy.deepcopy(case.args)
    with rules.watch(question.forbidden) as used:
        raw = runners.call(question.runner, answer, args, question.takes_value)
    if used:
        raise Mismatch(rules.message(used[0]))
    changed = _changed_inputs(case.args, args)
    if changed:
        raise Mismatch(changed)
    got = name_outputs(raw, question.outputs, question.function_name)
    expected = (None if question.reference is None
                else question.reference(*copy.deepcopy(case.args).values()))
    judge_outputs(question, got, case, expected)


def judge_outputs(question: registry.Question, got: dict[str, Any], case: registry.Case,
                  expected: dict[str, Any] | None) -> None:
    """Raise Mismatch if the answer's outputs ``got`` on ``case`` are wrong: the question's
    requirements first (they say more than "w is wrong"), then the reference's ``expected``.

    A requirement is a diagnosis, not the verdict: one that cannot read these outputs (it
    raises) is skipped where a reference decides, so a fault in the grader's own diagnosis
    never costs a right answer its points, nor is reported as the student's error.
    """
    for requirement in question.requirements:
        try:
            problem = requirement(got, case)
        except Exception:
            if expected is None:
                raise
            continue
        if problem:
            raise Mismatch(problem)
    if expected is not None:
        compare_outputs(got, expected, sizes=case_sizes(case.args))


def _missing_module(question: registry.Question) -> str | None:
    for module in question.needs:
        if importlib.util.find_spec(module) is None:
            return module
    return None


def evaluate(question_id: str, answer: Any, suite: str = "public",
             seed: int | None = None) -> Result:
    """Judge ``answer`` (the student's function, or value) on every case of ``suite``.

    Hidden inputs are drawn from ``seed`` (a fresh seed each call if None). A call into
    anything the question forbids (:mod:`~dlbook.grading.rules`) fails the case.
    """
    question = registry.get(question_id)
    cases = list(registry.iter_cases(question, suite, seed))

    def result(status: str, message: str) -> Result:
        points = question.points if status == PASSED else 0
        return Result(question.id, suite, status, points, question.points, message)

    missing = _missing_module(question)
    if missing:
        return result(UNCHECKABLE, f"cannot be checked here: it needs {missing} "
                                   f"(pip install {missing})")
    if not question.takes_value and not callable(answer):
        return result(FAILED, f"expected a function {question.signature}, "
                              f"got {describe_type(answer)}")
    for i, case in enumerate(cases, start=1):
        where = f"input {i} of {len(cases)}: {case.describe()}"
        where = f" ({where})" if case.args else ""
        try:
            _run_case(question, answer, case)
        except NotImplementedError:
            return result(NOT_IMPLEMENTED, "not implemented yet")
        except Mismatch as err:
            return result(FAILED, f"{err}{where}")
        except rules.Forbidden as err:
            return result(FAILED, str(err))
        except Exception as err:  # the student's code raised: report it, never our trace
            return result(ERROR, f"{describe_exception(err)}{where}")
    return result(PASSED, "passed")
