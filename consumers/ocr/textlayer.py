"""Born-digital PDFs: the text layer is the document's own text, exact and fast to read.

The words come with their boxes in the same pixels the quality stage measured the page in, so
the reviewer's evidence boxes land where the words are printed. A text layer can also lie (text
added on top of, or hidden under, what is printed): the company name and registration number
the layer gives are read once more from the rendered page, and a disagreement is a reason for
the reviewer to look.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from consumers.ocr import engines
from consumers.ocr.extract import Candidate, Line, lines_of
from consumers.quality import pdf
from schemas.enums import FieldName

__all__ = ["layer_lines", "printed_disagreements"]

AGREEMENT = 80.0  # fuzzy score below which the printed text and the layer disagree
_CHECKED = (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)


def layer_lines(data: bytes) -> list[Line]:
    """The first page's text layer as lines of words (confidence 100: nothing was guessed)."""
    words = [
        engines.Word(word.text, 100.0, word.box, (0, 0, 0))
        for word in pdf.text_words(data, pdf.BORN_DIGITAL_DPI / pdf.POINTS_PER_INCH)
    ]
    return lines_of(words)


def printed_disagreements(
    data: bytes,
    found: dict[FieldName, Candidate],
    engine: engines.OcrEngine,
    timeout_s: float,
) -> list[str]:
    """Reasons for the reviewer where the rendered page does not say what the layer says."""
    checked = {field: found[field] for field in _CHECKED if field in found}
    if not checked:
        return []
    boxes = []
    for candidate in checked.values():
        left, top, width, height = candidate.box
        pad = max(4, height // 2)
        boxes.append((left - pad, top - pad, width + 2 * pad, height + 2 * pad))
    crops = pdf.render_gray_boxes(data, boxes, pdf.BORN_DIGITAL_DPI / pdf.POINTS_PER_INCH)
    reasons = []
    for (field, candidate), crop in zip(checked.items(), crops, strict=True):
        if crop.size == 0:
            continue
        text, _ = engine.read_line(crop, "", timeout_s)
        if fuzz.ratio(_plain(text), _plain(candidate.text)) < AGREEMENT:
            reasons.append(
                f"the PDF's text layer and the printed page disagree at the {field.value}: "
                "the text may have been edited; compare with the rendered page"
            )
    return reasons


def _plain(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())
