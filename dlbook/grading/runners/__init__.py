"""Kernel-side runners: how some questions call the student's function.

Most answers are called as ``answer(*args.values())``. A question whose function is given
objects built from its inputs (a ``Value``, a ``dlbook.nn`` model) names a runner,
``"chNN.function"``, defined in ``dlbook/grading/runners/chNN.py`` as
``function(answer, args) -> raw outputs``. Runners run inside the student's kernel when a
notebook is graded, so they hold no reference answers; they may raise
:class:`dlbook.grading.compare.Mismatch` for an answer of the wrong kind.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Runner = Callable[[Any, dict[str, Any]], Any]


def resolve(name: str) -> Runner:
    """The runner ``"chNN.function"``."""
    chapter, function = name.split(".", 1)
    return getattr(importlib.import_module(f"dlbook.grading.runners.{chapter}"), function)


def call(runner: str | None, answer: Any, args: dict[str, Any], takes_value: bool) -> Any:
    """The student's raw outputs for one case: through ``runner`` if the question names one."""
    if runner is not None:
        return resolve(runner)(answer, args)
    return answer if takes_value else answer(*args.values())
