"""Normalising what people type and what OCR reads, so the two can be compared fairly."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date
from functools import lru_cache

import pycountry

# Legal forms written many ways; each maps to one canonical token sequence.
#: A CJK ideograph (Chinese text on licences; matched by position and label, not by word).
CJK = re.compile(r"[\u3400-\u9fff]")

_LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    (r"有限责任公司|有限公司", " co ltd "),
    (r"\bprivate limited\b", " pte ltd "),
    (r"\bpte\.?\s*ltd\.?", " pte ltd "),
    (r"\bproprietary limited\b", " pty ltd "),
    (r"\bpty\.?\s*ltd\.?", " pty ltd "),
    (r"\bcompany limited\b", " co ltd "),
    (r"\bco\.?,?\s*ltd\.?", " co ltd "),
    (r"\blimited\b", " ltd "),
    (r"\bltd\b\.?", " ltd "),
    (r"\bcompany\b", " co "),
    (r"\bco\b\.?", " co "),
    (r"\bincorporated\b", " inc "),
    (r"\binc\b\.?", " inc "),
    (r"\bcorporation\b", " corp "),
    (r"\bcorp\b\.?", " corp "),
    (r"\bg\.?m\.?b\.?h\.?", " gmbh "),
    (r"\bl\.?l\.?c\.?", " llc "),
)


#: The canonical legal-form words `company_key` leaves at the end of a name.
LEGAL_FORM_WORDS = frozenset({"co", "ltd", "pte", "pty", "inc", "corp", "gmbh", "llc"})


def split_legal_form(key: str) -> tuple[str, str]:
    """A `company_key` as (distinctive name, legal form): "acme trading co ltd" gives
    ("acme trading", "co ltd")."""
    words = key.split()
    cut = len(words)
    while cut > 1 and words[cut - 1] in LEGAL_FORM_WORDS:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def fold_text(text: str) -> str:
    """NFKC, case-folded, '&' as 'and', whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    return re.sub(r"\s+", " ", text).strip()


def company_key(name: str) -> str:
    """A company name reduced to what identifies it: legal forms unified, punctuation dropped."""
    text = fold_text(name)
    for pattern, canonical in _LEGAL_FORMS:
        text = re.sub(pattern, canonical, text)
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def loose(text: str) -> str:
    """Letters and digits only, for finding a typed value inside OCR text."""
    return re.sub(r"[\W_]+", "", fold_text(text))


_MONTHS = {
    m.lower(): i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})
_NO_EXPIRY = re.compile(r"no expiry|not applicable|perpetual|long[- ]?term|indefinite|长期|永久")
_MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "PW", "MH"}


def parse_dates(text: str, country: str = "") -> list[date]:
    """Every date in `text`, in order: ISO, D/M/Y (M/D/Y in the US), '1 March 2026',
    'March 1, 2026' and '2026年3月1日'."""
    found: list[tuple[int, date]] = []
    lowered = fold_text(text)

    def add(position: int, year: int, month: int, day: int) -> None:
        with contextlib.suppress(ValueError):  # 31 February and friends
            found.append((position, date(year, month, day)))

    for m in re.finditer(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", lowered):
        add(m.start(), int(m[1]), int(m[2]), int(m[3]))
    for m in re.finditer(r"\b(\d{4})[-./](\d{1,2})[-./](\d{1,2})\b", lowered):
        add(m.start(), int(m[1]), int(m[2]), int(m[3]))
    for m in re.finditer(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\b", lowered):
        first, second = int(m[1]), int(m[2])
        month_first = country.upper() in _MONTH_FIRST_COUNTRIES
        month, day = (first, second) if month_first else (second, first)
        add(m.start(), int(m[3]), month, day)
    for m in re.finditer(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?,?\s+(\d{4})\b", lowered):
        if m[2] in _MONTHS or m[2][:3] in _MONTHS:
            add(m.start(), int(m[3]), _MONTHS.get(m[2], _MONTHS.get(m[2][:3], 0)), int(m[1]))
    for m in re.finditer(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", lowered):
        if m[1] in _MONTHS or m[1][:3] in _MONTHS:
            add(m.start(), int(m[3]), _MONTHS.get(m[1], _MONTHS.get(m[1][:3], 0)), int(m[2]))
    return [day for _, day in sorted(found, key=lambda item: item[0])]


def says_no_expiry(text: str) -> bool:
    return bool(_NO_EXPIRY.search(fold_text(text)))


@lru_cache(maxsize=1)
def _country_names() -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.append((fold_text(value), country.alpha_2))
    names += [
        ("united kingdom", "GB"),
        ("england and wales", "GB"),
        ("hong kong", "HK"),
        ("people's republic of china", "CN"),
        ("中华人民共和国", "CN"),
        ("commonwealth of australia", "AU"),
        ("republic of singapore", "SG"),
    ]
    return sorted(names, key=lambda item: -len(item[0]))  # longest first: "Republic of X"


_MARKERS = (("营业执照", "CN"), ("统一社会信用代码", "CN"), ("unified social credit code", "CN"))


def find_country(text: str) -> str | None:
    """The first country named in `text` (ISO alpha-2), preferring the earliest mention;
    a Chinese business licence names no country but is unmistakable."""
    lowered = fold_text(text)
    for marker, code in _MARKERS:
        if marker in lowered.replace(" ", ""):
            return code
    best: tuple[int, str] | None = None
    for name, code in _country_names():
        if len(name) < 4:
            continue
        match = re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", lowered)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), code)
    return best[1] if best else None
