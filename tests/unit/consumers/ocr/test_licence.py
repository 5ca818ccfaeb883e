"""Chinese licence fields by label and position, and the USCC repair (hand-made words)."""

from __future__ import annotations

from datetime import date

import pytest

from consumers.ocr.engines import Word, _split_line
from consumers.ocr.extract import Line, lines_of
from consumers.ocr.licence import uscc_candidate, uscc_readings, value
from consumers.ocr.matching import Reading, match_fields
from consumers.ocr.registration import uscc_is_valid
from schemas.enums import FieldName, MatchStatus, Side
from tests.helpers import application, company

CODE = "91310115MA1K3YJ52L"  # valid: GB 32100-2015 check character
TODAY = date(2026, 11, 26)


def cell(x: int, y: int, text: str, width: int = 300) -> list[Word]:
    """One detected text box, split into words as the RapidOCR engine does."""
    return _split_line(text, 97.0, (x, y, width, 32), (1, 1, y))


def national_two_columns() -> list[Line]:
    """The 2019 format: code under its label top left, fields in two columns, spread labels."""
    words = [
        *cell(150, 200, "统一社会信用代码"),
        *cell(150, 250, CODE),
        *cell(700, 220, "营业执照", 400),
        *cell(150, 430, "名　　称", 120),
        *cell(390, 430, "上海天元贸易有限公司"),
        *cell(960, 430, "注册资本", 120),
        *cell(1170, 430, "贰佰万元整"),
        *cell(150, 508, "类型", 120),
        *cell(390, 508, "有限责任公司(自然人投资或控股)"),
        *cell(960, 508, "成立日期", 120),
        *cell(1170, 508, "2018年5月9日"),
        *cell(960, 586, "营业期限", 120),
        *cell(1170, 586, "长期"),
        *cell(960, 664, "住　　所", 120),
        *cell(1170, 664, "上海市中山路577号"),
    ]
    return lines_of(words)


def test_labels_are_found_anywhere_in_their_row_with_spread_characters() -> None:
    lines = national_two_columns()
    name = value(lines, FieldName.COMPANY_NAME)
    assert name is not None
    assert name.text == "上海天元贸易有限公司"  # not the right column's 注册资本 beside it
    issued = value(lines, FieldName.ISSUE_DATE)
    assert issued is not None
    assert issued.text == "2018年5月9日"
    address = value(lines, FieldName.ADDRESS_LINE1)
    assert address is not None
    assert address.text == "上海市中山路577号"


def test_a_label_alone_in_its_row_takes_the_value_below() -> None:
    candidate = uscc_candidate(national_two_columns())
    assert candidate is not None
    assert candidate.text == CODE
    assert candidate.words[0].box[1] == 250  # the evidence box is the code's, not the label's


def test_a_code_read_in_two_pieces_is_joined() -> None:
    lines = lines_of(
        [*cell(150, 200, "统一社会信用代码", 300), *cell(500, 200, "91310115 MA1K3YJ52L")]
    )
    candidate = uscc_candidate(lines)
    assert candidate is not None
    assert candidate.text == CODE


def test_label_and_value_read_as_one_box_are_parted() -> None:
    lines = lines_of([*cell(150, 300, "名称：深圳恒通物流有限公司", 600)])
    candidate = value(lines, FieldName.COMPANY_NAME)
    assert candidate is not None
    assert candidate.text == "深圳恒通物流有限公司"


def test_bilingual_rows_skip_the_english_label() -> None:
    lines = lines_of([*cell(150, 300, "名称 Name:", 500), *cell(960, 300, "深圳恒通物流有限公司")])
    candidate = value(lines, FieldName.COMPANY_NAME)
    assert candidate is not None
    assert candidate.text == "深圳恒通物流有限公司"


def test_a_missing_label_gives_none() -> None:
    assert value(lines_of(cell(150, 300, "营业执照")), FieldName.COMPANY_NAME) is None
    assert value(lines_of(cell(150, 300, "营业执照")), FieldName.ISSUE_DATE) is None


def test_a_name_whose_label_was_not_read_is_found_by_its_shape() -> None:
    """The seal over 名称, or a misread glyph: the business name still ends like one, and the
    type (有限责任公司) is not taken for it."""
    lines = lines_of(
        [
            *cell(150, 300, "名移", 120),  # 名称 misread
            *cell(390, 300, "上海天元贸易有限公司"),
            *cell(150, 380, "类型", 120),
            *cell(390, 380, "有限责任公司"),
        ]
    )
    candidate = value(lines, FieldName.COMPANY_NAME)
    assert candidate is not None
    assert candidate.text == "上海天元贸易有限公司"
    assert value(lines_of(cell(390, 380, "有限责任公司")), FieldName.COMPANY_NAME) is None


