from __future__ import annotations

import random
from datetime import date

import pytest

from consumers.ocr.registration import fold, normalise, uscc_is_valid, validate
from consumers.ocr.text import company_key, find_country, parse_dates, says_no_expiry
from producers.synthetic import uscc


def test_uscc_check_character_and_alphabet() -> None:
    assert uscc_is_valid("91110000600037341L")  # a published example
    assert not uscc_is_valid("91110000600037341M")  # wrong check character
    assert not uscc_is_valid("9111000060003734IL")  # I is not in the alphabet
    assert not uscc_is_valid("9111000060003734")  # too short
    rng = random.Random(3)
    assert all(uscc_is_valid(uscc(rng)) for _ in range(50))


def test_uscc_92_prefix_marks_an_individually_owned_business() -> None:
    code = uscc(random.Random(1), sole_proprietorship=True)
    result = validate(code, "CN")
    assert result.valid is True
    assert result.sole_proprietorship is True


@pytest.mark.parametrize(
    ("number", "country", "valid"),
    [
        ("201912345K", "SG", False),
        ("08377835", "GB", True),
        ("SC123456", "GB", True),
        ("XX123456", "GB", False),
        ("12345678", "HK", True),
        ("1234567", "HK", False),
        ("HRB 123456", "DE", True),
    ],
)
def test_country_rules(number: str, country: str, valid: bool) -> None:
    assert validate(number, country).valid is valid


def test_country_without_a_rule_says_so() -> None:
    assert validate("123", "BR").valid is None


def test_numbers_compare_without_spacing_and_ocr_confusions() -> None:
    assert normalise(" 344-978.696 ") == "344978696"
    assert fold("91872548 DRFXWOQ5S7") == fold("91872548DRFXW0Q557")
    assert fold("1234)5678") == fold("12345678")


@pytest.mark.parametrize(
    ("typed", "printed"),
    [
        ("Harbour Logistics Pte Ltd", "Harbour Logistics Pte. Ltd."),
        ("HARBOUR LOGISTICS PRIVATE LIMITED", "Harbour Logistics Pte. Ltd."),
        ("Suzhou Jinqiao Logistics Company Limited", "Suzhou Jinqiao Logistics Co., Ltd."),
        ("Acme Corp.", "ACME CORPORATION"),
        ("Acme Inc", "Acme, Incorporated"),
        ("Smith & Sons GmbH", "Smith and Sons G.m.b.H."),
    ],
)
def test_legal_form_synonyms_normalise_alike(typed: str, printed: str) -> None:
    assert company_key(typed) == company_key(printed)


def test_different_names_stay_different() -> None:
    assert company_key("Harbour Logistics Ltd") != company_key("Harbor Logistics Ltd")


def test_dates_in_many_formats() -> None:
    text = "2026-03-01 01/03/2026 1 March 2026 March 1, 2026 2026年3月1日"
    assert parse_dates(text, "GB") == [date(2026, 3, 1)] * 5
    assert parse_dates("03/01/2026", "US") == [date(2026, 3, 1)]
    assert parse_dates("31/02/2026") == []


def test_no_expiry_wording() -> None:
    assert says_no_expiry("Valid Until: No expiry")
    assert says_no_expiry("营业期限 长期")
    assert not says_no_expiry("Valid Until: 2030-01-01")


def test_issuing_country_from_the_text() -> None:
    assert find_country("REPUBLIC OF SINGAPORE\nCERTIFICATE") == "SG"
    assert find_country("Certificate of Incorporation\nUnited Kingdom") == "GB"
    assert find_country("营业执照\nBUSINESS LICENSE") == "CN"
    assert find_country("nothing here") is None
