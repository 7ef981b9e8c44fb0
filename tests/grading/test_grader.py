"""``dlbook grade`` on a corpus of honest, broken and hostile chapter-1 submissions.

Each submission is made from solutions/ch01 (all eight answers right, 21 points) or
exercises/ch01 (stubs, 0 points) by one change, and asserts the points it must get per
question and the status it must report. The whole corpus is graded once, as an instructor
would: one ``grade_all`` over the folder, two kernels at a time.
"""
from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from dlbook.grading import gradebook, grader
from dlbook.grading.assignment import MAX_NOTEBOOK_BYTES

# One worker grades the corpus once (make test runs pytest with --dist loadgroup). Every
# submission runs in a bubblewrap sandbox (.ci/run installs it).
pytestmark = [pytest.mark.xdist_group("grader_corpus"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")]

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "ch01_perceptron_mlp.ipynb"
EXERCISE = ROOT / "exercises" / "ch01_perceptron_mlp.ipynb"
# Each chapter-1 question's points, read from the single source (solutions/), by short name.
POINTS = {t.question.split(".", 1)[1]: t.points
          for t in grader.load_assignment("ch01").tests}
FULL = dict(POINTS)
NONE = dict.fromkeys(POINTS, 0)
LIMITS = grader.Limits(timeout=120, memory_mb=3072)  # per kernel (ch01 runs two; 8 questions)


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    return ids.index(grade_id)


def _insert_after(nb: nbformat.NotebookNode, grade_id: str, source: str
                  ) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells.insert(_index(nb, grade_id) + 1, nbformat.v4.new_code_cell(source))
    return nb


def _set_source(nb: nbformat.NotebookNode, grade_id: str, source: str
                ) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells[_index(nb, grade_id)].source = source
    return nb


def _solution() -> nbformat.NotebookNode:
    return _read(SOLUTION)


def _stubs() -> nbformat.NotebookNode:
    return _read(EXERCISE)


def _without_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


def _tests_edited(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = 'print("✔ passed (all points)")'
    return nb


def _fake_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text="✔ passed (3/3 points)\n")]
    return nb


WRONG_LINEAR = '''def linear_backward(grad_out, x, weight):
    return grad_out @ weight, (grad_out.T @ x).T, grad_out.sum(axis=0)
'''


@dataclass(frozen=True)
class Submission:
    """A corpus entry: how to make it, and the points and status it must get."""

    make: Callable[[], nbformat.NotebookNode | bytes]
    points: dict[str, int]
    status: str = "ok"


CORPUS: dict[str, Submission] = {
    "honest_solution": Submission(_solution, FULL),
    "untouched_exercise": Submission(_stubs, NONE),
    # The test cells come from the solution source: deleting, editing or faking them is moot.
    "deleted_tests": Submission(lambda: _without_tests(_solution()), FULL),
    "deleted_tests_stubs": Submission(lambda: _without_tests(_stubs()), NONE),
    "edited_tests_stubs": Submission(lambda: _tests_edited(_stubs()), NONE),
    "faked_outputs_stubs": Submission(lambda: _fake_outputs(_stubs()), NONE),
    "redefined_check": Submission(lambda: _insert_after(
        _stubs(), "ch01_perceptron",
        'def check(*args, **kwargs):\n    print("✔ passed")\n'), NONE),
    "printed_fake_score": Submission(lambda: _insert_after(
        _stubs(), "ch01_train_mlp", 'print("Total: 14 / 14 points")'), NONE),
    # Patching NumPy's comparisons or dlbook's in the kernel changes nothing: the verdict is
    # reached in the grader's process.
    "patched_numpy": Submission(lambda: _set_source(_insert_after(
        _solution(), "ch01_perceptron",
        "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"),
        "ch01_linear_backward", WRONG_LINEAR), FULL | {"linear_backward": 0}),
    "patched_dlbook_check": Submission(lambda: _set_source(_insert_after(
        _solution(), "ch01_perceptron",
        "import dlbook.grading as g\ng.check = lambda *a, **k: None\n"),
        "ch01_linear_backward", WRONG_LINEAR), FULL | {"linear_backward": 0}),
    "patched_builtins": Submission(lambda: _set_source(_insert_after(
        _solution(), "ch01_perceptron",
        "import builtins\nbuiltins.abs = lambda x: 0 * x\nbuiltins.print = lambda *a, **k: None\n"),
        "ch01_linear_backward", WRONG_LINEAR), FULL | {"linear_backward": 0}),
    "no_savez": Submission(lambda: _insert_after(
        _stubs(), "ch01_perceptron", "np.savez = lambda *a, **k: None\n"), NONE),
    # The references are not in the kernel: the registry there has no questions.
    "answer_key": Submission(lambda: _set_source(
        _solution(), "ch01_linear_backward",
        "from dlbook.grading.registry import get\n\n"
        "def linear_backward(grad_out, x, weight):\n"
        '    ref = get("ch01.linear_backward").reference(grad_out, x, weight)\n'
        "    return tuple(ref.values())\n"), FULL | {"linear_backward": 0}),
    "changed_directory": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron", 'import os\nos.chdir("/")'), FULL),
    "mutates_input": Submission(lambda: _set_source(
        _solution(), "ch01_linear_backward",
        "def linear_backward(grad_out, x, weight):\n    x *= 0\n"
        "    return grad_out @ weight, grad_out.T @ x, grad_out.sum(axis=0)\n"),
        FULL | {"linear_backward": 0}),
    "renamed_function": Submission(lambda: _set_source(
        _solution(), "ch01_value_sigmoid", "def my_sigmoid(v):\n    return 1 / (1 + (-v).exp())"),
        FULL | {"value_sigmoid": 0}),
    # Exits, loops, bombs: points earned before the trouble are kept, the rest is 0.
    "sys_exit": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron_test", "import sys\nsys.exit(0)"), FULL),
    "os_exit": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron_test", "import os\nos._exit(0)"),
        NONE | {"perceptron": 2}, "kernel died"),
    "infinite_loop": Submission(lambda: _set_source(
        _solution(), "ch01_mlp_gradients",
        "def mlp_gradients(X, y, W1, b1, W2, b2):\n    while True:\n        pass\n"),
        NONE | {"perceptron": 2, "linear_backward": 3, "train_mlp": 3}, "timeout"),
    "memory_bomb": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron",
        "blocks = []\nwhile True:\n    blocks.append(np.ones(10**8))\n"), FULL,
        "memory limit exceeded"),
    "huge_output": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron",
        'for _ in range(2000):\n    print("x" * 10_000)\n'), FULL, "output capped"),
    # Files that are not this assignment's notebook are refused with a one-line reason.
    "other_assignment": Submission(
        lambda: _read(ROOT / "solutions" / "ch02_activations.ipynb"), NONE, "wrong assignment"),
    "invalid_json": Submission(lambda: b'{"cells": [', NONE, "invalid JSON"),
    "empty_file": Submission(lambda: b"", NONE, "empty file"),
    "not_a_notebook": Submission(lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, NONE,
                                 "not a notebook"),
    "json_not_notebook": Submission(lambda: b'{"hello": "world"}', NONE, "not a notebook"),
    "huge_file": Submission(lambda: b" " * (MAX_NOTEBOOK_BYTES + 1), NONE,
                            "file too large"),
}


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, gradebook.Row]:
    folder = tmp_path_factory.mktemp("submissions")
    for name, sub in CORPUS.items():
        made = sub.make()
        path = folder / f"{name}.ipynb"
        if isinstance(made, bytes):
            path.write_bytes(made)
        else:
            nbformat.write(made, path)
    plan = grader.make_plan(grader.load_assignment("ch01"))
    paths = grader.find_submissions([folder])
    rows = grader.grade_all(paths, plan, LIMITS, jobs=2)
    return {row.submission: row for row in rows}


