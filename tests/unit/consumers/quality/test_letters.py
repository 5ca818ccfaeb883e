"""Letter height, the legibility measure behind `low_resolution` (pure pixel logic)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality.analysis import letter_height

LINE = "registered office certificate of incorporation 12345678"


def page(font_scale: float, lines: int = 12) -> np.ndarray:
    """Black text on white paper; returns grey pixels."""
    (width, height), _ = cv2.getTextSize(LINE, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    canvas = np.full((int(lines * height * 2.2) + 40, width + 40), 255, np.uint8)
    for row in range(lines):
        y = 20 + int((row + 1) * height * 2.2)
        cv2.putText(canvas, LINE, (20, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, 0, 2)
    return canvas


def test_the_median_letter_is_about_the_x_height() -> None:
    pixels = page(1.0)
    (_, cap_height), _ = cv2.getTextSize("X", cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
    height = letter_height(pixels)
    assert height is not None
    # Lower-case letters dominate: between half the capital height and the capital height.
    assert 0.5 * cap_height <= height <= cap_height + 2


@pytest.mark.parametrize("shrink", [0.5, 0.35])
def test_fewer_pixels_give_proportionally_smaller_letters(shrink: float) -> None:
    pixels = page(1.2)
    small = cv2.resize(pixels, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    full, reduced = letter_height(pixels), letter_height(small)
    assert full is not None
    assert reduced is not None
    assert reduced == pytest.approx(full * shrink, rel=0.25)


def test_rules_boxes_and_seals_are_not_letters() -> None:
    pixels = page(1.0)
    plain = letter_height(pixels)
    decorated = pixels.copy()
    h, w = decorated.shape
    for y in range(10, h, 25):
        cv2.line(decorated, (0, y), (w - 1, y), 0, 1)  # ruled lines between rows
    cv2.rectangle(decorated, (2, 2), (w - 3, h - 3), 0, 3)  # a border
    cv2.circle(decorated, (w - 120, h // 2), 90, 0, 4)  # a seal
    assert letter_height(decorated) == plain


def test_a_page_without_print_has_no_letter_height() -> None:
    blank = np.full((600, 800), 250, np.uint8)
    cv2.rectangle(blank, (50, 50), (750, 550), 0, 3)
    assert letter_height(blank) is None
