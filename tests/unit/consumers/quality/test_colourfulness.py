"""Colourfulness from counted (a, b) pairs equals the per-pixel partition it replaced
(to float32 rounding: OpenCV's vector and scalar paths differ in the last bit)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality.analysis import colourfulness
from consumers.quality.levels import Levels


def per_pixel(document: np.ndarray) -> float:
    """The previous implementation: partition the chroma of every pixel."""
    lab = cv2.cvtColor(cv2.medianBlur(document, 3), cv2.COLOR_BGR2LAB)
    _, a, b = cv2.split(lab)
    a_f = a.astype(np.float32) - Levels.of(a).percentile(50)
    b_f = b.astype(np.float32) - Levels.of(b).percentile(50)
    chroma = cv2.magnitude(a_f, b_f).ravel()
    k = int(chroma.size * 0.997)
    return float(np.partition(chroma, k)[k])


def paper_with_seal(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.full((420, 300, 3), (236, 242, 246), np.uint8)
    page = np.clip(page + rng.normal(0, 2.5, page.shape), 0, 255).astype(np.uint8)
    for row in range(40, 400, 18):
        cv2.putText(page, "COMPANY 1234", (20, row), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (30, 30, 30))
    cv2.circle(page, (230, 330), 40, tuple(int(c) for c in rng.integers(0, 256, 3)), 3)
    return page


@pytest.mark.parametrize("seed", range(12))
def test_counted_pairs_give_the_per_pixel_percentile(seed: int) -> None:
    noise = np.random.default_rng(seed).integers(0, 256, (200, 260, 3), dtype=np.uint8)
    for document in (
        noise,
        paper_with_seal(seed),
        cv2.cvtColor(cv2.cvtColor(paper_with_seal(seed), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
    ):
        assert colourfulness(document) == pytest.approx(per_pixel(document), rel=1e-6, abs=1e-6)


def test_a_grey_page_has_no_colour_and_a_seal_has_some() -> None:
    grey = cv2.cvtColor(cv2.cvtColor(paper_with_seal(1), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert colourfulness(grey) == 0.0
    assert colourfulness(paper_with_seal(1)) > 10.0
