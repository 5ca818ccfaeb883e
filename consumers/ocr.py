"""OCR field-matching stage — MINIMAL version (issue 2).

Runs the tesseract CLI once on the front image, keeps the text, and checks whether the typed
company name and registration number appear in it. Region OCR, tesserocr, date and address
extraction and check-digit validation replace this in issue 4.
"""

from __future__ import annotations

import io
import re

import pytesseract
from PIL import Image
from rapidfuzz import fuzz

from pipeline.errors import PermanentError, TransientError
from pipeline.stage import Context
from schemas.enums import FieldName, MatchStatus, Recommendation, Side, Site
from schemas.events import FieldMatch, FieldsMatched, QualityChecked

ENGINE = "tesseract-cli"


def handle(event: QualityChecked, ctx: Context) -> list[FieldsMatched]:
    if not event.passed:
        return []  # nothing to read: the customer is asked for new photos
    front = event.application.document(Side.FRONT)
    if front is None:
        raise PermanentError("quality passed a submission without a front image")
    text = read_text(ctx.documents.read(front), event.application.site, ctx)
    company = event.application.company
    fields = (
        _match(FieldName.COMPANY_NAME, company.company_name, text),
        _match(FieldName.REGISTRATION_NUMBER, company.registration_number, text, exact=True),
    )
    reasons = tuple(
        f"{field.field.value}: {field.status.value}"
        for field in fields
        if field.status is not MatchStatus.MATCH
    )
    return [
        ctx.derive(
            FieldsMatched,
            event,
            application=event.application,
            quality_findings=event.findings,
            fields=fields,
            recommendation=Recommendation.ATTENTION if reasons else Recommendation.CLEAN,
            reasons=reasons,
            ocr_text={Side.FRONT: text[:20_000]},
            engine=ENGINE,
        )
    ]


def read_text(image_bytes: bytes, site: Site, ctx: Context) -> str:
    languages = (
        ctx.settings.ocr_languages_china
        if site is Site.CHINA
        else ctx.settings.ocr_languages_international
    )
    pytesseract.pytesseract.tesseract_cmd = ctx.settings.tesseract_cmd
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            text: str = pytesseract.image_to_string(
                image.convert("RGB"), lang=languages, timeout=ctx.settings.ocr_timeout_s
            )
    except RuntimeError as exc:  # pytesseract signals its timeout this way
        raise TransientError(f"tesseract timed out: {exc}") from None
    except (OSError, Image.DecompressionBombError) as exc:
        raise PermanentError(f"front image cannot be decoded: {type(exc).__name__}") from None
    return text


def normalise(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _match(field: FieldName, typed: str, text: str, exact: bool = False) -> FieldMatch:
    wanted, haystack = normalise(typed), normalise(text)
    if not haystack:
        return FieldMatch(
            field=field, submitted=typed, found=None, score=0, status=MatchStatus.NOT_FOUND
        )
    if wanted and wanted in haystack:
        return FieldMatch(
            field=field, submitted=typed, found=typed, score=100, status=MatchStatus.MATCH
        )
    score = 0.0 if exact else fuzz.partial_ratio(wanted, haystack)
    status = MatchStatus.PARTIAL if score >= 85 else MatchStatus.MISMATCH
    return FieldMatch(
        field=field, submitted=typed, found=None, score=round(score, 1), status=status
    )
