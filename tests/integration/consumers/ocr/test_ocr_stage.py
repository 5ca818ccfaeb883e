"""The OCR stage with the real tesseract: generated certificates, both engines, bad input."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from consumers import ocr, quality
from pipeline.documents import DocumentStore
from pipeline.sandbox import Sandbox
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from producers.photos import encode, make_case
from producers.synthetic import font, random_spec, swap_digits
from schemas.enums import FieldName, MatchStatus, Recommendation, Side, Site
from schemas.events import FieldsMatched
from tests.helpers import (
    application,
    company,
    document_ref,
    run_kyb,
    saved_by_editor,
    submission,
)

SEED = 17


def run_stage(
    tmp_path: Path,
    front: bytes,
    typed: dict[str, str],
    site: Site,
    country: str,
    force_pass: bool = False,
    back: bytes | None = None,
    sandbox: Sandbox | None = None,
    **settings: object,
) -> FieldsMatched | None:
    """Quality then OCR, as the pipeline does, on one front image (the back is a clean scan
    unless given); `sandbox`: the OCR worker's."""
    rng = random.Random(SEED)
    if back is None:
        back = encode(make_case(random_spec(rng), rng, None, side="back", kind="scan"))
    paths = {Side.FRONT: tmp_path / "front.jpg", Side.BACK: tmp_path / "back.jpg"}
    paths[Side.FRONT].write_bytes(front)
    paths[Side.BACK].write_bytes(back)
    docs = tuple(document_ref(path, side) for side, path in paths.items())
    config = Settings(document_roots=[tmp_path], **settings)  # type: ignore[arg-type]
    store = DocumentStore([tmp_path], 50_000_000)
    app = application(docs, site=site.value, registered_country=country, company=company(**typed))
    clock = lambda: datetime(2026, 11, 26, tzinfo=UTC)  # noqa: E731
    [checked] = quality.handle(
        submission(application=app), Context("quality", config, memory_state_store(), store, clock)
    )
    if force_pass:  # as if the photo had somehow passed quality
        checked = checked.model_copy(update={"passed": True, "findings": ()})
    handle, stage = (ocr.handle_china, "ocr-china") if site is Site.CHINA else (ocr.handle, "ocr")
    assert all(m.tamper == () for m in checked.measurements)  # the customer does not wait
    found = handle(checked, Context(stage, config, memory_state_store(), store, clock, sandbox))
    return found[0] if found else None


def typed_from(spec) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "company_name": spec.typed_company_name,
        "registration_number": spec.registration_number,
        "state_province": spec.state_province,
        "city": spec.city,
        "address_line1": spec.address_line1,
        "entity_type": spec.entity_type.value,
    }


def by_field(result: FieldsMatched) -> dict[FieldName, MatchStatus]:
    return {m.field: m.status for m in result.fields}


@pytest.mark.parametrize(
    ("site", "layout", "engine_name"),
    [
        (Site.INTERNATIONAL, 0, "tesserocr"),
        (Site.INTERNATIONAL, 1, "tesserocr"),
        (Site.INTERNATIONAL, 2, "tesserocr"),
        (Site.CHINA, 0, "tesserocr"),
        (Site.CHINA, 2, "tesserocr"),
        (Site.CHINA, 0, "rapidocr"),
        (Site.CHINA, 3, "rapidocr"),
        (Site.CHINA, 4, "rapidocr"),
        (Site.INTERNATIONAL, 0, "pytesseract"),
    ],
)
def test_a_clean_photo_matches_every_typed_field(
    tmp_path: Path, site: Site, layout: int, engine_name: str
) -> None:
    rng = random.Random(f"{SEED}-{site}-{layout}")
    spec = replace(random_spec(rng, site=site), layout=layout, expiry_date=None)
    result = run_stage(
        tmp_path,
        encode(make_case(spec, rng, None)),
        typed_from(spec),
        site,
        spec.country,
        ocr_engine=engine_name,
        ocr_engine_china=engine_name,
    )
    assert result is not None
    statuses = by_field(result)
    for field in (
        FieldName.COMPANY_NAME,
        FieldName.REGISTRATION_NUMBER,
        FieldName.EXPIRY_DATE,
        FieldName.ISSUING_COUNTRY,
    ):
        assert statuses[field] is MatchStatus.MATCH, (field, result.fields)
    # a licence in Chinese only does not print the city in the Latin letters typed
    assert statuses[FieldName.CITY] is (
        MatchStatus.NOT_FOUND if spec.chinese_only else MatchStatus.MATCH
    )
    assert result.engine == engine_name
    name = next(m for m in result.fields if m.field is FieldName.COMPANY_NAME)
    assert name.evidence is not None and name.evidence.side is Side.FRONT
    x, y, w, h = name.evidence.box  # type: ignore[misc]
    assert w > 0 and h > 0 and x >= 0 and y >= 0  # a box on the original photo


