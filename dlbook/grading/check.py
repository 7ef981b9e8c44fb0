"""``check`` and ``summary``: the student's self-check inside a notebook.

``check("ch01.perceptron", perceptron_fit)`` judges the answer (see
:mod:`dlbook.grading.evaluate`), prints one verdict line and records the result in this
kernel; ``summary()`` prints the points so far as a table. The output is plain,
deterministic text (no timings, no addresses), so notebooks that call them can be
re-run and compared by nbval.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlbook.grading import registry
from dlbook.grading.evaluate import PASSED, Result, evaluate

# question id -> suite -> latest result, in the order questions were first checked.
_RESULTS: dict[str, dict[str, Result]] = {}


def check(question_id: str, answer: Any, suite: str = "public") -> Result:
    """Check ``answer`` (a function, or a value) against question ``question_id``.

    Prints one line, ``✔ ch01.perceptron: passed (2/2 points)`` or ``✘ ...`` with the
    reason and the input it failed on, and returns the :class:`Result` (``.passed``,
    ``.points``, ``.max_points``, ``.message``). ``suite="hidden"`` runs the hidden tests
    (instructors' test cells); a question earns its points only if every suite run passed.
    """
    result = evaluate(question_id, answer, suite)
    _RESULTS.setdefault(question_id, {})[suite] = result
    print(result.verdict())
    return result


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    question: str
    points: int
    max_points: int
    status: str


@dataclass(frozen=True)
class Summary:
    """Points so far; ``str(summary)`` is the table that ``summary()`` prints."""

    rows: tuple[Row, ...]

    @property
    def points(self) -> int:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.rows)

    def __str__(self) -> str:
        if not self.rows:
            return "No exercise has been checked in this kernel yet."
        width = max(len("question"), *(len(r.question) for r in self.rows))
        lines = [f"{'question':<{width}}  points  status"]
        for r in self.rows:
            lines.append(f"{r.question:<{width}}  {r.points:>2} / {r.max_points:<2} {r.status}")
        lines.append(f"{'total':<{width}}  {self.points:>2} / {self.max_points:<2}")
        return "\n".join(line.rstrip() for line in lines)

    def _ipython_display_(self) -> None:
        pass  # summary() has printed the table


def _row(question: registry.Question) -> Row:
    results = _RESULTS.get(question.id, {})
    if not results:
        return Row(question.id, 0, question.points, "not checked")
    failed = [r for r in results.values() if r.status != PASSED]
    if failed:
        return Row(question.id, 0, question.points, failed[0].status)
    suites = " + ".join(results)
    return Row(question.id, question.points, question.points, f"passed ({suites})")


def summary(chapter: str | None = None) -> Summary:
    """Print and return the points so far in this kernel, one row per question.

    Lists every question of each chapter checked so far (or of ``chapter``, e.g. ``"ch01"``),
    unchecked ones with 0 points. A question scores only if all its suites run passed.
    """
    chapters = [chapter] if chapter else list(dict.fromkeys(q.split(".")[0] for q in _RESULTS))
    rows = tuple(_row(q) for ch in chapters for q in registry.chapter_questions(ch))
    table = Summary(rows)
    print(table)
    return table


def reset() -> None:
    """Forget every result recorded in this kernel (a fresh start for ``summary``)."""
    _RESULTS.clear()
