"""The question registry: what each exercise asks, the inputs it is tried on, and the answer.

A :class:`Question` is data: an id such as ``"ch01.linear_backward"``, its points, a
description, its fixed public inputs, a generator of hidden inputs drawn from a seeded
``np.random.Generator``, an independent reference implementation, what the answer may not
use, and any extra requirements. It knows nothing of notebooks or printing:
:func:`dlbook.grading.evaluate.evaluate` runs a student's function against it, and the
instructor's grader reuses the same entries, in its own process only: the sandboxed kernels
cannot see ``dlbook/grading/questions/``. Questions live in ``dlbook/grading/questions/chNN.py``,
one module per chapter, and register themselves when the module is imported; :func:`get`
imports the chapter's module on first use.
"""
from __future__ import annotations

import importlib
import secrets
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook.grading.rules import FROM_SCRATCH, NO_FRAMEWORKS

__all__ = ["FROM_SCRATCH", "NO_FRAMEWORKS", "SUITES", "Case", "Question", "UnknownQuestion",
           "chapter_questions", "get", "hidden_rng", "iter_cases", "register", "split_suites"]

SUITES = ("public", "hidden")


@dataclass(frozen=True)
class Case:
    """One input: the student's function is called with ``args``' values, in this order.

    ``meta`` carries facts about the input for requirements (e.g. ``separable=True``, held-out
    labels); it stays in the grader. ``probes`` are float arrays a returned ``dlbook.nn``
    model is applied to in the kernel (e.g. held-out images): the grader sees only
    ``model(probe)``.
    """

    args: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, np.ndarray] = field(default_factory=dict)

    def describe(self) -> str:
        """``"x (1, 5), weight (3, 5), lr=0.5"``: array shapes and scalar values, no data; a
        list of arrays by its shapes, ``"weights [(3, 5), (5,)]"``."""
        parts = []
        for name, value in self.args.items():
            if isinstance(value, np.ndarray):
                parts.append(f"{name} {value.shape}")
            elif isinstance(value, (list, tuple)) and value and all(
                    isinstance(v, np.ndarray) for v in value):
                parts.append(f"{name} [{', '.join(str(v.shape) for v in value)}]")
            else:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts)


# A requirement looks at the student's named outputs for one case and returns what is wrong,
# or None. It runs in the grader (and in check()), never in a graded kernel.
Requirement = Callable[[dict[str, Any], Case], "str | None"]


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
        public: ``public() -> list[Case]``, the fixed inputs ``check()`` tries (own constant
            seed: the same inputs every time).
        hidden: ``hidden(rng) -> list[Case]``, never empty: inputs drawn from ``rng``, which the
            grader seeds from a secret seed per run (:func:`hidden_rng`).
        reference: ``reference(*args) -> dict`` of expected outputs by name, derived
            independently of the solution notebook; None when only requirements judge. It
            runs in the grader's process only.
        requirements: further checks on the student's outputs (a training accuracy, ...).
        runner: the name ``"chNN.function"`` of a kernel-side function in
            ``dlbook/grading/runners/chNN.py`` that calls the student's function for one
            case (``runner(answer, args)``); default ``answer(*args.values())``.
        takes_value: the student passes a value, not a function.
        needs: modules the reference imports (``("torch",)``): a clear message if absent.
        forbidden: what the answer may not use: module names (``"torch"``, ``"dlbook.nn"``)
            and functions as ``"module:Qual.name"``
            (:mod:`~dlbook.grading.rules`); default :data:`FROM_SCRATCH`.
    """

    id: str
    points: int
    description: str
    signature: str
    outputs: tuple[str, ...]
    public: Callable[[], list[Case]]
    hidden: Callable[[np.random.Generator], list[Case]]
    reference: Callable[..., dict[str, Any]] | None = None
    requirements: tuple[Requirement, ...] = ()
    runner: str | None = None
    takes_value: bool = False
    needs: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = FROM_SCRATCH

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def function_name(self) -> str:
        return self.signature.split("(", 1)[0]

    def cases(self, suite: str, seed: int | None = None) -> list[Case]:
        """The cases of ``suite``; hidden ones drawn from ``seed`` (a fresh one if None)."""
        if suite == "public":
            return self.public()
        if suite == "hidden":
            return self.hidden(hidden_rng(self.id, seed))
        raise ValueError(f"suite must be one of {SUITES}, got {suite!r}")


def hidden_rng(question_id: str, seed: int | None) -> np.random.Generator:
    """The generator of ``question_id``'s hidden inputs in a run with secret ``seed``: the same
    seed gives the same inputs (a grade can be reproduced); None draws a fresh seed."""
    if seed is None:
        seed = secrets.randbits(64)
    return np.random.default_rng([seed, zlib.crc32(question_id.encode())])


def split_suites(cases: Callable[[str, np.random.Generator | None], list[Case]]
                 ) -> dict[str, Callable]:
    """``public=`` and ``hidden=`` from one ``cases(suite, rng=None)`` generator: the public
    suite is called with ``rng=None`` (the generator seeds itself), the hidden one with the
    grader's generator. Use as ``Question(..., **split_suites(_cases))``."""
    return {"public": lambda: cases("public", None),
            "hidden": lambda rng: cases("hidden", rng)}


class UnknownQuestion(LookupError):
    """A question id that no chapter module registers."""

    def __str__(self) -> str:
        return str(self.args[0])


_QUESTIONS: dict[str, Question] = {}


def register(question: Question) -> Question:
    """Add ``question`` to the registry (called by the chapter modules at import).

    Every question needs a hidden suite: an error names the question that has none.
    """
    if not question.hidden(np.random.default_rng(0)):
        raise ValueError(f"question {question.id!r} has no hidden tests")
    if question.id in _QUESTIONS and _QUESTIONS[question.id] != question:
        raise ValueError(f"question {question.id!r} is registered twice")
    _QUESTIONS[question.id] = question
    return question


def _load_chapter(chapter: str) -> None:
    try:
        importlib.import_module(f"dlbook.grading.questions.{chapter}")
    except ModuleNotFoundError as err:
        if err.name == "dlbook.grading.questions":
            raise UnknownQuestion("the questions are not available here (a graded kernel "
                                  "cannot see them; check() works in your own notebook)"
                                  ) from None
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


def iter_cases(question: Question, suite: str, seed: int | None = None) -> Iterator[Case]:
    """The cases of ``suite``; a clear error for an unknown suite or one the question lacks."""
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {SUITES}, got {suite!r}")
    cases = question.cases(suite, seed)
    if not cases:
        raise ValueError(f"{question.id} has no {suite} tests")
    yield from cases
