"""The chapter notebooks of exercises, executed: solutions score full marks, exercises say
"not implemented yet" for every question and raise nowhere."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dlbook.grading.registry import chapter_questions

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("ch[0-9][0-9]_*.ipynb"))


def execute_copy(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a copy of the notebook in a fresh kernel (any cell that raises fails the test)."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_there_are_solution_notebooks():
    assert SOLUTIONS


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercises_report_not_implemented_everywhere(path, tmp_path):
    nb = execute_copy(ROOT / "exercises" / path.name, tmp_path)
    tests = {c.metadata["dlbook"]["question"]: c for c in nb.cells if "dlbook" in c.metadata}
    chapter = path.name[:4]
    assert sorted(tests) == sorted(q.id for q in chapter_questions(chapter))
    for qid, cell in tests.items():
        assert stdout(cell) == f"✘ {qid}: not implemented yet\n"
    total = sum(q.points for q in chapter_questions(chapter))
    assert stdout(nb.cells[-1]).splitlines()[-1].split() == ["total", "0", "/", str(total)]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_score_full_marks(path, tmp_path):
    nb = execute_copy(path, tmp_path)
    tests = [c for c in nb.cells if "dlbook" in c.metadata]
    for cell in tests:
        for line in stdout(cell).splitlines():
            assert line.startswith("✔ "), line
        points = cell.metadata["nbgrader"]["points"]
        assert f"({points}/{points} points)" in stdout(cell)
    chapter = path.name[:4]
    total = sum(q.points for q in chapter_questions(chapter))
    assert stdout(nb.cells[-1]).splitlines()[-1].split() == ["total", str(total), "/", str(total)]
