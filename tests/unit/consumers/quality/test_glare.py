"""Glare: clipped blobs on paper that is not itself clipped."""

from __future__ import annotations

import cv2
import numpy as np

from consumers.quality.analysis import darkest_channel, glare


def grey_page() -> np.ndarray:
    """A greyish photographed page (paper ~200) with some dark print."""
    page = np.full((300, 400, 3), 200, np.uint8)
    for row in range(30, 270, 20):
        cv2.line(page, (30, row), (370, row), (40, 40, 40), 2)
    return page


def test_a_page_with_nothing_clipped_has_no_glare() -> None:
    assert glare(grey_page()) == {"glare_fraction": 0.0, "glare_largest_blob": 0.0}


def test_a_clipped_blob_is_measured_by_its_share_of_the_page() -> None:
    page = grey_page()
    cv2.rectangle(page, (100, 100), (159, 139), (255, 255, 255), -1)  # 60 x 40 px
    found = glare(page)
    # The 5-px blur rounds the blob's edge a little; its core is what stays clipped.
    assert 0.015 <= found["glare_fraction"] <= 2400 / (300 * 400)
    assert found["glare_largest_blob"] == found["glare_fraction"]


def test_isolated_clipped_pixels_are_noise_not_glare() -> None:
    page = grey_page()
    page[50, 50] = page[200, 300] = (255, 255, 255)
    assert glare(page) == {"glare_fraction": 0.0, "glare_largest_blob": 0.0}


def test_the_darkest_channel_is_each_pixel_s_smallest_channel() -> None:
    """Also for a crop (a strided view, as the checks pass) and one-pixel-wide pictures."""
    rng = np.random.default_rng(3)
    for shape in ((1, 1, 3), (7, 1, 3), (1, 9, 3), (120, 170, 3)):
        page = rng.integers(0, 256, shape, np.uint8)
        assert np.array_equal(darkest_channel(page), page.min(axis=2))
    page = rng.integers(0, 256, (60, 80, 3), np.uint8)
    crop = page[3:-4, 5:-2]
    assert not crop.flags["C_CONTIGUOUS"]
    assert np.array_equal(darkest_channel(crop), crop.min(axis=2))


def test_white_paper_is_not_glare_even_where_it_is_clipped() -> None:
    page = np.full((300, 400, 3), 255, np.uint8)  # a flat-bed scan's paper
    for row in range(30, 270, 20):
        cv2.line(page, (30, row), (370, row), (20, 20, 20), 2)
    assert glare(page) == {"glare_fraction": 0.0, "glare_largest_blob": 0.0}
