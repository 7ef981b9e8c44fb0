"""Comparing a student's answer with the reference answer, one named output at a time.

Every function here either returns quietly or raises :class:`Mismatch` with one sentence
that a student can act on ("grad_weight has shape (5, 3), expected (3, 5)"). Nothing here
knows about questions, notebooks or printing, so the instructor's grader reuses it as is.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlbook.grading.diagnose import value_message

# (atol, rtol) by the expected dtype: float64 answers must agree to rounding error; float32
# answers to what float32 can hold after a few dozen operations.
TOLERANCE: dict[np.dtype, tuple[float, float]] = {
    np.dtype(np.float64): (1e-10, 1e-8),
    np.dtype(np.float32): (1e-5, 1e-4),
}
DEFAULT_TOLERANCE = TOLERANCE[np.dtype(np.float64)]


class Mismatch(Exception):
    """A wrong answer; ``str(err)`` is the sentence that says what is wrong."""


def describe_type(value: Any) -> str:
    """A short, address-free name for what ``value`` is: ``None``, ``a list``, ``a float``."""
    if value is None:
        return "None"
    name = type(value).__name__
    if type(value).__module__.startswith("torch"):
        name = "torch." + name
    article = "an" if name[0].lower() in "aeiou" else "a"
    return f"{article} {name}"


def _as_array(name: str, got: Any, expected: np.ndarray) -> np.ndarray:
    if type(got).__module__.startswith("torch"):
        raise Mismatch(f"{name} is {describe_type(got)}; return a NumPy array")
    what = "a number" if expected.ndim == 0 else f"an array of shape {expected.shape}"
    if got is None or isinstance(got, (str, bytes, Mapping)):
        raise Mismatch(f"{name} is {describe_type(got)}, expected {what}")
    try:
        arr = np.asarray(got)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} is {describe_type(got)}, expected {what}") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise Mismatch(f"{name} is {describe_type(got)}, expected {what}")
    return arr


def _index(idx: tuple[int, ...]) -> str:
    return f" at index {tuple(int(i) for i in idx)}" if idx else ""


def compare_array(name: str, got: Any, expected: Any, sizes: Sequence[int] = ()) -> None:
    """Check shape, dtype (for arrays) and values of ``got`` against ``expected``.

    Values agree when ``|got - expected| <= atol + rtol * |expected|`` elementwise, with
    ``(atol, rtol)`` from :data:`TOLERANCE` for the expected dtype. ``sizes`` (the dimensions
    of the question's outputs) let the message name a constant ratio such as the batch size.
    """
    expected = np.asarray(expected)
    arr = _as_array(name, got, expected)
    if arr.shape != expected.shape:
        raise Mismatch(f"{name} has shape {arr.shape}, expected {expected.shape}")
    if expected.ndim > 0 and arr.dtype != expected.dtype:
        raise Mismatch(f"{name} has dtype {arr.dtype}, expected {expected.dtype} "
                       "(the dtype of the inputs)")
    if np.issubdtype(expected.dtype, np.integer):
        bad = arr != expected
        if bad.any():
            idx = np.unravel_index(np.argmax(bad), bad.shape) if bad.ndim else ()
            raise Mismatch(f"{name} is wrong{_index(idx)}: got {arr[idx]}, expected "
                           f"{expected[idx]}")
        return
    arr = arr.astype(np.float64)
    exp = expected.astype(np.float64)
    if not np.isfinite(arr).all() and np.isfinite(exp).all():
        raise Mismatch(f"{name} contains NaN or inf")
    atol, rtol = TOLERANCE.get(expected.dtype, DEFAULT_TOLERANCE)
    # Equal entries (equal infinities too, e.g. a mask's -inf) have no error; any other
    # difference involving inf or NaN is an infinite error.
    with np.errstate(invalid="ignore"):
        err = np.where(arr == exp, 0.0, np.abs(arr - exp))
        err = np.where(np.isnan(err), np.inf, err)
        excess = err - (atol + rtol * np.where(np.isfinite(exp), np.abs(exp), 0.0))
    if (excess > 0).any():
        idx = np.unravel_index(np.argmax(excess), excess.shape) if excess.ndim else ()
        # diagnose: enough digits to differ, the relative error, a constant ratio named
        raise Mismatch(value_message(name, arr, exp, err, idx, (*expected.shape, *sizes)))


def name_outputs(raw: Any, names: Sequence[str], fn_name: str) -> dict[str, Any]:
    """The student's return value as a dict keyed by ``names``.

    One name: the value itself. Several: a tuple/list in that order, or a dict with those keys.
    """
    if len(names) == 1:
        return {names[0]: raw}
    listing = ", ".join(names)
    if isinstance(raw, Mapping):
        missing = [n for n in names if n not in raw]
        if missing:
            keys = ", ".join(map(str, raw)) or "none"
            raise Mismatch(f"the dict {fn_name} returned has no key '{missing[0]}' "
                           f"(keys: {keys}; expected {listing})")
        return {n: raw[n] for n in names}
    if not isinstance(raw, (tuple, list)):
        raise Mismatch(f"{fn_name} returned {describe_type(raw)}, expected {len(names)} "
                       f"values ({listing})")
    if len(raw) != len(names):
        raise Mismatch(f"{fn_name} returned {len(raw)} values, expected {len(names)} ({listing})")
    return dict(zip(names, raw, strict=True))


def compare_outputs(got: Mapping[str, Any], expected: Mapping[str, Any],
                    sizes: Sequence[int] = ()) -> None:
    """Compare every output the reference gives, in the reference's order. ``sizes`` (e.g.
    ``diagnose.case_sizes(case.args)``, the batch size among them) help name a wrong factor."""
    sizes = [*sizes, *(int(n) for exp in expected.values() for n in np.shape(exp))]
    for name, exp in expected.items():
        compare_array(name, got[name], exp, sizes)
