"""Image quality stage: checks both sides at upload time and says exactly what to fix.

Per side: file checks (type by magic bytes, size, pixel count from the header, truncation,
EXIF orientation, sha256), then pixel checks on reduced copies (document outline and
completeness, resolution, sharpness, exposure, glare, colour, skew). Across sides: both present,
and not the same picture. Only what the customer's answer needs runs here: the tamper signals
are for the reviewer and the OCR stage examines them (`tamper.examine`), off the customer's wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from consumers.quality import analysis, decoding, findings
from pipeline import filetypes
from pipeline.documents import (
    DocumentError,
    DocumentHashMismatch,
    DocumentNotFound,
    DocumentRefused,
    DocumentTooLarge,
)
from pipeline.sandbox import SandboxFailure
from pipeline.settings import QualityThresholds, Settings
from pipeline.stage import Context
from schemas import DocumentRef, Envelope
from schemas.enums import QualityCode, Side, SubmissionRefusal
from schemas.events import (
    AccountErasureRequested,
    QualityChecked,
    QualityFinding,
    SideMeasurements,
    SubmissionReceived,
)

__all__ = ["SideReport", "check_image", "handle", "prepare_child", "same_picture"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SideReport:
    measurements: SideMeasurements
    findings: tuple[QualityFinding, ...]
    phash: int | None = None


def handle(
    event: SubmissionReceived | AccountErasureRequested, ctx: Context
) -> list[QualityChecked]:
    if isinstance(event, AccountErasureRequested):
        return []  # read only so the erasure gate marks the account before any later record
    limits = ctx.settings.quality
    read_findings: dict[Side, QualityFinding] = {}
    to_check: dict[Side, bytes] = {}
    for side in Side:
        ref = event.application.document(side)
        if ref is None:
            read_findings[side] = findings.finding(QualityCode.MISSING_SIDE, side)
            continue
        try:
            data = ctx.documents.read(ref)
        except DocumentTooLarge:
            read_findings[side] = findings.finding(QualityCode.FILE_TOO_LARGE, side)
            continue
        except DocumentError as exc:
            refusal = _REFUSALS.get(type(exc), SubmissionRefusal.DOCUMENT_REFUSED)
            return [_refused(event, side, refusal, ctx)]
        mistake = _reference_mistake(ref, data)
        if mistake is not None:
            return [_refused(event, side, mistake, ctx)]
        to_check[side] = data
    reports = _bounded_checks(to_check, limits, ctx)
    all_findings: list[QualityFinding] = []
    for side in Side:
        found = read_findings.get(side)
        all_findings += (found,) if found is not None else reports[side].findings
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


def prepare_child(settings: Settings) -> None:
    """Check a small generated page in each new sandbox child: the first customer's picture
    then finds the decoder, OpenCV's colour tables and the lazily loaded code ready."""
    check_image(decoding.sample_page(), Side.FRONT, settings.quality)


#: What the store's refusals mean for the portal (too large stays a finding: the customer can
#: upload a smaller file).
_REFUSALS: dict[type[DocumentError], SubmissionRefusal] = {
    DocumentRefused: SubmissionRefusal.DOCUMENT_REFUSED,
    DocumentNotFound: SubmissionRefusal.DOCUMENT_MISSING,
    DocumentHashMismatch: SubmissionRefusal.HASH_MISMATCH,
}


def _reference_mistake(ref: DocumentRef, data: bytes) -> SubmissionRefusal | None:
    """The reference must describe the stored bytes exactly: size and (sniffed) media type."""
    if len(data) != ref.size_bytes:
        return SubmissionRefusal.SIZE_MISMATCH
    sniffed = filetypes.sniff(data)
    if sniffed in filetypes.ACCEPTED and sniffed != ref.media_type:
        return SubmissionRefusal.MEDIA_TYPE_MISMATCH
    return None


def _refused(
    event: SubmissionReceived, side: Side, refusal: SubmissionRefusal, ctx: Context
) -> QualityChecked:
    """The portal's mistake: no finding for the customer, a refusal the verdict stage puts on
    `kyb.status` for the portal."""
    log.warning(
        "quality: submission refused (%s, %s side) event_id=%s",
        refusal.value,
        side.value,
        event.event_id,
    )
    return ctx.derive(
        QualityChecked,
        event,
        application=event.application,
        submitted_at=event.occurred_at,
        passed=False,
        refusal=refusal,
        refused_side=side,
    )


