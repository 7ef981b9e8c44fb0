"""``dlbook grade --assignment chNN PATH... --out grades.csv [--json] [--gradescope] ...``.

Grades every notebook named (or found in the folders named) against the assignment's
solution notebook (:mod:`dlbook.grading.grader`), with a progress bar, and writes the
gradebook after each submission, atomically, so a run killed half-way leaves a whole file
that ``--resume`` finishes.
"""
from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any


def add_parser(commands: Any) -> None:
    """Register ``grade`` on the ``dlbook`` command's subparsers."""
    from dlbook.grading.grader import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

    grade = commands.add_parser(
        "grade", help="grade a folder of submitted notebooks (instructors)",
        description="Run each submission in a fresh, time- and memory-capped kernel with the "
                    "canonical test cells of solutions/chNN_*.ipynb (hidden tests included) "
                    "and judge the answers outside the student's kernel.")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="submitted .ipynb files, or folders searched for them")
    grade.add_argument("--assignment", required=True, metavar="chNN",
                       help="the chapter whose exercises these are, e.g. ch01")
    grade.add_argument("--out", type=Path, required=True, metavar="grades.csv",
                       help="the gradebook: one row per submission")
    grade.add_argument("--json", type=Path, metavar="grades.json",
                       help="also write each question's message (default: next to --out)")
    grade.add_argument("--gradescope", type=Path, metavar="results.json",
                       help="also write Gradescope's results.json (one submission only), or "
                            "a folder of <submission>.json when given a folder or several")
    grade.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                       help=f"seconds per submission (default {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory cap per kernel in MB (default {DEFAULT_MEMORY_MB})")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded at once (default 1)")
    grade.add_argument("--resume", action="store_true",
                       help="keep the rows of the existing gradebook for unchanged files")
    grade.add_argument("--solutions", type=Path, metavar="DIR",
                       help="where solutions/chNN_*.ipynb live (default: the checkout's)")
    grade.set_defaults(func=run)


def _json_path(args: argparse.Namespace) -> Path:
    return args.json or args.out.with_suffix(".json")


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from dlbook.grading import gradebook, grader

    if args.jobs < 1 or args.timeout <= 0 or args.memory < 0:
        print("error: --jobs must be >= 1, --timeout > 0 and --memory >= 0 (0: no cap)")
        return 2
    try:
        assignment = grader.load_assignment(args.assignment, args.solutions)
        paths = grader.find_submissions(args.paths)
    except (ValueError, FileNotFoundError, LookupError) as err:
        print(f"error: {err}")
        return 2
    if not paths:
        print("error: no .ipynb files in " + ", ".join(args.paths))
        return 2
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        dup = sorted({s for s in stems if stems.count(s) > 1})
        print(f"error: two submissions share a name: {', '.join(dup)} (rename one)")
        return 2
    json_path = _json_path(args)
    previous = gradebook.load_rows(json_path) if args.resume else {}
    limits = grader.Limits(timeout=args.timeout, memory_mb=args.memory or None)
    done: dict[str, gradebook.Row] = {}
    lock = threading.Lock()
    bar = tqdm(total=len(paths), desc=f"grading {assignment.name}", unit="notebook")

    def save(row: gradebook.Row) -> None:
        with lock:
            done[row.file] = row
            ordered = [done[p.name] for p in paths if p.name in done]
            write_gradebook(ordered, assignment, args.out, json_path)
            bar.update(1)
            bar.set_postfix_str(f"{row.submission}: {row.score}/{row.max_score}")

    rows = grader.grade_all(paths, assignment, limits, jobs=args.jobs, previous=previous,
                            on_done=save)
    bar.close()
    if args.gradescope:
        for path in write_gradescope(rows, args.gradescope):
            print(f"wrote {path}")
    print(f"wrote {args.out} and {json_path}")
    print(grader.summarize(rows, assignment))
    return 0


def write_gradebook(rows: list, assignment: Any, csv_path: Path, json_path: Path) -> None:
    """Replace grades.csv and grades.json atomically with ``rows``."""
    from dlbook.grading import gradebook

    gradebook.write_atomic(csv_path, gradebook.to_csv(rows, assignment.grade_ids))
    gradebook.write_atomic(json_path, gradebook.to_json(rows, assignment.name))


def write_gradescope(rows: list, target: Path) -> list[Path]:
    """One results.json for one submission; a folder of ``<submission>.json`` otherwise."""
    from dlbook.grading import gradebook

    if len(rows) == 1 and not target.is_dir() and target.suffix == ".json":
        gradebook.write_atomic(target, gradebook.to_gradescope(rows[0]))
        return [target]
    os.makedirs(target, exist_ok=True)
    written = []
    for row in rows:
        path = target / f"{row.submission}.json"
        gradebook.write_atomic(path, gradebook.to_gradescope(row))
        written.append(path)
    return written
