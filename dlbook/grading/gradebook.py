"""The gradebook of ``dlbook grade``: one row per submission, written as CSV, JSON (with the
run's metadata: the secret seed of the hidden inputs, the sandbox) and Gradescope's
``results.json``, each file replaced atomically when a run ends.

A row is keyed by the submission's file name and the SHA-256 of its bytes, so ``--resume``
(:mod:`~dlbook.grading.journal`) reuses a row only for the very file that was graded.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class QuestionGrade:
    """One test cell's outcome: its nbgrader ``grade_id``, points and what was wrong."""

    grade_id: str
    question: str
    points: int
    max_points: int
    message: str


@dataclass
class Row:
    """One submission: ``status`` is ``"ok"`` or a one-line reason it did not run cleanly."""

    submission: str
    file: str
    sha256: str
    status: str
    questions: list[QuestionGrade] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(q.points for q in self.questions)

    @property
    def max_score(self) -> int:
        return sum(q.max_points for q in self.questions)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "score": self.score, "max_score": self.max_score}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        questions = [QuestionGrade(**q) for q in d["questions"]]
        return cls(d["submission"], d["file"], d["sha256"], d["status"], questions,
                   float(d.get("seconds", 0.0)))


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``: a run killed
    half-way leaves the previous file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_csv(rows: Sequence[Row], grade_ids: Sequence[str]) -> str:
    """``submission, score, max_score, <grade_id>..., status``: one line per submission."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *grade_ids, "status"])
    for row in rows:
        points = {q.grade_id: q.points for q in row.questions}
        writer.writerow([row.submission, row.score, row.max_score,
                         *(points.get(g, 0) for g in grade_ids), row.status])
    return buf.getvalue()


def to_json(rows: Sequence[Row], assignment: str, metadata: dict[str, Any] | None = None) -> str:
    """The CSV's content plus each question's message, file name and content hash, and the
    run's ``metadata`` (``seed`` reproduces the hidden inputs: ``dlbook grade --seed``)."""
    return json.dumps({"assignment": assignment, "metadata": metadata or {},
                       "submissions": [r.to_dict() for r in rows]},
                      indent=1, ensure_ascii=False) + "\n"


def to_gradescope(row: Row) -> str:
    """Gradescope's ``results.json`` for one submission
    (:func:`dlbook.grading.gradescope.results`)."""
    from dlbook.grading.gradescope import results

    return json.dumps(results(row), indent=1, ensure_ascii=False) + "\n"
