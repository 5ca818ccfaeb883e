"""PDF uploads, read safely: refused when they could carry anything but a document page.

Registries issue e-certificates as PDF and scanners save image-only PDFs, so a PDF is a normal
upload. It is opened with PDFium (pypdfium2: the wheel bundles the library) only after the byte
size is checked, and refused before anything is rendered when it is encrypted, malformed, has
too many pages, or carries JavaScript, embedded files or launch actions. Only the first page is
used. A page whose text is drawn visibly is *born digital*: OCR reads its text layer; anything
else (a scan, also one with an invisible OCR layer added by scanner software) goes through the
image path at the embedded picture's own resolution.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from cv2.typing import MatLike

from schemas.enums import QualityCode

__all__ = [
    "PdfFacts",
    "PdfRejected",
    "TextWord",
    "inspect",
    "render",
    "text_words",
]

POINTS_PER_INCH = 72.0
BORN_DIGITAL_DPI = 200.0  # a vector page is judged as if scanned at this resolution
MIN_TEXT_CHARS = 20  # fewer characters than this is not a usable text layer
PICTURE_COVER = 0.5  # a picture over this share of a page without visible text: a scan
_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")
_STREAMS = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)  # page and image data: not keys


class PdfRejected(Exception):
    """The PDF cannot be used; `code` is the finding to report."""

    def __init__(self, code: QualityCode, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class PdfFacts:
    """What the quality stage and the reviewer need to know about an uploaded PDF."""

    pages: int
    width: int  # pixels of the first page: the picture's own, or BORN_DIGITAL_DPI for vectors
    height: int
    born_digital: bool
    text_chars: int
    producer: str | None
    creator: str | None
    revisions: int  # saves: 1, plus one per incremental update appended later


@dataclass(frozen=True)
class TextWord:
    """One word of a born-digital page's text layer, its box in first-page pixels."""

    text: str
    box: tuple[int, int, int, int]  # left, top, width, height at `scale` pixels per point


@contextmanager
def _opened(data: bytes) -> Iterator[pdfium.PdfDocument]:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfRejected(QualityCode.PDF_ENCRYPTED, "the PDF is password-protected") from None
        raise PdfRejected(QualityCode.CORRUPT_FILE, "the PDF cannot be parsed") from None
    try:
        yield document
    finally:
        document.close()


def inspect(data: bytes, max_pages: int, max_pixels: int) -> PdfFacts:
    """Facts about the PDF, or `PdfRejected` when it must not be rendered."""
    if _ACTIVE.search(_STREAMS.sub(b"stream endstream", data)):
        raise PdfRejected(
            QualityCode.PDF_ACTIVE_CONTENT, "the PDF carries scripts, attachments or actions"
        )
    with _opened(data) as document:
        pages = len(document)
        if pages < 1:
            raise PdfRejected(QualityCode.CORRUPT_FILE, "the PDF has no pages")
        if pages > max_pages:
            raise PdfRejected(QualityCode.TOO_MANY_PAGES, f"the PDF has {pages} pages")
        if (
            pdfium_c.FPDFDoc_GetJavaScriptActionCount(document) > 0
            or document.count_attachments() > 0
        ):
            raise PdfRejected(
                QualityCode.PDF_ACTIVE_CONTENT, "the PDF carries scripts or attachments"
            )
        page = document[0]
        try:
            width_pt, height_pt = page.get_size()
            if width_pt <= 0 or height_pt <= 0:
                raise PdfRejected(QualityCode.CORRUPT_FILE, "the first page has no size")
            textpage = page.get_textpage()
            chars = textpage.count_chars()
            textpage.close()
            visible_text = _has_visible_text(page)
            picture = _largest_picture(page, width_pt * height_pt)
        finally:
            page.close()
        metadata = document.get_metadata_dict()
    # Visible text is the document's own; invisible text over a picture is an OCR layer
    # that scanner software added, and that page is read as the scan it is.
    born_digital = chars >= MIN_TEXT_CHARS and visible_text
    if picture is not None and not born_digital:
        width, height = picture
    else:
        scale = BORN_DIGITAL_DPI / POINTS_PER_INCH
        width, height = round(width_pt * scale), round(height_pt * scale)
    if width * height > max_pixels:
        raise PdfRejected(QualityCode.TOO_MANY_PIXELS, "the page is too large to render")
    return PdfFacts(
        pages=pages,
        width=width,
        height=height,
        born_digital=born_digital,
        text_chars=chars,
        producer=(metadata.get("Producer") or None),
        creator=(metadata.get("Creator") or None),
        revisions=max(1, data.count(b"startxref") - _linearised(data)),
    )


