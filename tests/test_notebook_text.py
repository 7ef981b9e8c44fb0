"""No notebook cell hides a control character.

A broken escape in a notebook's JSON turns LaTeX into control characters: ``"\\rfloor"``
written as ``"\rfloor"`` is a carriage return followed by "floor", ``"\\top"`` written as
``"\top"`` is a tab followed by "op", and the formula renders wrong without any error. Every
markdown and code cell of every notebook in book/, solutions/ and exercises/ may contain
newlines, but no other control character (C0, DEL or C1).
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("book", "solutions", "exercises")
                   for p in (ROOT / folder).glob("*.ipynb"))


def control_characters(text: str) -> list[tuple[int, str]]:
    """``(line number, description)`` of every control character in ``text`` but newline."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        for column, char in enumerate(line, start=1):
            if unicodedata.category(char) == "Cc":
                context = line[max(0, column - 6):column + 8]
                found.append((number, f"U+{ord(char):04X} at column {column}: {context!r}"))
    return found


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) >= 30, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_control_characters_in_cells(path: Path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    problems = [f"cell {i} ({cell['cell_type']}), line {line}: {what}"
                for i, cell in enumerate(cells) if cell["cell_type"] in ("markdown", "code")
                for line, what in control_characters(_source(cell))]
    assert not problems, "control characters (a broken escape such as \\t or \\r?):\n" + \
        "\n".join(problems)


@pytest.mark.parametrize("text, expected", [
    ("a \\top b\nc", 0),          # the intended LaTeX: backslash, t, o, p
    ("a \top b", 1),              # the broken escape: a tab
    ("\\lfloor x \rfloor", 1),    # a carriage return
    ("x\x7f", 1), ("x\x85y", 1),  # DEL and a C1 control
    ("line one\nline two\n", 0),
])
def test_control_characters_detects_broken_escapes(text, expected):
    assert len(control_characters(text)) == expected
