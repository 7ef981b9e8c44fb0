"""The graded kernel's launcher: caps, audit hook, stubs, then the IPython kernel itself.

Inside the sandbox the kernel is started as
``python -m dlbook.grading.launcher --memory MB --forbid JSON -- <ipykernel arguments>``.
Before any student code it caps the address space (``RLIMIT_AS``) and the size of files it
may write, installs the audit hook (:mod:`~dlbook.grading.audit`) and the stubs of what the
questions graded in this run forbid (:func:`dlbook.grading.rules.install_stubs`), then runs
ipykernel in this same process, so the hook stays in force (an ``exec`` would drop it).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys

from dlbook.grading import audit, rules

MAX_FILE_BYTES = 512 * 1024 * 1024  # no file the kernel writes may grow past this


def launcher_argv(python: str, memory_mb: int | None, forbidden: list[str]) -> list[str]:
    """The command that starts a kernel under this launcher (no memory cap if None)."""
    cap = ["--memory", str(memory_mb)] if memory_mb else []
    return [python, "-m", "dlbook.grading.launcher", *cap, "--forbid", json.dumps(forbidden),
            "--"]


def _cap(memory_mb: int | None) -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one thread per kernel: --jobs sets the parallelism
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def prepare(memory_mb: int | None, forbidden: list[str]) -> None:
    """Everything that must hold before student code runs: caps, the audit hook, the stubs."""
    _cap(memory_mb)
    import ipykernel.ipkernel  # noqa: F401  (its debugger loads ctypes, refused afterwards)

    import dlbook.grading.harness  # noqa: F401  (loaded before the stubs hide dlbook.nn)

    audit.install()
    rules.install_stubs(forbidden)


def main(argv: list[str] | None = None) -> None:
    """Prepare, then run the kernel with the arguments after ``--``."""
    parser = argparse.ArgumentParser(prog="python -m dlbook.grading.launcher")
    parser.add_argument("--memory", type=int, default=None, help="address-space cap in MB")
    parser.add_argument("--forbid", default="[]", help="JSON list of forbidden entries")
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel_args = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    from ipykernel import kernelapp

    prepare(args.memory, json.loads(args.forbid))
    sys.argv = ["ipykernel_launcher", *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
