"""The media customers upload, made from any page image: scans, PDFs, screenshots, photos.

A page (a rendered synthetic certificate or a real document's page) becomes what a customer's
device would produce: a flat-bed scan on white paper or cream paper (200-300 dpi, PNG or JPEG),
an image-only PDF as scanners save it, a screenshot of a PDF viewer, or a phone photo
(`producers.photos.capture`). `born_digital_pdf` writes an e-certificate with a real text layer,
as registries issue them. Used by the accuracy benchmarks and the tests.
"""

from __future__ import annotations

import io
import random
from enum import StrEnum

import cv2
import numpy as np
import pypdfium2 as pdfium
from cv2.typing import MatLike
from PIL import Image

from producers.photos import capture, encode, random_shot
from producers.synthetic import FONT_DIR, FONT_FAMILIES, CertificateSpec

__all__ = [
    "Medium",
    "born_digital_pdf",
    "image_pdf",
    "make_medium",
    "photo",
    "scan",
    "screenshot",
]

Array = MatLike  # BGR, uint8
A4_INCHES = (8.27, 11.69)
PAPERS = {  # BGR multipliers: pure white to cream
    "white": (1.0, 1.0, 1.0),
    "ivory": (0.95, 0.985, 1.0),
    "cream": (0.88, 0.96, 1.0),
}


class Medium(StrEnum):
    PHOTO = "photo"
    SCAN = "scan"
    PDF = "pdf"  # image-only PDF (a scan saved as PDF)
    BORN_DIGITAL = "born_digital_pdf"
    SCREENSHOT = "screenshot"


def scan(page: Array, rng: random.Random, page_inches: float | None = None) -> Array:
    """A flat-bed scan: white bed, 200-300 dpi, paper from white to cream, a slight tilt."""
    height, width = page.shape[:2]
    long_inches = page_inches or max(A4_INCHES)
    dpi = rng.choice((200, 240, 300))
    scale = dpi * long_inches / max(height, width)
    scanned = cv2.resize(
        page,
        None,
        fx=scale,
        fy=scale,
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    paper = np.array(PAPERS[rng.choice(list(PAPERS))], np.float32)
    tinted = np.clip(scanned.astype(np.float32) * paper[None, None, :], 0, 255)
    angle = rng.uniform(-0.6, 0.6)
    h, w = tinted.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    bed = cv2.warpAffine(tinted, matrix, (w, h), borderValue=(255, 255, 255))
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 1.2, bed.shape)
    return np.clip(bed + noise, 0, 255).astype(np.uint8)


def screenshot(page: Array, rng: random.Random) -> Array:
    """A screenshot of a PDF viewer: dark surround, a toolbar, the whole page in view
    (fit to width for a landscape page, to height for a portrait one; phones fit width)."""
    height, width = page.shape[:2]
    portrait = height > width
    screens = (
        ((2560, 1440), (2880, 1800), (1170, 2532))
        if portrait
        else ((1920, 1200), (2560, 1440), (2880, 1800))
    )
    screen_w, screen_h = rng.choice(screens)
    canvas = np.full((screen_h, screen_w, 3), rng.randint(40, 90), np.uint8)
    toolbar = max(40, screen_h // 22)
    canvas[:toolbar] = rng.randint(200, 235)
    room_w, room_h = screen_w * rng.uniform(0.8, 0.95), (screen_h - toolbar) * 0.95
    scale = min(room_w / width, room_h / height)
    shown = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top = toolbar + (screen_h - toolbar - shown.shape[0]) // 2
    left = (screen_w - shown.shape[1]) // 2
    canvas[top : top + shown.shape[0], left : left + shown.shape[1]] = shown
    return canvas


def photo(page: Array, rng: random.Random) -> Array:
    """A phone photo of the printed page on a table."""
    document = Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB))
    return capture(document, random_shot(rng, "photo"), rng)


def image_pdf(pixels: Array, dpi: int = 200, quality: int = 88) -> bytes:
    """An image-only PDF holding `pixels` as one JPEG page, as scanner software saves it."""
    jpeg = encode(pixels, ".jpg", quality)
    height, width = pixels.shape[:2]
    document = pdfium.PdfDocument.new()
    page = document.new_page(width * 72 / dpi, height * 72 / dpi)
    image = pdfium.PdfImage.new(document)
    image.load_jpeg(io.BytesIO(jpeg), inline=True)
    image.set_matrix(pdfium.PdfMatrix().scale(width * 72 / dpi, height * 72 / dpi))
    page.insert_obj(image)
    page.gen_content()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def born_digital_pdf(spec: CertificateSpec) -> bytes:
    """An e-certificate as a registry issues it: vector text in a real font, a coloured crest."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    regular, bold = (FONT_DIR / name for name in FONT_FAMILIES["sans"])
    for name, path in (("KybSans", regular), ("KybSans-Bold", bold)):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle("Certificate of Incorporation")
    pdf.setProducer("Companies Registry e-Services")
    width, height = A4
    pdf.setFillColorRGB(0.1, 0.25, 0.5)
    pdf.circle(width / 2, height - 90, 32, stroke=0, fill=1)
    pdf.setFillColorRGB(0.1, 0.1, 0.1)
    pdf.setFont("KybSans-Bold", 13)
    pdf.drawCentredString(width / 2, height - 150, spec.country_name.upper())
    pdf.setFont("KybSans-Bold", 20)
    pdf.drawCentredString(width / 2, height - 185, "CERTIFICATE OF INCORPORATION")
    pdf.setFont("KybSans", 12)
    pdf.drawCentredString(width / 2, height - 230, "This is to certify that")
    pdf.setFont("KybSans-Bold", 16)
    pdf.drawCentredString(width / 2, height - 258, spec.company_name)
    pdf.setFont("KybSans", 12)
    expiry = spec.expiry_date.isoformat() if spec.expiry_date else "No expiry"
    rows = (
        f"Company Number: {spec.registration_number}",
        f"Registered Office: {spec.address_line1}, {spec.city}, {spec.state_province}",
        f"Date of Incorporation: {spec.issue_date.isoformat()}",
        f"Expiry Date: {expiry}",
        f"Authority: {spec.authority}",
    )
    y = height - 310
    for row in rows:
        pdf.drawString(70, y, row)
        y -= 24
    pdf.setStrokeColorRGB(0.7, 0.1, 0.1)
    pdf.setLineWidth(2)
    pdf.circle(width - 130, 140, 45, stroke=1, fill=0)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_medium(page: Array, medium: Medium, rng: random.Random) -> tuple[bytes, str]:
    """`page` (BGR) as one upload in `medium`: (file bytes, media type)."""
    if medium is Medium.PHOTO:
        return encode(photo(page, rng), ".jpg", rng.randint(80, 95)), "image/jpeg"
    if medium is Medium.SCREENSHOT:
        return encode(screenshot(page, rng), ".png"), "image/png"
    scanned = scan(page, rng)
    if medium is Medium.PDF:
        return image_pdf(scanned, dpi=200), "application/pdf"
    if medium is Medium.SCAN:
        if rng.random() < 0.5:
            return encode(scanned, ".png"), "image/png"
        return encode(scanned, ".jpg", rng.randint(85, 95)), "image/jpeg"
    raise ValueError(f"{medium} is made from a document's text, not from a page image")
