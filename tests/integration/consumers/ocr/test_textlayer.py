"""A born-digital PDF's text layer is checked against its printed page with the real tesseract:
only the two lines that matter are rendered, and they must land where the words are printed."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

from consumers.ocr import textlayer
from consumers.ocr.engines import engine
from consumers.ocr.extract import Candidate, find
from consumers.quality import pdf
from producers.media import born_digital_pdf
from producers.synthetic import FONT_DIR, FONT_FAMILIES, random_spec
from schemas.enums import FieldName

SCALE = pdf.BORN_DIGITAL_DPI / pdf.POINTS_PER_INCH
CHECKED = (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)


def checked_fields(data: bytes) -> dict[FieldName, Candidate]:
    lines = textlayer.layer_lines(data)
    return {f: c for f in CHECKED if (c := find(lines, f)) is not None}


def doctored(printed: str, layer: str) -> bytes:
    """A page that prints `printed` (as a picture of the words) while its text layer says
    `layer` at the same place: what an edited e-certificate can look like."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    regular, bold = (FONT_DIR / name for name in FONT_FAMILIES["sans"])
    pdfmetrics.registerFont(TTFont("DoctoredSans", str(regular)))  # embedded, as issued
    font = ImageFont.truetype(str(bold), 48)
    picture = Image.new("RGB", (1400, 70), "white")
    ImageDraw.Draw(picture).text((10, 5), printed, fill="black", font=font)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    height = A4[1]
    page.setFont("DoctoredSans", 12)
    page.drawString(70, height - 230, "This is to certify that")
    page.drawString(70, height - 310, "Company Number: 12345678")
    page.drawImage(ImageReader(picture), 70, height - 268, width=420, height=21)
    text = page.beginText(72, height - 262)
    text.setTextRenderMode(3)  # invisible: in the text layer only
    text.setFont("DoctoredSans", 16)
    text.textOut(layer)
    page.drawText(text)
    page.showPage()
    page.save()
    return out.getvalue()


def test_the_printed_lines_of_a_genuine_e_certificate_agree_with_its_layer() -> None:
    spec = random_spec(random.Random(11))
    data = born_digital_pdf(spec)
    found = checked_fields(data)
    assert found[FieldName.COMPANY_NAME].text == spec.company_name
    crops = pdf.render_gray_boxes(data, [found[FieldName.COMPANY_NAME].box], SCALE)
    assert crops[0].shape[0] == found[FieldName.COMPANY_NAME].box[3]  # the band, not the page
    assert textlayer.printed_disagreements(data, found, engine("tesserocr"), 30.0) == []


def test_a_layer_that_says_another_name_than_the_print_is_a_reason_to_look() -> None:
    data = doctored(printed="Harbour Foods Limited", layer="Northwind Trading Limited")
    found = checked_fields(data)
    assert found[FieldName.COMPANY_NAME].text == "Northwind Trading Limited"
    reasons = textlayer.printed_disagreements(data, found, engine("tesserocr"), 30.0)
    assert any("disagree at the company_name" in reason for reason in reasons), reasons
    honest = doctored(printed="Northwind Trading Limited", layer="Northwind Trading Limited")
    found = checked_fields(honest)
    assert textlayer.printed_disagreements(honest, found, engine("tesserocr"), 30.0) == []
