"""Sharpness: the worst direction's second-derivative energy, in exact 16-bit integers, its
variance summed in doubles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality.analysis import (
    _DIRECTIONS,
    INNER_MARGIN,
    SHARPNESS_MARGIN,
    _enclosing_levels,
    _inner,
    _variance,
    sharpness,
)
from consumers.quality.levels import Levels


@pytest.mark.parametrize("seed", range(8))
def test_variance_equals_numpy_s(seed: int) -> None:
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (180, 240), dtype=np.uint8)
    for kernel in _DIRECTIONS:
        response = cv2.filter2D(page, cv2.CV_32F, kernel)
        expected = float(response.astype(np.float64).var())
        assert _variance(response) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_sixteen_bit_differences_equal_float_ones_exactly(seed: int) -> None:
    """Noise has the largest second differences (up to +-510): integers hold every one."""
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (150, 210), dtype=np.uint8)
    page[::2, ::2], page[1::2, 1::2] = 255, 0  # the extremes next to each other
    for kernel in _DIRECTIONS:
        exact = cv2.filter2D(page, cv2.CV_16S, kernel)
        floats = cv2.filter2D(page, cv2.CV_32F, kernel)
        assert np.array_equal(exact.astype(np.float32), floats)
        assert _variance(exact) == _variance(floats)


def test_sharpness_equals_the_float_reference() -> None:
    """The measure itself, against numpy on floats, for a page of print."""
    page = _printed_page(paper=230, ink=25, noise=2.0, seed=3)
    spread = max(float(np.percentile(page, 98) - np.percentile(page, 2)), 16.0)
    energies = [float(cv2.filter2D(page, cv2.CV_64F, kernel).var()) for kernel in _DIRECTIONS]
    assert sharpness(page) == pytest.approx(min(energies) / spread**2 * 100, rel=1e-9)


def test_variance_of_a_constant_image_is_zero() -> None:
    assert _variance(np.full((20, 30), 7.5, np.float32)) == 0.0


def test_motion_blur_in_one_direction_lowers_sharpness() -> None:
    page = _printed_page(paper=235, ink=20, noise=1.5, seed=1)
    smeared = cv2.filter2D(page, -1, np.full((1, 9), 1 / 9, np.float32))
    assert sharpness(smeared) < 0.5 * sharpness(page)


def _printed_page(paper: int, ink: int, noise: float, seed: int) -> np.ndarray:
    """Lines of print on paper, with sensor noise."""
    rng = np.random.default_rng(seed)
    page = np.full((240, 320), paper, np.uint8)
    for row in range(20, 230, 14):
        cv2.putText(page, "REG 91310000", (10, row), cv2.FONT_HERSHEY_SIMPLEX, 0.45, ink)
    return np.clip(page + rng.normal(0, noise, page.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(490, 700), (40, 30), (9, 200), (6, 6)])
def test_levels_of_the_exposure_region_from_the_sharpness_region_are_exact(
    shape: tuple[int, int],
) -> None:
    """Counted from the sharpness region plus the frame around it (or directly, for a picture
    too small to leave margins): the same levels, hence the same exposure and print contrast
    to the last bit."""
    page = np.random.default_rng(shape[0]).integers(0, 256, shape, np.uint8)
    inner = Levels.of(_inner(page, SHARPNESS_MARGIN))
    derived = _enclosing_levels(page, INNER_MARGIN, inner, SHARPNESS_MARGIN)
    region = _inner(page, INNER_MARGIN)
    direct = Levels.of(region)
    assert derived.count == direct.count == region.size
    assert [derived.percentile(q) for q in (0, 2, 10, 50, 90, 98, 100)] == [
        direct.percentile(q) for q in (0, 2, 10, 50, 90, 98, 100)
    ]
