"""Synthetic business registration certificates (front + back), drawn with a real TTF font.

Used by `kyb demo`, the tests and the benchmarks. Everything is derived from a seed, so a run
can be reproduced exactly; nothing here is a real company.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from schemas.enums import EntityType

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
BOLD_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
)

_COUNTRIES = {
    "SG": (
        "Republic of Singapore",
        "Accounting and Corporate Regulatory Authority",
        ["Central Region"],
        ["Singapore"],
    ),
    "GB": (
        "United Kingdom",
        "Registrar of Companies for England and Wales",
        ["England"],
        ["London", "Manchester", "Leeds"],
    ),
    "AU": (
        "Commonwealth of Australia",
        "Australian Securities and Investments Commission",
        ["New South Wales", "Victoria"],
        ["Sydney", "Melbourne"],
    ),
    "DE": (
        "Federal Republic of Germany",
        "Amtsgericht Handelsregister",
        ["Bavaria", "Berlin"],
        ["Munich", "Berlin"],
    ),
}
_NAME_A = [
    "Harbour",
    "Northwind",
    "Bluepeak",
    "Silverline",
    "Crescent",
    "Redwood",
    "Granite",
    "Lumen",
    "Orchid",
    "Summit",
    "Meridian",
    "Kestrel",
    "Beacon",
    "Willow",
]
_NAME_B = [
    "Logistics",
    "Trading",
    "Analytics",
    "Foods",
    "Robotics",
    "Textiles",
    "Consulting",
    "Software",
    "Marine",
    "Energy",
    "Ceramics",
    "Pharma",
]
_FORMS = {"SG": "Pte. Ltd.", "GB": "Limited", "AU": "Pty Ltd", "DE": "GmbH"}
_STREETS = [
    "Market Street",
    "Queen Road",
    "Harbour Drive",
    "Station Avenue",
    "Mill Lane",
    "Victoria Street",
    "Park Crescent",
]


@dataclass(frozen=True)
class CertificateSpec:
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
    extra: dict[str, str] = field(default_factory=dict)


def random_spec(rng: random.Random, country: str | None = None) -> CertificateSpec:
    country = country or rng.choice(sorted(_COUNTRIES))
    country_name, authority, states, cities = _COUNTRIES[country]
    name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {_FORMS[country]}"
    issued = date(2018, 1, 1) + timedelta(days=rng.randrange(0, 2500))
    return CertificateSpec(
        country=country,
        company_name=name,
        registration_number=_registration_number(rng, country),
        state_province=rng.choice(states),
        city=rng.choice(cities),
        address_line1=f"{rng.randrange(1, 300)} {rng.choice(_STREETS)}",
        issue_date=issued,
        expiry_date=None if rng.random() < 0.3 else issued + timedelta(days=365 * 10),
        authority=authority,
        country_name=country_name,
    )


def _registration_number(rng: random.Random, country: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    if country == "SG":
        return f"20{digits[:7]}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}"
    if country == "GB":
        return digits
    if country == "AU":
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}{rng.randrange(10)}"
    return f"HRB {digits[:6]}"


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (BOLD_CANDIDATES if bold else ()) + FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)  # Pillow's bundled FreeType font


def _fmt(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def render_front(spec: CertificateSpec, width: int = 1800) -> Image.Image:
    height = int(width * 0.70)
    image = Image.new("RGB", (width, height), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    unit = width / 1800
    margin = int(40 * unit)
    draw.rectangle(
        (margin, margin, width - margin, height - margin),
        outline=(20, 60, 120),
        width=max(4, int(14 * unit)),
    )
    draw.rectangle(
        (margin * 2, margin * 2, width - margin * 2, height - margin * 2),
        outline=(170, 140, 60),
        width=max(2, int(4 * unit)),
    )
    title_font, body_font = font(int(64 * unit), bold=True), font(int(40 * unit))
    label_font = font(int(40 * unit), bold=True)
    y = int(130 * unit)
    for text, fnt, colour in (
        (spec.country_name.upper(), font(int(44 * unit), bold=True), (20, 60, 120)),
        ("CERTIFICATE OF REGISTRATION", title_font, (120, 20, 20)),
    ):
        w = draw.textlength(text, font=fnt)
        draw.text(((width - w) / 2, y), text, font=fnt, fill=colour)
        y += int(100 * unit)
    y += int(30 * unit)
    rows = [
        ("Company Name:", spec.company_name),
        ("Registration No.:", spec.registration_number),
        ("Registered Address:", spec.address_line1),
        ("", f"{spec.city}, {spec.state_province}"),
        ("Date of Issue:", _fmt(spec.issue_date)),
        ("Valid Until:", _fmt(spec.expiry_date) if spec.expiry_date else "No expiry"),
        (
            "Entity Type:",
            "Sole Proprietorship"
            if spec.entity_type is EntityType.SOLE_PROPRIETORSHIP
            else "Private Company Limited by Shares",
        ),
    ]
    left, value_x = int(170 * unit), int(640 * unit)
    for label, value in rows:
        draw.text((left, y), label, font=label_font, fill=(40, 40, 40))
        draw.text((value_x, y), value, font=body_font, fill=(10, 10, 10))
        y += int(70 * unit)
    draw.text(
        (left, height - int(190 * unit)),
        f"Issued by: {spec.authority}",
        font=font(int(32 * unit)),
        fill=(60, 60, 60),
    )
    _seal(draw, (width - int(330 * unit), height - int(330 * unit)), int(120 * unit))
    return image


def render_back(spec: CertificateSpec, width: int = 1800) -> Image.Image:
    height = int(width * 0.70)
    image = Image.new("RGB", (width, height), (246, 244, 236))
    draw = ImageDraw.Draw(image)
    unit = width / 1800
    margin = int(40 * unit)
    draw.rectangle(
        (margin, margin, width - margin, height - margin),
        outline=(20, 60, 120),
        width=max(4, int(10 * unit)),
    )
    y = int(140 * unit)
    lines = [
        ("CONDITIONS OF REGISTRATION", font(int(54 * unit), bold=True)),
        (f"Registration No.: {spec.registration_number}", font(int(38 * unit))),
        ("1. This certificate must be displayed at the registered office.", font(int(34 * unit))),
        (
            "2. Changes to the registered particulars must be filed within 14 days.",
            font(int(34 * unit)),
        ),
        (
            "3. This certificate remains the property of the issuing authority.",
            font(int(34 * unit)),
        ),
    ]
    for text, fnt in lines:
        draw.text((int(150 * unit), y), text, font=fnt, fill=(30, 30, 30))
        y += int(90 * unit)
    _seal(draw, (int(300 * unit), height - int(280 * unit)), int(100 * unit))
    return image


def _seal(draw: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int) -> None:
    x, y = centre
    draw.ellipse(
        (x - radius, y - radius, x + radius, y + radius),
        outline=(190, 30, 30),
        width=max(3, radius // 12),
    )
    inner = int(radius * 0.75)
    draw.ellipse(
        (x - inner, y - inner, x + inner, y + inner),
        outline=(190, 30, 30),
        width=max(2, radius // 20),
    )
    seal_font = font(max(10, radius // 4), bold=True)
    w = draw.textlength("SEAL", font=seal_font)
    draw.text((x - w / 2, y - radius // 7), "SEAL", font=seal_font, fill=(190, 30, 30))


def write_pair(
    spec: CertificateSpec, folder: Path, stem: str, width: int = 1800
) -> tuple[Path, Path]:
    """Render both sides as JPEG files; returns (front, back)."""
    folder.mkdir(parents=True, exist_ok=True)
    front, back = folder / f"{stem}-front.jpg", folder / f"{stem}-back.jpg"
    render_front(spec, width).save(front, quality=90)
    render_back(spec, width).save(back, quality=90)
    return front, back


def with_typo(spec: CertificateSpec, rng: random.Random) -> CertificateSpec:
    """The same certificate with two digits of the registration number swapped (typed wrongly)."""
    chars = list(spec.registration_number)
    digits = [i for i, ch in enumerate(chars) if ch.isdigit()]
    for _ in range(10):
        i, j = rng.sample(digits, 2)
        if chars[i] != chars[j]:
            chars[i], chars[j] = chars[j], chars[i]
            break
    return replace(spec, registration_number="".join(chars))
