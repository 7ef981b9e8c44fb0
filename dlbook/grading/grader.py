"""``dlbook grade``: grade a folder of student notebooks, each in its own sandbox.

A grading run (:class:`Plan`) draws a secret seed (or takes the instructor's), draws every
question's hidden inputs from it once, and groups the assignment's questions by what they
forbid. For every submission the grader then

1. refuses what is not a notebook of this assignment (too big, empty, invalid JSON, another
   chapter's notebook), with a one-line reason and 0 points
   (:mod:`~dlbook.grading.assignment`);
2. rebuilds the notebook around the canonical cells of ``solutions/chNN_*.ipynb``, every
   test cell becoming a graded cell;
3. runs it, once per group of questions, in a fresh kernel inside a sandbox whose view of
   the Python environment leaves out the questions, the references and whatever that group
   forbids (:mod:`~dlbook.grading.execute`, :mod:`~dlbook.grading.sandbox`), capped in
   memory, wall-clock time and output; the kernel receives only each call's arguments;
4. judges the raw outputs here, in the grader's process, against references computed here
   (:mod:`~dlbook.grading.verdict`), so nothing the student's code does in its kernel can
   earn a point it did not compute.
"""
from __future__ import annotations

import copy
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlbook.grading import registry, results, rules
from dlbook.grading.assignment import (
    Assignment,
    Refused,
    TestCell,
    load_assignment,
    merge,
    read_submission,
    solutions_dir,
)
from dlbook.grading.execute import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Limits, run_notebook
from dlbook.grading.gradebook import QuestionGrade, Row
from dlbook.grading.sandbox import Sandbox
from dlbook.grading.verdict import expected_outputs, judge

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Assignment", "Limits", "Plan", "Sandbox",
           "Summary", "find_submissions", "grade_all", "grade_file", "load_assignment",
           "make_plan", "sha256", "solutions_dir", "summarize"]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Group:
    """Test cells graded in one kernel: their questions forbid the same modules."""

    tests: tuple[TestCell, ...]
    forbidden: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """One grading run: the assignment, its secret seed, the sandbox, every question's cases
    and the reference's outputs on them (by suite, computed once for all submissions), the
    kernel's jobs (arguments only) and the groups of questions."""

    assignment: Assignment
    seed: int
    sandbox: Sandbox
    cases: dict[str, dict[str, list[registry.Case]]]
    expected: dict[str, dict[str, list[Any]]]
    jobs: dict[str, dict[str, Any]]
    groups: tuple[Group, ...]


def _job(question: registry.Question, cases: dict[str, list[registry.Case]]) -> dict[str, Any]:
    """What the kernel is given for ``question``: how to call it and each call's arguments."""
    return {"function": question.function_name, "takes_value": question.takes_value,
            "runner": question.runner, "outputs": list(question.outputs),
            "suites": {suite: [(dict(c.args), dict(c.probes)) for c in suite_cases]
                       for suite, suite_cases in cases.items()}}


def _groups(assignment: Assignment) -> tuple[Group, ...]:
    by_modules: dict[frozenset[str], list[TestCell]] = {}
    for test in assignment.tests:
        modules = frozenset(rules.modules_of(registry.get(test.question).forbidden))
        by_modules.setdefault(modules, []).append(test)
    groups = []
    for modules, tests in by_modules.items():
        functions = {f for t in tests for f in rules.functions_of(
            registry.get(t.question).forbidden)}
        groups.append(Group(tuple(tests), tuple(sorted(modules | functions))))
    return tuple(groups)


def make_plan(assignment: Assignment, seed: int | None = None,
              sandbox: Sandbox | None = None) -> Plan:
    """Draw the run's secret seed (unless given) and every question's inputs from it."""
    seed = secrets.randbits(63) if seed is None else seed
    cases, expected, jobs = {}, {}, {}
    for qid in dict.fromkeys(t.question for t in assignment.tests):
        question = registry.get(qid)
        cases[qid] = {suite: question.cases(suite, seed) for suite in registry.SUITES}
        expected[qid] = {suite: expected_outputs(question, c) for suite, c in cases[qid].items()}
        jobs[qid] = _job(question, cases[qid])
    return Plan(assignment, seed, sandbox or Sandbox(), cases, expected, jobs,
                _groups(assignment))