def test_a_chinese_licence_with_a_mistyped_name_and_number_is_flagged(tmp_path: Path) -> None:
    """The national format (Chinese only, two columns, seal over the date), read by RapidOCR:
    one character of the name and two digits of the code typed wrongly."""
    rng = random.Random(SEED)
    spec = replace(random_spec(rng, site=Site.CHINA), layout=3, expiry_date=None)
    wrong_name = spec.name_zh[:2] + ("衡" if spec.name_zh[2] != "衡" else "恒") + spec.name_zh[3:]
    typed = typed_from(spec) | {
        "company_name": wrong_name,
        "registration_number": swap_digits(spec.registration_number, rng),
    }
    result = run_stage(tmp_path, encode(make_case(spec, rng, None)), typed, Site.CHINA, "CN")
    assert result is not None
    assert result.engine == "rapidocr"  # the China site's default
    statuses = by_field(result)
    assert statuses[FieldName.COMPANY_NAME] in (MatchStatus.PARTIAL, MatchStatus.MISMATCH)
    assert statuses[FieldName.REGISTRATION_NUMBER] is MatchStatus.MISMATCH
    found = {m.field: m.found for m in result.fields}
    assert found[FieldName.COMPANY_NAME] == spec.name_zh  # what the licence says, for the reviewer
    assert found[FieldName.REGISTRATION_NUMBER] == spec.registration_number
    assert result.recommendation is Recommendation.ATTENTION


def test_a_wrong_number_and_an_expired_certificate_need_attention(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    spec = replace(random_spec(rng, "GB"), layout=0, expiry_date=datetime(2025, 6, 1).date())
    typed = typed_from(spec) | {"registration_number": "99999999"}
    result = run_stage(
        tmp_path, encode(make_case(spec, rng, None)), typed, Site.INTERNATIONAL, "GB"
    )
    assert result is not None
    statuses = by_field(result)
    assert statuses[FieldName.REGISTRATION_NUMBER] is MatchStatus.MISMATCH
    assert statuses[FieldName.EXPIRY_DATE] is MatchStatus.MISMATCH
    assert result.recommendation is Recommendation.ATTENTION
    assert "expiry_date: expired on 2025-06-01" in result.reasons


def _blank(text: str | None, fill: tuple[int, int, int] = (235, 230, 220)) -> bytes:
    image = Image.new("RGB", (2400, 1700), fill)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 2360, 1660), outline=(30, 60, 150), width=20)
    draw.ellipse((1900, 1200, 2200, 1500), outline=(190, 30, 30), width=12)
    if text:
        for row in range(6):
            draw.text((200, 250 + row * 150), text, font=font(70), fill=(20, 20, 20))
    return encode(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR))


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("no text", _blank(None)),
        ("another script", _blank("Общество с ограниченной ответственностью")),
    ],
)
def test_unreadable_certificates_give_not_found_and_attention(
    tmp_path: Path, name: str, image: bytes
) -> None:
    result = run_stage(
        tmp_path,
        image,
        typed_from(random_spec(random.Random(1), "GB")),
        Site.INTERNATIONAL,
        "GB",
        force_pass=True,
    )
    assert result is not None, name
    assert by_field(result)[FieldName.COMPANY_NAME] is MatchStatus.NOT_FOUND
    assert by_field(result)[FieldName.REGISTRATION_NUMBER] is MatchStatus.NOT_FOUND
    assert result.recommendation is Recommendation.ATTENTION


def test_a_photo_turned_90_degrees_is_read_upright(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    spec = replace(random_spec(rng, "SG"), layout=0)
    upright = make_case(spec, rng, None, kind="scan")
    result = run_stage(
        tmp_path,
        encode(cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)),
        typed_from(spec),
        Site.INTERNATIONAL,
        "SG",
    )
    assert result is not None
    assert by_field(result)[FieldName.REGISTRATION_NUMBER] is MatchStatus.MATCH


