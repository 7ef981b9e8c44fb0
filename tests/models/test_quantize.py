"""int8 round trip: error bound, range, zero rows, state dicts."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.models.quantize import dequantize, quantize_int8, quantize_state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_error_bound(dtype) -> None:
    w = np.random.default_rng(0).standard_normal((7, 5, 3)).astype(dtype)
    q, scale = quantize_int8(w)
    assert q.dtype == np.int8 and q.shape == w.shape and scale.shape == (7,)
    assert np.abs(q).max() == 127
    err = np.abs(dequantize(q, scale) - w).reshape(7, -1)
    assert np.all(err <= scale[:, None] / 2 * (1 + 1e-5))
    np.testing.assert_allclose(scale, np.abs(w).reshape(7, -1).max(1) / 127, rtol=1e-6)


def test_zero_row_and_state() -> None:
    w = np.zeros((2, 3))
    w[1] = [1.0, -0.5, 0.25]
    q, s = quantize_int8(w)
    np.testing.assert_array_equal(q[0], 0)
    np.testing.assert_array_equal(q[1], [127, -64, 32])  # 63.5 rounds to even 64
    state = quantize_state({"w": w, "b": np.array([0.123])})
    np.testing.assert_array_equal(state["b"], [0.123])
    np.testing.assert_allclose(state["w"], w, atol=1 / 254)


def test_errors() -> None:
    with pytest.raises(TypeError, match="floating"):
        quantize_int8(np.zeros((2, 2), dtype=int))
