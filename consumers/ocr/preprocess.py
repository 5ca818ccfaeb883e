"""Getting the document ready for OCR, using what the quality stage measured.

The quality stage found the document's corners; here the document is decoded in grey at the
size OCR needs (a JPEG's luma plane alone: no colour conversion, and the warp and resizes move
one channel, not three), cut out and perspective-corrected (which also removes the skew),
contrast-stretched, and small text is upscaled. Boxes found on this image map back to the
original photo for the reviewer's evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from cv2.typing import MatLike

from consumers.quality import decoding
from pipeline.errors import PermanentError
from pipeline.settings import Settings
from schemas.events import SideMeasurements

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Prepared:
    gray: MatLike
    inverse: np.ndarray  # 3x3: prepared pixels -> original pixels

    def to_original(self, box: Box) -> Box:
        x, y, w, h = box
        corners = np.array([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]], np.float32)
        mapped = cv2.perspectiveTransform(corners, self.inverse).reshape(-1, 2)
        left, top = mapped.min(axis=0)
        right, bottom = mapped.max(axis=0)
        return int(left), int(top), int(right - left), int(bottom - top)

    def around(self, box: Box, pad: int) -> MatLike:
        """The page around `box`, `pad` pixels wider on every side (clipped at the edges)."""
        left, top, width, height = box
        return self.gray[
            max(0, top - pad) : top + height + pad, max(0, left - pad) : left + width + pad
        ]

    def rotated(self, quarter_turns: int) -> Prepared:
        """The same document turned by 90° steps counter-clockwise (for upside-down photos)."""
        turns = quarter_turns % 4
        if turns == 0:
            return self
        height, width = self.gray.shape[:2]
        gray = np.rot90(self.gray, turns).copy()
        # maps rotated pixels back to unrotated ones
        back = {
            1: [[0, -1, width], [1, 0, 0]],
            2: [[-1, 0, width], [0, -1, height]],
            3: [[0, 1, 0], [-1, 0, height]],
        }[turns]
        undo = np.vstack([np.array(back, np.float64), [0, 0, 1]])
        return Prepared(gray, self.inverse @ undo)


def prepare(
    data: bytes,
    measured: SideMeasurements | None,
    settings: Settings,
    long_side: int | None = None,
    erase_rules: bool = True,
) -> Prepared:
    limits = settings.quality
    try:
        header = decoding.read_header(data, limits)
    except decoding.ImageRejected as exc:
        raise PermanentError(f"image passed quality but cannot be read: {exc.detail}") from None
    quad = _quad(measured, header.width, header.height)
    image_long = max(header.width, header.height)
    doc_long = _long_edge(quad) if quad is not None else float(image_long)
    wanted = long_side or settings.ocr_document_long_side
    # JPEG DCT scaling may shrink the document to 3/4 of the wanted size: the resize below
    # brings it back, and a 12-MP photo is then never held at full size (memory, time).
    decode_long = int(image_long * min(1.0, 0.75 * wanted / max(doc_long, 1.0)))
    decoded = decoding.decode(data, header, max(decode_long, 64), grey=True)
    scale = decoded.scale  # original pixels per decoded pixel
    gray = decoded.pixels
    if quad is not None:
        source = (quad / scale).astype(np.float32)
        width = int(np.linalg.norm(source[1] - source[0]))
        height = int(np.linalg.norm(source[3] - source[0]))
        target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        forward = cv2.getPerspectiveTransform(source, target)
        gray = cv2.warpPerspective(gray, forward, (width, height), flags=cv2.INTER_AREA)
    else:
        forward = np.eye(3)
    resize = _resize_factor(gray, wanted, settings.ocr_min_long_side)
    if resize != 1.0:
        method = cv2.INTER_CUBIC if resize > 1 else cv2.INTER_AREA
        gray = cv2.resize(gray, None, fx=resize, fy=resize, interpolation=method)
        forward = np.diag([resize, resize, 1.0]) @ forward
    gray = _stretch(gray)
    if erase_rules:
        gray = _erase_rules(gray)
    to_decoded = np.linalg.inv(forward)
    inverse = np.diag([scale, scale, 1.0]) @ to_decoded
    return Prepared(gray, inverse)


def _quad(measured: SideMeasurements | None, width: int, height: int) -> np.ndarray | None:
    if measured is None or len(measured.document_quad) != 4:
        return None
    if measured.values.get("full_frame"):
        return None
    return np.array([[x * width, y * height] for x, y in measured.document_quad], np.float32)


def _long_edge(quad: np.ndarray) -> float:
    return float(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0])))


def _resize_factor(gray: MatLike, wanted: int, minimum: int) -> float:
    long_side = max(gray.shape[:2])
    if long_side < minimum:
        return float(minimum / long_side)  # small text: give tesseract more pixels per stroke
    if long_side > wanted * 1.25:
        return float(wanted / long_side)
    return 1.0


def _erase_rules(gray: MatLike) -> MatLike:
    """Paint out long ruled lines (table grids, frames): tesseract reads them as |, ~ or 'ee'."""
    binary = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15
    )
    height, width = gray.shape[:2]
    across = cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, width // 12), 1))
    down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, height // 10)))
    rules = cv2.bitwise_or(
        cv2.morphologyEx(binary, cv2.MORPH_OPEN, across),
        cv2.morphologyEx(binary, cv2.MORPH_OPEN, down),
    )
    if not cv2.countNonZero(rules):
        return gray
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    cleaned = gray.copy()
    cleaned[rules > 0] = 255
    return cleaned


def _percentiles(gray: MatLike, lower: float, upper: float) -> tuple[float, float]:
    """Grey-level percentiles from a histogram (np.percentile would copy the image as floats)."""
    histogram = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram) / max(float(histogram.sum()), 1.0)
    return float(np.searchsorted(cumulative, lower)), float(np.searchsorted(cumulative, upper))


def _stretch(gray: MatLike) -> MatLike:
    low, high = _percentiles(gray, 0.01, 0.99)
    if high - low < 10:
        return gray
    return cv2.convertScaleAbs(gray, alpha=255.0 / (high - low), beta=-low * 255.0 / (high - low))
