"""The graded kernel's side of a test cell: call the student's function, save raw outputs.

Each test cell of a graded notebook becomes ``harness.run(inputs, result)``
(:func:`cell_source`). The grader writes ``inputs`` just before the cell runs: a pickle of
the question's function name, how to call it and, per suite, the arguments of each case
(public ones, and hidden ones drawn for this run) and the probes a returned model is
applied to. Nothing else reaches the kernel: no question object, no reference, no labels.
The harness saves what the function returned as plain arrays (``np.savez``) with the run's
nonce; the verdict is reached in the grader (:mod:`~dlbook.grading.verdict`), so nothing
done here, or to this module, can do more than answer the question.
"""
from __future__ import annotations

import copy
import json
import os
import pickle
from typing import Any

import numpy as np

from dlbook.grading import rules, runners
from dlbook.grading.compare import Mismatch, name_outputs
from dlbook.grading.evaluate import describe_exception


def cell_source(inputs: str, result: str) -> str:
    """The code of a graded test cell: run the harness on the inputs in file ``inputs``."""
    return ("import dlbook.grading.harness as __dlbook_harness\n"
            f"__dlbook_harness.run(globals(), {inputs!r}, {result!r})\n"
            "del __dlbook_harness")


def _is_model(value: Any) -> bool:
    """Exactly ``check``'s test: an instance of ``dlbook.nn.Module`` (when the view has it)."""
    try:
        from dlbook.nn import Module
    except (ImportError, rules.Forbidden):
        return False
    return isinstance(value, Module)


class _Encoder:
    """Turns returned values into JSON specs plus named arrays for ``np.savez``."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, key: str, value: Any, probes: dict[str, np.ndarray]) -> dict[str, Any]:
        if value is None:
            return {"kind": "none"}
        if isinstance(value, str):
            return {"kind": "str", "value": value[:200]}
        module = type(value).__module__
        if _is_model(value):
            names = {}
            for name, x in probes.items():
                self.arrays[f"{key}__{name}"] = np.asarray(value.eval()(x))
                names[name] = f"{key}__{name}"
            return {"kind": "model", "probes": names}
        if not module.startswith("torch") and not isinstance(value, dict):
            try:
                arr = np.asarray(value)
            except Exception:
                arr = None
            if arr is not None and arr.dtype.kind in "biuf":
                self.arrays[key] = arr
                return {"kind": "array", "key": key}
        return {"kind": "other", "type": type(value).__name__, "module": module,
                "mapping": isinstance(value, dict)}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    for name, value in before.items():
        if isinstance(value, np.ndarray) and not np.array_equal(value, after[name],
                                                                equal_nan=True):
            return (f"your function changed its argument {name} in place; "
                    "leave the inputs as they are and return new arrays")
    return None


def _run_suite(job: dict[str, Any], answer: Any, suite: str, cases: list,
               encoder: _Encoder) -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok", "message": "", "cases": []}
    for i, (args, probes) in enumerate(cases):
        before = copy.deepcopy(args)
        try:
            out = runners.call(job["runner"], answer, args, job["takes_value"])
            changed = _changed(before, args)
            if changed:
                raise Mismatch(changed)
            named = name_outputs(out, job["outputs"], job["function"])
            report["cases"].append({n: encoder.encode(f"{suite}_{i}_{n}", v, probes)
                                    for n, v in named.items()})
        except NotImplementedError:
            report.update(status="not implemented", message="not implemented yet")
        except (Mismatch, rules.Forbidden) as err:
            report.update(status="failed", message=str(err)[:500])
        except Exception as err:
            report.update(status="error", message=describe_exception(err)[:500])
        if report["status"] != "ok":
            report["case"] = i
            break
    return report


def run(namespace: dict[str, Any], inputs_path: str, result_path: str) -> None:
    """Run the job in ``inputs_path`` on the answer in ``namespace``; save to ``result_path``."""
    with open(inputs_path, "rb") as f:
        job = pickle.load(f)
    meta: dict[str, Any] = {"nonce": job["nonce"], "suites": {}}
    encoder = _Encoder()
    answer = namespace.get(job["function"], None)
    for suite, cases in job["suites"].items():
        if answer is None:
            kind = "variable" if job["takes_value"] else "function"
            meta["suites"][suite] = {"status": "missing",
                                     "message": f"no {kind} named {job['function']}"}
            continue
        meta["suites"][suite] = _run_suite(job, answer, suite, cases, encoder)
    tmp = result_path + ".tmp.npz"
    np.savez(tmp, __meta__=np.array(json.dumps(meta)), **encoder.arrays)
    os.replace(tmp, result_path)
