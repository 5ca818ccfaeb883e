"""Extraction and matching on hand-made OCR words (pure logic, no tesseract)."""

from __future__ import annotations

from datetime import date

from consumers.ocr.engines import Word
from consumers.ocr.extract import Candidate, find, lines_of
from consumers.ocr.matching import Reading, match_fields, recommendation_reasons
from schemas.enums import FieldName, MatchStatus, Side
from tests.helpers import application, company

TODAY = date(2026, 11, 26)


def row(y: int, *cells: tuple[int, str], block: int = 1, conf: float = 95) -> list[Word]:
    words = []
    for x, text in cells:
        for offset, token in enumerate(text.split()):
            words.append(Word(token, conf, (x + offset * 120, y, 110, 30), (block, 1, y)))
    return words


def page() -> list[Word]:
    # Labels and values in separate blocks, as tesseract reads a table.
    labels = [
        (100, "Company Name:"),
        (160, "Registration No.:"),
        (220, "Registered Address:"),
        (340, "Date of Issue:"),
        (400, "Valid Until:"),
    ]
    values = [
        (100, "Harbour Logistics Pte. Ltd."),
        (160, "201912345K"),
        (220, "12 Market Street"),
        (280, "Singapore, Central Region"),
        (340, "1 March 2019"),
        (400, "1 March 2029"),
    ]
    words = row(20, (300, "REPUBLIC OF SINGAPORE"), block=9)
    for y, text in labels:
        words += row(y, (50, text), block=1)
    for y, text in values:
        words += row(y, (700, text), block=2)
    return words


def reading(words: list[Word]) -> Reading:
    return Reading(Side.FRONT, lines_of(words), lambda box: box)


def test_rows_pair_labels_with_values_across_blocks() -> None:
    lines = lines_of(page())
    assert lines[1].text == "Company Name: Harbour Logistics Pte. Ltd."
    candidate = find(lines, FieldName.REGISTRATION_NUMBER)
    assert candidate is not None
    assert candidate.text == "201912345K"


def test_noise_tokens_are_dropped() -> None:
    noise = [
        Word("ee", 20, (400, 100, 30, 30), (1, 1, 1)),
        Word("|", 90, (450, 100, 5, 30), (1, 1, 1)),
    ]
    words = [*row(100, (50, "Name of Entity")), *noise]
    words += row(100, (700, "Acme Ltd"))
    assert lines_of(words)[0].text == "Name of Entity Acme Ltd"


def statuses(typed: dict[str, str], **app: str) -> dict[FieldName, MatchStatus]:
    values = {"registered_country": "SG"} | app
    fields = match_fields(reading(page()), application(company=company(**typed), **values), TODAY)
    return {m.field: m.status for m in fields}


def test_matching_certificate_is_clean() -> None:
    result = statuses({"company_name": "HARBOUR LOGISTICS PTE LTD", "city": "Singapore"})
    assert result[FieldName.COMPANY_NAME] is MatchStatus.MATCH
    assert result[FieldName.REGISTRATION_NUMBER] is MatchStatus.MATCH
    assert result[FieldName.CITY] is MatchStatus.MATCH
    assert result[FieldName.EXPIRY_DATE] is MatchStatus.MATCH
    assert result[FieldName.ISSUING_COUNTRY] is MatchStatus.MATCH


def test_typo_wrong_number_and_foreign_account_are_flagged() -> None:
    result = statuses(
        {"company_name": "Harbour Logistix Pte. Ltd.", "registration_number": "201921345K"},
        registered_country="GB",
    )
    assert result[FieldName.COMPANY_NAME] is MatchStatus.PARTIAL
    assert result[FieldName.REGISTRATION_NUMBER] is MatchStatus.MISMATCH
    assert result[FieldName.ISSUING_COUNTRY] is MatchStatus.MISMATCH


def test_expired_certificate_is_a_finding_with_a_reason() -> None:
    words = [w for w in page() if w.box[1] != 400]
    words += row(400, (50, "Valid Until:")) + row(400, (700, "1 March 2025"), block=2)
    fields = match_fields(reading(words), application(), TODAY)
    expiry = next(m for m in fields if m.field is FieldName.EXPIRY_DATE)
    assert expiry.status is MatchStatus.MISMATCH
    assert "expiry_date: expired on 2025-03-01" in recommendation_reasons(fields)


def test_nothing_read_is_not_found_everywhere() -> None:
    fields = match_fields(reading([]), application(), TODAY)
    by_field = {m.field: m.status for m in fields}
    assert by_field[FieldName.COMPANY_NAME] is MatchStatus.NOT_FOUND
    assert by_field[FieldName.REGISTRATION_NUMBER] is MatchStatus.NOT_FOUND
    assert "company_name: not_found" in recommendation_reasons(fields)


