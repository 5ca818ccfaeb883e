"""Turning measurements into findings a customer can act on.

Each check compares one measured value with one threshold from settings, and a code is only
reported when its own measurement is out of range. A picture far too dark to judge anything
else gets that one reason. Faint print is only called overexposure or low contrast when the
picture is sharp and detailed enough: blur and low resolution also make print look grey, and the
customer must be told the true cause.
"""

from __future__ import annotations

from pipeline.settings import QualityThresholds
from schemas.enums import QualityCode, Side
from schemas.events import QualityFinding

MESSAGES: dict[QualityCode, str] = {
    QualityCode.MISSING_SIDE: "The {side} of your registration document is missing. "
    "Upload a clear colour photo of the {side} side.",
    QualityCode.DOCUMENT_UNREADABLE: "We could not open the {side} file. "
    "Upload it again as a JPEG or PNG photo.",
    QualityCode.FILE_TOO_LARGE: "The {side} file is too large. "
    "Upload a normal phone photo or a scan as JPEG or PNG.",
    QualityCode.HASH_MISMATCH: "The {side} file changed after it was uploaded. Upload it again.",
    QualityCode.UNSUPPORTED_FORMAT: "The {side} file is not a photo or PDF we can read. "
    "Upload a JPEG, PNG, WebP or TIFF image, or the PDF you received (not a GIF or animation).",
    QualityCode.CORRUPT_FILE: "The {side} file is damaged or incomplete. "
    "Take the photo again and upload the new file.",
    QualityCode.TOO_MANY_PIXELS: "The {side} image is too large ({value} megapixels). "
    "Upload a photo of at most {threshold} megapixels.",
    QualityCode.SAME_PICTURE: "The front and back photos are the same picture. "
    "Upload one photo of each side of the document.",
    QualityCode.DOCUMENT_NOT_FOUND: "We could not find the document in the {side} photo. "
    "Lay it flat on a plain, darker surface and photograph it from directly above.",
    QualityCode.CROPPED: "Part of the document is cut off in the {side} photo. "
    "Make sure all four corners and edges are inside the picture.",
    QualityCode.DOCUMENT_TOO_SMALL: "The document is too small in the {side} photo. "
    "Move closer so that it fills most of the picture.",
    QualityCode.LOW_RESOLUTION: "The {side} photo is too low in resolution to read small print. "
    "Move closer or use a higher camera resolution.",
    QualityCode.BLURRY: "The {side} photo is blurry. Hold the camera steady, tap the document "
    "on your screen to focus, and take the photo again.",
    QualityCode.TOO_DARK: "The {side} photo is too dark. "
    "Take it in a well-lit place, without shadows on the document.",
    QualityCode.OVEREXPOSED: "The {side} photo is too bright and the text is washed out. "
    "Avoid direct sunlight and the flash, and try again.",
    QualityCode.LOW_CONTRAST: "The text in the {side} photo is faint. Photograph the original "
    "document in even light rather than a faded copy.",
    QualityCode.GLARE: "There is a glare spot on the {side} photo. Turn off the flash, or tilt "
    "the document away from the light, so that no text is hidden.",
    QualityCode.NOT_COLOUR: "The {side} image is black-and-white. Upload a colour photo or "
    "colour scan of the original document, not a photocopy.",
    QualityCode.SKEWED: "The document is tilted in the {side} photo. It can still be used, but a "
    "photo taken straight on reads best.",
    QualityCode.PDF_ENCRYPTED: "The {side} PDF is password-protected, so we cannot open it. "
    "Upload the PDF without a password, or a photo or scan of the document.",
    QualityCode.PDF_ACTIVE_CONTENT: "The {side} PDF contains scripts, attachments or actions, "
    "which we do not open for your security. Upload the certificate PDF exactly as the registry "
    "issued it, or a photo or scan of it.",
    QualityCode.TOO_MANY_PAGES: "The {side} PDF has too many pages. Upload only the "
    "certificate itself (one page per side), or a photo of it.",
}