def _linearised(data: bytes) -> int:
    """A linearised ("fast web view") file has a second xref section by design."""
    return 1 if b"/Linearized" in data[:2048] else 0


def _has_visible_text(page: pdfium.PdfPage) -> bool:
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=2):
        mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
        if mode != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE:
            return True
    return False


def _largest_picture(page: pdfium.PdfPage, page_area: float) -> tuple[int, int] | None:
    """Pixel size of the picture covering most of the page, if one covers over half of it."""
    best: tuple[float, tuple[int, int]] | None = None
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        area = max(0.0, right - left) * max(0.0, top - bottom)
        if area / page_area < PICTURE_COVER:
            continue
        assert isinstance(obj, pdfium.PdfImage)
        width, height = obj.get_px_size()
        if best is None or area > best[0]:
            best = (area, (int(width), int(height)))
    return best[1] if best else None


def render(data: bytes, facts: PdfFacts, long_side: int) -> MatLike:
    """The first page as BGR pixels, its long side at most `long_side` (never above native)."""
    try:
        return _render_first_page(data, facts, long_side)
    except pdfium.PdfiumError:
        raise PdfRejected(QualityCode.CORRUPT_FILE, "the page cannot be rendered") from None


def _render_first_page(data: bytes, facts: PdfFacts, long_side: int) -> MatLike:
    with _opened(data) as document:
        page = document[0]
        try:
            width_pt, height_pt = page.get_size()
            native = max(facts.width, facts.height) / max(width_pt, height_pt)
            scale = min(native, long_side / max(width_pt, height_pt))
            bitmap = page.render(scale=scale, rev_byteorder=False, may_draw_forms=False)
            pixels = np.array(bitmap.to_numpy()[:, :, :3], dtype=np.uint8, copy=True)
            bitmap.close()
        finally:
            page.close()
    return pixels  # PDFium renders BGRx by default: the first three channels are BGR


def render_gray_boxes(
    data: bytes, boxes: Sequence[tuple[int, int, int, int]], scale: float
) -> list[MatLike]:
    """Only the parts of the first page under `boxes` (left, top, width, height in pixels at
    `scale` per point, as `text_words` gives them), in gray: checking two printed lines must
    not cost the rendering of a whole page."""
    try:
        with _opened(data) as document:
            page = document[0]
            try:
                width_pt, height_pt = page.get_size()
                crops: list[MatLike] = []
                for left, top, width, height in boxes:
                    cut = (
                        max(0.0, left / scale),
                        max(0.0, height_pt - (top + height) / scale),
                        max(0.0, width_pt - (left + width) / scale),
                        max(0.0, top / scale),
                    )
                    if cut[0] + cut[2] >= width_pt or cut[1] + cut[3] >= height_pt:
                        crops.append(np.zeros((0, 0), dtype=np.uint8))
                        continue
                    bitmap = page.render(
                        scale=scale, crop=cut, grayscale=True, may_draw_forms=False
                    )
                    crops.append(np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True))
                    bitmap.close()
            finally:
                page.close()
    except pdfium.PdfiumError:
        raise PdfRejected(QualityCode.CORRUPT_FILE, "the page cannot be rendered") from None
    return crops


def text_words(data: bytes, scale: float) -> list[TextWord]:
    """The first page's text layer as words with boxes at `scale` pixels per point."""
    words: list[TextWord] = []
    with _opened(data) as document:
        page = document[0]
        try:
            _, height_pt = page.get_size()
            textpage = page.get_textpage()
            try:
                current: list[str] = []
                box: list[float] = []
                for index in range(textpage.count_chars()):
                    char = pdfium_c.FPDFText_GetUnicode(textpage, index)
                    glyph = chr(char) if 0 < char < 0x110000 else " "
                    if glyph.isspace() or glyph in "\x00\ufffe\uffff":
                        _flush(words, current, box, height_pt, scale)
                        current, box = [], []
                        continue
                    left, bottom, right, top = textpage.get_charbox(index)
                    box = (
                        [left, bottom, right, top]
                        if not box
                        else [
                            min(box[0], left),
                            min(box[1], bottom),
                            max(box[2], right),
                            max(box[3], top),
                        ]
                    )
                    current.append(glyph)
                _flush(words, current, box, height_pt, scale)
            finally:
                textpage.close()
        finally:
            page.close()
    return words


def _flush(
    words: list[TextWord], chars: list[str], box: list[float], height_pt: float, scale: float
) -> None:
    if not chars:
        return
    left, bottom, right, top = box
    words.append(
        TextWord(
            text="".join(chars),
            box=(
                round(left * scale),
                round((height_pt - top) * scale),
                max(1, round((right - left) * scale)),
                max(1, round((top - bottom) * scale)),
            ),
        )
    )