@pytest.mark.parametrize("name", list(CORPUS))
def test_submission_gets_what_it_earned(graded: dict[str, gradebook.Row], name: str) -> None:
    row, expected = graded[name], CORPUS[name]
    got = {q.question.split(".", 1)[1]: q.points for q in row.questions}
    assert got == expected.points, [q.message for q in row.questions]
    assert row.max_score == sum(POINTS.values())
    assert expected.status in row.status, row.status
    assert "\n" not in row.status and len(row.status) <= 200


def test_messages_say_what_is_wrong(graded: dict[str, gradebook.Row]) -> None:
    def message(name: str, question: str) -> str:
        return next(q.message for q in graded[name].questions if q.question == question)

    assert message("untouched_exercise", "ch01.perceptron") == "not implemented yet"
    assert "grad_weight has shape" in message("patched_numpy", "ch01.linear_backward")
    assert "changed its argument x in place" in message("mutates_input",
                                                         "ch01.linear_backward")
    assert "no function named sigmoid" in message("renamed_function", "ch01.value_sigmoid")
    assert message("os_exit", "ch01.mlp_gradients").startswith("not run")


def test_gradebook_files(graded: dict[str, gradebook.Row], tmp_path: Path) -> None:
    from dlbook.grading.command import write_gradebook, write_gradescope

    assignment = grader.load_assignment("ch01")
    rows = list(graded.values())
    write_gradebook(rows, assignment, tmp_path / "grades.csv", tmp_path / "grades.json")
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0] == ",".join(["submission", "score", "max_score", *assignment.grade_ids,
                                 "status"])
    assert len(lines) == len(rows) + 1
    doc = json.loads((tmp_path / "grades.json").read_text())
    assert {s["submission"] for s in doc["submissions"]} == set(CORPUS)
    honest = next(s for s in doc["submissions"] if s["submission"] == "honest_solution")
    assert honest["score"] == honest["max_score"] == 21
    written = write_gradescope(rows[:1], tmp_path / "results.json")
    scope = json.loads(written[0].read_text())
    assert scope["score"] == rows[0].score
    assert {"name", "score", "max_score", "output"} <= set(scope["tests"][0])