def finding(
    code: QualityCode,
    side: Side | None,
    value: float | None = None,
    threshold: float | None = None,
    blocking: bool = True,
) -> QualityFinding:
    message = MESSAGES[code].format(
        side=side.value if side else "document", value=value, threshold=threshold
    )
    return QualityFinding(
        code=code, side=side, message=message, value=value, threshold=threshold, blocking=blocking
    )


def judge(side: Side, values: dict[str, float], limits: QualityThresholds) -> list[QualityFinding]:
    """Findings for one side from its measurements."""
    found: list[QualityFinding] = []

    def check(
        failed: bool, code: QualityCode, key: str, threshold: float, blocking: bool = True
    ) -> bool:
        if failed:
            found.append(finding(code, side, round(values[key], 4), threshold, blocking))
        return failed

    if check(
        values["brightness_p98"] < limits.max_dark_p98,
        QualityCode.TOO_DARK,
        "brightness_p98",
        limits.max_dark_p98,
    ):
        return found
    if values["text_contrast"] < limits.min_print_contrast:
        # Nothing printed at all: a blank page or a picture of a wall.
        found.append(finding(QualityCode.DOCUMENT_NOT_FOUND, side))
        return found
    if not values.get("document_found"):
        found.append(finding(QualityCode.DOCUMENT_NOT_FOUND, side))
        return found
    if not values["full_frame"]:
        if values["touching_sides"] > 0:
            found.append(finding(QualityCode.CROPPED, side, values["touching_sides"], 0))
        check(
            values["coverage"] < limits.min_coverage,
            QualityCode.DOCUMENT_TOO_SMALL,
            "coverage",
            limits.min_coverage,
        )
        check(
            abs(values["skew_deg"]) > limits.max_skew_deg,
            QualityCode.SKEWED,
            "skew_deg",
            limits.max_skew_deg,
            blocking=False,
        )
    cropped = any(f.code is QualityCode.CROPPED for f in found)
    # Few pixels across the document are only a defect when the print has become too small
    # to read; with too little print to measure, the page size decides alone.
    legible = values.get("letter_height_px", 0.0) >= limits.min_letter_height_px
    low_resolution = not cropped and check(
        values["document_short_side_px"] < limits.min_document_short_side_px and not legible,
        QualityCode.LOW_RESOLUTION,
        "document_short_side_px",
        limits.min_document_short_side_px,
    )
    blurry = not low_resolution and check(
        values["sharpness"] < limits.min_sharpness,
        QualityCode.BLURRY,
        "sharpness",
        limits.min_sharpness,
    )
    check(
        values["glare_largest_blob"] > limits.min_glare_blob,
        QualityCode.GLARE,
        "glare_largest_blob",
        limits.min_glare_blob,
    )
    if not blurry and not low_resolution:
        # Faint print: burnt-out highlights say the light was too strong, otherwise the
        # document itself is faded. White paper alone is neither: the print must be faint.
        if values["clipped_fraction"] > limits.max_clipped_fraction:
            check(
                values["text_contrast"] < limits.min_text_contrast_clipped,
                QualityCode.OVEREXPOSED,
                "text_contrast",
                limits.min_text_contrast_clipped,
            )
        else:
            check(
                values["text_contrast"] < limits.min_text_contrast,
                QualityCode.LOW_CONTRAST,
                "text_contrast",
                limits.min_text_contrast,
            )
    # Colour relative to the print's contrast, so faint colour on a faded page counts. On a
    # sparse page (little ink) the contrast is too low to normalise against: JPEG noise over
    # it looks like colour, so there the chroma itself must clear the noise level. Born-digital
    # PDFs are originals, whatever their colours.
    original = bool(values.get("born_digital"))
    sparse = values["contrast"] < limits.min_colour_contrast
    if not original and not check(
        sparse and values["chroma_p997"] < limits.min_colour_chroma,
        QualityCode.NOT_COLOUR,
        "chroma_p997",
        limits.min_colour_chroma,
    ):
        check(
            values["colour_ratio"] < limits.min_colour_ratio,
            QualityCode.NOT_COLOUR,
            "colour_ratio",
            limits.min_colour_ratio,
        )
    return found