def test_sole_proprietorship_marker_against_a_declared_company() -> None:
    words = page() + row(460, (50, "Entity Type: Sole Proprietorship"))
    fields = match_fields(reading(words), application(), TODAY)
    entity = next(m for m in fields if m.field is FieldName.ENTITY_TYPE)
    assert entity.status is MatchStatus.MISMATCH
    assert entity.found == "sole_proprietorship"


def name_status(printed: str, typed: str, conf: float = 95) -> MatchStatus:
    words = row(100, (50, "Company Name:")) + row(100, (700, printed), block=2, conf=conf)
    app = application(company=company(company_name=typed))
    [name] = [m for m in match_fields(reading(words), app, TODAY) if m.field == "company_name"]
    return name.status


def test_a_legal_form_garbled_at_the_line_end_is_not_a_finding_but_the_name_still_is() -> None:
    typed = "Shenzhen Dongfang Technology Co., Ltd."
    assert name_status("Shenzhen Dongfang Technology Co., Lt", typed) is MatchStatus.MATCH
    assert name_status("Shenzhen Dongfang Technology Co, td", typed) is MatchStatus.MATCH
    assert name_status("Shenzhen Dongfang Technology Co., L1.", typed) is MatchStatus.MATCH
    assert name_status("Shenzhen Dongfang Technology Co., LP", typed) is not MatchStatus.MATCH
    assert name_status("Shenzhen DongfangTechnology Co.,Lt", typed) is MatchStatus.MATCH
    assert name_status("Shenzhen Dongfang Technologyxyz Co Ltd", typed) is not MatchStatus.MATCH
    assert name_status("Shenzhen Dongfang Technology Inc.", typed) is not MatchStatus.MATCH
    assert name_status("Shenzhen Dongfeng Technology Co., Lt", typed) is not MatchStatus.MATCH


def test_ocr_confusions_are_forgiven_only_where_ocr_makes_them() -> None:
    assert name_status("lronbridge Consulting Limited", "Ironbridge Consulting Ltd") == "match"
    assert name_status("Jingiao Foods Ltd", "Jinqiao Foods Ltd", conf=96) == "match"
    assert name_status("Jinqiao Foods Ltd", "Jlnqiao Foods Ltd", conf=70) == "match"  # unsure
    assert name_status("Jinqiao Foods Ltd", "Jlnqiao Foods Ltd", conf=96) == "partial"  # sure
    # a bold capital I read as two strokes, only when the reading is unsure
    split = "lIronbridge Logistics Limited"
    assert name_status(split, "Ironbridge Logistics Limited", conf=50) == "match"
    assert name_status(split, "Ironbridge Logistics Limited", conf=96) == "partial"


def test_a_name_line_read_twice_counts_with_its_better_reading() -> None:
    words = row(100, (50, "Company Name:")) + row(
        100, (700, "Hangzhou Changcheng Technology Sto e"), block=2
    )
    lines = lines_of(words)
    sharper = Word("Hangzhou Changcheng Technology Store", 97, (700, 100, 600, 30), (0, 0, 0))
    reread = {FieldName.COMPANY_NAME: Candidate(sharper.text, (sharper,), lines[0])}

    def status(typed: str, rereads: dict[FieldName, Candidate]) -> MatchStatus:
        app = application(company=company(company_name=typed))
        [name] = [
            m
            for m in match_fields(Reading(Side.FRONT, lines, lambda b: b, rereads), app, TODAY)
            if m.field == "company_name"
        ]
        return name.status

    typed = "Hangzhou Changcheng Technology Store"
    assert status(typed, {}) is not MatchStatus.MATCH  # the page reading alone: a false alarm
    assert status(typed, reread) is MatchStatus.MATCH
    # another company reads different in both readings: still flagged
    assert status("Hangzhou Changjiang Trading Store", reread) is not MatchStatus.MATCH


def bilingual_name_page(value: str, value_conf: float) -> list[Word]:
    """'名称 Name: <value>' with the English name on the line below, as China-site licences
    print it."""
    words = row(100, (50, "名称 Name:"))
    words += row(100, (400, value), conf=value_conf)
    words += row(150, (400, "Shenzhen Xinhai Trading Co., Ltd."))
    return words


def test_a_chinese_name_read_as_unsure_latin_letters_gives_way_to_the_english_below() -> None:
    misread = find(lines_of(bilingual_name_page("PRUE BPR", 16)), FieldName.COMPANY_NAME)
    assert misread is not None
    assert misread.text == "Shenzhen Xinhai Trading Co., Ltd"  # separators stripped
    # read with confidence, a Latin value on the label line is the value
    latin = find(lines_of(bilingual_name_page("Xinhai Holdings", 92)), FieldName.COMPANY_NAME)
    assert latin is not None
    assert latin.text == "Xinhai Holdings"
