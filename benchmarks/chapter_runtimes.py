"""Measured chapter runtimes, written where readers look: each chapter page and the README.

``benchmarks/time_notebooks.py`` measures every notebook and calls :func:`update_all`, which

- puts one line under the Colab link of each chapter's first cell:
  ``*Runtime: about 14 s on 2 CPU cores, one BLAS thread (benchmarks/time_notebooks.py).*``
- rewrites the runtime column of the README's chapter table (between the
  ``<!-- chapters:start -->`` / ``<!-- chapters:end -->`` markers) and its Colab column,
  built from the repository's home in ``_config.yml`` by ``tools/colab_home.py`` (a badge
  linking the release once the home is set, "not set up" until then).

tests/test_chapter_runtimes.py checks that the pages, the README and
``benchmarks/notebooks.json`` agree.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_home  # noqa: E402

TIMES = ROOT / "benchmarks" / "notebooks.json"
README = ROOT / "README.md"
PREFIX = "*Runtime:"
START, END = "<!-- chapters:start -->", "<!-- chapters:end -->"


def load_runtimes(path: Path = TIMES) -> dict[str, float]:
    """Seconds per notebook, keyed ``"book/ch01_perceptron_mlp.ipynb"``."""
    doc = json.loads(path.read_text())
    return {row["notebook"]: row["seconds"] for row in doc["notebooks"]}


def runtime_line(seconds: float, cores: int = 2) -> str:
    """The line a chapter page shows (whole seconds: the machine's noise is larger)."""
    return (f"{PREFIX} about {max(1, round(seconds))} s on {cores} CPU cores, one BLAS "
            "thread (`benchmarks/time_notebooks.py`).*")


def set_page_runtime(nb: nbformat.NotebookNode, line: str) -> bool:
    """Put ``line`` in the first cell of ``nb`` (replacing an older one, else after the Colab
    line); True when the notebook changed."""
    cell = nb.cells[0]
    if cell.cell_type != "markdown":
        raise ValueError("the first cell of a chapter must be markdown (title, Colab link)")
    lines = cell.source.split("\n")
    old = [i for i, text in enumerate(lines) if text.startswith(PREFIX)]
    if old:
        if lines[old[0]] == line:
            return False
        lines[old[0]] = line
    else:
        link = next((i for i, text in enumerate(lines) if colab_home.BADGE_LINE.match(text)),
                    None)
        if link is None:
            raise ValueError("no Colab line in the first cell to put the runtime under")
        lines[link + 1:link + 1] = ["", line]
    cell.source = "\n".join(lines)
    return True


def readme_row(row: str, runtimes: dict[str, float], home: colab_home.Home) -> str:
    """One README table row with its runtime from ``runtimes`` and its Colab column."""
    cells = row.split(" | ")
    found = re.search(r"\((book/ch\d\d_\w+\.ipynb)\)", row)
    if not found or len(cells) != 5:
        return row
    notebook = found.group(1)
    if notebook in runtimes:
        cells[3] = f"~{max(1, round(runtimes[notebook]))} s"
    cells[4] = f"{colab_home.readme_colab_cell(home, notebook)} |"
    return " | ".join(cells)


def update_readme(text: str, runtimes: dict[str, float],
                  home: colab_home.Home | None = None) -> str:
    """``text`` (the README) with the chapter table's runtimes and Colab column refreshed
    (``home``: the repository's, from _config.yml by default)."""
    home = home or colab_home.load_home()
    head, rest = text.split(START, 1)
    table, tail = rest.split(END, 1)
    rows = [readme_row(r, runtimes, home) if r.startswith("| ") and r[2:3].isdigit() else r
            for r in table.split("\n")]
    return head + START + "\n".join(rows) + END + tail


def update_all(runtimes: dict[str, float]) -> list[Path]:
    """Write the runtime line into every timed chapter page and the README; the changed files."""
    changed = []
    for notebook, seconds in sorted(runtimes.items()):
        path = ROOT / notebook
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        if set_page_runtime(nb, runtime_line(seconds)):
            nbformat.write(nb, path)
            changed.append(path)
    text = README.read_text()
    new = update_readme(text, runtimes)
    if new != text:
        README.write_text(new)
        changed.append(README)
    return changed
