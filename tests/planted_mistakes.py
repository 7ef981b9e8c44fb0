"""Shared checks of the self-check catalogue tests (tests/grading/test_catalogue_*.py).

A catalogue test keeps, per question, a right answer written as a student would, taking a
``mistake=`` keyword that plants one named mistake. These helpers run them through the
grader's ``evaluate``: the right answer must pass the public suite and two hidden draws, and
each mutant must fail with exactly its catalogue message, no other entry's.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

from dlbook.grading.evaluate import FAILED, PASSED, evaluate


def catalogue_messages(module: ModuleType) -> set[str]:
    """Every catalogue message of a chapter's question module (its upper-case strings)."""
    return {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


def assert_right_answer_passes(question_id: str, answer: Callable) -> None:
    """``answer`` passes the public suite and the hidden suites of seeds 1 and 2."""
    for suite, seed in [("public", None), ("hidden", 1), ("hidden", 2)]:
        result = evaluate(question_id, answer, suite, seed=seed)
        assert result.status == PASSED, (suite, seed, result.message)


def assert_mutant_named(question_id: str, right: Callable, mistake: str, message: str,
                        others: Iterable[str]) -> None:
    """``right`` with ``mistake`` planted fails the public suite with ``message`` and with
    none of ``others`` (the rest of the catalogue)."""
    def mutant(*args):
        return right(*args, mistake=mistake)

    result = evaluate(question_id, mutant, "public")
    assert result.status == FAILED, result.message
    assert message in result.message, result.message
    assert not [m for m in set(others) - {message} if m in result.message], result.message


def catalogue_tests(right: dict[str, Callable], mutants: list[tuple[str, str, str]],
                    modules: Iterable[ModuleType]) -> tuple[Callable, Callable, Callable]:
    """The three tests of a catalogue file, for ``test_a, test_b, test_c = catalogue_tests(...)``.

    ``right``: question id -> right answer taking ``mistake=``; ``mutants``: (question id,
    mistake, message) triples; ``modules``: the question modules whose catalogues these are.
    The tests: every right answer passes every suite; every mutant gets exactly its message;
    every catalogue message of the modules is planted by some mutant.
    """
    import pytest

    modules = list(modules)
    messages = set().union(*(catalogue_messages(m) for m in modules))

    @pytest.mark.parametrize("question_id", sorted(right))
    def test_the_right_answer_passes_every_suite(question_id: str) -> None:
        assert_right_answer_passes(question_id, right[question_id])

    @pytest.mark.parametrize("question_id,mistake,message", mutants,
                             ids=[f"{q}-{m}" for q, m, _ in mutants])
    def test_each_planted_mistake_gets_exactly_its_message(question_id: str, mistake: str,
                                                           message: str) -> None:
        assert_mutant_named(question_id, right[question_id], mistake, message, messages)

    def test_every_catalogue_message_is_planted() -> None:
        planted = {message for _, _, message in mutants}
        assert messages - planted == set(), sorted(messages - planted)

    return (test_the_right_answer_passes_every_suite,
            test_each_planted_mistake_gets_exactly_its_message,
            test_every_catalogue_message_is_planted)
