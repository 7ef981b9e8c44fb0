"""The Gradescope autograder bundle, run as Gradescope runs it, in a throwaway folder shaped
like ``/autograder``: on the solution (full marks) and on the untouched exercise (stubs, 0),
with ``results.json`` checked against Gradescope's documented format.

The format is Gradescope's "Autograder Specifications" (gradescope-autograders.readthedocs.io):
a top-level ``score``, optional ``max_score``, ``output``, ``visibility``,
``stdout_visibility``, ``extra_data``, and ``tests``, each with ``score``, ``max_score``,
``status`` (passed / failed), ``name``, ``output`` and ``visibility`` (hidden,
after_due_date, after_published, visible). ``setup.sh`` is not run (it installs packages from
the network); the test runs ``run_autograder`` with this machine's Python.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from test_grader import POINTS

from dlbook.cli import main

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.xdist_group("grader_corpus"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")]

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
RESULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]},
              {"properties": {"tests": {"items": {"required": ["score"]}}}}],
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert main(["autograder", "gradescope", "ch01", "-o", str(out), "--timeout", "300"]) == 0
    return out


def test_bundle_holds_what_gradescope_runs(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        mode = zf.getinfo("run_autograder").external_attr >> 16
        setup = zf.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "config.json", "pyproject.toml", "constraints.txt",
            "solutions/ch01_perceptron_mlp.ipynb", "dlbook/grading/questions/ch01.py"} <= names
    assert mode & 0o111
    assert "bubblewrap" in setup and "constraints.txt" in setup
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)


def _run_autograder(bundle: Path, root: Path, notebook: Path) -> dict:
    """Unzip into ``root/source`` (as Gradescope does), hand in ``notebook``, run
    ``run_autograder`` (Gradescope copies it to ``root``); it must grade with the bundle's
    own dlbook."""
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    (root / "submission").mkdir()
    shutil.copy(notebook, root / "submission" / notebook.name)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"dlbook at {root / 'source' / 'dlbook'}" in done.stdout
    doc = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(doc, RESULTS_SCHEMA)
    return doc


def test_solution_scores_full_marks(bundle: Path, tmp_path: Path) -> None:
    doc = _run_autograder(bundle, tmp_path / "autograder",
                          ROOT / "solutions" / "ch01_perceptron_mlp.ipynb")
    assert doc["score"] == doc["max_score"] == sum(POINTS.values())
    assert [t["status"] for t in doc["tests"]] == ["passed"] * len(POINTS)
    assert isinstance(doc["extra_data"]["seed"], int)


def test_stubs_score_zero_with_reasons(bundle: Path, tmp_path: Path) -> None:
    doc = _run_autograder(bundle, tmp_path / "autograder",
                          ROOT / "exercises" / "ch01_perceptron_mlp.ipynb")
    assert doc["score"] == 0 and doc["max_score"] == sum(POINTS.values())
    assert {t["output"] for t in doc["tests"]} == {"not implemented yet"}
    assert all(t["visibility"] == "visible" for t in doc["tests"])


def test_hidden_failures_are_shown_after_publishing() -> None:
    from dlbook.grading.gradebook import QuestionGrade, Row
    from dlbook.grading.gradescope import HIDDEN_NOTE, results

    row = Row("s", "s.ipynb", "0" * 64, "ok", [
        QuestionGrade("g1", "ch01.perceptron", 0, 2, "w is wrong (input 1 of 2: X (3, 2)) "
                                                     "(hidden tests)"),
        QuestionGrade("g2", "ch01.linear_backward", 3, 3, "passed")])
    doc = results(row)
    jsonschema.validate(doc, RESULTS_SCHEMA)
    assert [(t["output"], t["visibility"]) for t in doc["tests"]] == [
        (HIDDEN_NOTE, "visible"), (row.questions[0].message, "after_published"),
        ("passed", "visible")]
    assert doc["score"] == 3
