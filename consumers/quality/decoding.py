"""Reading an uploaded image safely: sniff the type, check the header, then decode small.

Nothing is decoded before the header says the image is a supported type within the pixel
limit (decompression bombs never reach the decoder), and JPEGs are decoded with libjpeg's DCT
scaling straight to the size the analysis needs, which is most of the stage's speed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from cv2.typing import MatLike
from PIL import Image, UnidentifiedImageError

from consumers.quality import pdf
from pipeline.filetypes import ACCEPTED, sniff
from pipeline.settings import QualityThresholds
from schemas.enums import QualityCode

# We enforce our own pixel limit from the header, before any decoding.
Image.MAX_IMAGE_PIXELS = None

MIN_SIDE_PX = 64  # below this there is nothing to analyse
SUPPORTED = ACCEPTED
MAX_PDF_PAGES = 4  # a certificate is one or two pages; more is not a certificate


class ImageRejected(Exception):
    """The file cannot be analysed; `code` is the finding to report."""

    def __init__(
        self,
        code: QualityCode,
        detail: str,
        value: float | None = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.code, self.detail, self.value, self.threshold = code, detail, value, threshold


@dataclass(frozen=True)
class Header:
    media_type: str
    width: int  # as displayed, after EXIF orientation
    height: int
    orientation: int
    software: str | None
    jpeg_quality: float | None  # estimated from the luminance quantisation table
    jpeg_library_tables: bool = False  # exactly libjpeg's scaled tables (cameras use their own)
    pdf: pdf.PdfFacts | None = None  # set for PDF uploads

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def jpeg_scans(data: bytes) -> int:
    """Start-of-scan markers in a JPEG, found by walking its segments (no decoding).

    A baseline JPEG has one scan and libjpeg's progressive mode writes ten; each scan makes the
    decoder pass over the whole image again, so a file that repeats its last scan thousands of
    times costs minutes to decode from under a megabyte. Segments before the first scan are
    skipped by their lengths (an EXIF thumbnail has scans of its own); after it, entropy-coded
    data cannot contain a marker (0xFF is stuffed), so the remaining SOS markers are counted.
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return 0  # not a marker where one must be: decoding will say it is corrupt
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:
            return 1 + data.count(b"\xff\xda", position + 2)
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return 0


_DEFAULT_LIMITS = QualityThresholds()


def decoded_bytes(image: Image.Image, data: bytes, media_type: str) -> int:
    """Peak bytes of decoding: the decoder's own buffer (the file's samples at their bit depth)
    plus OpenCV's 8-bit BGR copy; JPEG decodes straight into that copy."""
    width, height = image.size
    if media_type == "image/jpeg":
        return width * height * max(3, len(image.getbands()))
    samples, depth = len(image.getbands()), 1
    if media_type == "image/png" and len(data) > 25:
        bit_depth, colour_type = data[24], data[25]
        samples = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour_type, 4)
        depth = 2 if bit_depth == 16 else 1
    elif media_type == "image/tiff":
        tags = getattr(image, "tag_v2", {})
        samples = int(tags.get(277, samples))
        bits = tags.get(258, (8,))
        depth = max(1, -(-max(bits if isinstance(bits, tuple) else (bits,)) // 8))
    elif media_type == "image/webp":
        samples = 4  # libwebp decodes to RGBA
    return width * height * (samples * depth + 3)


def read_header(data: bytes, limits: QualityThresholds = _DEFAULT_LIMITS) -> Header:
    """Everything knowable before decoding; refuses what must never be decoded."""
    max_pixels, max_jpeg_scans = limits.max_pixels, limits.max_jpeg_scans
    max_decoded_mb = limits.max_decoded_mb
    if not data:
        raise ImageRejected(QualityCode.CORRUPT_FILE, "the file is empty")
    media_type = sniff(data)
    if media_type not in SUPPORTED:
        raise ImageRejected(
            QualityCode.UNSUPPORTED_FORMAT, f"unsupported type {media_type or 'unknown'}"
        )
    if media_type == "application/pdf":
        return _pdf_header(data, max_pixels)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    QualityCode.TOO_MANY_PIXELS,
                    "too many pixels",
                    value=round(width * height / 1e6, 1),
                    threshold=round(max_pixels / 1e6, 1),
                )
            needed = decoded_bytes(image, data, media_type)
            if needed > max_decoded_mb * 1e6:
                raise ImageRejected(
                    QualityCode.TOO_MANY_PIXELS,
                    "decoding would need too much memory",
                    value=round(needed / 1e6),
                    threshold=max_decoded_mb,
                )
            if getattr(image, "n_frames", 1) > 1 and media_type != "image/tiff":
                raise ImageRejected(QualityCode.UNSUPPORTED_FORMAT, "animated image")
            exif = _exif(image, media_type)
            orientation = int(exif.get(0x0112, 1)) if exif else 1
            software = _software(image, exif)
            quality, library_tables = _jpeg_quality(getattr(image, "quantization", None))
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            QualityCode.CORRUPT_FILE, f"unreadable header ({type(exc).__name__})"
        ) from None
    if width < 1 or height < 1:
        raise ImageRejected(QualityCode.CORRUPT_FILE, "zero-sized image")
    if min(width, height) < MIN_SIDE_PX:
        raise ImageRejected(
            QualityCode.LOW_RESOLUTION,
            "image too small to analyse",
            value=float(min(width, height)),
            threshold=float(MIN_SIDE_PX),
        )
    if _truncated(data, media_type):
        raise ImageRejected(QualityCode.CORRUPT_FILE, "the file is truncated")
    if media_type == "image/jpeg" and (scans := jpeg_scans(data)) > max_jpeg_scans:
        raise ImageRejected(
            QualityCode.CORRUPT_FILE,
            "too many JPEG scans",
            value=float(scans),
            threshold=float(max_jpeg_scans),
        )
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Header(media_type, width, height, orientation, software, quality, library_tables)


