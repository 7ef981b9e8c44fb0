"""The grading journal: every finished row, appended at once, beside the gradebook.

``grades.csv`` and ``grades.json`` are replaced only when a run ends, so a run killed half-way
leaves the previous gradebook whole. Progress goes to ``grades.journal`` instead: a header line
(the assignment, the fingerprint of its solution notebook, the run's secret seed, the sandbox)
then one JSON row per graded submission, flushed and synced as it is finished. ``--resume``
reads it back: rows of the same assignment, fingerprint and seed are reused for the very
files they graded (same name, same SHA-256); a torn last line is ignored. The sandboxed kernels
cannot reach the journal, the gradebook or the submissions, so no row can be written from one.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from dlbook.grading.gradebook import Row


@dataclass(frozen=True)
class Header:
    """What a journal's rows are valid for."""

    assignment: str
    fingerprint: str
    seed: int
    sandbox: str


def fingerprint(path: Path) -> str:
    """SHA-256 of the solution notebook (its test cells define the grades) and dlbook's version."""
    import dlbook

    return hashlib.sha256(path.read_bytes() + dlbook.__version__.encode()).hexdigest()


def path_for(gradebook: Path) -> Path:
    """``grades.journal`` beside ``grades.csv``."""
    return gradebook.with_suffix(".journal")


def read(path: Path) -> tuple[Header | None, dict[tuple[str, str], Row]]:
    """The header and rows of a journal, by (file name, SHA-256); empty if there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None, {}
    try:
        header = Header(**json.loads(lines[0]))
    except (IndexError, ValueError, TypeError):
        return None, {}
    rows = {}
    for line in lines[1:]:
        try:
            row = Row.from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue  # a line torn by a kill
        rows[(row.file, row.sha256)] = row
    return header, rows


class Journal:
    """Appends rows to a journal started with ``header`` (a fresh file: the old one is
    replaced atomically once the header is written)."""

    def __init__(self, path: Path, header: Header, rows: list[Row] | None = None) -> None:
        self.path = path
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps(asdict(header)) + "\n")
            for row in rows or []:
                f.write(json.dumps(row.to_dict()) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def append(self, row: Row) -> None:
        self._file.write(json.dumps(row.to_dict()) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
