"""The question registry: what each exercise asks, the inputs it is tried on, and the answer.

A :class:`Question` is data: an id such as ``"ch01.linear_backward"``, its points, a
description, an input generator per test suite, an independent reference implementation
and any extra requirements. It knows nothing of notebooks or printing:
:func:`dlbook.grading.evaluate.evaluate` runs a student's function against it, and the
instructor's grader reuses the same entries. Questions live in
``dlbook/grading/questions/chNN.py``, one module per chapter, and register themselves when
the module is imported; :func:`get` imports the chapter's module on first use.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUITES = ("public", "hidden")


@dataclass(frozen=True)
class Case:
    """One input: the student's function is called with ``args``' values, in this order.

    ``meta`` carries facts about the input for requirements (e.g. ``separable=True``); it is
    never passed to the student's function.
    """

    args: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``"x (1, 5), weight (3, 5), lr=0.5"``: array shapes and scalar values, no data."""
        parts = []
        for name, value in self.args.items():
            if isinstance(value, np.ndarray):
                parts.append(f"{name} {value.shape}")
            else:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts)


# A requirement looks at the student's named outputs for one case and returns what is wrong,
# or None. A runner calls the student's function (or takes the student's value) for one case.
Requirement = Callable[[dict[str, Any], Case], "str | None"]
Runner = Callable[[Any, Case], Any]


@dataclass(frozen=True)
class Question:
    """An exercise.

    Attributes:
        id: ``"chNN.name"``.
        points: awarded when every case of a suite passes (all or nothing).
        description: one sentence, shown by ``summary`` and the grader.
        signature: how the student's function is called, e.g.
            ``"linear_backward(grad_out, x, weight) -> (grad_x, grad_weight, grad_bias)"``.
        outputs: names of the returned values in order (a tuple or a dict with these keys).
        cases: ``cases(suite) -> list[Case]`` for suite ``"public"`` or ``"hidden"``; seeded,
            so the same inputs every time. An empty list: the question has no such suite.
        reference: ``reference(*args) -> dict`` of expected outputs by name, derived
            independently of the solution notebook; None when only requirements judge.
        requirements: further checks on the student's outputs (a training accuracy, ...).
        runner: how to call the student's function; default ``fn(*case.args.values())``.
        takes_value: the student passes a value, not a function (``runner`` gets the value).
        needs: modules the reference imports (``("torch",)``): a clear message if absent.
    """

    id: str
    points: int
    description: str
    signature: str
    outputs: tuple[str, ...]
    cases: Callable[[str], list[Case]]
    reference: Callable[..., dict[str, Any]] | None = None
    requirements: tuple[Requirement, ...] = ()
    runner: Runner | None = None
    takes_value: bool = False
    needs: tuple[str, ...] = ()

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def function_name(self) -> str:
        return self.signature.split("(", 1)[0]


class UnknownQuestion(LookupError):
    """A question id that no chapter module registers."""

    def __str__(self) -> str:
        return str(self.args[0])


_QUESTIONS: dict[str, Question] = {}


def register(question: Question) -> Question:
    """Add ``question`` to the registry (called by the chapter modules at import)."""
    if question.id in _QUESTIONS and _QUESTIONS[question.id] != question:
        raise ValueError(f"question {question.id!r} is registered twice")
    _QUESTIONS[question.id] = question
    return question


def _load_chapter(chapter: str) -> None:
    try:
        importlib.import_module(f"dlbook.grading.questions.{chapter}")
    except ModuleNotFoundError as err:
        if err.name != f"dlbook.grading.questions.{chapter}":
            raise
        raise UnknownQuestion(f"no exercises are registered for chapter {chapter!r}") from None


def get(question_id: str) -> Question:
    """The question with this id, e.g. ``get("ch01.perceptron")``."""
    chapter = question_id.split(".", 1)[0]
    _load_chapter(chapter)
    if question_id not in _QUESTIONS:
        known = ", ".join(q.id for q in chapter_questions(chapter))
        raise UnknownQuestion(f"unknown question {question_id!r}; {chapter} has: {known}")
    return _QUESTIONS[question_id]


def chapter_questions(chapter: str) -> list[Question]:
    """Every question of ``chapter`` (``"ch01"``), in the order the chapter registers them."""
    _load_chapter(chapter)
    return [q for q in _QUESTIONS.values() if q.chapter == chapter]


def iter_cases(question: Question, suite: str) -> Iterator[Case]:
    """The cases of ``suite``; a clear error for an unknown suite or one the question lacks."""
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {SUITES}, got {suite!r}")
    cases = question.cases(suite)
    if not cases:
        raise ValueError(f"{question.id} has no {suite} tests")
    yield from cases
