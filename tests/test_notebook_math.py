r"""Display maths in the notebooks that renders in the book as the author wrote it.

Sphinx wraps a ``$$ ... $$`` block whose text contains ``\\`` in a ``split`` environment, where
MathJax refuses ``\tag`` ("tag not allowed in split environment"): such blocks must be written
as ``\begin{equation*} ... \tag{..} \end{equation*}``. And ``\_`` inside ``\text{}`` shows a
backslash in MathJax: ``\mathrm{max\_norm}`` is what renders as max_norm. And a ``$$`` block
must have a blank line before and after it: inside a list item MyST otherwise reads it as
inline ``$...$`` with stray dollars, and raw TeX shows on the page.
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


def unspaced_display_maths(text: str) -> list[str]:
    """The lines that open or close a ``$$`` block with no blank line next to them."""
    lines, problems, inside = text.split("\n"), [], False
    for k, line in enumerate(lines):
        stripped = line.strip()
        opens = not inside and stripped.startswith("$$")
        closes = inside and stripped.endswith("$$")
        if opens:
            inside = not (stripped.endswith("$$") and len(stripped) > 2)
            if k > 0 and lines[k - 1].strip():
                problems.append(f"no blank line before $$: {lines[k - 1].strip()[:60]}")
        if (opens and not inside) or closes:
            inside = False
            if k + 1 < len(lines) and lines[k + 1].strip():
                problems.append(f"no blank line after $$: {lines[k + 1].strip()[:60]}")
    return problems


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
        problems += unspaced_display_maths(text)
    assert not problems, "\n".join(problems)


def test_the_check_finds_both_problems(tmp_path):
    bad = tmp_path / "bad.ipynb"
    source = "$$\na \\\\ b \\tag{1}\n$$ and $\\text{max\\_norm}$"
    bad.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": source}]}))
    with pytest.raises(AssertionError, match="equation\\*") as err:
        test_display_maths_renders(bad)
    assert "inside \\text" in str(err.value)


def test_the_check_finds_display_maths_glued_to_a_list_item():
    glued = "1. the sum is\n   $$\n   a + b\n   $$\n2. next"
    assert len(unspaced_display_maths(glued)) == 2
    spaced = "1. the sum is\n\n   $$\n   a + b\n   $$\n\n2. next\n\n$$x$$\n"
    assert unspaced_display_maths(spaced) == []
