r"""Display maths in the notebooks that renders in the book as the author wrote it.

Sphinx wraps a ``$$ ... $$`` block whose text contains ``\\`` in a ``split`` environment, where
MathJax refuses ``\tag`` ("tag not allowed in split environment"): such blocks must be written
as ``\begin{equation*} ... \tag{..} \end{equation*}``. And ``\_`` inside ``\text{}`` shows a
backslash in MathJax: ``\mathrm{max\_norm}`` is what renders as max_norm.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
DISPLAY = re.compile(r"\$\$(.*?)\$\$", re.S)
TEXT_UNDERSCORE = re.compile(r"\\text(?:tt)?\{[^}]*\\_")


def markdown_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_display_maths_renders(path):
    problems = []
    for text in markdown_cells(path):
        for block in DISPLAY.findall(text):
            if "\\tag" in block and "\\\\" in block:
                problems.append(f"$$ with \\tag and \\\\ (use equation*): {block.strip()[:60]}")
        problems += [f"\\_ inside \\text{{}}: {m.group(0)}" for m in TEXT_UNDERSCORE.finditer(text)]
    assert not problems, "\n".join(problems)


def test_the_check_finds_both_problems(tmp_path):
    bad = tmp_path / "bad.ipynb"
    source = "$$\na \\\\ b \\tag{1}\n$$ and $\\text{max\\_norm}$"
    bad.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": source}]}))
    with pytest.raises(AssertionError, match="equation\\*") as err:
        test_display_maths_renders(bad)
    assert "inside \\text" in str(err.value)
