"""OCR field-matching stage: read the certificate, match it to what was typed, show evidence.

Only submissions whose photos passed the quality checks are read. The front is perspective-
corrected from the quality stage's outline, read by the configured engine (tesserocr in-process
or the tesseract CLI) in the site's languages, and every typed field is compared with what the
certificate says, with the word boxes as evidence. Both sides are also examined for tamper
signals here (`tamper.examine`), not in the quality stage the customer waits for. The stage
recommends; reviewers decide.
"""

from __future__ import annotations

from datetime import date

from consumers.ocr import engines, textlayer
from consumers.ocr.extract import Candidate, Line, find, lines_of
from consumers.ocr.matching import Reading, match_fields, recommendation_reasons
from consumers.ocr.preprocess import Prepared, prepare
from consumers.ocr.registration import USCC_ALPHABET
from consumers.ocr.text import CJK
from consumers.quality import decoding, pdf, tamper
from pipeline import filetypes
from pipeline.errors import PermanentError
from pipeline.sandbox import SandboxCrashed, SandboxFailure, SandboxTimeout
from pipeline.settings import Settings
from pipeline.stage import Context
from schemas import Envelope
from schemas.enums import FieldName, MatchStatus, Recommendation, Side, Site
from schemas.events import (
    Application,
    FieldMatch,
    FieldsMatched,
    QualityChecked,
    SideMeasurements,
)

__all__ = [
    "engine_name",
    "handle",
    "handle_china",
    "on_startup",
    "prepare_child",
    "read_born_digital",
    "read_document",
]

MIN_CONFIDENT_WORDS = 6
_NUMBER_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ "
_NAME_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,&()'-"


def engine_name(settings: Settings, site: Site) -> str:
    """The site's engine: Chinese licences and Latin-script certificates are read best by
    different engines (README: choosing the OCR engine)."""
    return settings.ocr_engine_china if site is Site.CHINA else settings.ocr_engine


def worker_engine(ctx: Context) -> engines.OcrEngine:
    """The worker's engine for reading text layers; the sandbox's child process reads images
    with an engine of its own (`engines.engine`, one per process: the child has no context)."""
    return ctx.resource(
        "ocr_engine", lambda: engines.engine(ctx.settings.ocr_engine, ctx.settings.tesseract_cmd)
    )


def on_startup(ctx: Context) -> None:
    """Load the OCR models before the first event, not during it."""
    worker_engine(ctx)


def prepare_child(settings: Settings) -> None:
    """Examine a small generated page in each new sandbox child, so the first submission's
    decode finds OpenCV ready. The engine itself loads on a child's first read: the second
    child only examines tamper signals and never needs one (RapidOCR's models are ~640 MB)."""
    tamper.examine(decoding.sample_page(), settings.quality)


def handle(event: QualityChecked, ctx: Context) -> list[FieldsMatched]:
    """International certificates (China-site licences are the `ocr-china` stage's)."""
    if event.application.site is Site.CHINA:
        return []
    return _match(event, ctx)


def handle_china(event: QualityChecked, ctx: Context) -> list[FieldsMatched]:
    """China-site licences, read by their own engine in their own consumer group: only these
    workers load ONNX Runtime and the PP-OCRv4 models, and they scale on their own lag."""
    if event.application.site is not Site.CHINA:
        return []
    return _match(event, ctx)


