"""An assignment's canonical notebook, and reading a submission against it.

The solution notebook ``solutions/chNN_*.ipynb`` is the source of every test cell: a
submission's copies of locked cells are replaced by the canonical ones, deleted ones are
restored in order (matched by nbgrader ``grade_id``), and files that are not a notebook of
this assignment are refused with a one-line reason.
"""
from __future__ import annotations

import copy
import glob
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from dlbook.grading import registry

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # refused before parsing

class Refused(Exception):
    """A file that is not gradable; ``str(err)`` is the one-line reason."""


# -- the canonical notebook ----------------------------------------------------------------


@dataclass(frozen=True)
class TestCell:
    """A graded test cell of the solution: its grade_id, question and points."""

    grade_id: str
    question: str
    points: int


@dataclass(frozen=True)
class Assignment:
    """An assignment (``"ch01"``): its solution notebook and graded test cells, in order."""

    name: str
    source: Path
    cells: tuple[Any, ...]
    tests: tuple[TestCell, ...]

    @property
    def grade_ids(self) -> list[str]:
        return [t.grade_id for t in self.tests]

    @property
    def max_score(self) -> int:
        return sum(t.points for t in self.tests)


def nbgrader_metadata(cell: Any) -> dict[str, Any]:
    md = cell.get("metadata", {}).get("nbgrader", {})
    return md if isinstance(md, dict) else {}


def grade_id_of(cell: Any) -> str | None:
    gid = nbgrader_metadata(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def solutions_dir() -> Path:
    """``solutions/`` next to the dlbook package (a source checkout)."""
    return Path(__file__).resolve().parents[2] / "solutions"


def load_assignment(name: str, source_dir: str | os.PathLike | None = None) -> Assignment:
    """The assignment ``name`` (``"ch01"``) from ``solutions/<name>_*.ipynb``."""
    folder = Path(source_dir) if source_dir else solutions_dir()
    found = sorted(glob.glob(str(folder / f"{name}_*.ipynb")))
    if len(found) != 1:
        raise ValueError(f"expected one solution notebook {folder}/{name}_*.ipynb, "
                         f"found {len(found)}")
    nb = nbformat.read(found[0], as_version=4)
    tests = []
    for cell in nb.cells:
        md = nbgrader_metadata(cell)
        if md.get("grade") and cell.cell_type == "code":
            question = cell.metadata.get("dlbook", {}).get("question")
            registry.get(question)  # a clear error for a question that is not registered
            tests.append(TestCell(md["grade_id"], question, int(md.get("points", 0))))
    return Assignment(name, Path(found[0]), tuple(nb.cells), tuple(tests))


def _locked(cell: Any) -> bool:
    md = nbgrader_metadata(cell)
    return bool(md.get("locked") or md.get("grade")) and not md.get("solution")


def merge(student: Sequence[Any], canonical: Sequence[Any]) -> list[Any]:
    """The student's cells with every locked canonical cell in place: the student's copies
    replaced, duplicates dropped, deleted ones restored after the nearest canonical cell that
    precedes them (nbgrader ``grade_id`` order)."""
    locked = {grade_id_of(c): c for c in canonical if grade_id_of(c) and _locked(c)}
    out: list[Any] = []
    seen: set[str] = set()
    for cell in student:
        gid = grade_id_of(cell)
        if gid in locked:
            if gid not in seen:
                out.append(copy.deepcopy(locked[gid]))
                seen.add(gid)
            continue
        cell = copy.deepcopy(cell)
        if nbgrader_metadata(cell).get("grade") or nbgrader_metadata(cell).get("locked"):
            cell.metadata.pop("nbgrader", None)  # a test cell the solution does not have
        out.append(cell)
    order = [grade_id_of(c) for c in canonical if grade_id_of(c)]
    for k, gid in enumerate(order):
        if gid not in locked or gid in seen:
            continue
        position = _restore_position(out, order[:k], order[k + 1:])
        out.insert(position, copy.deepcopy(locked[gid]))
        seen.add(gid)
    return out


def _restore_position(cells: list[Any], before: list[str], after: list[str]) -> int:
    where = {grade_id_of(c): i for i, c in enumerate(cells) if grade_id_of(c)}
    for gid in reversed(before):
        if gid in where:
            return where[gid] + 1
    for gid in after:
        if gid in where:
            return where[gid]
    return len(cells)


# -- reading a submission ----------------------------------------------------------------


def read_submission(path: Path, assignment: Assignment) -> Any:
    """The parsed notebook, or :class:`Refused` with the reason."""
    size = path.stat().st_size
    if size == 0:
        raise Refused("empty file")
    if size > MAX_NOTEBOOK_BYTES:
        raise Refused(f"file too large ({size / 2**20:.0f} MB > "
                      f"{MAX_NOTEBOOK_BYTES // 2**20} MB)")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise Refused("not a notebook (not UTF-8 text)") from None
    except Exception as err:  # nbformat raises several types for JSON and schema errors
        kind = "invalid JSON" if isinstance(err, json.JSONDecodeError) or \
            "JSON" in type(err).__name__ or "json" in str(err).lower() else "not a notebook"
        raise Refused(f"{kind}: {str(err).splitlines()[0][:120] if str(err) else ''}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Refused("not a notebook (no cells)")
    ours = set(assignment.grade_ids) | {grade_id_of(c) for c in assignment.cells}
    gids = {grade_id_of(c) for c in nb.cells} - {None}
    if gids and not gids & ours:
        other = sorted({g.split("_", 1)[0] for g in gids})
        raise Refused(f"wrong assignment: a notebook for {', '.join(other)}, "
                      f"not {assignment.name}")
    return nb
