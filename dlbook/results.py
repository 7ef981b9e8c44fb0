"""The results registry: each chapter's headline numbers, checked against their bands.

A chapter notebook calls :func:`record` for each result it states in its prose::

    record("ch06", "LeNet test accuracy", acc, band=(0.97, 1.0))

``record`` fails loudly when the value leaves its band (so nbval fails), and, when the
environment variable ``DLBOOK_RESULTS`` names a JSON file, stores the value, its band and the
date there. Running the tests does not set it, so ``make test`` never rewrites the registry;
re-executing the book on purpose does.
"""
from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path

ENV_VAR = "DLBOOK_RESULTS"


def record(chapter: str, metric: str, value: float, band: tuple[float, float], *,
           unit: str = "") -> float:
    """Check ``value`` against ``band = (low, high)`` and store it in the registry if enabled.

    Returns ``value`` as a float so a cell can record and print in one line.
    """
    value = float(value)
    low, high = band
    if not low <= high:
        raise ValueError(f"band must be (low, high) with low <= high, got {band}")
    if math.isnan(value) or not low <= value <= high:
        raise AssertionError(f"{chapter}: {metric} = {value:.6g} is outside its band "
                             f"[{low:g}, {high:g}]")
    path = os.environ.get(ENV_VAR)
    if path:
        _store(Path(path), {"chapter": chapter, "metric": metric, "value": value,
                            "band": [low, high], "unit": unit,
                            "date": datetime.date.today().isoformat()})
    return value


def load(path: str | os.PathLike) -> list[dict]:
    """The entries of a registry file (an empty list when it does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text())["results"]


def _store(path: Path, entry: dict) -> None:
    """Replace the entry with the same (chapter, metric), keep the file sorted, write atomically."""
    key = (entry["chapter"], entry["metric"])
    entries = [e for e in load(path) if (e["chapter"], e["metric"]) != key] + [entry]
    entries.sort(key=lambda e: (e["chapter"], e["metric"]))
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"results": entries}, indent=1) + "\n")
    os.replace(tmp, path)


def markdown_table(entries: list[dict], runtimes: dict[str, float] | None = None) -> str:
    """The registry as a markdown table, one row per result, grouped by chapter; with
    ``runtimes`` (seconds per chapter) a second table of chapter runtimes."""
    lines = ["| chapter | result | value | band | recorded |", "|---|---|---:|---|---|"]
    for e in sorted(entries, key=lambda e: (e["chapter"], e["metric"])):
        low, high = e["band"]
        lines.append(f"| {e['chapter']} | {e['metric']} | {e['value']:.4g} | "
                     f"[{low:g}, {high:g}] | {e['date']} |")
    if runtimes:
        lines += ["", "| chapter | runtime (s, one BLAS thread) |", "|---|---:|"]
        lines += [f"| {chapter} | {seconds:.0f} |" for chapter, seconds in sorted(runtimes.items())]
    return "\n".join(lines) + "\n"
