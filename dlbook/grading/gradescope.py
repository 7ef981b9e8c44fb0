"""A Gradescope autograder for one chapter: ``dlbook autograder gradescope chNN -o autograder.zip``.

Gradescope runs each submission in a fresh container of its own: it unzips the bundle into
``/autograder/source``, runs ``setup.sh`` once when the image is built, then, per submission,
``/autograder/run_autograder`` with the student's files in ``/autograder/submission``, and
reads ``/autograder/results/results.json``. The bundle holds

- ``setup.sh``: installs bubblewrap and Python, and dlbook from the bundled source with its
  pinned dependencies (``constraints.txt``) into ``/autograder/venv``;
- ``run_autograder``: ``python -m dlbook.grading.gradescope run``, the same grading core as
  ``dlbook grade`` (sandbox, secret hidden inputs drawn per submission, references in the
  grader), writing ``results.json``;
- dlbook's source (``pyproject.toml``, ``constraints.txt``, ``dlbook/``), the chapter's
  solution notebook (``solutions/``) and ``config.json``.

``results.json`` follows Gradescope's specification (gradescope-autograders.readthedocs.io,
"Autograder Specifications"): ``score``, ``max_score`` and one test per question with
``name``, ``score``, ``max_score``, ``status``, ``output`` and ``visibility``. What a failure
on hidden inputs says (it describes those inputs) is an extra test shown
``after_published``.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from dlbook.grading.gradebook import Row

SETUP_SH = """#!/usr/bin/env bash
# Run once by Gradescope when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q -c /autograder/source/constraints.txt \\
    "/autograder/source[grade]"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Run by Gradescope for every submission: grade /autograder/submission into
