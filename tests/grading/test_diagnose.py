"""dlbook.grading.diagnose: distinct digits, relative errors and named constant ratios."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.grading.compare import Mismatch, compare_array, compare_outputs
from dlbook.grading.diagnose import case_sizes, constant_ratio, distinct_digits, name_ratio


def _message(got, expected, sizes=()):
    with pytest.raises(Mismatch) as info:
        compare_array("x", got, expected, sizes)
    return str(info.value)


def test_close_numbers_print_differently():
    # The case: 0.29837 vs 0.29837 at six digits; the message must show a difference.
    expected = np.array([0.298370412, 0.5, 0.7])
    got = expected.copy()
    got[0] = 0.298371903
    message = _message(got, expected)
    assert "got 0.2983719, expected 0.29837041" in message
    assert "relative error 5.0e-06" in message


def test_distinct_digits_grow_until_the_strings_differ():
    assert distinct_digits(1.5, 1.0) == ("1.5", "1")
    a, b = distinct_digits(1.0 + 1e-12, 1.0)
    assert a != b and len(a) > 12
    assert distinct_digits(0.1, 0.1) == ("0.1", "0.1")  # equal values may print equal


@pytest.mark.parametrize("factor, sizes, words", [
    (5.0, (5, 3), "5 times the expected value: a sum over 5 where the mean is wanted"),
    (1 / 5, (5, 3), "1/5 of the expected value"),
    (4 / 5, (5,), "divided by 4 where 5 is wanted"),
    (5 / 4, (5,), "divided by 4 where 5 is wanted"),
    (2.0, (), "twice the expected value"),
    (0.5, (), "half the expected value"),
    (-1.0, (), "opposite sign"),
    (0.5, (2, 3), "half the expected value: a factor 2 missing (or a sum/mean over a size of 2"),
    (3.7, (), "3.7 times the expected value: one constant factor is off"),
])
def test_a_constant_ratio_is_named(factor, sizes, words):
    expected = np.random.default_rng(0).normal(size=(5, 3))
    expected[0, 0] = 0.0  # a zero entry must stay zero, and does not vote
    assert words in _message(factor * expected, expected, sizes)


def test_the_batch_size_comes_from_the_other_outputs():
    # A scalar loss summed over a batch of 7: only the gradient's shape knows N = 7.
    rng = np.random.default_rng(1)
    expected = {"loss": np.float64(0.8), "grad": rng.normal(size=(7, 4))}
    got = {"loss": 7 * 0.8, "grad": expected["grad"]}
    with pytest.raises(Mismatch, match="loss is wrong.*the value is 7 times the expected value"):
        compare_outputs(got, expected)


def test_no_ratio_is_claimed_when_there_is_none():
    expected = np.array([1.0, 2.0, 3.0])
    message = _message(np.array([1.0, 2.5, 3.0]), expected)
    assert "times" not in message and "every entry" not in message
    assert constant_ratio(np.array([1.0, 1.0]), np.array([0.0, 1.0])) is None  # 0 -> 1
    assert constant_ratio(np.array([2.0, np.nan]), np.array([1.0, 1.0])) is None
    # a single number: only a known factor is named, not an arbitrary one
    assert name_ratio(3.7, (), several_entries=False) is None
    assert "twice" in name_ratio(2.0, (), several_entries=False)


def test_float32_answers_with_a_factor_are_recognised():
    expected = np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32)
    got = (expected.astype(np.float64) * 8).astype(np.float32)
    assert "8 times" in _message(got, expected)


def test_a_transposed_square_array_is_named():
    expected = np.random.default_rng(3).normal(size=(4, 4))
    assert "is the transpose of the expected array" in _message(expected.T, expected)


def test_a_mean_over_all_entries_names_the_product_of_two_sizes():
    # MSE averaged over N * C = 12 entries, summed instead: the ratio is 12, not a single dim.
    expected = {"loss": np.float64(0.5), "grad": np.random.default_rng(4).normal(size=(4, 3))}
    with pytest.raises(Mismatch, match="12 times the expected value"):
        compare_outputs({"loss": 6.0, "grad": expected["grad"]}, expected)


def test_the_batch_size_can_come_from_the_inputs():
    # Gradients of weights (5, 4) and (3, 5) from a batch of 6: N = 6 is in no output's shape.
    args = {"X": np.zeros((6, 4)), "y": np.zeros(6, dtype=int), "Ws": [np.zeros((5, 4))], "k": 3}
    assert case_sizes(args) == [6, 4, 6, 5, 4]
    expected = {"W1": np.random.default_rng(5).normal(size=(5, 4))}
    with pytest.raises(Mismatch, match="6 times the expected value"):
        compare_outputs({"W1": 6 * expected["W1"]}, expected, sizes=case_sizes(args))
