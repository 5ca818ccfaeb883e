"""Every medium a customer uploads, with real files from `corpus/` (documents nobody here made)
and generated ones: the quality stage's verdict, and born-digital PDFs read from their text
layer by the OCR stage. Only the corpus's `tune` part is used here; `holdout` is for the
benchmarks' reports (bad PDFs are format checks, not tuned thresholds, so all are used)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import cv2
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from consumers.quality import check_image, tamper
from pipeline.settings import QualityThresholds
from producers import corpus
from producers.media import Medium, born_digital_pdf, make_medium
from producers.photos import encode, to_bgr
from producers.synthetic import random_spec, render_front
from schemas.enums import FieldName, MatchStatus, QualityCode, Side, Site
from tests.integration.consumers.ocr.test_ocr_stage import by_field, run_stage, typed_from

LIMITS = QualityThresholds()

TUNE = [d for d in corpus.documents() if d.split == "tune" or d.kind == "bad_pdf"]


def blocking(data: bytes) -> list[QualityCode]:
    return [f.code for f in check_image(data, Side.FRONT, LIMITS).findings if f.blocking]


@pytest.mark.parametrize("document", TUNE, ids=lambda d: d.id)
def test_a_real_document_gets_the_finding_it_deserves(document: corpus.RealDocument) -> None:
    found = blocking(document.data)
    if document.expect is None:
        assert found == [], f"{document.id} is a clean original, refused as {found}"
    else:
        assert QualityCode(document.expect) in found, (document.id, found)


@pytest.mark.parametrize("medium", [m for m in Medium if m is not Medium.BORN_DIGITAL])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_clean_certificate_passes_in_every_medium(medium: Medium, seed: int) -> None:
    rng = random.Random(seed)
    page = to_bgr(render_front(random_spec(rng), 1800))
    data, _ = make_medium(page, medium, rng)
    assert blocking(data) == [], medium


def test_a_generated_e_certificate_passes_and_is_read_exactly(tmp_path: Path) -> None:
    spec = random_spec(random.Random(5))
    data = born_digital_pdf(spec)
    assert blocking(data) == []
    result = run_stage(tmp_path, data, typed_from(spec), Site.INTERNATIONAL, spec.country)
    assert result is not None
    assert result.engine.startswith("pdf-text-layer")
    statuses = by_field(result)
    assert statuses[FieldName.COMPANY_NAME] is MatchStatus.MATCH
    assert statuses[FieldName.REGISTRATION_NUMBER] is MatchStatus.MATCH


@pytest.mark.parametrize(("dpi", "refused"), [(90, False), (50, True)])
def test_a_page_under_the_pixel_line_is_low_resolution_only_if_its_print_is(
    dpi: int, refused: bool
) -> None:
    """A real transcript page (12-pt type) as a full-page screenshot, fewer pixels across than
    the page-size line (800): at 90 dpi its letters are ~8 px and OCR reads every word (tune
    split), at 50 dpi they are ~5 px and it reads one word in ten."""
    document = corpus.by_id("scotus-transcript")
    page = corpus.page(document)  # 200 dpi
    shown = cv2.resize(page, None, fx=dpi / 200, fy=dpi / 200, interpolation=cv2.INTER_AREA)
    assert min(shown.shape[:2]) < LIMITS.min_document_short_side_px
    report = check_image(encode(shown, ".png"), Side.FRONT, LIMITS)
    codes = [f.code for f in report.findings]
    assert (QualityCode.LOW_RESOLUTION in codes) is refused, codes
    letters = report.measurements.values["letter_height_px"]
    assert (letters < LIMITS.min_letter_height_px) is refused, letters


READABLE = [
    d for d in TUNE if d.kind == "born_digital_pdf" and d.company_name and d.registration_number
]


@pytest.mark.parametrize("document", READABLE, ids=lambda d: d.id)
def test_a_real_born_digital_pdf_is_read_from_its_text_layer(
    document: corpus.RealDocument, tmp_path: Path
) -> None:
    typed = {
        "company_name": str(document.company_name),
        "registration_number": str(document.registration_number),
    }
    result = run_stage(tmp_path, document.data, typed, Site.INTERNATIONAL, "US")
    assert result is not None
    assert result.engine.startswith("pdf-text-layer")
    statuses = by_field(result)
    assert statuses[FieldName.COMPANY_NAME] is MatchStatus.MATCH, result.fields
    assert statuses[FieldName.REGISTRATION_NUMBER] is MatchStatus.MATCH, result.fields


def edited(data: bytes) -> bytes:
    """The PDF saved again as an incremental update, as an editor appends its changes."""
    document = pdfium.PdfDocument(data)
    try:
        out = io.BytesIO()
        document.save(out, flags=pdfium_c.FPDF_INCREMENTAL)
    finally:
        document.close()
    return out.getvalue()


def test_pdf_tamper_signals_reach_the_reviewer() -> None:
    original = born_digital_pdf(random_spec(random.Random(8)))
    signals = {s.name: s for s in tamper.examine(original, LIMITS)}
    assert not signals["pdf_incremental_updates"].flagged
    assert not signals["editing_software"].flagged
    changed = edited(original)
    assert changed.startswith(original)  # an incremental update appends; nothing is rewritten
    signals = {s.name: s for s in tamper.examine(changed, LIMITS)}
    assert signals["pdf_incremental_updates"].flagged
    assert signals["pdf_incremental_updates"].value == 1.0
    # an e-certificate "re-made" in a PDF editor names the editor as its producer
    remade = original.replace(
        b"/Producer (Companies Registry e-Services)", b"/Producer (PDFescape)"
    )
    signals = {s.name: s for s in tamper.examine(remade, LIMITS)}
    assert signals["editing_software"].flagged
    assert "pdfescape" in signals["editing_software"].detail
