"""dlbook.grading: exercises that check themselves, and the pieces instructors grade with.

- :func:`check` / :func:`summary`: a student's self-check inside a notebook.
- :mod:`~dlbook.grading.registry`: the questions (public inputs, hidden inputs drawn from a
  seed, independent references, what an answer may not use, points).
- :mod:`~dlbook.grading.evaluate`: judging an answer, with no printing and no state.
- :mod:`~dlbook.grading.compare`: comparing arrays by shape, dtype and values.
- :mod:`~dlbook.grading.rules`: forbidden modules and functions, stubbed in the sandbox and
  watched in ``check``.
- :mod:`~dlbook.grading.builder`: ``solutions/`` to ``exercises/`` (``dlbook exercises build``).
- :mod:`~dlbook.grading.grader`: ``dlbook grade``, a folder of submissions graded each in its
  own sandbox (:mod:`~dlbook.grading.sandbox`, :mod:`~dlbook.grading.view`,
  :mod:`~dlbook.grading.execute`), the kernel's side (:mod:`~dlbook.grading.launcher`,
  :mod:`~dlbook.grading.audit`, :mod:`~dlbook.grading.harness`,
  :mod:`~dlbook.grading.runners`), the grader's side (:mod:`~dlbook.grading.results`,
  :mod:`~dlbook.grading.verdict`, :mod:`~dlbook.grading.gradebook`,
  :mod:`~dlbook.grading.journal`).
- :mod:`~dlbook.grading.gradescope`: ``dlbook autograder gradescope``, the same grading in
  Gradescope's containers.
"""
from dlbook.grading.check import check, reset, summary
from dlbook.grading.evaluate import Result, evaluate

__all__ = ["Result", "check", "evaluate", "reset", "summary"]
