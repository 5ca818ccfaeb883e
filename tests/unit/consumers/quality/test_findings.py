"""The judging rules on hand-made measurements (pure logic, no pixels)."""

from __future__ import annotations

from consumers.quality.findings import MESSAGES, judge
from pipeline.settings import QualityThresholds
from schemas.enums import QualityCode, Side

LIMITS = QualityThresholds()
GOOD = {
    "document_found": 1.0,
    "coverage": 0.5,
    "full_frame": 0.0,
    "touching_sides": 0.0,
    "skew_deg": 1.0,
    "document_short_side_px": 1500.0,
    "brightness_p98": 230.0,
    "clipped_fraction": 0.0,
    "sharpness": 1.5,
    "glare_largest_blob": 0.0,
    "contrast": 180.0,
    "text_contrast": 170.0,
    "colour_ratio": 0.3,
    "chroma_p997": 40.0,
}


def codes(**changes: float) -> list[QualityCode]:
    return [f.code for f in judge(Side.FRONT, GOOD | changes, LIMITS)]


def test_a_good_picture_has_no_findings() -> None:
    assert codes() == []


def test_each_check_fires_on_its_own_measurement() -> None:
    assert codes(sharpness=0.1) == [QualityCode.BLURRY]
    assert codes(glare_largest_blob=0.03) == [QualityCode.GLARE]
    assert codes(colour_ratio=0.01) == [QualityCode.NOT_COLOUR]
    assert codes(text_contrast=40) == [QualityCode.LOW_CONTRAST]
    assert codes(clipped_fraction=0.8, text_contrast=80) == [QualityCode.OVEREXPOSED]
    assert codes(document_short_side_px=500) == [QualityCode.LOW_RESOLUTION]
    assert codes(coverage=0.1) == [QualityCode.DOCUMENT_TOO_SMALL]
    assert codes(touching_sides=1) == [QualityCode.CROPPED]


def test_chroma_at_noise_level_on_a_sparse_page_is_not_colour() -> None:
    """A sparse black-and-white page: little ink, so a low contrast, and JPEG noise in the
    chroma; the ratio (2.0 / 20) looks like colour, the chroma itself does not."""
    sparse = {"contrast": 16.0, "chroma_p997": 2.0, "colour_ratio": 0.1}
    found = judge(Side.FRONT, GOOD | sparse, LIMITS)
    assert [(f.code, f.threshold) for f in found] == [
        (QualityCode.NOT_COLOUR, LIMITS.min_colour_chroma)
    ]
    # A faded colour page: low chroma, but the print is there to normalise against.
    assert codes(contrast=40.0, chroma_p997=5.0, colour_ratio=0.125, text_contrast=90) == []


def test_a_born_digital_original_is_never_refused_for_its_colours() -> None:
    assert codes(born_digital=1.0, chroma_p997=0.0, colour_ratio=0.0) == []


def test_hopeless_exposure_is_the_only_reason_given() -> None:
    assert codes(brightness_p98=50, sharpness=0.1, contrast=20) == [QualityCode.TOO_DARK]


def test_white_paper_with_dark_print_is_not_overexposed() -> None:
    """A flat-bed scan: most pixels are burnt-out white, the print is black."""
    assert codes(clipped_fraction=0.9, brightness_p98=255, text_contrast=230) == []


def test_nothing_printed_is_no_document() -> None:
    assert codes(text_contrast=3, sharpness=0.0) == [QualityCode.DOCUMENT_NOT_FOUND]


def test_blur_and_low_resolution_explain_faint_print() -> None:
    """Blur and too few pixels turn thin print grey: the customer hears the true cause."""
    assert codes(sharpness=0.1, text_contrast=50) == [QualityCode.BLURRY]
    assert codes(sharpness=0.1, clipped_fraction=0.8, text_contrast=60) == [QualityCode.BLURRY]
    assert codes(document_short_side_px=500, clipped_fraction=0.8, text_contrast=60) == [
        QualityCode.LOW_RESOLUTION
    ]
    assert codes(touching_sides=2, document_short_side_px=400) == [QualityCode.CROPPED]


def test_few_pixels_are_low_resolution_only_when_the_letters_are_too_small_to_read() -> None:
    """A legal page fitted to a screen is under the pixel line; its 8-px letters still read."""
    under_the_line = LIMITS.min_document_short_side_px - 40
    legible = LIMITS.min_letter_height_px + 1
    assert codes(document_short_side_px=under_the_line, letter_height_px=legible) == []
    assert codes(document_short_side_px=under_the_line, letter_height_px=legible - 3) == [
        QualityCode.LOW_RESOLUTION
    ]
    # No print to measure (fewer than 20 letters): the page's pixels decide alone.
    assert codes(document_short_side_px=under_the_line) == [QualityCode.LOW_RESOLUTION]
    # Above the line nothing changes, however small the print.
    assert codes(letter_height_px=3.0) == []


def test_skew_is_advice_only() -> None:
    [finding] = judge(Side.BACK, GOOD | {"skew_deg": -20.0}, LIMITS)
    assert finding.code is QualityCode.SKEWED
    assert finding.blocking is False
    assert "back photo" in finding.message


def test_full_frame_scans_skip_geometry() -> None:
    assert codes(full_frame=1.0, touching_sides=4, coverage=1.0, skew_deg=30) == []


def test_thresholds_come_from_settings() -> None:
    strict = QualityThresholds(min_sharpness=2.0)
    assert [f.code for f in judge(Side.FRONT, GOOD, strict)] == [QualityCode.BLURRY]


def test_every_code_has_an_actionable_message() -> None:
    for code in QualityCode:
        assert code in MESSAGES, code
        assert MESSAGES[code].endswith("."), code