# /autograder/results/results.json. AUTOGRADER_ROOT and AUTOGRADER_PYTHON exist for tests.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m dlbook.grading.gradescope run --root "$ROOT"
"""

HIDDEN_NOTE = "failed on the hidden inputs: what went wrong is shown when grades are published"


def _source_files(checkout: Path) -> list[tuple[Path, str]]:
    """(file, name in the zip) for dlbook's source: the package, its metadata, the pins."""
    files = [(checkout / name, name)
             for name in ("pyproject.toml", "constraints.txt", "README.md", "LICENSE")
             if (checkout / name).exists()]
    for path in sorted((checkout / "dlbook").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files.append((path, str(path.relative_to(checkout))))
    return files


def build_bundle(chapter: str, solutions: Path | None = None, timeout: float = 600,
                 memory_mb: int = 4096) -> bytes:
    """The autograder zip for ``chapter`` (``"ch01"``), as bytes."""
    from dlbook.grading.assignment import load_assignment
    from dlbook.grading.view import checkout_root

    assignment = load_assignment(chapter, solutions)
    config = {"assignment": chapter, "solution": assignment.source.name, "timeout": timeout,
              "memory_mb": memory_mb, "sandbox": "bwrap"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for text, name in ((SETUP_SH, "setup.sh"), (RUN_AUTOGRADER, "run_autograder")):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope expects
            zf.writestr(info, text)
        for path, name in _source_files(checkout_root()):
            zf.write(path, name)
        zf.write(assignment.source, f"solutions/{assignment.source.name}")
        zf.writestr("config.json", json.dumps(config, indent=1) + "\n")
    return buffer.getvalue()


def results(row: Row | None, problem: str = "") -> dict[str, Any]:
    """Gradescope's ``results.json`` for one graded submission (or 0 with ``problem``)."""
    if row is None:
        return {"score": 0, "output": problem, "tests": [], "visibility": "visible"}
    tests: list[dict[str, Any]] = []
    for q in row.questions:
        hidden = q.points < q.max_points and q.message.endswith("(hidden tests)")
        tests.append({"name": f"{q.question} ({q.grade_id})", "score": q.points,
                      "max_score": q.max_points,
                      "status": "passed" if q.points == q.max_points else "failed",
                      "output": HIDDEN_NOTE if hidden else q.message, "visibility": "visible"})
        if hidden:
            tests.append({"name": f"{q.question}: hidden inputs", "score": 0, "max_score": 0,
                          "status": "failed", "output": q.message,
                          "visibility": "after_published"})
    return {"score": row.score, "max_score": row.max_score, "tests": tests,
            "output": "" if row.status == "ok" else row.status, "visibility": "visible",
            "stdout_visibility": "hidden"}


def _submission(folder: Path, chapter: str) -> Path | None:
    """The notebook handed in: the only one, or the one named after the chapter."""
    notebooks = sorted(p for p in folder.rglob("*.ipynb")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if p.name.startswith(chapter)]
    if len(notebooks) == 1:
        return notebooks[0]
    return named[0] if len(named) == 1 else None


def run(root: Path) -> dict[str, Any]:
    """Grade ``root/submission`` and write ``root/results/results.json``; returns it."""
    from dlbook.grading import grader
    from dlbook.grading.sandbox import Sandbox, SandboxUnavailable

    source = root / "source"
    config = json.loads((source / "config.json").read_text())
    chapter = config["assignment"]
    path = _submission(root / "submission", chapter)
    sandbox = Sandbox(config.get("sandbox", "bwrap"))
    try:
        sandbox.check()
    except SandboxUnavailable as err:  # never grade unsandboxed behind the instructor's back
        path, problem = None, f"the autograder cannot sandbox submissions here: {err}"
    else:
        problem = (f"hand in one notebook, {config['solution']} (found none, or several and "
                   "none named after the chapter)")
    if path is None:
        doc = results(None, problem)
    else:
        assignment = grader.load_assignment(chapter, source / "solutions")
        plan = grader.make_plan(assignment, sandbox=sandbox)
        limits = grader.Limits(timeout=config["timeout"], memory_mb=config["memory_mb"])
        doc = results(grader.grade_file(path, plan, limits))
        doc["extra_data"] = {"seed": plan.seed}  # reproduces the hidden inputs
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return doc


def add_parser(commands: Any) -> None:
    """Register ``autograder gradescope`` on the ``dlbook`` command's subparsers."""
    autograder = commands.add_parser("autograder", help="build an autograder bundle "
                                                        "(instructors)")
    autograder.set_defaults(func=lambda _: autograder.print_help() or 2)
    kinds = autograder.add_subparsers(title="commands", metavar="COMMAND")
    scope = kinds.add_parser(
        "gradescope", help="a Gradescope autograder zip for one chapter",
        description="Write the zip to upload as a Gradescope programming assignment's "
                    "autograder: each submission is graded in its own container, sandboxed, "
                    "with hidden inputs drawn from a fresh secret seed.")
    scope.add_argument("chapter", metavar="chNN", help="the chapter, e.g. ch01")
    scope.add_argument("-o", "--output", type=Path, default=Path("autograder.zip"),
                       help="where to write the zip (default autograder.zip)")
    scope.add_argument("--timeout", type=float, default=600, metavar="S",
                       help="seconds per submission (default 600)")
    scope.add_argument("--memory", type=int, default=4096, metavar="MB",
                       help="memory cap of the kernel in MB (default 4096)")
    scope.add_argument("--solutions", type=Path, metavar="DIR",
                       help="where solutions/chNN_*.ipynb live (default: the checkout's)")
    scope.set_defaults(func=_build_command)


def _build_command(args: argparse.Namespace) -> int:
    try:
        blob = build_bundle(args.chapter, args.solutions, args.timeout, args.memory)
    except (ValueError, LookupError) as err:
        print(f"error: {err}")
        return 2
    args.output.write_bytes(blob)
    print(f"wrote {args.output} ({len(blob) / 2**20:.1f} MB): upload it as the autograder of "
          f"a Gradescope programming assignment ({args.chapter})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dlbook.grading.gradescope run --root /autograder`` (run_autograder)."""
    parser = argparse.ArgumentParser(prog="python -m dlbook.grading.gradescope")
    parser.add_argument("action", choices=["run"])
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    import dlbook

    doc = run(args.root)
    print(f"score {doc['score']} / {doc.get('max_score', 0)} (dlbook at {dlbook.__file__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
