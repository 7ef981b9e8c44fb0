"""Saying *how* a wrong float answer is wrong, for every question in one place.

:func:`value_message` is the sentence :func:`dlbook.grading.compare.compare_array` raises when
values disagree. It prints the worst entry with as many digits as it takes for ``got`` and
``expected`` to read differently (never "got 0.29837, expected 0.29837"), its relative error,
and, when the answer is the expected one times a constant, names the constant:

- a size ``N`` of the question's arrays (``N`` or ``1/N``: a sum where a mean is wanted, or the
  other way round, the classic batch-size mistake),
- ``(N - 1) / N`` or ``N / (N - 1)`` (a variance divided by the wrong count),
- ``2`` or ``1/2`` (the factor of a derivative of a square), ``-1`` (a sign),
- any other constant, for arrays, where one factor explains every entry;

and a square array returned transposed. ``N`` ranges over the dimensions of the outputs and
their pairwise products (a mean over ``N * C`` entries).

Nothing here knows about questions: ``sizes`` are the dimensions of the expected outputs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

RATIO_RTOL = 1e-5  # a constant ratio: every entry within this (relative) of the median ratio


def constant_ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The factor ``c`` with ``got == c * expected`` entrywise (to ``RATIO_RTOL``), or None.

    Entries whose expected value is (near) zero must be (near) zero in ``got`` too; they do not
    vote. None when no entry is informative or the ratio differs between entries.
    """
    got = np.asarray(got, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    if got.shape != expected.shape or not (np.isfinite(got).all() and np.isfinite(expected).all()):
        return None
    scale = np.abs(expected).max(initial=0.0)
    if scale == 0.0:
        return None
    informative = np.abs(expected) > 1e-9 * scale
    ratios = got[informative] / expected[informative]
    c = float(np.median(ratios))
    if c == 0.0 or np.abs(ratios - c).max() > RATIO_RTOL * abs(c):
        return None
    if np.abs(got[~informative]).max(initial=0.0) > RATIO_RTOL * abs(c) * scale:
        return None
    return c


def case_sizes(args: Any) -> list[int]:
    """Every dimension of every array in a case's ``args`` (a dict, list or array), so that a
    ratio equal to the batch size, which no output may show, can be named."""
    if isinstance(args, Mapping):
        args = list(args.values())
    if isinstance(args, (list, tuple)):
        return [n for a in args for n in case_sizes(a)]
    return [int(n) for n in np.shape(args)] if isinstance(args, np.ndarray) else []


def _close(c: float, target: float) -> bool:
    return abs(c - target) <= RATIO_RTOL * abs(target)


def name_ratio(c: float, sizes: Iterable[int], several_entries: bool) -> str | None:
    """A sentence naming the factor ``c`` (got / expected), or None when it says nothing.

    ``several_entries``: whether ``c`` explains more than one entry; a single number's ratio
    is named only when it is one of the known factors.
    """
    sizes = sorted({int(n) for n in sizes if int(n) > 1})
    every = "every entry is" if several_entries else "the value is"
    if _close(c, 1.0):
        return None
    if _close(c, -1.0):
        return f"{every} the expected one with the opposite sign: check the sign"
    if _close(c, 2.0) or _close(c, 0.5):
        size_two = " (or a sum/mean over a size of 2 mixed up)" if 2 in sizes else ""
        if c > 1:
            return (f"{every} twice the expected value: a factor 2 too many (the 2 from "
                    f"differentiating a square, or a missing 1/2){size_two}")
        return f"{every} half the expected value: a factor 2 missing{size_two}"
    for n in sizes:
        if _close(c, n):
            return (f"{every} {n} times the expected value: a sum over {n} where the mean is "
                    f"wanted? (did you average over the batch?)")
        if _close(c, 1 / n):
            return (f"{every} 1/{n} of the expected value: divided by {n} where a sum is "
                    f"wanted, or averaged twice?")
    for n in sizes:
        if _close(c, (n - 1) / n) or _close(c, n / (n - 1)):
            return (f"{every} {n - 1}/{n} or {n}/{n - 1} of the expected value: divided by "
                    f"{n - 1} where {n} is wanted, or the other way round")
    if several_entries:
        return f"every entry is {c:.6g} times the expected value: one constant factor is off"
    return None


def distinct_digits(got: float, expected: float, minimum: int = 6) -> tuple[str, str]:
    """``got`` and ``expected`` printed with enough significant digits to differ: at least
    ``minimum``, two more than the relative error's decade, more until the strings differ
    (at most 17)."""
    rel = abs(got - expected) / max(abs(expected), abs(got), 1e-300)
    start = minimum if rel == 0 else max(minimum, int(np.ceil(-np.log10(rel))) + 2)
    for digits in range(min(start, 17), 18):
        a, b = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if a != b:
            return a, b
    return repr(float(got)), repr(float(expected))


def value_message(name: str, got: np.ndarray, expected: np.ndarray, err: np.ndarray,
                  idx: tuple[int, ...], sizes: Iterable[int] = ()) -> str:
    """The sentence for values of ``name`` that disagree; ``idx`` is the worst entry.

    Shape:
        - ``got``, ``expected``, ``err``: the same shape (float64); ``idx`` indexes them.
    """
    at = f" at index {tuple(int(i) for i in idx)}" if idx else ""
    g, e = float(got[idx]), float(expected[idx])
    message = f"{name} is wrong: max abs error {np.max(err):.2g}{at} "
    if np.isfinite(g) and np.isfinite(e):
        g_text, e_text = distinct_digits(g, e)
        message += f"(got {g_text}, expected {e_text})"
        if e != 0:
            message += f", relative error {abs(g - e) / abs(e):.1e}"
    else:
        message += f"(got {g}, expected {e})"
    if is_transpose(got, expected):
        return message + (f"; {name} is the transpose of the expected array: check which "
                          "index is rows (torch's weight is (out_features, in_features))")
    c = constant_ratio(got, expected)
    if c is not None:
        dims = sorted({int(n) for n in sizes if int(n) > 1})
        products = [a * b for i, a in enumerate(dims) for b in dims[i:]]
        hint = name_ratio(c, [*dims, *products], several_entries=np.size(expected) > 1)
        if hint:
            message += f"; {hint}"
    return message


def is_transpose(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether a square, non-symmetric ``expected`` was returned transposed."""
    got, expected = np.asarray(got), np.asarray(expected)
    if expected.ndim != 2 or got.shape != expected.T.shape or np.allclose(expected, expected.T):
        return False
    return bool(np.allclose(got, expected.T, rtol=1e-6, atol=1e-12))