def _pdf_header(data: bytes, max_pixels: int) -> Header:
    try:
        facts = pdf.inspect(data, MAX_PDF_PAGES, max_pixels)
    except pdf.PdfRejected as rejected:
        raise ImageRejected(rejected.code, rejected.detail) from None
    if min(facts.width, facts.height) < MIN_SIDE_PX:
        raise ImageRejected(
            QualityCode.LOW_RESOLUTION,
            "page too small to analyse",
            value=float(min(facts.width, facts.height)),
            threshold=float(MIN_SIDE_PX),
        )
    software = "; ".join(name for name in (facts.producer, facts.creator) if name)[:200] or None
    return Header("application/pdf", facts.width, facts.height, 1, software, None, False, pdf=facts)


def _exif(image: Image.Image, media_type: str) -> Image.Exif:
    """EXIF from the header only: Pillow's PNG getexif() decodes the whole image to find it."""
    if media_type in ("image/jpeg", "image/tiff"):
        return image.getexif()
    exif = Image.Exif()
    raw = image.info.get("exif")
    if isinstance(raw, bytes):
        exif.load(raw)
    return exif


def _software(image: Image.Image, exif: Image.Exif) -> str | None:
    names = [str(exif.get(0x0131, "")).strip()]
    names.append(str(image.info.get("Software", "")).strip())
    xmp = image.info.get("xmp") or b""
    if isinstance(xmp, bytes):
        match = re.search(rb"CreatorTool(?:>|=\")([^<\"]{1,100})", xmp)
        if match:
            names.append(match.group(1).decode("utf-8", "replace").strip())
    found = [name for name in names if name]
    return "; ".join(dict.fromkeys(found))[:200] or None


# libjpeg's standard luminance table at quality 50; other qualities scale it (IJG formula).
_STD_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    dtype=np.float64,
)


def _jpeg_quality(tables: dict[int, list[int]] | None) -> tuple[float | None, bool]:
    """(estimated quality, whether the table is exactly libjpeg's table for that quality)."""
    if not tables or 0 not in tables:
        return None, False
    luma = np.asarray(tables[0], dtype=np.float64)
    if luma.size != 64:
        return None, False
    scale = float(np.mean(luma / _STD_LUMA)) * 100
    quality = float(np.clip((200 - scale) / 2 if scale <= 100 else 5000 / scale, 1, 100))
    # Pillow lists tables in zigzag order; compare as sorted multisets, which is order-free.
    candidate = round(quality)
    ijg_scale = 5000 / candidate if candidate < 50 else 200 - 2 * candidate
    ijg = np.clip(np.floor((_STD_LUMA * ijg_scale + 50) / 100), 1, 255)
    return round(quality, 1), bool(np.array_equal(np.sort(ijg), np.sort(luma)))