def _match(event: QualityChecked, ctx: Context) -> list[FieldsMatched]:
    if not event.passed:
        return []  # the customer is asked for new photos; nothing to read
    front = event.application.document(Side.FRONT)
    if front is None:
        raise PermanentError("quality passed a submission without a front image")
    measured = next((m for m in event.measurements if m.side is Side.FRONT), None)
    data = ctx.documents.read(front)
    event = event.model_copy(update={"measurements": _examined(event, data, ctx)})
    engine = worker_engine(ctx)
    facts = _born_digital(data, ctx.settings)
    if facts is not None:
        return [_from_text_layer(event, ctx, data, engine)]
    used = engine_name(ctx.settings, event.application.site)
    try:
        reading = ctx.bounded(
            ctx.settings.ocr_timeout_s * 2,
            _read_with_engine,
            data,
            measured,
            event.application.site,
            ctx.settings,
        )
    except (engines.OcrTimeout, SandboxTimeout, SandboxCrashed) as exc:
        nothing = _nothing_read(event.application)
        reasons = [f"OCR timed out after {ctx.settings.ocr_timeout_s} s ({exc}); check by eye"]
        return [_result(event, ctx, nothing, reasons, "", used)]
    fields = match_fields(reading, event.application, ctx.clock().date())
    reasons = recommendation_reasons(fields)
    if not reading.lines:
        reasons.append("no text could be read on the front")
    return [_result(event, ctx, fields, reasons, reading.text, used)]


def _examined(
    event: QualityChecked, front_data: bytes, ctx: Context
) -> tuple[SideMeasurements, ...]:
    """The quality stage's measurements with each side's tamper signals, examined here rather
    than in the quality stage so the customer's answer never waits for them; both sides at
    once when the sandbox has a child for each, each under the quality stage's decode limit."""
    limits = ctx.settings.quality
    files: dict[Side, bytes] = {}
    for measured in event.measurements:
        ref = event.application.document(measured.side)
        if ref is not None:
            files[measured.side] = (
                front_data if measured.side is Side.FRONT else ctx.documents.read(ref)
            )
    sides = list(files)
    outcomes = ctx.bounded_each(
        limits.decode_timeout_s, tamper.examine, [(files[side], limits) for side in sides]
    )
    signals = {
        side: (tamper.unexamined(type(outcome).__name__),)
        if isinstance(outcome, SandboxFailure)
        else outcome
        for side, outcome in zip(sides, outcomes, strict=True)
    }
    return tuple(
        m.model_copy(update={"tamper": signals[m.side]}) if m.side in signals else m
        for m in event.measurements
    )


def _born_digital(data: bytes, settings: Settings) -> pdf.PdfFacts | None:
    """The PDF's facts when its first page is born digital (read from its text layer)."""
    if filetypes.sniff(data) != "application/pdf":
        return None
    try:
        facts = pdf.inspect(data, decoding.MAX_PDF_PAGES, settings.quality.max_pixels)
    except pdf.PdfRejected as rejected:
        raise PermanentError(f"quality passed a PDF that is now refused: {rejected.code}") from None
    return facts if facts.born_digital else None


def _from_text_layer(
    event: QualityChecked,
    ctx: Context,
    data: bytes,
    engine: engines.OcrEngine,
) -> FieldsMatched:
    fields, reasons, text = read_born_digital(
        data, event.application, ctx.clock().date(), engine, ctx.settings.ocr_timeout_s
    )
    return _result(event, ctx, fields, reasons, text, f"pdf-text-layer+{engine.name}")


def read_born_digital(
    data: bytes,
    application: Application,
    today: date,
    engine: engines.OcrEngine,
    timeout_s: float,
) -> tuple[list[FieldMatch], list[str], str]:
    """Exact words from the text layer; the printed page is only read where it must agree.

    Returns the field matches, the reasons for the reviewer and the layer's text."""
    lines = textlayer.layer_lines(data)
    reading = Reading(Side.FRONT, lines, lambda box: box)
    fields = match_fields(reading, application, today)
    reasons = recommendation_reasons(fields)
    found = {
        field: candidate
        for field in (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)
        if (candidate := find(lines, field)) is not None
    }
    try:
        reasons += textlayer.printed_disagreements(data, found, engine, timeout_s)
    except engines.OcrTimeout:
        reasons.append("the printed page could not be compared with the PDF's text layer in time")
    if not lines:
        reasons.append("the PDF's text layer is empty")
    return fields, reasons, reading.text


