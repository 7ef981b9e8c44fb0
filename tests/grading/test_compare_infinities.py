"""compare_array with infinite expected values (a mask's -inf): equal passes, else fails."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlbook.grading.compare import Mismatch, compare_array

MASK = np.triu(np.full((3, 3), -np.inf), k=1)


def test_equal_infinities_pass_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_array("mask", MASK.copy(), MASK)


@pytest.mark.parametrize("bad", [np.nan, 0.0, np.inf, -1e300])
def test_anything_else_where_inf_is_expected_fails(bad):
    got = MASK.copy()
    got[0, 2] = bad
    with pytest.raises(Mismatch, match="mask is wrong"):
        compare_array("mask", got, MASK)
