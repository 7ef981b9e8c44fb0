"""Running one submission's notebook in a sandboxed kernel, capped in time, memory and output.

The kernel is started by the launcher (:mod:`~dlbook.grading.launcher`) inside the sandbox
(:mod:`~dlbook.grading.sandbox`), talking to this process over IPC sockets in the
submission's own work folder, the only folder it can write. Before a graded test cell runs,
that question's inputs (the arguments of each case, nothing else) are written there under a
random name; the cell (:func:`dlbook.grading.harness.cell_source`) saves the raw outputs,
which are read back with the limits of :mod:`~dlbook.grading.results`. Nothing is judged in
the kernel.
"""
from __future__ import annotations

import os
import pickle
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlbook.grading import results
from dlbook.grading.assignment import TestCell, grade_id_of, nbgrader_metadata
from dlbook.grading.harness import cell_source
from dlbook.grading.launcher import launcher_argv
from dlbook.grading.sandbox import SANDBOX_UID, Sandbox, kernel_env
from dlbook.grading.view import python_view

OUTPUT_CAP = 1024 * 1024  # bytes of cell output kept per submission
DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 4096


@dataclass
class Limits:
    """Wall-clock seconds for the whole notebook in one kernel (a submission whose questions
    run in two kernels may take twice that) and the kernel's address space in MB."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int | None = DEFAULT_MEMORY_MB


@dataclass
class KernelRun:
    """What happened in one kernel: raw results by grade_id and the problems seen."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _client_class() -> tuple[type, type]:
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts the kernel through the launcher, inside the sandbox."""

        wrap: Any = None

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return self.wrap(["-f", self.connection_file])

    class CappedClient(NotebookClient):
        """Keeps error outputs and at most OUTPUT_CAP bytes of everything else."""

        output_bytes = 0
        capped = False

        def output(self, outs: list, msg: dict, display_id: str | None,
                   cell_index: int) -> Any:
            content = msg.get("content", {})
            size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
            self.output_bytes += size
            if msg["msg_type"] != "error" and self.output_bytes > OUTPUT_CAP:
                self.capped = True
                return None
            return super().output(outs, msg, display_id, cell_index)

    return SandboxedKernelManager, CappedClient


def _workdir() -> Path:
    """A fresh work folder the sandboxed user can write (mode 0700, ours)."""
    return Path(tempfile.mkdtemp())


def _run_test_cell(client: Any, cell: Any, index: int, test: TestCell,
                   job: dict[str, Any], workdir: Path, run: KernelRun,
                   budget: results.Budget) -> None:
    """Run ``test``'s graded cell in place of ``cell``; store its raw result in ``run``."""
    nonce = secrets.token_hex(16)
    inputs = workdir / f"{secrets.token_hex(8)}.pkl"
    inputs.write_bytes(pickle.dumps({**job, "nonce": nonce}))
    result = workdir / f"{secrets.token_hex(8)}.npz"
    cell.source = cell_source(str(inputs), str(result))
    client.execute_cell(cell, index)
    try:
        run.results[test.grade_id] = results.read(result, nonce, budget)
    except results.Unreadable as err:
        run.results[test.grade_id] = {"missing": str(err)}


def run_notebook(nb: Any, tests: list[TestCell], jobs: dict[str, dict[str, Any]],
                 forbidden: list[str], limits: Limits, sandbox: Sandbox, deadline: float,
                 budget: results.Budget) -> KernelRun:
    """Execute ``nb`` (already merged) cell by cell in a fresh sandboxed kernel.

    Only the graded cells of ``tests`` run (with ``jobs[question]`` as their inputs); the
    others are skipped. ``forbidden`` is left out of the kernel's view and stubbed.
    """
    manager_cls, client_cls = _client_class()
    run = KernelRun()
    test_of = {t.grade_id: t for t in tests}
    workdir = _workdir()
    if sandbox.backend in ("docker", "podman") and os.geteuid() == 0:
        os.chown(workdir, SANDBOX_UID, SANDBOX_UID)  # the container's user writes there
    view = python_view(forbidden)
    launcher = launcher_argv(sys.executable, limits.memory_mb, forbidden)
    env = kernel_env(str(workdir), view.pythonpath)
    try:
        km = manager_cls(kernel_name="python3", transport="ipc", ip=str(workdir / "kernel"),
                         connection_file=str(workdir / "kernel.json"))
        km.wrap = lambda args: sandbox.wrap([*launcher, *args], str(workdir), view, env)
        client = client_cls(nb, km=km, timeout=int(limits.timeout), allow_errors=True,
                            startup_timeout=120, resources={"metadata": {"path": str(workdir)}},
                            shutdown_kernel="immediate")
        client.owns_km = True  # so leaving setup_kernel kills the kernel, busy or not
        try:
            with client.setup_kernel(cwd=str(workdir), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL):
                _execute(client, nb, test_of, jobs, workdir, run, deadline, budget)
        except TimeoutError:
            run.problems.append(f"timeout after {limits.timeout:g} s")
        except Exception as err:
            run.problems.append(_kernel_problem(err, limits))
        if client.capped:
            run.problems.append(f"output capped at {OUTPUT_CAP // 1024} KB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def _execute(client: Any, nb: Any, test_of: dict[str, TestCell], jobs: dict[str, Any],
             workdir: Path, run: KernelRun, deadline: float, budget: results.Budget) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        client.timeout = max(1, int(left))
        if nbgrader_metadata(cell).get("grade"):
            test = test_of.get(grade_id_of(cell))
            if test is not None:
                _run_test_cell(client, cell, index, test, jobs[test.question], workdir, run,
                               budget)
            continue  # graded cells of other runs, and test cells the solution lacks
        client.execute_cell(cell, index)
        _note_errors(cell, run)


def _kernel_problem(err: Exception, limits: Limits) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(err, CellTimeoutError):
        return f"timeout after {limits.timeout:g} s"
    if isinstance(err, DeadKernelError):
        return "kernel died (exit, crash or memory)"
    text = str(err).splitlines()[0] if str(err) else ""
    return f"kernel error: {type(err).__name__} {text}"[:200]


def _note_errors(cell: Any, run: KernelRun) -> None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" and out.get("ename") == "MemoryError":
            problem = f"memory limit exceeded (MemoryError in cell {cell.get('id', '?')})"
            if problem not in run.problems:
                run.problems.append(problem)
