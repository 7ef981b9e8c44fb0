"""``dlbook grade``: grade a folder of student notebooks, each in a fresh, capped kernel.

For every submission the grader

1. refuses what is not a notebook of this assignment (too big, empty, invalid JSON, another
   chapter's notebook, code that reaches for the reference answers), with a one-line
   reason and 0 points (:mod:`~dlbook.grading.assignment`);
2. rebuilds the notebook around the canonical cells of ``solutions/chNN_*.ipynb``, every
   test cell becoming a grader cell;
3. runs it in its own temporary directory in a fresh ``python3`` kernel capped in memory
   (``RLIMIT_AS``), wall-clock time and output (:mod:`~dlbook.grading.sandbox`);
4. judges the raw outputs here, in the grader's process (:mod:`~dlbook.grading.verdict`),
   so nothing the student's code does in its kernel (patching NumPy or ``check``, printing
   a score, writing files, exiting) can earn a point.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from dlbook.grading.assignment import (
    Assignment,
    Refused,
    answer_key_use,
    load_assignment,
    merge,
    read_submission,
    solutions_dir,
)
from dlbook.grading.gradebook import QuestionGrade, Row
from dlbook.grading.sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Limits, run_notebook
from dlbook.grading.verdict import judge

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Assignment", "Limits", "Summary",
           "find_submissions", "grade_all", "grade_file", "load_assignment", "solutions_dir",
           "summarize"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def grade_file(path: Path, assignment: Assignment, limits: Limits,
               sha: str | None = None) -> Row:
    """Grade one submission; never raises for anything the submission does."""
    start = time.monotonic()
    row = Row(path.stem, path.name, sha or _sha256(path), "ok")
    try:
        nb = read_submission(path, assignment)
        nb.cells = merge(nb.cells, assignment.cells)
        line = answer_key_use(nb.cells, assignment)
        if line:
            raise Refused(f"uses the grader's internals (reference answers), not allowed: {line}")
        run = run_notebook(nb, assignment, limits)
        row.questions = [judge(t, run.results.get(t.grade_id)) for t in assignment.tests]
        row.status = "; ".join(run.problems) or "ok"
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


def grade_all(paths: Sequence[Path], assignment: Assignment, limits: Limits, jobs: int = 1,
              previous: dict[tuple[str, str], Row] | None = None,
              on_done: Callable[[Row], None] | None = None) -> list[Row]:
    """Grade ``paths`` with ``jobs`` kernels at once; rows in the order of ``paths``.

    ``previous`` rows (by file name and SHA-256) are reused instead of grading again;
    ``on_done`` is called with each row as it is finished (progress, checkpoints).
    """
    previous = previous or {}
    rows: dict[int, Row] = {}
    todo = []
    for i, path in enumerate(paths):
        sha = _sha256(path)
        if (path.name, sha) in previous:
            rows[i] = previous[(path.name, sha)]
            if on_done:
                on_done(rows[i])
        else:
            todo.append((i, path, sha))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_file, path, assignment, limits, sha): i
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
