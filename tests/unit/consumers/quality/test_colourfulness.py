"""Colourfulness from counted (a, b) pairs equals the per-pixel partition it replaced (to
float32 rounding: OpenCV's vector and scalar paths differ in the last bit), on the pixels it
samples; and the sample's percentile stays close to every pixel's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality.analysis import COLOUR_STRIDE, LAB_A_RANGE, LAB_B_RANGE, colourfulness
from consumers.quality.levels import Levels


def per_pixel(document: np.ndarray, stride: int = 1) -> float:
    """The first implementation: partition the chroma of every (`stride`-th) smoothed pixel."""
    smoothed = cv2.medianBlur(document, 3)
    height, width = smoothed.shape[:2]
    smoothed = np.ascontiguousarray(
        smoothed[: height - height % stride, : width - width % stride][::stride, ::stride]
    )
    lab = cv2.cvtColor(smoothed, cv2.COLOR_BGR2LAB)
    _, a, b = cv2.split(lab)
    a_f = a.astype(np.float32) - Levels.of(a).percentile(50)
    b_f = b.astype(np.float32) - Levels.of(b).percentile(50)
    chroma = cv2.magnitude(a_f, b_f).ravel()
    k = int(chroma.size * 0.997)
    return float(np.partition(chroma, k)[k])


def paper_with_seal(seed: int, ring_px: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.full((420, 300, 3), (236, 242, 246), np.uint8)
    page = np.clip(page + rng.normal(0, 2.5, page.shape), 0, 255).astype(np.uint8)
    for row in range(40, 400, 18):
        cv2.putText(page, "COMPANY 1234", (20, row), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (30, 30, 30))
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    cv2.circle(page, (230, 330), 40, colour, ring_px)
    return page


def greyed(page: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("seed", range(12))
def test_counted_pairs_give_the_per_pixel_percentile_of_the_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (200 + seed, 261 + seed, 3), dtype=np.uint8)  # odd sides too
    for document in (noise, paper_with_seal(seed), greyed(paper_with_seal(seed))):
        expected = per_pixel(document, COLOUR_STRIDE)
        assert colourfulness(document) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_a_small_document_is_measured_on_every_pixel() -> None:
    small = paper_with_seal(3)[300:360, 200:260]
    assert colourfulness(small) == pytest.approx(per_pixel(small), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("ring_px", [2, 3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_the_sample_keeps_a_thin_seal_s_colour(seed: int, ring_px: int) -> None:
    """The percentile moves by a fraction of a chroma unit, far inside the thresholds' margins
    (6 for sparse print; a ratio of 0.1 to the contrast)."""
    page = paper_with_seal(seed, ring_px)
    every_pixel = per_pixel(page)
    assert every_pixel > 10.0  # the seal is there to be measured
    assert colourfulness(page) == pytest.approx(every_pixel, abs=max(1.5, 0.05 * every_pixel))


def test_a_grey_page_has_no_colour_and_a_seal_has_some() -> None:
    assert colourfulness(greyed(paper_with_seal(1))) == 0.0
    assert colourfulness(paper_with_seal(1)) > 10.0


def test_the_counted_a_b_ranges_hold_every_8_bit_colour() -> None:
    """The (a, b) table has only the levels OpenCV's 8-bit Lab conversion can give (58 % of
    the 65,536 pairs, and its counting as much cheaper): every one of the 2**24 colours lies
    inside, and the extremes are reached, so the ranges are not wider than they need to be."""
    every = np.arange(1 << 24, dtype=np.uint32)
    colours = np.stack([(every >> 16) & 255, (every >> 8) & 255, every & 255], axis=-1)
    lab = cv2.cvtColor(colours.astype(np.uint8).reshape(4096, 4096, 3), cv2.COLOR_BGR2LAB)
    for channel, (low, high) in ((1, LAB_A_RANGE), (2, LAB_B_RANGE)):
        assert int(lab[..., channel].min()) == low
        assert int(lab[..., channel].max()) == high - 1


@pytest.mark.parametrize("seed", range(4))
def test_saturated_colours_at_the_ends_of_the_ranges_are_counted(seed: int) -> None:
    """Pure primaries and secondaries give the extreme a and b levels: a page of them measures
    as the per-pixel partition does."""
    rng = np.random.default_rng(seed)
    primaries = np.array(
        [[0, 0, 255], [0, 255, 0], [255, 0, 0], [0, 255, 255], [255, 0, 255], [255, 255, 0]],
        np.uint8,
    )
    blocks = primaries[rng.integers(0, len(primaries), (30, 40))]
    document = cv2.resize(blocks, (400, 300), interpolation=cv2.INTER_NEAREST)
    expected = per_pixel(document, COLOUR_STRIDE)
    assert expected > 50.0
    assert colourfulness(document) == pytest.approx(expected, rel=1e-6, abs=1e-6)
