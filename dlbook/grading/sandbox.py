"""Running one submission: a fresh kernel, capped in time, memory and output.

Before a grader cell runs, that question's inputs (every suite, public and hidden) are
written under a random name with a fresh nonce; the cell
(:func:`dlbook.grading.kernel_runner.harness_source`) calls the student's function on them
and saves only raw outputs, which are read back here with ``np.load(allow_pickle=False)``
and checked for the nonce and the digest of the inputs. Nothing is judged in the kernel.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import secrets
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlbook.grading import registry
from dlbook.grading.assignment import Assignment, TestCell, grade_id_of, nbgrader_metadata
from dlbook.grading.compare import Mismatch
from dlbook.grading.kernel_runner import harness_source, launcher_argv

OUTPUT_CAP = 1024 * 1024  # bytes of cell output kept per submission
MAX_RESULT_BYTES = 256 * 1024 * 1024  # raw outputs one question may send back
DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 4096


@dataclass
class Limits:
    """Wall-clock seconds for the whole notebook and the kernel's address space in MB."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int | None = DEFAULT_MEMORY_MB


@dataclass
class _Run:
    """What happened in the kernel: raw result files by grade_id and the problems seen."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _client_class() -> type:
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class CappedKernelManager(AsyncKernelManager):
        memory_mb: int | None = None

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return launcher_argv(self.memory_mb) + super().format_kernel_cmd(extra_arguments)

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

    return CappedKernelManager, CappedClient


def _write_inputs(workdir: Path, question: registry.Question) -> tuple[Path, str, str]:
    """Pickle every suite's cases for the kernel; returns (path, nonce, sha256)."""
    nonce = secrets.token_hex(16)
    suites = {}
    for suite in registry.SUITES:
        cases = question.cases(suite)
        if cases:
            suites[suite] = [(dict(c.args), dict(c.meta)) for c in cases]
    blob = pickle.dumps({"question": question.id, "nonce": nonce, "suites": suites})
    path = workdir / f"in_{secrets.token_hex(8)}.pkl"
    path.write_bytes(blob)
    return path, nonce, hashlib.sha256(blob).hexdigest()


def _read_result(path: Path, nonce: str, digest: str) -> dict[str, Any]:
    """The kernel's raw outputs: plain arrays only, with this run's nonce and digest."""
    if not path.exists():
        raise Mismatch("no result: the test cell did not finish")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise Mismatch("no result: the outputs are too large")
    with zipfile.ZipFile(path) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_RESULT_BYTES:
            raise Mismatch("no result: the outputs are too large")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    if meta.get("nonce") != nonce or meta.get("digest") != digest:
        raise Mismatch("no result: the result file is not from this run")
    return {"meta": meta, "arrays": arrays}


def _run_test_cell(client: Any, cell: Any, index: int, test: TestCell, workdir: Path,
                   run: _Run) -> None:
    """Run ``test``'s grader cell in place of ``cell``; store its raw result in ``run``."""
    inputs, nonce, digest = _write_inputs(workdir, registry.get(test.question))
    result = workdir / f"out_{secrets.token_hex(8)}.npz"
    cell.source = harness_source(str(inputs), str(result))
    client.execute_cell(cell, index)
    inputs.unlink(missing_ok=True)
    try:
        run.results[test.grade_id] = _read_result(result, nonce, digest)
    except Mismatch as err:
        run.results[test.grade_id] = {"missing": str(err)}
    except Exception as err:
        run.results[test.grade_id] = {"missing": f"unreadable result ({err})"}
    result.unlink(missing_ok=True)


def run_notebook(nb: Any, assignment: Assignment, limits: Limits) -> _Run:
    """Execute ``nb`` (already merged) cell by cell in a fresh kernel; collect results."""
    manager_cls, client_cls = _client_class()
    run = _Run()
    test_of = {t.grade_id: t for t in assignment.tests}
    with tempfile.TemporaryDirectory(prefix="dlbook-grade-") as tmp:
        workdir = Path(tmp)
        # IPC sockets in the submission's own folder: no TCP port another kernel could reach.
        km = manager_cls(kernel_name="python3", transport="ipc", ip=str(workdir / "kernel"))
        km.memory_mb = limits.memory_mb
        client = client_cls(nb, km=km, timeout=int(limits.timeout), allow_errors=True,
                            startup_timeout=120, resources={"metadata": {"path": tmp}},
                            shutdown_kernel="immediate")
        client.owns_km = True  # so leaving setup_kernel kills the kernel, busy or not
        deadline = time.monotonic() + limits.timeout
        try:
            with client.setup_kernel(cwd=tmp):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    client.timeout = max(1, int(left))
                    is_test = nbgrader_metadata(cell).get("grade")
                    test = test_of.get(grade_id_of(cell)) if is_test else None
                    if test is None:
                        client.execute_cell(cell, index)
                        _note_errors(cell, run)
                    else:
                        _run_test_cell(client, cell, index, test, workdir, run)
        except TimeoutError:
            run.problems.append(f"timeout after {limits.timeout:g} s")
        except Exception as err:
            run.problems.append(_kernel_problem(err, limits))
        if client.capped:
            run.problems.append(f"output capped at {OUTPUT_CAP // 1024} KB")
    return run


def _kernel_problem(err: Exception, limits: Limits) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(err, CellTimeoutError):
        return f"timeout after {limits.timeout:g} s"
    if isinstance(err, DeadKernelError):
        return "kernel died (exit, crash or memory)"
    text = str(err).splitlines()[0] if str(err) else ""
    return f"kernel error: {type(err).__name__} {text}"[:200]


def _note_errors(cell: Any, run: _Run) -> None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" and out.get("ename") == "MemoryError":
            problem = f"memory limit exceeded (MemoryError in cell {cell.get('id', '?')})"
            if problem not in run.problems:
                run.problems.append(problem)