def grade_file(path: Path, plan: Plan, limits: Limits, sha: str | None = None) -> Row:
    """Grade one submission; never raises for anything the submission does."""
    start = time.monotonic()
    assignment = plan.assignment
    row = Row(path.stem, path.name, sha or sha256(path), "ok")
    try:
        nb = read_submission(path, assignment)
        nb.cells = merge(nb.cells, assignment.cells)
        raw: dict[str, Any] = {}
        problems: list[str] = []
        budget = results.Budget()
        for group in plan.groups:  # each kernel has the whole time limit
            deadline = time.monotonic() + limits.timeout
            run = run_notebook(copy.deepcopy(nb), list(group.tests), plan.jobs,
                               list(group.forbidden), limits, plan.sandbox, deadline, budget)
            raw.update(run.results)
            problems += [p for p in run.problems if p not in problems]
        row.questions = [judge(t, raw.get(t.grade_id), plan.cases[t.question],
                               plan.expected[t.question]) for t in assignment.tests]
        row.status = "; ".join(problems) or "ok"
    except Refused as err:
        row.status = str(err)
    except Exception as err:  # the batch goes on; the reason is recorded
        row.status = f"grader error: {type(err).__name__}: {err}"[:200]
    if not row.questions:
        row.questions = [QuestionGrade(t.grade_id, t.question, 0, t.points, row.status)
                         for t in assignment.tests]
    row.seconds = round(time.monotonic() - start, 2)
    return row


def find_submissions(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Notebook files named, and the ``*.ipynb`` in folders named, sorted, without duplicates.

    Only regular files: a folder or a named pipe called ``x.ipynb`` inside a folder is skipped
    (reading a pipe would block the batch), and named explicitly it is an error.
    """
    found: dict[Path, None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            for nb in sorted(p.rglob("*.ipynb")):
                if nb.is_file() and ".ipynb_checkpoints" not in nb.parts:
                    found[nb] = None
        elif p.is_file():
            found[p] = None
        elif p.exists():
            raise ValueError(f"not a regular file: {p}")
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return list(found)


def grade_all(paths: Sequence[Path], plan: Plan, limits: Limits, jobs: int = 1,
              previous: dict[tuple[str, str], Row] | None = None,
              on_done: Callable[[Row], None] | None = None) -> list[Row]:
    """Grade ``paths`` with ``jobs`` sandboxes at once; rows in the order of ``paths``.

    ``previous`` rows (by file name and SHA-256) are reused instead of grading again;
    ``on_done`` is called with each row as it is finished (progress, checkpoints).
    """
    previous = previous or {}
    rows: dict[int, Row] = {}
    todo = []
    for i, path in enumerate(paths):
        sha = sha256(path)
        if (path.name, sha) in previous:
            rows[i] = previous[(path.name, sha)]
            if on_done:
                on_done(rows[i])
        else:
            todo.append((i, path, sha))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_file, path, plan, limits, sha): i
                   for i, path, sha in todo}
        for future in as_completed(futures):
            rows[futures[future]] = future.result()
            if on_done:
                on_done(rows[futures[future]])
    return [rows[i] for i in range(len(paths))]


@dataclass(frozen=True)
class Summary:
    """What ``dlbook grade`` prints at the end."""

    graded: int
    failed: int
    mean: float
    max_score: int
    pass_rates: dict[str, float]
    slowest: tuple[str, float] | None

    def __str__(self) -> str:
        lines = [f"graded {self.graded} submission{'s' * (self.graded != 1)}, "
                 f"{self.failed} with problems; mean score {self.mean:.2f} / {self.max_score}"]
        for gid, rate in self.pass_rates.items():
            lines.append(f"  {gid:<32} passed by {rate:6.1%}")
        if self.slowest:
            lines.append(f"slowest: {self.slowest[0]} ({self.slowest[1]:.1f} s)")
        return "\n".join(lines)


def summarize(rows: Sequence[Row], assignment: Assignment) -> Summary:
    """Counts, the mean score, each question's pass rate and the slowest submission."""
    n = len(rows)
    rates = {gid: (sum(q.points == q.max_points and q.max_points > 0 for r in rows
                       for q in r.questions if q.grade_id == gid) / n if n else 0.0)
             for gid in assignment.grade_ids}
    slowest = max(rows, key=lambda r: r.seconds, default=None)
    return Summary(n, sum(r.status != "ok" for r in rows),
                   sum(r.score for r in rows) / n if n else 0.0, assignment.max_score, rates,
                   (slowest.submission, slowest.seconds) if slowest else None)
