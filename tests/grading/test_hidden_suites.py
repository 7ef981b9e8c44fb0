"""Hidden inputs are drawn afresh for every grading run, so a right answer must pass them for
any seed: each solution notebook's answers are checked on the hidden suites of many seeds
(in this process; the sandboxed grader is tested in test_grader.py)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlbook.grading import evaluate
from dlbook.grading.registry import get

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("ch[0-9][0-9]_*.ipynb"))
SEEDS = range(12)
SLOW = {"ch01.train_mlp": 1}  # trains a network per seed


def _answers(path: Path) -> tuple[dict, list[str]]:
    """The notebook's namespace after its answer cells, and its graded questions."""
    nb = nbformat.read(path, as_version=4)
    space: dict = {}
    questions = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader", {}).get("grade"):
            questions.append(cell.metadata["dlbook"]["question"])
        elif not any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines()) \
                and "summary()" not in cell.source:
            exec(compile(cell.source, str(path), "exec"), space)
    return space, questions


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:4] for p in SOLUTIONS])
def test_solutions_pass_the_hidden_inputs_of_every_seed(path: Path) -> None:
    space, questions = _answers(path)
    failed = []
    for qid in questions:
        question = get(qid)
        answer = space[question.function_name]
        for seed in list(SEEDS)[:SLOW.get(qid, len(SEEDS))]:
            result = evaluate(qid, answer, "hidden", seed)
            if not result.passed:
                failed.append(f"{qid} seed {seed}: {result.message}")
    assert not failed
