"""The outline's paper mask without the full median: exact for the threshold it is given, and
near the one-class cut-off the full median still decides, unless the frame's edge is paper
whichever way it would."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.quality import analysis
from consumers.quality.analysis import OUTLINE_MEDIAN, _median_above, find_outline


def photographed_page(seed: int, paper: int = 228, table: int = 90) -> np.ndarray:
    """A printed page lying at an angle on a darker table, with noise: a grey analysis image."""
    rng = np.random.default_rng(seed)
    image = np.full((350, 500), table, np.uint8)
    page = np.array([[70, 40], [430, 60], [410, 320], [60, 300]], np.int32)
    cv2.fillConvexPoly(image, page, paper)
    for row in range(80, 290, 14):
        cv2.putText(image, "REGISTRATION 2016", (100, row), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 25)
    noisy = image + rng.normal(0, 6, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [30.0, 90.0, 150.0, 227.0])
def test_the_mask_is_the_median_above_the_threshold(seed: int, threshold: float) -> None:
    gray = photographed_page(seed)
    median = cv2.medianBlur(gray, OUTLINE_MEDIAN)
    expected = np.where(median > threshold, 255, 0).astype(np.uint8)
    mask = _median_above(gray, threshold, OUTLINE_MEDIAN)
    assert mask.dtype == np.uint8
    assert mask.shape == gray.shape
    assert np.array_equal(mask, expected)


def test_the_mask_is_exact_at_the_frame_edges_on_random_pixels() -> None:
    """Pure noise has medians close to every threshold everywhere, borders included."""
    gray = np.random.default_rng(7).integers(0, 256, (97, 131), dtype=np.uint8)
    median = cv2.medianBlur(gray, OUTLINE_MEDIAN)
    for threshold in (100.0, 127.0, 128.0, 160.0):
        expected = np.where(median > threshold, 255, 0).astype(np.uint8)
        assert np.array_equal(_median_above(gray, threshold, OUTLINE_MEDIAN), expected)


@pytest.fixture
def median_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The height of every image OpenCV's median filter is given, in order."""
    calls: list[int] = []
    median = cv2.medianBlur
    monkeypatch.setattr(
        analysis.cv2,
        "medianBlur",
        lambda image, size: calls.append(image.shape[0]) or median(image, size),
    )
    return calls


def test_a_page_on_a_table_is_outlined_without_the_full_median(median_rows: list[int]) -> None:
    """Paper and table are far apart: the estimate decides, and the quad is the page's."""
    outline = find_outline(photographed_page(1))
    assert outline is not None
    assert not outline.full_frame
    assert 0.5 < outline.coverage < 0.7
    corners = np.array([[70, 40], [430, 60], [410, 320], [60, 300]], np.float32)
    assert np.abs(outline.quad - corners).max() < 6
    assert median_rows == [175]  # only the median of every other pixel
    reference = full_median_outline(photographed_page(1))
    assert reference is not None
    assert np.abs(outline.quad - reference.quad).max() <= 1
    assert outline.touching == reference.touching


@pytest.mark.parametrize("page", ["page on a table", "scan with light print"])
def test_near_the_one_class_cut_off_the_full_median_decides(
    page: str, median_rows: list[int]
) -> None:
    """Paper 35 levels above the table, or a scan whose lighter print puts even its paper
    below a threshold 16 levels above the estimate (so the frame's edge proves nothing): the
    estimate is within the margin, the full-size median is taken, and the outline is the one
    it gives."""
    gray = (
        photographed_page(2, paper=200, table=165)
        if page == "page on a table"
        else blurred_scan(160)
    )
    assert (
        abs(estimated_separation(gray) - analysis.MIN_BACKGROUND_SEPARATION)
        < analysis.SEPARATION_MARGIN
    )
    median_rows.clear()
    outline = find_outline(gray)
    assert median_rows == [175, 350]
    reference = full_median_outline(gray)
    assert outline is not None
    assert reference is not None
    assert np.array_equal(outline.quad, reference.quad)
    assert (outline.touching, outline.coverage) == (reference.touching, reference.coverage)


def blurred_scan(ink: int) -> np.ndarray:
    """A page filling the frame (a flat-bed scan), its print blurred grey."""
    image = np.full((350, 500), 235, np.uint8)
    for row in range(40, 330, 14):
        cv2.putText(
            image, "REGISTRATION CERTIFICATE", (20, row), cv2.FONT_HERSHEY_SIMPLEX, 0.6, ink, 2
        )
    noisy = cv2.GaussianBlur(image, (0, 0), 3) + np.random.default_rng(5).normal(0, 3, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def estimated_separation(gray: np.ndarray) -> float:
    sampled = cv2.medianBlur(np.ascontiguousarray(gray[::2, ::2]), OUTLINE_MEDIAN // 2)
    threshold, _ = cv2.threshold(sampled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper, rest = analysis._class_levels(sampled, threshold)
    return paper - rest


def test_a_blurred_scan_near_the_cut_off_is_the_whole_frame_without_the_full_median(
    median_rows: list[int],
) -> None:
    """Blurred print looks like a second class, close to the cut-off; the frame's edge is
    paper even well above the estimated threshold, so both of the full median's answers are
    the whole frame, and it is not taken."""
    gray = blurred_scan(ink=130)
    separation = estimated_separation(gray)
    assert abs(separation - analysis.MIN_BACKGROUND_SEPARATION) < analysis.SEPARATION_MARGIN
    median_rows.clear()
    outline = find_outline(gray)
    assert median_rows == [175]
    reference = full_median_outline(gray)
    assert outline is not None
    assert reference is not None
    assert outline.full_frame
    assert np.array_equal(outline.quad, reference.quad)
    assert (outline.touching, outline.coverage) == (reference.touching, reference.coverage)


def full_median_outline(gray: np.ndarray) -> analysis.Outline | None:
    """The outline as found before: Otsu on the median of every pixel."""
    blurred = cv2.medianBlur(gray, OUTLINE_MEDIAN)
    threshold, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper, rest = analysis._class_levels(blurred, threshold)
    return analysis._outline_from(binary, paper, rest, 1.0)


def test_the_analysis_copy_outlines_the_page_as_an_area_averaged_one_would() -> None:
    """`analyse` reduces a decode to the analysis size bilinearly (cheaper, and the print
    stays darker): the page's outline is where area averaging would have put it."""
    decoded = cv2.resize(photographed_page(3), (700, 490), interpolation=cv2.INTER_CUBIC)
    measured = analysis.analyse(cv2.cvtColor(decoded, cv2.COLOR_GRAY2BGR), 2.0)
    reference = find_outline(cv2.resize(decoded, (500, 350), interpolation=cv2.INTER_AREA))
    assert measured.small.shape == (350, 500)
    assert measured.outline is not None
    assert reference is not None
    assert not measured.outline.full_frame
    assert np.abs(measured.outline.quad - reference.quad).max() <= 2
    assert measured.outline.touching == reference.touching