def _read_with_engine(
    data: bytes, measured: SideMeasurements | None, site: Site, settings: Settings
) -> Reading:
    """`read_document` with this process's engine (in the sandbox's child, its own)."""
    engine = engines.engine(engine_name(settings, site), settings.tesseract_cmd)
    return read_document(data, measured, site, settings, engine)


def read_document(
    data: bytes,
    measured: SideMeasurements | None,
    site: Site,
    settings: Settings,
    engine: engines.OcrEngine,
) -> Reading:
    """OCR one side, turning it upright first when it reads as nonsense (a rotated photo)."""
    size = (
        settings.ocr_document_long_side_china
        if site is Site.CHINA
        else settings.ocr_document_long_side
    )
    # At the site's size even for an engine that shrinks the page itself: re-reads crop from it.
    prepared = prepare(data, measured, settings, size, engine.needs_rules_erased)
    languages = (
        settings.ocr_languages_china if site is Site.CHINA else settings.ocr_languages_international
    )
    psm = settings.ocr_page_segmentation
    words = engine.read(prepared.gray, languages, settings.ocr_timeout_s, psm)
    if _confident(words) < MIN_CONFIDENT_WORDS:
        turns = engines.upright_quarter_turns(prepared.gray, settings.ocr_timeout_s)
        if turns:
            prepared = prepared.rotated(turns)
            rotated_words = engine.read(prepared.gray, languages, settings.ocr_timeout_s, psm)
            if _confident(rotated_words) > _confident(words):
                words = rotated_words
            else:
                prepared = prepared.rotated(-turns)
    lines = lines_of(words)
    reread: dict[FieldName, Candidate] = {}
    if engine.rereads:
        reread = _reread(prepared, lines, site, settings, engine)
        if site is Site.CHINA:
            reread |= _reread_english_name(prepared, lines, settings, engine)
    elif engine.long_side and site is Site.CHINA:
        reread = _reread_name_line(prepared, lines, settings, engine)
    return Reading(Side.FRONT, lines, prepared.to_original, reread)