@pytest.mark.parametrize(
    ("read", "confused"),
    [
        ("91310115MA1K3YJ52L", None),
        ("9131O115MA1K3YJ52L", "O"),
        ("91310115MA1K3YJ5ZL", "Z"),
        ("91310115MA1K3Y]52L", "]"),
        ("9|310115MA1K3YJ52L", "|"),
    ],
)
def test_one_confusion_is_undone_when_exactly_one_repair_validates(
    read: str, confused: str | None
) -> None:
    assert uscc_is_valid(CODE)
    assert uscc_readings(read) == [CODE]
    assert (read != CODE) is (confused is not None)


def test_a_doubled_character_read_once_is_restored_by_the_check_character() -> None:
    # PP-OCR's CTC decoding merges repeats: the "11" of the code comes out as "1"
    collapsed = CODE.replace("0115", "015")
    assert len(collapsed) == 17
    assert uscc_readings(collapsed) == [CODE]
    assert uscc_readings(CODE[:-2]) == []  # two characters short: no reading


def test_several_valid_repairs_match_the_typed_code_only_if_it_is_one_of_them() -> None:
    printed, ambiguous = "91310115MA0K3YJ52E", "9131015MA0K3YJ52E"  # 11 read as 1
    assert uscc_is_valid(printed)
    assert len(uscc_readings(ambiguous)) == 2  # doubling the 3 validates too
    lines = lines_of([*cell(150, 100, "统一社会信用代码"), *cell(450, 100, ambiguous)])
    reading = Reading(Side.FRONT, lines, lambda box: box)

    def verdict(number: str) -> MatchStatus:
        typed = application(
            company=company(company_name="上海天元贸易有限公司", registration_number=number),
            registered_country="CN",
        )
        [match] = [
            m
            for m in match_fields(reading, typed, TODAY)
            if m.field is FieldName.REGISTRATION_NUMBER
        ]
        return match.status

    assert verdict(printed) is MatchStatus.MATCH
    other = next(code for code in uscc_readings(ambiguous) if code != printed)
    assert verdict(other) is MatchStatus.MATCH  # as consistent with the reading as printed
    assert verdict(CODE) is not MatchStatus.MATCH


def test_no_repair_when_none_or_several_validate() -> None:
    # two confusions: out of reach of a single repair
    assert uscc_readings("9I31O115MA1K3YJ52L") == []
    # a wrong digit that is no confusion (3 for 4) is not "repaired" into anything
    wrong = CODE[:5] + ("4" if CODE[5] != "4" else "6") + CODE[6:]
    assert CODE not in uscc_readings(wrong)


def test_chinese_typed_name_is_matched_against_the_printed_chinese_name() -> None:
    lines = national_two_columns()
    reading = Reading(Side.FRONT, lines, lambda box: box)

    def verdicts(name: str, number: str) -> dict[FieldName, MatchStatus]:
        typed = application(
            site="china",
            registered_country="CN",
            company=company(company_name=name, registration_number=number),
        )
        return {m.field: m.status for m in match_fields(reading, typed, TODAY)}

    exact = verdicts("上海天元贸易有限公司", CODE)
    assert exact[FieldName.COMPANY_NAME] is MatchStatus.MATCH
    assert exact[FieldName.REGISTRATION_NUMBER] is MatchStatus.MATCH
    assert exact[FieldName.EXPIRY_DATE] is MatchStatus.MATCH  # 长期: no expiry
    typo = verdicts("上海天圆贸易有限公司", CODE[:10] + CODE[11] + CODE[10] + CODE[12:])
    assert typo[FieldName.COMPANY_NAME] in (MatchStatus.PARTIAL, MatchStatus.MISMATCH)
    assert typo[FieldName.REGISTRATION_NUMBER] is MatchStatus.MISMATCH


def test_names_that_differ_only_by_spaces_match() -> None:
    lines = lines_of(cell(150, 300, "Name: ShenzhenHengtong Logistics Co.,Ltd", 900))
    reading = Reading(Side.FRONT, lines, lambda box: box)
    typed = application(company=company(company_name="Shenzhen Hengtong Logistics Co., Ltd."))
    by_field = {m.field: m for m in match_fields(reading, typed, TODAY)}
    assert by_field[FieldName.COMPANY_NAME].status is MatchStatus.MATCH
