"""dlbook.grading.builder: solutions/ -> exercises/ on synthetic notebooks, and the repo in sync."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlbook.grading.builder import MarkerError, build, exercise_notebook, render, strip_source

ROOT = Path(__file__).resolve().parents[2]


def grader_meta(grade_id: str, **flags) -> dict:
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
            "solution": False, "task": False}
    return {"nbgrader": {**meta, **flags}}


SOLUTION_SRC = '''def f(x):
    """Doc."""
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION


class A:
    def g(self):
        ### BEGIN SOLUTION
        return 2
        ### END SOLUTION'''

TEST_SRC = '''check("ch00.relu", f)
### BEGIN HIDDEN TESTS
check("ch00.relu", f, suite="hidden")
### END HIDDEN TESTS
print("done")'''


def synthetic() -> nbformat.NotebookNode:
    solution = new_code_cell(SOLUTION_SRC, metadata=grader_meta("q1", solution=True),
                             execution_count=3,
                             outputs=[new_output("stream", name="stdout", text="hi\n")])
    solution.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    test = new_code_cell(TEST_SRC, execution_count=4,
                         metadata=grader_meta("q1_test", grade=True, locked=True, points=3))
    cells = [new_markdown_cell("# Title\n\n$x^2$ and `### not a marker`"), solution, test,
             new_code_cell("1 + 1", execution_count=5)]
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                              "display_name": "Python 3",
                                                              "language": "python"}})


def test_solution_replaced_at_its_indentation():
    out = strip_source(SOLUTION_SRC)
    assert out.split("\n") == [
        "def f(x):", '    """Doc."""',
        "    # YOUR CODE HERE", '    raise NotImplementedError("write your code here")',
        "", "", "class A:", "    def g(self):",
        "        # YOUR CODE HERE", '        raise NotImplementedError("write your code here")',
    ]


def test_hidden_tests_removed():
    assert strip_source(TEST_SRC) == 'check("ch00.relu", f)\nprint("done")'


def test_source_without_markers_unchanged():
    src = "x = 1\n\n  y = 2  \n"
    assert strip_source(src) == src


def test_notebook_round_trip_keeps_metadata_and_clears_outputs():
    nb = synthetic()
    ex = exercise_notebook(nb, "solutions/ch99_x.ipynb")
    md, solution, test, plain = ex.cells
    assert md == nb.cells[0]
    assert "y = x + 1" not in solution.source and "NotImplementedError" in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert solution.metadata["nbgrader"] == nb.cells[1].metadata["nbgrader"]
    assert "execution" not in solution.metadata
    assert "HIDDEN" not in test.source and 'suite="hidden"' not in test.source
    assert test.metadata["nbgrader"]["points"] == 3 and test.metadata["nbgrader"]["locked"]
    assert plain.source == "1 + 1" and plain.execution_count is None
    assert [c.id for c in ex.cells] == [c.id for c in nb.cells]
    assert ex.metadata == nb.metadata
    assert nb.cells[1].outputs, "the source notebook must not be modified"


def test_build_is_deterministic_and_check_detects_drift(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(synthetic(), tmp_path / "solutions" / "ch99_x.ipynb")
    first = build(tmp_path)
    assert first.written == ["exercises/ch99_x.ipynb"]
    text = (tmp_path / "exercises" / "ch99_x.ipynb").read_text()
    assert build(tmp_path).unchanged == ["exercises/ch99_x.ipynb"]
    assert build(tmp_path, check=True).in_sync
    assert (tmp_path / "exercises" / "ch99_x.ipynb").read_text() == text
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN" not in text
    (tmp_path / "exercises" / "ch99_x.ipynb").write_text(text.replace("YOUR CODE", "MINE"))
    report = build(tmp_path, check=True)
    assert report.out_of_sync == ["exercises/ch99_x.ipynb"] and not report.in_sync
    (tmp_path / "exercises" / "ch98_orphan.ipynb").write_text(text)
    assert build(tmp_path).orphans == ["exercises/ch98_orphan.ipynb"]


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "'### BEGIN SOLUTION' on line 1 is never closed"),
    ("x = 1\n### END SOLUTION", "line 2: '### END SOLUTION' without a '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "line 2: '### BEGIN SOLUTION' inside the region that '### BEGIN SOLUTION' opened on "
     "line 1"),
    ("### BEGIN SOLUTION\n### END HIDDEN TESTS",
     "line 2: '### END HIDDEN TESTS' without a '### BEGIN HIDDEN TESTS'"),
])
def test_unbalanced_markers_name_the_line(source, message):
    with pytest.raises(MarkerError, match="^" + message.replace("(", r"\(")):
        strip_source(source)


def notebook_error(cell: nbformat.NotebookNode) -> str:
    cell.id = "bad"
    nb = new_notebook(cells=[new_markdown_cell("# T"), cell])
    with pytest.raises(MarkerError) as err:
        exercise_notebook(nb, "solutions/ch99_x.ipynb")
    return str(err.value)


def test_errors_name_notebook_and_cell():
    cell = new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n",
                         metadata=grader_meta("q1", solution=True))
    assert notebook_error(cell) == (
        "solutions/ch99_x.ipynb, cell 2 (grade_id q1): '### BEGIN SOLUTION' on line 2 is "
        "never closed by '### END SOLUTION'")


@pytest.mark.parametrize("cell, message", [
    (new_code_cell("### BEGIN SOLUTION\nx\n### END SOLUTION"),
     "does not say solution: true"),
    (new_code_cell("x = 1", metadata=grader_meta("q1", solution=True)),
     "without '### BEGIN SOLUTION'"),
    (new_code_cell("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS",
                   metadata=grader_meta("q1", solution=False)),
     "does not say grade: true"),
    (new_markdown_cell("### BEGIN SOLUTION\nx\n### END SOLUTION"),
     "markers are only allowed in code cells"),
])
def test_markers_must_match_the_cells_role(cell, message):
    assert message in notebook_error(cell)


def test_duplicate_grade_ids_rejected():
    cells = [new_code_cell("x", metadata=grader_meta("same")),
             new_code_cell("y", metadata=grader_meta("same"))]
    for i, cell in enumerate(cells):
        cell.id = f"c{i}"
    with pytest.raises(MarkerError, match="cell 2 \\(grade_id same\\): grade_id 'same' is also"):
        exercise_notebook(new_notebook(cells=cells), "n.ipynb")


def test_render_ends_with_newline():
    assert render(synthetic()).endswith("}\n")


def test_repository_exercises_in_sync():
    report = build(ROOT, check=True)
    assert report.in_sync, (report.out_of_sync, report.orphans)
    assert report.unchanged, "no exercise notebook was built from solutions/"
