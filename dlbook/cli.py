"""The ``dlbook`` command (also ``python -m dlbook``).

    dlbook exercises build [--check]   write exercises/ from solutions/ (or check it is in sync)
    dlbook doctor                      is this machine ready for the book? each problem + its fix
    dlbook bench [--quick]             time dlbook.nn against torch.nn (benchmarks/results.md)
    dlbook grade --assignment chNN PATH... --out grades.csv
                                       grade submitted notebooks, each in a sandbox (instructors)
    dlbook autograder gradescope chNN -o autograder.zip
                                       a Gradescope autograder for one chapter (instructors)
    dlbook --version
"""
from __future__ import annotations

import argparse
import sys

import dlbook
from dlbook import doctor
from dlbook.bench import command as bench_command
from dlbook.grading import command as grade_command
from dlbook.grading import gradescope

# -- dlbook exercises build -------------------------------------------------------------------


def _exercises_build(args: argparse.Namespace) -> int:
    from dlbook.grading.builder import MarkerError, build

    try:
        report = build(args.root, check=args.check)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in report.written:
        print(f"wrote {path}")
    for path in report.out_of_sync:
        print(f"out of sync: {path}")
    for path in report.orphans:
        print(f"no source in solutions/ for {path}")
    total = len(report.written) + len(report.unchanged) + len(report.out_of_sync)
    if args.check and not report.in_sync:
        print("exercises/ is out of sync with solutions/: run `dlbook exercises build`")
        return 1
    state = "in sync" if args.check else "built"
    print(f"exercises {state}: {total} notebook{'s' * (total != 1)}")
    return 0


# -- the parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlbook", description="The dlbook textbook: exercises, grading and checks.")
    parser.add_argument("--version", action="version", version=f"dlbook {dlbook.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    exercises = commands.add_parser("exercises", help="exercise notebooks")
    exercises.set_defaults(func=lambda _: exercises.print_help() or 2)
    ex_commands = exercises.add_subparsers(title="commands", metavar="COMMAND")
    build = ex_commands.add_parser(
        "build", help="write exercises/ from solutions/ (solutions replaced by stubs, "
                      "hidden tests removed)")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 if exercises/ is out of sync")
    build.add_argument("--root", default=".", help="the repository root (default: .)")
    build.set_defaults(func=_exercises_build)

    doctor_cmd = commands.add_parser("doctor", help="check this machine is ready for the book")
    doctor_cmd.set_defaults(func=doctor.run)

    bench_command.add_parser(commands)
    grade_command.add_parser(commands)
    gradescope.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dlbook`` (pyproject: ``dlbook.cli:main``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
