"""Sharpness: the worst direction's second-derivative energy, its variance summed in doubles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality.analysis import _DIRECTIONS, _variance, sharpness


@pytest.mark.parametrize("seed", range(8))
def test_variance_equals_numpy_s(seed: int) -> None:
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (180, 240), dtype=np.uint8)
    for kernel in _DIRECTIONS:
        response = cv2.filter2D(page, cv2.CV_32F, kernel)
        expected = float(response.astype(np.float64).var())
        assert _variance(response) == pytest.approx(expected, rel=1e-9)


def test_variance_of_a_constant_image_is_zero() -> None:
    assert _variance(np.full((20, 30), 7.5, np.float32)) == 0.0


def test_motion_blur_in_one_direction_lowers_sharpness() -> None:
    rng = np.random.default_rng(1)
    page = np.full((240, 320), 235, np.uint8)
    for row in range(20, 230, 14):
        cv2.putText(page, "REG 91310000", (10, row), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 20)
    page = np.clip(page + rng.normal(0, 1.5, page.shape), 0, 255).astype(np.uint8)
    smeared = cv2.filter2D(page, -1, np.full((1, 9), 1 / 9, np.float32))
    assert sharpness(smeared) < 0.5 * sharpness(page)
