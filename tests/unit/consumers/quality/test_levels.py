"""Percentiles from the 256-level histogram are exactly numpy's (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from consumers.quality.levels import Levels, counts_of, percentile_at_least

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


@pytest.mark.parametrize("seed", range(12))
def test_a_region_plus_its_frame_counts_exactly_the_enclosing_region(seed: int) -> None:
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (int(rng.integers(20, 200)), int(rng.integers(20, 200))), np.uint8)
    top, left = int(rng.integers(0, 8)), int(rng.integers(0, 8))
    bottom, right = page.shape[0] - int(rng.integers(0, 8)), page.shape[1] - int(rng.integers(0, 8))
    frame = (
        page[:top],
        page[bottom:],
        page[top:bottom, :left],
        page[top:bottom, right:],
    )
    whole = Levels.of(page[top:bottom, left:right]).plus(*frame)
    direct = Levels.of(page)
    assert whole.count == direct.count
    assert [whole.percentile(q) for q in QUANTILES] == [direct.percentile(q) for q in QUANTILES]


@pytest.mark.parametrize("seed", range(60))
def test_percentile_at_least_agrees_with_the_histogram(seed: int) -> None:
    """Every branch: both order statistics above, both below, and `level` between them
    (few pixels and a level at one of their values make the last common here)."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6))) if seed % 3 == 0 else (40, 50)
    pixels = rng.choice(np.array([0, 200, 247, 248, 249, 255], np.uint8), shape)
    levels = Levels.of(pixels)
    for q in QUANTILES:
        for level in (0, 1, 200, 247, 248, 249, 255, 256):
            assert percentile_at_least(pixels, q, level) == (levels.percentile(q) >= level)


def test_percentile_at_least_takes_one_eight_bit_channel() -> None:
    with pytest.raises(TypeError):
        percentile_at_least(np.zeros((4, 4), np.float32), 90, 248)
    with pytest.raises(TypeError):
        percentile_at_least(np.zeros((4, 4, 3), np.uint8), 90, 248)
    with pytest.raises(ValueError, match="no pixels"):
        percentile_at_least(np.zeros((0, 4), np.uint8), 90, 248)
