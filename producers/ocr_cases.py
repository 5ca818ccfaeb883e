"""Labelled OCR cases: a certificate (photo, scan, PDF or screenshot), what the customer
typed, and which typed fields truly differ from the certificate. Used by the OCR accuracy
report, benchmark and tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date

from producers.media import Medium, born_digital_pdf, make_medium
from producers.photos import encode, make_case, to_bgr
from producers.synthetic import CertificateSpec, random_spec, render_front, swap_digits
from schemas.enums import AccountType, FieldName, Site
from schemas.events import Application, CompanyDetails

TODAY = date(2026, 11, 26)
_ABBREVIATIONS = (
    ("Limited", "Ltd"),
    ("Pte. Ltd.", "Pte Ltd"),
    ("Company Limited", "Co. Ltd."),
    ("Co., Ltd.", "Company Limited"),
    ("Pty Ltd", "Pty. Ltd."),
    ("Corporation", "Corp."),
)


@dataclass(frozen=True)
class OcrCase:
    spec: CertificateSpec
    typed: dict[str, str]  # CompanyDetails fields
    truly_mismatched: frozenset[FieldName]  # includes EXPIRY_DATE when the certificate expired
    variant: str
    front: bytes

    def application(self) -> Application:
        """The submission's application as the customer filled it in (no documents attached)."""
        return Application(
            site=self.spec.site,
            account_type=AccountType.INDIVIDUAL,
            registered_country=self.spec.country,
            contact_email="case@kyb.example",
            company=CompanyDetails.model_validate(self.typed),
            mainland_resources=False,
            documents=(),
        )


def _name_variant(name: str, rng: random.Random) -> tuple[str, str, bool]:
    """(typed name, variant label, is a real mismatch)."""
    roll = rng.random()
    if roll < 0.25:
        for long, short in _ABBREVIATIONS:
            if name.endswith(long):
                return name[: -len(long)] + short, "legal form abbreviated", False
        return name.upper(), "upper case", False
    if roll < 0.35:
        return name.upper().replace(",", "").replace(".", ""), "case and punctuation", False
    if roll < 0.5:
        letters = [i for i, ch in enumerate(name) if ch.isalpha() and ch.islower()]
        i = rng.choice(letters)
        typo = name[:i] + rng.choice([c for c in "aeioulnrst" if c != name[i]]) + name[i + 1 :]
        return typo, "name typo", True
    if roll < 0.55:
        return f"{name.split()[0]} Global Holdings Ltd", "different company", True
    return name, "exact", False


def _chinese_name_variant(name: str, rng: random.Random) -> tuple[str, str, bool]:
    """(typed name, variant label, is a real mismatch) for a name printed in Chinese only."""
    roll = rng.random()
    if roll < 0.15:  # one character of the trade name typed as another (a homophone)
        i = rng.randrange(2, 6)
        other = rng.choice([c for c in "恒衡华化东冬方芳通同信新" if c != name[i]])
        return name[:i] + other + name[i + 1 :], "name typo", True
    if roll < 0.2:
        return name[:2] + "宏远" + name[4:], "different company", True
    if roll < 0.3 and name.endswith("有限公司"):
        return name + " ", "trailing space", False
    return name, "exact", False


def _number_variant(number: str, rng: random.Random) -> tuple[str, str, bool]:
    roll = rng.random()
    if roll < 0.12:
        return swap_digits(number, rng), "registration digits swapped", True
    if roll < 0.2:
        digits = [i for i, ch in enumerate(number) if ch.isdigit()]
        i = rng.choice(digits)
        wrong = number[:i] + str((int(number[i]) + rng.randint(1, 8)) % 10) + number[i + 1 :]
        return wrong, "registration digit wrong", True
    if roll < 0.3:
        spaced = " ".join(number[i : i + 4] for i in range(0, len(number.replace(" ", "")), 4))
        return (
            spaced if number.replace(" ", "") == spaced.replace(" ", "") else number,
            "spaced",
            False,
        )
    return number, "exact", False


def make_ocr_case(seed: int, site: Site | None = None, medium: Medium = Medium.PHOTO) -> OcrCase:
    """A certificate and what the customer typed; the front uploaded as `medium` (born-digital
    PDFs are Latin-script e-certificates, so they are made for the international site)."""
    rng = random.Random(seed)
    if medium is Medium.BORN_DIGITAL:
        site = Site.INTERNATIONAL
    site = site or (Site.CHINA if rng.random() < 0.3 else Site.INTERNATIONAL)
    spec = random_spec(rng, site=site)
    if rng.random() < 0.12 and spec.expiry_date is not None:
        spec = replace(spec, expiry_date=date(2025, rng.randint(1, 12), rng.randint(1, 28)))
    name, name_variant, name_bad = (
        _chinese_name_variant(spec.name_zh, rng)
        if spec.chinese_only
        else _name_variant(spec.company_name, rng)
    )
    number, number_variant, number_bad = _number_variant(spec.registration_number, rng)
    city, city_bad = spec.city, False
    if rng.random() < 0.1:
        city, city_bad = (
            rng.choice(
                [c for c in ("Leeds", "Perth", "Osaka", "Wuhan", "Kowloon Bay") if c != spec.city]
            ),
            True,
        )
    wrong = {
        field
        for field, bad in (
            (FieldName.COMPANY_NAME, name_bad),
            (FieldName.REGISTRATION_NUMBER, number_bad),
            (FieldName.CITY, city_bad),
        )
        if bad
    }
    if spec.expiry_date is not None and spec.expiry_date < TODAY:
        wrong.add(FieldName.EXPIRY_DATE)
    typed = {
        "company_name": name,
        "registration_number": number,
        "state_province": spec.state_province,
        "city": city,
        "address_line1": spec.address_line1,
        "entity_type": spec.entity_type.value,
    }
    variant = ", ".join(v for v in (name_variant, number_variant) if v != "exact") or "exact"
    if medium is Medium.PHOTO:
        image = make_case(spec, rng, None, "front")
        front = encode(image, ".jpg", rng.randint(80, 95))
    elif medium is Medium.BORN_DIGITAL:
        front = born_digital_pdf(spec)
    else:
        front = make_medium(to_bgr(render_front(spec, 1800)), medium, rng)[0]
    return OcrCase(spec, typed, frozenset(wrong), variant, front)
