"""The student's side of ``dlbook grade``: a memory-capped kernel launcher and the test cell.

The grader never imports a student's code. It starts each submission's kernel through
:func:`main` (``python -m dlbook.grading.kernel_runner --memory MB -- <kernel argv>``),
which caps the address space with ``RLIMIT_AS`` and then ``exec``\\ s the real kernel. Each
test cell of the notebook is replaced by :func:`harness_source`: a cell that reads the
grader's inputs (written just before the cell runs, under a random name), calls the
student's function on them and saves only the raw outputs, as plain arrays, with the run's
nonce and the digest of the inputs it read. The verdict is reached in the grader process
(:mod:`dlbook.grading.grader`); nothing the kernel writes can do more than fail a question.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys

# The body of every grader test cell. It runs in the student's kernel, so it keeps its names
# private and imports what it needs itself; ``{inputs}`` and ``{result}`` are file names.
_HARNESS = r'''
def __dlbook_grade(inputs_path, result_path):
    import copy, hashlib, json, os, pickle, traceback
    import numpy as np
    from dlbook.grading import registry
    from dlbook.grading.compare import Mismatch, name_outputs
    with open(inputs_path, "rb") as f:
        raw = f.read()
    job = pickle.loads(raw)
    question = registry.get(job["question"])
    meta = {"nonce": job["nonce"], "digest": hashlib.sha256(raw).hexdigest(), "suites": {}}
    arrays = {}
    answer = globals().get(question.function_name, None)

    def encode(key, value, case_meta):
        if value is None:
            return {"kind": "none"}
        if isinstance(value, str):
            return {"kind": "str", "value": value[:200]}
        module = type(value).__module__
        if module.startswith("dlbook.nn") or hasattr(value, "named_parameters"):
            probes = {}
            for name, x in case_meta.items():
                if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                    arrays[f"{key}__{name}"] = np.asarray(value.eval()(x))
                    probes[name] = f"{key}__{name}"
            return {"kind": "module", "probes": probes}
        if not module.startswith("torch") and not isinstance(value, dict):
            try:
                arr = np.asarray(value)
            except Exception:
                arr = None
            if arr is not None and (arr.dtype.kind in "biuf"):
                arrays[key] = arr
                return {"kind": "array", "key": key}
        return {"kind": "other", "type": type(value).__name__, "module": module,
                "mapping": isinstance(value, dict)}

    for suite, cases in job["suites"].items():
        report = {"status": "ok", "message": "", "cases": []}
        meta["suites"][suite] = report
        if answer is None and not question.takes_value:
            report.update(status="missing", message=f"no function named {question.function_name}")
            continue
        if answer is None:
            report.update(status="missing", message=f"no variable named {question.function_name}")
            continue
        for i, (args, case_meta) in enumerate(cases):
            before = copy.deepcopy(args)
            try:
                case = registry.Case(args, case_meta)
                if question.runner is not None:
                    out = question.runner(answer, case)
                elif question.takes_value:
                    out = answer
                else:
                    out = answer(*args.values())
                for name, value in before.items():
                    if isinstance(value, np.ndarray) and not np.array_equal(
                            value, args[name], equal_nan=True):
                        raise Mismatch(f"your function changed its argument {name} in place; "
                                       "leave the inputs as they are and return new arrays")
                named = name_outputs(out, question.outputs, question.function_name)
                report["cases"].append({n: encode(f"{suite}_{i}_{n}", v, case_meta)
                                        for n, v in named.items()})
            except NotImplementedError:
                report.update(status="not implemented", message="not implemented yet")
            except Mismatch as err:
                report.update(status="failed", message=str(err)[:500])
            except Exception as err:
                from dlbook.grading.evaluate import describe_exception
                report.update(status="error", message=describe_exception(err)[:500])
            if report["status"] != "ok":
                report["case"] = i
                break
    tmp = result_path + ".tmp.npz"
    np.savez(tmp, __meta__=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, result_path)

__dlbook_grade({inputs!r}, {result!r})
del __dlbook_grade
'''


def harness_source(inputs: str, result: str) -> str:
    """The code of the test cell that runs one question on the inputs in file ``inputs``."""
    return _HARNESS.strip("\n").replace("{inputs!r}", repr(inputs)).replace(
        "{result!r}", repr(result))


def launcher_argv(memory_mb: int | None) -> list[str]:
    """The prefix that starts a kernel under this module's launcher (no cap if None)."""
    cap = ["--memory", str(memory_mb)] if memory_mb else []
    return [sys.executable, "-m", "dlbook.grading.kernel_runner", *cap, "--"]


def main(argv: list[str] | None = None) -> None:
    """Cap the address space at ``--memory`` MB, then ``exec`` the command after ``--``."""
    parser = argparse.ArgumentParser(prog="python -m dlbook.grading.kernel_runner")
    parser.add_argument("--memory", type=int, default=None, help="address-space cap in MB")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one thread per kernel: --jobs sets the parallelism
    if args.memory:
        limit = args.memory * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
