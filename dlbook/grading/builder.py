"""Build ``exercises/`` from ``solutions/``: the one source of every exercise notebook.

In a solution notebook, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
the answer; ``build`` replaces it, at the marker's indentation, by::

    # YOUR CODE HERE
    raise NotImplementedError("write your code here")

and drops every line from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS``. Outputs
and execution counts are cleared; markdown and cell metadata (nbgrader's ``grade_id``,
``points``, ``solution``, ``grade``, ``locked``, ``schema_version``) are kept. Output is
written with ``nbformat`` (stable key order and indentation), so a build is byte-for-byte
reproducible and ``build(check=True)`` can tell whether ``exercises/`` is in sync.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB = ("# YOUR CODE HERE", 'raise NotImplementedError("write your code here")')
SOURCE_GLOB = "ch[0-9][0-9]_*.ipynb"
# Cell metadata that records a particular run (nbclient's timestamps), not the notebook.
RUN_METADATA = ("execution",)


class MarkerError(ValueError):
    """Unbalanced or misplaced markers; the message names the notebook, cell and line."""


def _marker(line: str) -> str | None:
    stripped = line.strip()
    for marker in (*SOLUTION, *HIDDEN):
        if stripped.startswith(marker):
            return marker
    return None


def strip_source(source: str) -> str:
    """``source`` with solutions replaced by the stub and hidden tests removed.

    Raises :class:`MarkerError` (with the line number) for an END without its BEGIN, a
    BEGIN inside an open region, or a region that is never closed.
    """
    out: list[str] = []
    open_marker, open_line = None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        marker = _marker(line)
        if marker in (SOLUTION[0], HIDDEN[0]):
            if open_marker:
                raise MarkerError(f"line {number}: '{marker}' inside the region that "
                                  f"'{open_marker}' opened on line {open_line}")
            open_marker, open_line = marker, number
            if marker == SOLUTION[0]:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + s for s in STUB]
        elif marker in (SOLUTION[1], HIDDEN[1]):
            begin = SOLUTION[0] if marker == SOLUTION[1] else HIDDEN[0]
            if open_marker != begin:
                raise MarkerError(f"line {number}: '{marker}' without a '{begin}' before it")
            open_marker = None
        elif open_marker is None:
            out.append(line)
    if open_marker:
        end = SOLUTION[1] if open_marker == SOLUTION[0] else HIDDEN[1]
        raise MarkerError(f"'{open_marker}' on line {open_line} is never closed by '{end}'")
    return "\n".join(out)


def _check_cell(cell: nbformat.NotebookNode) -> None:
    """The markers a cell holds must match its nbgrader role."""
    markers = {_marker(line) for line in cell.source.split("\n")}
    has_solution = bool(markers & set(SOLUTION))
    has_hidden = bool(markers & set(HIDDEN))
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type != "code" and (has_solution or has_hidden):
        raise MarkerError(f"markers are only allowed in code cells, this is a {cell.cell_type} "
                          "cell")
    if has_solution and not meta.get("solution"):
        raise MarkerError(f"'{SOLUTION[0]}' in a cell whose nbgrader metadata does not say "
                          "solution: true")
    if meta.get("solution") and cell.cell_type == "code" and not has_solution:
        raise MarkerError(f"a solution cell (nbgrader solution: true) without '{SOLUTION[0]}': "
                          "the whole answer would be given away")
    if has_hidden and not meta.get("grade"):
        raise MarkerError(f"'{HIDDEN[0]}' in a cell whose nbgrader metadata does not say "
                          "grade: true")


def exercise_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercise version of solution notebook ``nb`` (``name`` is used in errors)."""
    nb = copy.deepcopy(nb)
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells, start=1):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        where = f"{name}, cell {index}" + (f" (grade_id {grade_id})" if grade_id else "")
        if grade_id in seen:
            raise MarkerError(f"{where}: grade_id {grade_id!r} is also used by cell "
                              f"{seen[grade_id]}")
        if grade_id:
            seen[grade_id] = index
        try:
            _check_cell(cell)
            if cell.cell_type == "code":
                cell.source = strip_source(cell.source)
        except MarkerError as err:
            raise MarkerError(f"{where}: {err}") from None
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The exact text written to disk (nbformat's stable JSON, ending in a newline)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


@dataclass
class BuildReport:
    """What ``build`` did (or, with ``check=True``, would do), as paths relative to root."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    out_of_sync: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.out_of_sync and not self.orphans


def build(root: str | Path = ".", check: bool = False) -> BuildReport:
    """Write ``exercises/chNN_*.ipynb`` from every ``solutions/chNN_*.ipynb`` under ``root``.

    With ``check=True`` nothing is written: the report lists exercise notebooks that differ
    from what would be built, and exercise notebooks with no solution source (orphans).
    """
    root = Path(root)
    solutions, exercises = root / "solutions", root / "exercises"
    report = BuildReport()
    sources = sorted(solutions.glob(SOURCE_GLOB))
    for source in sources:
        rel = f"solutions/{source.name}"
        target = exercises / source.name
        text = render(exercise_notebook(nbformat.read(source, as_version=4), rel))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            report.unchanged.append(f"exercises/{source.name}")
        elif check:
            report.out_of_sync.append(f"exercises/{source.name}")
        else:
            exercises.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            report.written.append(f"exercises/{source.name}")
    names = {s.name for s in sources}
    report.orphans = [f"exercises/{p.name}" for p in sorted(exercises.glob(SOURCE_GLOB))
                      if p.name not in names]
    return report
