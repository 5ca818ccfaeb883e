"""Glare: clipped blobs on paper that is not itself clipped."""

from __future__ import annotations

import cv2
import numpy as np

from consumers.quality.analysis import glare


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
