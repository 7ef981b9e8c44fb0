"""``dlbook doctor``: is this machine ready for the book? Each problem comes with its fix."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dlbook


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
        ("numpy", "numpy", "problem", "pip install dlbook (it requires numpy)"),
        ("torch", "torch", "problem",
         "pip install 'dlbook[book]' (torch's CPU build is enough), or make venv in a checkout"),
        ("jupyter_core", "jupyter", "problem",
         "pip install 'dlbook[grade]', or make venv in a checkout"),
        ("ipykernel", "ipykernel", "problem",
         "pip install 'dlbook[grade]', or make venv in a checkout"),
        ("jupyter_book", "jupyter-book", "warn",
         "make venv in a checkout (needed only for `make book`)"),
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


def _check_blas() -> list[Finding]:
    """NumPy's BLAS library and its thread count: more threads than cores oversubscribes."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [Finding("warn", "threadpoolctl is not installed: BLAS threads not checked",
                        "pip install threadpoolctl (it comes with scikit-learn)")]
    cores = os.cpu_count() or 1
    found = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        what = (f"BLAS: {lib.get('internal_api')} {lib.get('version')}, "
                f"{lib.get('num_threads')} thread(s) on {cores} core(s)")
        if (lib.get("num_threads") or 1) > cores:
            found.append(Finding(
                "warn", what + ": more threads than cores",
                f"export OPENBLAS_NUM_THREADS={cores} (and OMP_NUM_THREADS): oversubscribed "
                "threads make small matrix products many times slower"))
        else:
            found.append(Finding("ok", what))
    return found or [Finding("warn", "no BLAS library found behind NumPy",
                             "reinstall numpy: pip install --force-reinstall numpy")]


DOCTOR_CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    _check_python, _check_libraries, _check_cuda, _check_blas, _check_kernel, _check_data)


def run(args: argparse.Namespace) -> int:
    """Print every finding; the exit code is 1 when there is a problem."""
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
