"""Signs that a document image was edited, for the reviewer only (never a decision).

The OCR stage examines both sides (`examine`), not the quality stage: the customer waits for
the quality answer, and nothing here changes it (README: feedback first).

- editing software named in the file's metadata;
- error level analysis (ELA): re-save as JPEG and look for a region whose error stands out
  against its own texture. It runs on the reduced image the stage already decoded, which keeps
  it cheap but coarse: DCT-scaled decoding smooths the block artefacts that betray subtle
  splices at full resolution, so only gross inconsistencies reach the threshold;
- a PDF changed after its first save (incremental updates), or produced by a PDF editor;
- double JPEG compression: a quantisation table that a camera would not write (a standard
  libjpeg table) together with an 8x8 block grid that is out of line with the picture, as
  happens when an image is cropped and saved again.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from consumers.quality import decoding
from consumers.quality.analysis import Pixels
from consumers.quality.decoding import Decoded, Header
from consumers.quality.pdf import PdfFacts
from pipeline.settings import QualityThresholds
from schemas.events import TamperSignal

ELA_QUALITY = 90
ELA_BLOCK = 16

log = logging.getLogger(__name__)


def examine(data: bytes, limits: QualityThresholds) -> tuple[TamperSignal, ...]:
    """Every signal for one side's file, decoded at the quality stage's analysis size
    (`decode_long_side`, never below it: ELA's limits were set on that decode). Never raises
    for bad image data: a file that passed the quality checks and now cannot be examined is
    itself worth the reviewer's eye (`unexamined`)."""
    try:
        header = decoding.read_header(data, limits)
        return signals(header, decoding.decode(data, header, limits.decode_long_side), limits)
    except Exception as exc:  # hostile bytes fail in ways nobody lists (see check_image)
        log.warning("tamper: a side could not be examined (%s)", type(exc).__name__)
        return (unexamined(type(exc).__name__),)


def unexamined(reason: str) -> TamperSignal:
    """Flagged: the reviewer looks at the picture by eye instead."""
    return TamperSignal(
        name="unexamined", flagged=True, detail=f"could not be examined ({reason}); check by eye"
    )


def signals(
    header: Header, decoded: Decoded, limits: QualityThresholds
) -> tuple[TamperSignal, ...]:
    """ELA runs on `decoded`, the reduced image the checks already decoded (see above)."""
    found = (
        _software(header, limits),
        _error_level(decoded.pixels, limits),
        _double_jpeg(header, decoded),
    )
    return found + ((_pdf_revisions(header.pdf),) if header.pdf is not None else ())


def _pdf_revisions(facts: PdfFacts) -> TamperSignal:
    """A registry issues a PDF in one save; every incremental update appended later (an edit,
    a form fill, a signature added) leaves another cross-reference section behind."""
    edited = facts.revisions > 1
    return TamperSignal(
        name="pdf_incremental_updates",
        flagged=edited,
        value=float(facts.revisions - 1),
        threshold=0.0,
        detail="changed after its first save (incremental updates)"
        if edited
        else "saved once, never changed after",
    )


def _software(header: Header, limits: QualityThresholds) -> TamperSignal:
    name = header.software or ""
    editor = next((tool for tool in limits.editing_software if tool in name.lower()), None)
    return TamperSignal(
        name="editing_software",
        flagged=editor is not None,
        value=name[:100] or None,
        detail=f"metadata names {editor}" if editor else "no editing software in the metadata",
    )


def _error_level(image: Pixels, limits: QualityThresholds) -> TamperSignal:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, ELA_QUALITY])
    if not ok:
        return TamperSignal(name="error_level", flagged=False, detail="could not re-encode")
    resaved = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if resaved is None:
        return TamperSignal(name="error_level", flagged=False, detail="could not re-decode")
    difference = cv2.absdiff(image, resaved)
    error = cv2.max(cv2.max(difference[:, :, 0], difference[:, :, 1]), difference[:, :, 2])
    texture = cv2.convertScaleAbs(
        cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_16S)
    )
    h, w = error.shape
    rows, cols = h // ELA_BLOCK, w // ELA_BLOCK
    if rows < 2 or cols < 2:
        return TamperSignal(name="error_level", flagged=False, detail="image too small")
    size = (cols, rows)
    blocks = (slice(0, rows * ELA_BLOCK), slice(0, cols * ELA_BLOCK))
    block_error = cv2.resize(error[blocks].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    block_texture = cv2.resize(
        texture[blocks].astype(np.float32), size, interpolation=cv2.INTER_AREA
    )
    # Error relative to texture: text is always "hot" in ELA; a pasted region is hot for its kind.
    means = block_error / (block_texture + 2.0)
    busy = block_texture > np.median(block_texture)
    values = means[busy] if np.count_nonzero(busy) >= 8 else means.ravel()
    cutoff = float(np.percentile(values, 99.5))
    ratio = cutoff / (float(np.median(values)) + 1e-3)
    hot = (
        np.argwhere((means >= cutoff) & busy)
        if np.count_nonzero(busy) >= 8
        else np.argwhere(means >= cutoff)
    )
    (r0, c0), (r1, c1) = hot.min(axis=0), hot.max(axis=0) + 1
    region = (
        round(c0 / cols, 3),
        round(r0 / rows, 3),
        round((c1 - c0) / cols, 3),
        round((r1 - r0) / rows, 3),
    )
    return TamperSignal(
        name="error_level",
        flagged=ratio >= limits.ela_flag_ratio,
        value=round(ratio, 2),
        threshold=limits.ela_flag_ratio,
        detail="texture-normalised JPEG re-save error, 99.5th percentile / median; coarse "
        "(reduced image), so only gross inconsistencies stand out",
        region=region,
    )


def _double_jpeg(header: Header, decoded: Decoded) -> TamperSignal:
    if header.media_type != "image/jpeg":
        return TamperSignal(name="double_jpeg", flagged=False, detail="not a JPEG")
    period = 8 // decoded.reduction
    offset = _grid_offset(decoded.pixels, period) if period >= 2 else (0, 0)
    standard_table = header.jpeg_library_tables
    misaligned = offset != (0, 0)
    return TamperSignal(
        name="double_jpeg",
        flagged=misaligned,
        value=f"grid offset {offset}, estimated quality {header.jpeg_quality}",
        detail=(
            "block grid out of line: likely cropped and saved again"
            if misaligned
            else "block grid aligned"
        )
        + ("; library quantisation table" if standard_table else ""),
    )


def _grid_offset(pixels: Pixels, period: int) -> tuple[int, int]:
    """Where the strongest block boundaries lie within one block period."""
    h, w = pixels.shape[:2]
    crop = pixels[max(0, h // 2 - 128) : h // 2 + 128, max(0, w // 2 - 128) : w // 2 + 128]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    dx = np.abs(np.diff(gray, n=2, axis=1)).mean(axis=0)
    dy = np.abs(np.diff(gray, n=2, axis=0)).mean(axis=1)
    col = [float(dx[o::period].mean()) for o in range(period)]
    row = [float(dy[o::period].mean()) for o in range(period)]
    best_col, best_row = int(np.argmax(col)), int(np.argmax(row))
    # a boundary between pixels k-1 and k shows in the second difference at k-1
    aligned_col = (period - 1) % period
    strong_col = col[best_col] > 1.15 * float(np.median(col))
    strong_row = row[best_row] > 1.15 * float(np.median(row))
    off_col = (best_col - aligned_col) % period if strong_col else 0
    off_row = (best_row - aligned_col) % period if strong_row else 0
    return off_col, off_row
