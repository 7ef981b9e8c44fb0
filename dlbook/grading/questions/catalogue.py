"""Mistake catalogues for grading questions: a requirement that names the mistake whose
outputs a wrong answer reproduces, and one that catches float32 promoted to float64.
Runs in the grader only (requirements never reach the kernel)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.grading.registry import Case


def same(got: Any, want: Any, single: bool = False) -> bool:
    """``got`` equals ``want`` to rounding (float32's when ``single``)."""
    try:
        g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    rtol, atol = (1e-4, 1e-6) if single else (1e-10, 1e-13)
    return g.shape == w.shape and bool(np.allclose(g, w, rtol=rtol, atol=atol))


def differs(got: Any, wrong: Any, correct: Any) -> bool:
    """``got`` equals the mutant's ``wrong`` and not ``correct``, at ``got``'s precision."""
    single = getattr(got, "dtype", None) == np.float32
    return not same(wrong, correct, single) and same(got, wrong, single)


def catalogue(right: Callable[..., dict[str, Any]],
               mutants: list[tuple[str, Callable[..., dict[str, Any]]]]) -> Callable:
    """A requirement: ``right(**args)`` and ``mutants`` [(message, mutant(**args))] give
    outputs by name (a mutant only those it changes); the first mutant whose outputs the
    student's equal, where they differ from the right ones, names the mistake."""
    def requirement(got: dict[str, Any], case: Case) -> str | None:
        args = {k: (np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) and
                    v.dtype.kind == "f" else v) for k, v in case.args.items()}
        correct = right(**args)
        for message, mutant in mutants:
            wrong = mutant(**args)
            if all(name in got and differs(got[name], wrong[name], correct[name])
                   for name in wrong):
                return message
        return None
    return requirement


def dtype_kept(*names: str, hint: str) -> Callable:
    """A requirement: float32 in, float32 out for the outputs ``names``."""
    def requirement(got: dict[str, Any], case: Case) -> str | None:
        floats = [v.dtype for v in case.args.values()
                  if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
        if floats and all(d == np.float32 for d in floats):
            for name in names:
                if isinstance(got.get(name), np.ndarray) and got[name].dtype == np.float64:
                    return f"float32 in, float64 out for {name}: {hint}"
        return None
    return requirement
