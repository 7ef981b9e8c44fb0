"""dlbook.grading: exercises that check themselves, and the pieces instructors grade with.

- :func:`check` / :func:`summary`: a student's self-check inside a notebook.
- :mod:`~dlbook.grading.registry`: the questions (inputs, independent references, points).
- :mod:`~dlbook.grading.evaluate`: judging an answer, with no printing and no state.
- :mod:`~dlbook.grading.compare`: comparing arrays by shape, dtype and values.
- :mod:`~dlbook.grading.builder`: ``solutions/`` to ``exercises/`` (``dlbook exercises build``).
"""
from dlbook.grading.check import check, reset, summary
from dlbook.grading.evaluate import Result, evaluate

__all__ = ["Result", "check", "evaluate", "reset", "summary"]
