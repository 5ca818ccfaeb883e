"""Percentiles from the 256-level histogram are exactly numpy's (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from consumers.quality.levels import Levels, counts_of

QUANTILES = (0, 0.5, 2, 10, 50, 90, 98, 99.7, 100)


@pytest.mark.parametrize("seed", range(40))
def test_every_percentile_is_numpys_to_the_last_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 4000))
    pixels = (
        rng.integers(0, 256, size, dtype=np.uint8)
        if seed % 2
        else np.clip(rng.normal(220, 25, size), 0, 255).astype(np.uint8)  # paper-like
    )
    levels = Levels.of(pixels)
    assert [levels.percentile(q) for q in QUANTILES] == [
        float(np.percentile(pixels, q)) for q in QUANTILES
    ]
    assert levels.percentile(50) == float(np.median(pixels))
    threshold = float(rng.uniform(0, 256))
    darker = pixels[pixels < threshold]
    assert levels.below(threshold).count == darker.size
    if darker.size:
        assert levels.below(threshold).percentile(10) == float(np.percentile(darker, 10))


def test_a_two_dimensional_picture_counts_every_pixel() -> None:
    picture = np.array([[0, 255], [10, 10]], np.uint8)
    assert Levels.of(picture).count == 4
    assert Levels.of(picture).percentile(50) == 10.0


def test_only_eight_bit_pixels_and_never_an_empty_set() -> None:
    with pytest.raises(TypeError):
        Levels.of(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="no pixels"):
        Levels.of(np.full(4, 200, np.uint8)).below(100).percentile(10)


@pytest.mark.parametrize("seed", range(8))
def test_opencv_counts_a_cropped_view_exactly_as_numpy(seed: int) -> None:
    """Pictures are counted by OpenCV; a crop (a strided view, as the checks pass) included."""
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (int(rng.integers(8, 300)), int(rng.integers(8, 300))), np.uint8)
    crop = page[2:-3, 1:-2]
    assert not crop.flags["C_CONTIGUOUS"]
    assert np.array_equal(counts_of(crop), np.bincount(crop.ravel(), minlength=256))
    assert counts_of(crop).dtype == np.int64
