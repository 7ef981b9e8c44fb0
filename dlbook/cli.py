"""The ``dlbook`` command (also ``python -m dlbook``).

    dlbook exercises build [--check]   write exercises/ from solutions/ (or check it is in sync)
    dlbook doctor                      is this machine ready for the book? each problem + its fix
    dlbook --version
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dlbook

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


# -- dlbook doctor ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One line of ``dlbook doctor``: ``ok``, ``warn`` (works, but ...) or ``problem``."""

    status: str
    what: str
    fix: str = ""


def _version(module: str) -> str | None:
    """``module.__version__``, or None if it cannot be imported."""
    try:
        return getattr(importlib.import_module(module), "__version__", "installed")
    except Exception:  # a broken install counts as missing
        return None


def _check_python() -> list[Finding]:
    # dlbook installs only on Python >= 3.10 (pyproject), so this line is for the record.
    return [Finding("ok", f"Python {'.'.join(map(str, sys.version_info[:3]))}")]


def _check_libraries() -> list[Finding]:
    found = []
    for module, name, need, fix in [
        ("numpy", "numpy", "problem", "pip install numpy"),
        ("torch", "torch", "problem", "pip install torch (the CPU build is enough)"),
        ("jupyter_core", "jupyter", "problem", "pip install -r requirements-dev.txt"),
        ("ipykernel", "ipykernel", "problem", "pip install -r requirements-dev.txt"),
        ("jupyter_book", "jupyter-book", "warn",
         "pip install -r requirements-dev.txt (needed only for `make book`)"),
    ]:
        version = _version(module)
        found.append(Finding("ok", f"{name} {version}") if version
                     else Finding(need, f"{name} is not installed", fix))
    return found


def _check_cuda() -> list[Finding]:
    try:
        import torch
    except ImportError:
        return []  # reported with the libraries
    if torch.cuda.is_available():
        return [Finding("ok", f"CUDA: {torch.cuda.get_device_name(0)} (parity tests run on it)")]
    return [Finding("ok", "CUDA: not available; everything runs on the CPU (that is fine)")]


def _check_kernel() -> list[Finding]:
    fix = ("register this environment as the notebook kernel: "
           f"{sys.executable} -m ipykernel install --user --name python3")
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        python = KernelSpecManager().get_kernel_spec("python3").argv[0]
    except Exception:
        return [Finding("problem", "no Jupyter kernel named python3", fix)]
    probe = "import dlbook, os; print(os.path.dirname(dlbook.__file__))"
    try:
        run = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return [Finding("problem", f"the python3 kernel's interpreter {python} does not run", fix)]
    if run.returncode != 0:
        return [Finding("problem", "the python3 Jupyter kernel cannot import dlbook",
                        f"pip install -e . with {python}, or {fix}")]
    here = dlbook.__path__[0]
    if run.stdout.strip() != here:
        return [Finding("warn", f"the kernel imports dlbook from {run.stdout.strip()}, "
                                f"this command from {here}", fix)]
    return [Finding("ok", "the python3 Jupyter kernel imports this dlbook")]


@contextlib.contextmanager
def _no_network() -> Iterator[None]:
    """Any attempt to open a connection fails: what loads inside is proved offline."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted (dlbook must load data offline)")

    saved = socket.socket.connect, socket.create_connection
    socket.socket.connect, socket.create_connection = refuse, refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection = saved


def _check_data() -> list[Finding]:
    try:
        with _no_network():
            from dlbook.data import load_digits_split

            data = load_digits_split(seed=0)
    except Exception as err:
        fix = ("pip install scikit-learn (it ships the digits)" if "sklearn" in str(err)
               else "reinstall dlbook: pip install -e .")
        return [Finding("problem", f"the digits do not load offline ({type(err).__name__}: "
                                   f"{err})", fix)]
    n = len(data.X_train) + len(data.X_val) + len(data.X_test)
    return [Finding("ok", f"datasets load offline (digits: {n} images)")]


DOCTOR_CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    _check_python, _check_libraries, _check_cuda, _check_kernel, _check_data)


def _doctor(args: argparse.Namespace) -> int:
    print(f"dlbook {dlbook.__version__} doctor")
    problems = 0
    for check in DOCTOR_CHECKS:
        for finding in check():
            label = {"ok": "ok", "warn": "warning", "problem": "PROBLEM"}[finding.status]
            print(f"  {label:<8} {finding.what}")
            if finding.fix:
                print(f"  {'':<8} fix: {finding.fix}")
            problems += finding.status == "problem"
    print("no problems found" if not problems else
          f"{problems} problem{'s' * (problems != 1)} found")
    return 1 if problems else 0


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

    doctor = commands.add_parser("doctor", help="check this machine is ready for the book")
    doctor.set_defaults(func=_doctor)
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
