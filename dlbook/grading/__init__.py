"""dlbook.grading: exercises that check themselves, and the pieces instructors grade with.

- :func:`check` / :func:`summary`: a student's self-check inside a notebook.
- :mod:`~dlbook.grading.registry`: the questions (inputs, independent references, points).
- :mod:`~dlbook.grading.evaluate`: judging an answer, with no printing and no state.
- :mod:`~dlbook.grading.compare`: comparing arrays by shape, dtype and values.
- :mod:`~dlbook.grading.builder`: ``solutions/`` to ``exercises/`` (``dlbook exercises build``).
- :mod:`~dlbook.grading.grader`: ``dlbook grade``, a folder of submissions graded in capped
  kernels (:mod:`~dlbook.grading.assignment`, :mod:`~dlbook.grading.sandbox`,
  :mod:`~dlbook.grading.verdict`, :mod:`~dlbook.grading.gradebook`).
"""
from dlbook.grading.check import check, reset, summary
from dlbook.grading.evaluate import Result, evaluate

__all__ = ["Result", "check", "evaluate", "reset", "summary"]
