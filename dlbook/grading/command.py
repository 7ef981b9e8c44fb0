"""``dlbook grade --assignment chNN PATH... --out grades.csv [--jobs N] [--resume] ...``.

Grades every notebook named (or found in the folders named) against the assignment's
solution notebook (:mod:`dlbook.grading.grader`), each in its own sandbox, with a progress
bar. Finished rows go to the journal beside the gradebook as they come
(:mod:`~dlbook.grading.journal`); ``grades.csv`` and ``grades.json`` are replaced once, at
the end, so a run killed half-way leaves the previous gradebook whole, and ``--resume``
finishes the run from the journal.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any


def add_parser(commands: Any) -> None:
    """Register ``grade`` on the ``dlbook`` command's subparsers."""
    from dlbook.grading.grader import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
    from dlbook.grading.sandbox import BACKENDS, DEFAULT_IMAGE

    grade = commands.add_parser(
        "grade", help="grade a folder of submitted notebooks (instructors)",
        description="Run each submission in its own sandbox (bubblewrap: no network, no view "
                    "of other files or processes) with the canonical test cells of "
                    "solutions/chNN_*.ipynb, hidden inputs drawn from a secret seed, and judge "
                    "the answers outside the student's kernel.")
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
                       help=f"seconds per kernel (default {DEFAULT_TIMEOUT:g}; chapters whose "
                            "questions forbid different things run two)")
    grade.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory cap per kernel in MB (default {DEFAULT_MEMORY_MB})")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded at once (default 1)")
    grade.add_argument("--resume", action="store_true",
                       help="reuse the journal's rows for unchanged files (same seed)")
    grade.add_argument("--seed", type=int, metavar="N",
                       help="the seed of the hidden inputs (default: a secret random one, "
                            "recorded in grades.json to reproduce a grade)")
    grade.add_argument("--sandbox", choices=BACKENDS, default="bwrap",
                       help="how each kernel is isolated (default bwrap; none runs student "
                            "code as you, with everything in reach: trusted notebooks only)")
    grade.add_argument("--image", default=DEFAULT_IMAGE,
                       help=f"the image for --sandbox docker|podman (default {DEFAULT_IMAGE})")
    grade.add_argument("--solutions", type=Path, metavar="DIR",
                       help="where solutions/chNN_*.ipynb live (default: the checkout's)")
    grade.set_defaults(func=run)


def _json_path(args: argparse.Namespace) -> Path:
    return args.json or args.out.with_suffix(".json")


def _check_arguments(args: argparse.Namespace) -> str | None:
    if args.jobs < 1 or args.timeout <= 0 or args.memory < 0:
        return "--jobs must be >= 1, --timeout > 0 and --memory >= 0 (0: no cap)"
    if args.seed is not None and args.seed < 0:
        return "--seed must be >= 0"
    return None


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from dlbook.grading import grader, journal
    from dlbook.grading.sandbox import NONE_WARNING, Sandbox, SandboxUnavailable

    problem = _check_arguments(args)
    if problem:
        print(f"error: {problem}")
        return 2
    sandbox = Sandbox(args.sandbox, args.image)
    try:
        sandbox.check()
        assignment = grader.load_assignment(args.assignment, args.solutions)
        paths = grader.find_submissions(args.paths)
    except (ValueError, FileNotFoundError, LookupError, SandboxUnavailable) as err:
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
    if sandbox.backend == "none":
        print(NONE_WARNING, file=sys.stderr)
    journal_path = journal.path_for(args.out)
    fingerprint = journal.fingerprint(assignment.source)
    header, previous = journal.read(journal_path) if args.resume else (None, {})
    if header and (header.assignment, header.fingerprint) != (assignment.name, fingerprint):
        header, previous = None, {}  # another assignment's, or an older solution's
    seed = header.seed if header and args.seed is None else args.seed
    if header and seed != header.seed:
        previous = {}
    plan = grader.make_plan(assignment, seed, sandbox)
    kept = [previous[(p.name, s)] for p, s in ((p, grader.sha256(p)) for p in paths)
            if (p.name, s) in previous]
    limits = grader.Limits(timeout=args.timeout, memory_mb=args.memory or None)
    lock = threading.Lock()
    bar = tqdm(total=len(paths), desc=f"grading {assignment.name}", unit="notebook")
    header = journal.Header(assignment.name, fingerprint, plan.seed, sandbox.backend)
    with journal.Journal(journal_path, header, kept) as book:

        def done(row: Any) -> None:
            with lock:
                if not any(row is k for k in kept):
                    book.append(row)
                bar.update(1)
                bar.set_postfix_str(f"{row.submission}: {row.score}/{row.max_score}")

        rows = grader.grade_all(paths, plan, limits, jobs=args.jobs,
                                previous={(r.file, r.sha256): r for r in kept}, on_done=done)
    bar.close()
    metadata = {"seed": plan.seed, "sandbox": sandbox.backend, "fingerprint": fingerprint}
    write_gradebook(rows, assignment, args.out, _json_path(args), metadata)
    if args.gradescope:
        for path in write_gradescope(rows, args.gradescope):
            print(f"wrote {path}")
    print(f"wrote {args.out} and {_json_path(args)} (hidden inputs: seed {plan.seed})")
    print(grader.summarize(rows, assignment))
    return 0


def write_gradebook(rows: list, assignment: Any, csv_path: Path, json_path: Path,
                    metadata: dict[str, Any] | None = None) -> None:
    """Replace grades.csv and grades.json atomically with ``rows``."""
    from dlbook.grading import gradebook

    gradebook.write_atomic(csv_path, gradebook.to_csv(rows, assignment.grade_ids))
    gradebook.write_atomic(json_path, gradebook.to_json(rows, assignment.name, metadata))


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
