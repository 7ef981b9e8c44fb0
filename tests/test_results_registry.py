"""The results registry (book/results.json): values in their bands, and in step with the
record(...) calls of the chapter notebooks."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dlbook.results import load, markdown_table, record

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "book" / "results.json"
RECORD = re.compile(r'record\(\s*"(?P<chapter>ch\d\d)",\s*(?P<f>f?)"(?P<metric>[^"]+)"')


def recorded_in_notebooks() -> set[tuple[str, str]]:
    """(chapter, metric) of every record(...) call; an f-string metric (one call in a loop
    over methods) is kept as a pattern in which each {field} stands for any text."""
    found = set()
    for path in (ROOT / "book").glob("ch*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for m in RECORD.finditer("".join(cell["source"])):
                    metric = m["metric"]
                    if m["f"]:
                        metric = "^" + ".+".join(map(re.escape, re.split(r"\{[^}]*\}",
                                                                         metric))) + "$"
                    found.add((m["chapter"], metric))
    return found


def _matches(entry: tuple[str, str], recorded: tuple[str, str]) -> bool:
    (chapter, metric), (rec_chapter, rec_metric) = entry, recorded
    if chapter != rec_chapter:
        return False
    if rec_metric.startswith("^"):
        return re.match(rec_metric, metric) is not None
    return metric == rec_metric


def test_every_recorded_value_is_in_its_band():
    entries = load(REGISTRY)
    assert entries, "book/results.json is empty: run benchmarks/time_notebooks.py"
    for e in entries:
        low, high = e["band"]
        assert low <= e["value"] <= high, f"{e['chapter']}: {e['metric']} = {e['value']}"


def test_the_registry_holds_what_the_chapters_record():
    registry = {(e["chapter"], e["metric"]) for e in load(REGISTRY)}
    recorded = recorded_in_notebooks()
    missing = {r for r in recorded if not any(_matches(e, r) for e in registry)}
    stale = {e for e in registry if not any(_matches(e, r) for r in recorded)}
    assert not missing, f"recorded by a chapter, not in book/results.json: {sorted(missing)}"
    assert not stale, f"in book/results.json, recorded by no chapter: {sorted(stale)}"


def test_record_checks_the_band_and_stores_when_asked(tmp_path, monkeypatch):
    with pytest.raises(AssertionError, match="outside its band"):
        record("ch99", "accuracy", 0.5, band=(0.9, 1.0))
    with pytest.raises(ValueError, match="low <= high"):
        record("ch99", "accuracy", 0.5, band=(1.0, 0.9))
    registry = tmp_path / "results.json"
    monkeypatch.setenv("DLBOOK_RESULTS", str(registry))
    assert record("ch99", "accuracy", 0.95, band=(0.9, 1.0)) == 0.95
    record("ch99", "accuracy", 0.97, band=(0.9, 1.0))  # replaces, never duplicates
    (entry,) = load(registry)
    assert entry["value"] == 0.97 and entry["band"] == [0.9, 1.0]
    table = markdown_table(load(registry), {"ch99": 12.3})
    assert "| ch99 | accuracy | 0.97 | [0.9, 1] |" in table and "| ch99 | 12 |" in table