def _bounded_checks(
    images: dict[Side, bytes], limits: QualityThresholds, ctx: Context
) -> dict[Side, SideReport]:
    """`check_image` for each side under a hard time and memory limit, the sides at once when
    the worker has a second child for it (the customer waits for both): a file built to stall
    or exhaust the decoder becomes a finding, and the worker goes on with the next submission."""
    sides = list(images)
    outcomes = ctx.bounded_each(
        limits.decode_timeout_s, check_image, [(images[side], side, limits) for side in sides]
    )
    reports: dict[Side, SideReport] = {}
    for side, outcome in zip(sides, outcomes, strict=True):
        if isinstance(outcome, SandboxFailure):
            log.warning(
                "quality: %s side could not be decoded within limits (%s)", side.value, outcome
            )
            outcome = _rejected(images[side], side, QualityCode.CORRUPT_FILE)
        reports[side] = outcome
    return reports


def check_image(data: bytes, side: Side, limits: QualityThresholds) -> SideReport:
    """Every check of one side's image; never raises for bad image data.

    Decoders fail on hostile files in ways nobody lists (PIL raised `TypeError` on a TIFF whose
    second page points past the end), so anything a check raises is that file being unreadable:
    a `corrupt_file` finding the customer is told about, not a dead letter they never hear of.
    """
    try:
        return _check_image(data, side, limits)
    except decoding.ImageRejected as rejected:
        return _rejected(data, side, rejected.code, rejected.value, rejected.threshold)
    except Exception as exc:  # see the docstring
        log.warning("quality: %s side is unreadable (%s)", side.value, type(exc).__name__)
        return _rejected(data, side, QualityCode.CORRUPT_FILE)


def _rejected(
    data: bytes,
    side: Side,
    code: QualityCode,
    value: float | None = None,
    threshold: float | None = None,
) -> SideReport:
    values = {"size_bytes": float(len(data))}
    measured = SideMeasurements(side=side, media_type=filetypes.sniff(data), values=values)
    return SideReport(measured, (findings.finding(code, side, value, threshold),))


def _check_image(data: bytes, side: Side, limits: QualityThresholds) -> SideReport:
    header = decoding.read_header(data, limits)
    decoded = decoding.decode(
        data, header, limits.decode_long_side, min_long_side=limits.decode_min_long_side
    )
    measured = analysis.analyse(decoded.pixels, decoded.scale)
    if _needs_detail(measured.values, decoded, header, limits):
        # Thin print looks grey in a reduced copy: confirm faint text on a larger one
        # before telling the customer the lighting is wrong.
        detailed = decoding.decode(data, header, limits.detail_long_side)
        measured.values.update(analysis.detail_contrast(detailed.pixels, measured))
    if _needs_letter_height(measured.values, header, limits):
        # Few pixels across the page: whether the print is still legible decides, measured
        # where every original pixel is kept.
        native = (
            decoded
            if decoded.scale <= 1.0  # already every original pixel (a small image)
            else decoding.decode(data, header, max(header.width, header.height))
        )
        measured.values.update(analysis.native_letter_height(native.pixels, native.scale, measured))
    if header.pdf is not None and header.pdf.born_digital:
        # The page is the document: no outline to find, and an original e-document is
        # not a photocopy, whatever its colours.
        measured.values.update(
            document_found=1.0, full_frame=1.0, touching_sides=0.0, coverage=1.0, born_digital=1.0
        )
        measured.values["document_short_side_px"] = float(min(header.width, header.height))
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
    )
    return SideReport(
        measurements, tuple(findings.judge(side, measured.values, limits)), measured.phash
    )


def _needs_detail(
    values: dict[str, float],
    decoded: decoding.Decoded,
    header: decoding.Header,
    limits: QualityThresholds,
) -> bool:
    """Faint print in the reduced copy, and a larger decode to confirm it on. Not on a blurry
    side: faint print is never reported there (`findings.judge` tells the customer the blur,
    or the low resolution, that greys it), so the larger decode, 2-3x the whole check, could
    change no finding; unless the print is so faint it may be none at all, which is reported
    whatever the blur."""
    faint = values["text_contrast"] < max(
        limits.min_text_contrast, limits.min_text_contrast_clipped
    )
    larger = max(header.width, header.height) > max(decoded.pixels.shape[:2]) * 1.2
    told_blurry = (
        values["sharpness"] < limits.min_sharpness
        and values["text_contrast"] >= limits.min_print_contrast
    )
    return faint and larger and not told_blurry


def _needs_letter_height(
    values: dict[str, float], header: decoding.Header, limits: QualityThresholds
) -> bool:
    short = values.get("document_short_side_px")
    born_digital = header.pdf is not None and header.pdf.born_digital
    return short is not None and short < limits.min_document_short_side_px and not born_digital


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
