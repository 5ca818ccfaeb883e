"""Image quality stage — MINIMAL version (issue 2).

It checks only what can be checked without looking at pixels: both sides are present and each
document is readable, within the size limit, and matches its sha256. The OpenCV checks (blur,
glare, colour, completeness, …) replace this in issue 3.
"""

from __future__ import annotations

from pipeline.documents import (
    DocumentHashMismatch,
    DocumentNotFound,
    DocumentRefused,
    DocumentTooLarge,
)
from pipeline.errors import PermanentError
from pipeline.stage import Context
from schemas.enums import QualityCode, Side
from schemas.events import QualityChecked, QualityFinding, SideMeasurements, SubmissionReceived


def handle(event: SubmissionReceived, ctx: Context) -> list[QualityChecked]:
    findings: list[QualityFinding] = []
    measurements: list[SideMeasurements] = []
    for side in Side:
        ref = event.application.document(side)
        if ref is None:
            findings.append(_finding(QualityCode.MISSING_SIDE, side))
            continue
        try:
            data = ctx.documents.read(ref)
        except DocumentRefused as exc:
            # Not the customer's doing: the reference itself is unsafe. Operators must look.
            raise PermanentError(f"{side.value} document refused: {exc}") from None
        except DocumentNotFound:
            findings.append(_finding(QualityCode.DOCUMENT_UNREADABLE, side))
        except DocumentTooLarge:
            findings.append(_finding(QualityCode.FILE_TOO_LARGE, side))
        except DocumentHashMismatch:
            findings.append(_finding(QualityCode.HASH_MISMATCH, side))
        else:
            measurements.append(
                SideMeasurements(side=side, values={"size_bytes": float(len(data))})
            )
    return [
        ctx.derive(
            QualityChecked,
            event,
            application=event.application,
            passed=not findings,
            findings=tuple(findings),
            measurements=tuple(measurements),
        )
    ]


_MESSAGES = {
    QualityCode.MISSING_SIDE: "The {side} of your registration document is missing. "
    "Upload a clear colour photo of the {side} side.",
    QualityCode.DOCUMENT_UNREADABLE: "We could not open the photo of the {side} side. "
    "Upload it again as a JPEG or PNG file.",
    QualityCode.FILE_TOO_LARGE: "The photo of the {side} side is too large. "
    "Upload a smaller JPEG or PNG file.",
    QualityCode.HASH_MISMATCH: "The photo of the {side} side changed after it was uploaded. "
    "Upload it again.",
}


def _finding(code: QualityCode, side: Side) -> QualityFinding:
    return QualityFinding(code=code, side=side, message=_MESSAGES[code].format(side=side.value))