def _reread_name_line(
    prepared: Prepared, lines: list[Line], settings: Settings, engine: engines.OcrEngine
) -> dict[FieldName, Candidate]:
    """An engine that reads a shrunken page (RapidOCR at 960 px) sees the small English name
    of a bilingual licence with few pixels per stroke ("Store" read "Sto e"): read that line
    again from the full-size page. The matcher weighs both readings."""
    candidate = find(lines, FieldName.COMPANY_NAME)
    if candidate is None or CJK.search(candidate.text):
        return {}
    crop = prepared.around(candidate.box, max(4, candidate.box[3] // 4))
    if crop.size == 0:
        return {}
    text, confidence = engine.read_line(crop, _NAME_CHARACTERS, settings.ocr_timeout_s)
    if sum(ch.isalpha() for ch in text) < 3:
        return {}
    word = engines.Word(text, confidence, candidate.box, (0, 0, 0))
    return {FieldName.COMPANY_NAME: Candidate(text, (word,), candidate.line)}


def _reread_english_name(
    prepared: Prepared, lines: list[Line], settings: Settings, engine: engines.OcrEngine
) -> dict[FieldName, Candidate]:
    """On a bilingual licence the English name sits tight under the Chinese one, and
    tesseract can fold its first word into the Chinese line. When the English line starts
    right of the Chinese value above it, read that band again, alone, from the column start;
    keep the result only if it ends with the words already read."""
    candidate = find(lines, FieldName.COMPANY_NAME)
    if candidate is None or CJK.search(candidate.text) or candidate.line not in lines:
        return {}
    if candidate.words[0] is not candidate.line.words[0]:
        return {}  # the line has its own label ("Name: ..."): its start is known
    index = lines.index(candidate.line)
    above = lines[index - 1] if index > 0 else None
    left, top, width, height = candidate.box
    # The Chinese value just above and to the left (not its label, further left).
    cjk_words = [
        w
        for w in (above.words if above else ())
        if CJK.search(w.text) and left - 6 * height <= w.box[0] <= left
    ]
    if not cjk_words:
        return {}
    start = min(w.box[0] for w in cjk_words)
    if left - start < height:  # the line already starts at the column: nothing was lost
        return {}
    # Tight above: the bottom of the Chinese glyphs in the band reads as a word.
    crop = prepared.gray[max(0, top - 2) : top + height + 8, max(0, start - 8) : left + width + 8]
    text, confidence = engine.read_line(crop, _NAME_CHARACTERS, settings.ocr_timeout_s)
    read = [w.strip(".,:;") for w in text.split()]
    known = [w.strip(".,:;") for w in candidate.text.split()]
    extra = read[: len(read) - len(known)]
    if read[len(extra) :] != known or len(extra) != 1:
        return {}
    lost = extra[0]
    if not (lost.isalpha() and lost.istitle() and len(lost) >= 3):
        return {}
    word = engines.Word(text, confidence, (start, top, left + width - start, height), (0, 0, 0))
    return {FieldName.COMPANY_NAME: Candidate(text, (word,), candidate.line)}


def _reread(
    prepared: Prepared, lines: list[Line], site: Site, settings: Settings, engine: engines.OcrEngine
) -> dict[FieldName, Candidate]:
    """Read the region that matters most again, alone and in English: the registration
    number with only the characters such numbers use (a whole-page pass, chi_sim above all,
    confuses J, I and 1). (Re-reading the English name on Chinese certificates the same way
    was tried and read worse than the page pass, so it is not done.)"""
    wanted = {
        FieldName.REGISTRATION_NUMBER: USCC_ALPHABET if site is Site.CHINA else _NUMBER_CHARACTERS
    }
    found: dict[FieldName, Candidate] = {}
    for field, whitelist in wanted.items():
        candidate = find(lines, field)
        if candidate is None:
            continue
        crop = prepared.around(candidate.box, max(4, candidate.box[3] // 3))
        if crop.size == 0:
            continue
        text, confidence = engine.read_line(crop, whitelist, settings.ocr_timeout_s)
        plausible = (
            sum(ch.isdigit() for ch in text) >= 4
            if field is FieldName.REGISTRATION_NUMBER
            else sum(ch.isalpha() for ch in text) >= 3
        )
        if plausible:
            word = engines.Word(text, confidence, candidate.box, (0, 0, 0))
            found[field] = Candidate(text, (word,), candidate.line)
    return found


def _confident(words: list[engines.Word]) -> int:
    return sum(1 for word in words if word.confidence >= 60 and len(word.text) > 1)


def _nothing_read(application: Application) -> tuple[FieldMatch, ...]:
    typed = {
        FieldName.COMPANY_NAME: application.company.company_name,
        FieldName.REGISTRATION_NUMBER: application.company.registration_number,
        FieldName.ADDRESS_LINE1: application.company.address_line1,
        FieldName.CITY: application.company.city,
        FieldName.STATE_PROVINCE: application.company.state_province,
    }
    return tuple(
        FieldMatch(field=field, submitted=value, found=None, score=0, status=MatchStatus.NOT_FOUND)
        for field, value in typed.items()
    )


def _result(
    event: QualityChecked,
    ctx: Context,
    fields: tuple[FieldMatch, ...] | list[FieldMatch],
    reasons: list[str],
    text: str,
    engine_name: str,
) -> FieldsMatched:
    return ctx.derive(
        FieldsMatched,
        event,
        application=event.application,
        submitted_at=event.submitted_at,
        quality_findings=event.findings,
        measurements=event.measurements,
        fields=tuple(fields),
        recommendation=Recommendation.ATTENTION if reasons else Recommendation.CLEAN,
        reasons=tuple(reasons),
        ocr_text={Side.FRONT: text[:20_000]} if text else {},
        engine=engine_name,
    )


def outcomes(event: Envelope) -> list[str]:
    """The recommendation and every field's match status."""
    if not isinstance(event, FieldsMatched):
        return []
    return [f"recommendation:{event.recommendation.value}"] + [
        f"field:{m.field.value}:{m.status.value}" for m in event.fields
    ]
