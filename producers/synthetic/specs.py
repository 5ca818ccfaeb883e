"""What a synthetic certificate says: a seeded, valid-looking `CertificateSpec` per country
(registration numbers pass each country's check digits; Chinese licences carry a valid USCC),
typos for mismatch cases, and the portal form a customer would type."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from stdnum.au import acn
from stdnum.jp import cn as jp_cn
from stdnum.sg import uen

from producers.synthetic.data import (
    CJK_FONTS,
    CN_BILINGUAL_LAYOUTS,
    CN_CAPITALS,
    CN_GIVEN,
    CN_LAYOUTS,
    CN_PLACES,
    CN_ROADS,
    CN_SCOPES,
    CN_SURNAMES,
    CN_TRADES,
    CN_WORDS,
    COUNTRIES,
    FONT_FAMILIES,
    LAYOUTS,
    NAME_A,
    NAME_B,
    STREETS,
)
from schemas.enums import EntityType, Site


@dataclass(frozen=True)
class CertificateSpec:
    """What the certificate says (the truth the OCR stage should read)."""

    country: str
    company_name: str
    registration_number: str
    state_province: str
    city: str
    address_line1: str
    issue_date: date
    expiry_date: date | None
    entity_type: EntityType = EntityType.COMPANY
    authority: str = ""
    country_name: str = ""
    site: Site = Site.INTERNATIONAL
    layout: int = 0
    font: str = "sans"
    name_zh: str = ""
    address_zh: str = ""
    cjk_font: str = "hei"  # a key of CJK_FONTS
    representative_zh: str = ""
    capital_zh: str = ""
    scope_zh: str = ""

    @property
    def chinese_only(self) -> bool:
        """A licence in the national format prints the name in Chinese only."""
        return self.site is Site.CHINA and self.layout >= CN_BILINGUAL_LAYOUTS

    @property
    def typed_company_name(self) -> str:
        """What the customer types: the English version when the licence has one (the
        portal's rule), else the name as printed."""
        return self.name_zh if self.chinese_only else self.company_name


def uscc(rng: random.Random, sole_proprietorship: bool = False) -> str:
    """A valid 18-character Unified Social Credit Code (92… for individually-owned businesses)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    head = "92" if sole_proprietorship else rng.choice(("91", "91", "91", "93", "Y1"))
    body = head + "".join(rng.choice("0123456789") for _ in range(6))
    body += "".join(rng.choice(alphabet) for _ in range(9))
    total = sum(alphabet.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    return body + alphabet[(31 - total % 31) % 31]


def _registration_number(rng: random.Random, country: str, sole: bool) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    if country == "SG":
        base = f"{rng.randint(1995, 2023)}{digits[:5]}"
        return base + uen.calc_local_company_check_digit(base)
    if country == "GB":  # 8 digits, or a Scottish / Northern Irish prefix and 6 digits
        return rng.choice(("SC", "NI")) + digits[:6] if rng.random() < 0.2 else digits[:8]
    if country == "AU":
        base = digits[:8]
        number = base + acn.calc_check_digit(base)
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    if country == "JP":
        base = digits[:12]
        return jp_cn.calc_check_digit(base) + base
    if country == "HK":
        return digits[:8]
    return uscc(rng, sole)


def random_spec(
    rng: random.Random, country: str | None = None, site: Site | None = None
) -> CertificateSpec:
    site = site or (Site.CHINA if country == "CN" else Site.INTERNATIONAL)
    issued = date(2016, 1, 1) + timedelta(days=rng.randrange(0, 3000))
    expiry = None if rng.random() < 0.3 else issued + timedelta(days=365 * rng.choice((5, 10, 20)))
    if site is Site.CHINA:
        return _chinese_spec(rng, issued, expiry)
    country = country or rng.choice(sorted(COUNTRIES))
    country_name, authority, states, cities, form = COUNTRIES[country]
    sole = rng.random() < 0.1
    name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}"
    name = f"{name} Enterprises" if sole else f"{name} {form}"
    return CertificateSpec(
        country=country,
        company_name=name,
        registration_number=_registration_number(rng, country, sole),
        state_province=rng.choice(states),
        city=rng.choice(cities),
        address_line1=f"{rng.randrange(1, 300)} {rng.choice(STREETS)}",
        issue_date=issued,
        expiry_date=expiry,
        entity_type=EntityType.SOLE_PROPRIETORSHIP if sole else EntityType.COMPANY,
        authority=authority,
        country_name=country_name,
        layout=rng.randrange(LAYOUTS),
        font=rng.choice(sorted(FONT_FAMILIES)),
    )


def _chinese_spec(rng: random.Random, issued: date, expiry: date | None) -> CertificateSpec:
    city_zh, city_en, state_zh, state_en = rng.choice(CN_PLACES)
    word_zh, word_en = rng.choice(CN_WORDS)
    trade_zh, trade_en = rng.choice(CN_TRADES)
    sole = rng.random() < 0.15
    if sole:
        name_zh, name_en = (
            f"{city_zh[:2]}{word_zh}{trade_zh}经营部",
            f"{city_en} {word_en} {trade_en} Store",
        )
    else:
        name_zh = f"{city_zh[:2]}{word_zh}{trade_zh}有限公司"
        name_en = f"{city_en} {word_en} {trade_en} Co., Ltd."
    number = rng.randrange(1, 999)
    road_zh, road_en = rng.choice(CN_ROADS)
    return CertificateSpec(
        country="CN",
        company_name=name_en,
        registration_number=uscc(rng, sole),
        state_province=state_en,
        city=city_en,
        address_line1=f"No. {number} {road_en} Road",
        issue_date=issued,
        expiry_date=expiry,
        entity_type=EntityType.SOLE_PROPRIETORSHIP if sole else EntityType.COMPANY,
        authority="State Administration for Market Regulation",
        country_name="People's Republic of China",
        site=Site.CHINA,
        layout=rng.randrange(CN_LAYOUTS),
        font=rng.choice(sorted(FONT_FAMILIES)),
        name_zh=name_zh,
        address_zh=f"{state_zh}{city_zh}{road_zh}{number}号",
        cjk_font=rng.choice(sorted(CJK_FONTS)),
        representative_zh=rng.choice(CN_SURNAMES) + "".join(rng.sample(CN_GIVEN, 2)),
        capital_zh=rng.choice(CN_CAPITALS),
        scope_zh=rng.choice(CN_SCOPES),
    )


def with_typo(spec: CertificateSpec, rng: random.Random) -> CertificateSpec:
    """The same certificate with two digits of the registration number swapped (typed wrongly)."""
    return replace(spec, registration_number=swap_digits(spec.registration_number, rng))


def swap_digits(number: str, rng: random.Random) -> str:
    chars = list(number)
    digits = [i for i, ch in enumerate(chars) if ch.isdigit()]
    for _ in range(20):
        i, j = rng.sample(digits, 2)
        if chars[i] != chars[j]:
            chars[i], chars[j] = chars[j], chars[i]
            break
    return "".join(chars)


def portal_form(
    spec: CertificateSpec, account_id: str, contact_email: str, **answers: object
) -> dict[str, object]:
    """The portal form of a customer who typed `spec` (for the demo, tests and benchmarks);
    `answers` adds or overrides fields such as `mainland_resources` or `locale`."""
    return {
        "account_id": account_id,
        "registered_country": spec.country,
        "contact_email": contact_email,
        "company": {
            "company_name": spec.typed_company_name,
            "registration_number": spec.registration_number,
            "state_province": spec.state_province,
            "city": spec.city,
            "address_line1": spec.address_line1,
            "entity_type": spec.entity_type,
        },
    } | answers
