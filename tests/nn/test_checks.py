"""dlbook.nn._checks: the input checks the layers share, with the errors they promise."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook.nn._checks import batched_images


def test_batched_images_adds_and_reports_the_batch_axis():
    x = np.zeros((3, 5, 4), np.float32)
    out, unbatched = batched_images(x, "Conv2d", channels=3)
    assert unbatched and out.shape == (1, 3, 5, 4) and out.dtype == np.float32
    out, unbatched = batched_images(np.zeros((2, 3, 5, 4)), "MaxPool2d")
    assert not unbatched and out.shape == (2, 3, 5, 4)


def test_batched_images_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Conv2d: expected input of shape \(N, C, H, W\)"):
        batched_images(np.zeros((5, 4)), "Conv2d")
    with pytest.raises(ValueError, match="Conv2d: expected in_channels = 2"):
        batched_images(np.zeros((1, 3, 5, 4)), "Conv2d", channels=2)
    with pytest.raises(TypeError, match="MaxPool2d: input must be a floating array"):
        batched_images(np.zeros((1, 3, 5, 4), int), "MaxPool2d")