def _truncated(data: bytes, media_type: str) -> bool:
    if media_type == "image/jpeg":
        return b"\xff\xd9" not in data[-4096:]
    if media_type == "image/png":
        return b"IEND" not in data[-64:]
    return False


@dataclass(frozen=True)
class Decoded:
    """Pixels (BGR, or grey when asked; 8-bit) at a reduced size, and how to map them back to
    the original."""

    pixels: MatLike
    scale: float  # original pixels per decoded pixel
    reduction: int  # JPEG DCT scaling used (1 = none); block grid period is 8 / reduction


_REDUCED = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_REDUCED_GREY = {
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}
_ROTATIONS = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}


def decode(
    data: bytes,
    header: Header,
    target_long_side: int,
    grey: bool = False,
    min_long_side: int | None = None,
) -> Decoded:
    """Decode to a long side of at least `target_long_side` (never upscaled), oriented upright.

    `grey`: one channel from the decoder on (for a JPEG its luma plane, which skips the
    colour conversion; turning and shrinking then move a third of the bytes). OCR reads grey.
    `min_long_side`: a JPEG may come out smaller than the target, down to this, when DCT
    scaling gets there: a 1,400-px photo decoded whole and resized to 800 cost ~16 ms, the
    same photo at half scale from the decoder ~2 ms."""
    long_side = max(header.width, header.height)
    if header.pdf is not None:
        try:
            page = pdf.render(data, header.pdf, target_long_side)
        except pdf.PdfRejected as rejected:
            raise ImageRejected(rejected.code, rejected.detail) from None
        if grey:
            page = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
        return Decoded(page, long_side / max(page.shape[:2]), 1)
    reduction = 1
    if header.media_type == "image/jpeg":
        smallest = min(target_long_side, min_long_side or target_long_side)
        for factor in (8, 4, 2):
            if long_side / factor >= smallest:
                reduction = factor
                break
    flags = (
        _REDUCED_GREY.get(reduction, cv2.IMREAD_GRAYSCALE)
        if grey
        else _REDUCED.get(reduction, cv2.IMREAD_COLOR)
    ) | cv2.IMREAD_IGNORE_ORIENTATION
    buffer = np.frombuffer(data, np.uint8)
    pixels = cv2.imdecode(buffer, flags)
    if pixels is None or pixels.size == 0:
        raise ImageRejected(QualityCode.CORRUPT_FILE, "the image data cannot be decoded")
    if pixels.dtype != np.uint8:
        pixels = cv2.convertScaleAbs(pixels, alpha=255.0 / 65535.0)
    if pixels.ndim == 2 and not grey:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    pixels = _orient(pixels, header.orientation)
    current_long = max(pixels.shape[:2])
    if current_long > target_long_side * 1.5:
        factor = target_long_side / current_long
        pixels = cv2.resize(pixels, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return Decoded(pixels, long_side / max(pixels.shape[:2]), reduction)


def _orient(pixels: MatLike, orientation: int) -> MatLike:
    if orientation in (2, 4, 5, 7):
        pixels = cv2.flip(pixels, 1)
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]  # mirrored, then as the plain one
    rotation = _ROTATIONS.get(orientation)
    return pixels if rotation is None else cv2.rotate(pixels, rotation)


@cache
def sample_page() -> bytes:
    """A small generated page (print, a red seal) as a JPEG: decoding and measuring it once
    readies a new process's decoder and OpenCV's first-use tables (the colour conversion's
    take ~0.2 s) before a customer's picture needs them."""
    page = np.full((300, 400, 3), 235, np.uint8)
    cv2.putText(page, "KYB 2026", (30, 150), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (25, 25, 25), 4)
    cv2.circle(page, (330, 230), 35, (40, 40, 200), 4)
    ok, encoded = cv2.imencode(".jpg", page)
    if not ok:
        raise RuntimeError("OpenCV cannot encode a JPEG")
    return encoded.tobytes()
