"""Image quality stage: checks both sides at upload time and says exactly what to fix.

Per side: file checks (type by magic bytes, size, pixel count from the header, truncation,
EXIF orientation, sha256), then pixel checks on reduced copies (document outline and
completeness, resolution, sharpness, exposure, glare, colour, skew) and tamper signals for the
reviewer. Across sides: both present, and not the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumers.quality import analysis, decoding, findings, tamper
from pipeline.documents import (
    DocumentHashMismatch,
    DocumentNotFound,
    DocumentRefused,
    DocumentTooLarge,
)
from pipeline.errors import PermanentError
from pipeline.settings import QualityThresholds
from pipeline.stage import Context
from schemas import Envelope
from schemas.enums import QualityCode, Side
from schemas.events import QualityChecked, QualityFinding, SideMeasurements, SubmissionReceived

__all__ = ["SideReport", "check_image", "handle", "same_picture"]


@dataclass(frozen=True)
class SideReport:
    measurements: SideMeasurements
    findings: tuple[QualityFinding, ...]
    phash: int | None = None


def handle(event: SubmissionReceived, ctx: Context) -> list[QualityChecked]:
    limits = ctx.settings.quality
    reports: dict[Side, SideReport] = {}
    all_findings: list[QualityFinding] = []
    for side in Side:
        ref = event.application.document(side)
        if ref is None:
            all_findings.append(findings.finding(QualityCode.MISSING_SIDE, side))
            continue
        try:
            data = ctx.documents.read(ref)
        except DocumentRefused as exc:
            # Not the customer's doing: the reference itself is unsafe. Operators must look.
            raise PermanentError(f"{side.value} document refused: {exc}") from None
        except DocumentNotFound:
            all_findings.append(findings.finding(QualityCode.DOCUMENT_UNREADABLE, side))
            continue
        except DocumentTooLarge:
            all_findings.append(findings.finding(QualityCode.FILE_TOO_LARGE, side))
            continue
        except DocumentHashMismatch:
            all_findings.append(findings.finding(QualityCode.HASH_MISMATCH, side))
            continue
        reports[side] = check_image(data, side, limits)
        all_findings += reports[side].findings
    front, back = reports.get(Side.FRONT), reports.get(Side.BACK)
    if front and back and same_picture(front, back, limits):
        all_findings.append(findings.finding(QualityCode.SAME_PICTURE, None))
    return [
        ctx.derive(
            QualityChecked,
            event,
            application=event.application,
            submitted_at=event.occurred_at,
            passed=not any(f.blocking for f in all_findings),
            findings=tuple(all_findings),
            measurements=tuple(report.measurements for report in reports.values()),
        )
    ]


def check_image(data: bytes, side: Side, limits: QualityThresholds) -> SideReport:
    """Every check of one side's image; never raises for bad image data."""
    try:
        header = decoding.read_header(data, limits.max_pixels)
        decoded = decoding.decode(data, header, limits.decode_long_side)
    except decoding.ImageRejected as rejected:
        finding = findings.finding(rejected.code, side, rejected.value, rejected.threshold)
        values = {"size_bytes": float(len(data))}
        return SideReport(
            SideMeasurements(side=side, media_type=decoding.sniff(data), values=values), (finding,)
        )
    measured = analysis.analyse(decoded.pixels, decoded.scale)
    measured.values["size_bytes"] = float(len(data))
    measured.values["megapixels"] = round(header.megapixels, 2)
    measurements = SideMeasurements(
        side=side,
        media_type=header.media_type,
        width=header.width,
        height=header.height,
        values=measured.values,
        document_quad=measured.quad_normalised,
        skew_deg=measured.values.get("skew_deg"),
        tamper=tamper.signals(header, decoded, measured.small, limits),
    )
    return SideReport(
        measurements, tuple(findings.judge(side, measured.values, limits)), measured.phash
    )


def same_picture(front: SideReport, back: SideReport, limits: QualityThresholds) -> bool:
    if front.phash is None or back.phash is None:
        return False
    return analysis.hamming(front.phash, back.phash) <= limits.max_same_picture_distance


def outcomes(event: Envelope) -> list[str]:
    """passed / failed, and each finding code (for the quality dashboard)."""
    if not isinstance(event, QualityChecked):
        return []
    return ["passed" if event.passed else "failed"] + [
        f"finding:{f.code.value}" for f in event.findings
    ]