def test_an_ocr_timeout_is_a_finding_not_a_lost_event(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    spec = random_spec(rng, "SG")
    result = run_stage(
        tmp_path,
        encode(make_case(spec, rng, None)),
        typed_from(spec),
        Site.INTERNATIONAL,
        "SG",
        ocr_timeout_s=0.001,
    )
    assert result is not None
    assert any("OCR timed out" in reason for reason in result.reasons)
    assert result.recommendation is Recommendation.ATTENTION
    assert all(m.status is MatchStatus.NOT_FOUND for m in result.fields)


def test_all_black_photo_that_somehow_passed_quality(tmp_path: Path) -> None:
    black = encode(np.zeros((1500, 2000, 3), np.uint8))
    typed = typed_from(random_spec(random.Random(2), "SG"))
    assert run_stage(tmp_path, black, typed, Site.INTERNATIONAL, "SG") is None  # quality refuses
    result = run_stage(tmp_path, black, typed, Site.INTERNATIONAL, "SG", force_pass=True)
    assert result is not None
    assert all(
        m.status is not MatchStatus.MATCH
        for m in result.fields
        if m.field in (FieldName.COMPANY_NAME, FieldName.REGISTRATION_NUMBER)
    )
    assert "no text could be read on the front" in result.reasons


def test_kyb_inspect_with_typed_fields_prints_quality_and_fields(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    spec = replace(random_spec(rng, "AU"), layout=1)
    front, back = tmp_path / "f.jpg", tmp_path / "b.jpg"
    front.write_bytes(encode(make_case(spec, rng, None)))
    back.write_bytes(encode(make_case(spec, rng, None, side="back")))
    run = run_kyb(
        "inspect",
        "--front",
        str(front),
        "--back",
        str(back),
        "--company",
        spec.company_name,
        "--regno",
        spec.registration_number,
        "--country",
        "AU",
        "--city",
        spec.city,
        "--state",
        spec.state_province,
        "--address",
        spec.address_line1,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["quality"]["passed"] is True
    fields = {f["field"]: f["status"] for f in result["fields"]["fields"]}
    assert fields["company_name"] == "match"
    assert fields["registration_number"] == "match"


def test_the_reviewer_gets_each_sides_tamper_signals_from_this_stage(tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-tamper")
    spec = replace(random_spec(rng), expiry_date=None)
    back = saved_by_editor(
        make_case(spec, rng, None, side="back"), "Adobe Photoshop 25.0 (Windows)"
    )
    sandbox = Sandbox(children=2)
    try:
        result = run_stage(
            tmp_path,
            encode(make_case(spec, rng, None)),
            typed_from(spec),
            Site.INTERNATIONAL,
            spec.country,
            back=back,
            sandbox=sandbox,
        )
    finally:
        sandbox.close()
    assert result is not None
    signals = {m.side: {s.name: s for s in m.tamper} for m in result.measurements}
    assert set(signals) == {Side.FRONT, Side.BACK}
    for side in Side:
        assert set(signals[side]) == {"editing_software", "error_level", "double_jpeg"}
    assert not signals[Side.FRONT]["editing_software"].flagged
    assert signals[Side.BACK]["editing_software"].flagged
    assert signals[Side.BACK]["editing_software"].value == "Adobe Photoshop 25.0 (Windows)"
    # the other measurements are the quality stage's, passed on unchanged
    assert all(m.values["document_found"] == 1.0 for m in result.measurements)


def test_a_side_that_cannot_be_examined_in_time_is_flagged_for_the_eye(tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-unexamined")
    spec = replace(random_spec(rng), expiry_date=None)
    front = encode(make_case(spec, rng, None))
    sandbox = Sandbox(children=2)
    try:
        config = Settings(document_roots=[tmp_path])
        limits = config.quality.model_copy(update={"decode_timeout_s": 0.001})
        result = run_stage(
            tmp_path,
            front,
            typed_from(spec),
            Site.INTERNATIONAL,
            spec.country,
            sandbox=sandbox,
            quality=limits,
        )
    finally:
        sandbox.close()
    assert result is not None  # the certificate was still read
    for measured in result.measurements:
        [signal] = measured.tamper
        assert signal.name == "unexamined" and signal.flagged
        assert "SandboxTimeout" in signal.detail
