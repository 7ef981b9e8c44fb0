"""Chapter pages, the README and benchmarks/notebooks.json state the same runtimes."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import chapter_runtimes as cr  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("ch[0-9][0-9]_*.ipynb"))
RUNTIMES = cr.load_runtimes()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_page_states_its_measured_runtime(path: Path) -> None:
    key = f"book/{path.name}"
    assert key in RUNTIMES, f"{key} was never timed: run benchmarks/time_notebooks.py {key}"
    first = nbformat.read(path, as_version=4).cells[0].source.split("\n")
    assert cr.runtime_line(RUNTIMES[key]) in first, \
        "stale runtime line: run benchmarks/time_notebooks.py"


def test_readme_table_has_every_chapter_with_runtime_and_badge() -> None:
    readme = cr.README.read_text()
    assert cr.update_readme(readme, RUNTIMES) == readme, \
        "README chapter table is stale: run benchmarks/time_notebooks.py"
    table = readme.split(cr.START, 1)[1].split(cr.END, 1)[0]
    for path in CHAPTERS:
        row = next((r for r in table.split("\n") if f"(book/{path.name})" in r), None)
        assert row is not None, f"README's chapter table has no row for {path.name}"
        assert cr.colab_home.readme_colab_cell(cr.colab_home.load_home(), f"book/{path.name}") \
            in row


def test_runtime_line_replaces_an_old_one() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# Chapter 1\n\n[Open in Colab](https://colab.research.google.com/github/o/r/blob/v1/"
        "book/ch01_x.ipynb)\n\nIntro.")])
    assert cr.set_page_runtime(nb, cr.runtime_line(13.6))
    assert not cr.set_page_runtime(nb, cr.runtime_line(13.6))
    assert cr.set_page_runtime(nb, cr.runtime_line(20.2))
    lines = nb.cells[0].source.split("\n")
    assert [x for x in lines if x.startswith(cr.PREFIX)] == [cr.runtime_line(20.2)]
    assert "about 20 s on 2 CPU cores" in cr.runtime_line(20.2)
    assert lines[2].startswith("[Open in Colab]") and lines[4].startswith(cr.PREFIX)