def test_resume_reuses_rows_only_for_unchanged_files(graded: dict[str, gradebook.Row],
                                                     tmp_path: Path) -> None:
    plan = grader.make_plan(grader.load_assignment("ch01"))
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("empty_file", "invalid_json"):
        (folder / f"{name}.ipynb").write_bytes(CORPUS[name].make())
    previous = {(r.file, r.sha256): r for r in graded.values()}
    seen: list[str] = []
    rows = grader.grade_all(grader.find_submissions([folder]), plan, LIMITS,
                            previous=previous, on_done=lambda r: seen.append(r.submission))
    assert [r is graded[r.submission] for r in rows] == [True, True]  # reused, not re-graded
    (folder / "empty_file.ipynb").write_bytes(b"{}")
    rows = grader.grade_all(grader.find_submissions([folder]), plan, LIMITS,
                            previous=previous)
    assert rows[0] is not graded["empty_file"] and "not a notebook" in rows[0].status


def test_every_solution_notebook_scores_full_marks() -> None:
    from concurrent.futures import ThreadPoolExecutor

    sources = sorted((ROOT / "solutions").glob("ch[0-9][0-9]_*.ipynb"))
    assert sources

    def grade(path: Path) -> gradebook.Row:
        plan = grader.make_plan(grader.load_assignment(path.name[:4]))
        return grader.grade_file(path, plan, grader.Limits(timeout=120, memory_mb=4096))

    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(grade, sources))
    wrong = {r.file: (r.status, [q.message for q in r.questions if q.points < q.max_points])
             for r in rows if r.score != r.max_score or r.status != "ok"}
    assert not wrong
    assert all(r.max_score > 0 for r in rows)


def test_grade_command_writes_gradebook_and_resumes(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    from dlbook.cli import main

    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "empty_file.ipynb").write_bytes(b"")
    (folder / "invalid_json.ipynb").write_bytes(b"{")
    out = tmp_path / "grades.csv"
    scope = tmp_path / "scope"
    assert main(["grade", "--assignment", "ch01", str(folder), "--out", str(out),
                 "--gradescope", str(scope)]) == 0
    lines = out.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["empty_file", "invalid_json"]
    assert lines[1].endswith(",empty file")
    assert sorted(p.name for p in scope.iterdir()) == ["empty_file.json", "invalid_json.json"]
    printed = capsys.readouterr().out
    assert "graded 2 submissions, 2 with problems; mean score 0.00 / 21" in printed
    before = (tmp_path / "grades.json").read_text()
    assert main(["grade", "--assignment", "ch01", str(folder), "--out", str(out),
                 "--resume"]) == 0
    assert (tmp_path / "grades.json").read_text() == before


@pytest.mark.parametrize("argv, message", [
    (["--assignment", "ch99", "."], "expected one solution notebook"),
    (["--assignment", "ch01", "no/such/folder"], "no such file or folder"),
    (["--assignment", "ch01", "--jobs", "0", "."], "--jobs must be >= 1"),
])
def test_grade_command_bad_arguments(argv: list[str], message: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    from dlbook.cli import main

    assert main(["grade", *argv, "--out", str(tmp_path / "g.csv")]) == 2
    assert message in capsys.readouterr().out


def test_only_regular_files_are_submissions(tmp_path: Path) -> None:
    import os

    (tmp_path / "real.ipynb").write_text("{}")
    (tmp_path / "folder.ipynb").mkdir()
    os.mkfifo(tmp_path / "pipe.ipynb")  # reading it would block the whole batch
    assert [p.name for p in grader.find_submissions([tmp_path])] == ["real.ipynb"]
    with pytest.raises(ValueError, match="not a regular file"):
        grader.find_submissions([tmp_path / "pipe.ipynb"])
