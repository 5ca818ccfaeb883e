"""Registration-number normalisation and format / check-digit validation per country.

python-stdnum where it has a validator; our own rules where it has none (UK Companies House,
Hong Kong BR, German register numbers) or is stricter than real codes (China's USCC:
stdnum refuses some letter-prefixed registration-authority codes that are in use).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.au import abn, acn
from stdnum.fr import siren
from stdnum.in_ import gstin
from stdnum.jp import cn as jp_corporate
from stdnum.sg import uen

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_UK_PREFIXES = (
    "SC",
    "NI",
    "OC",
    "SO",
    "NC",
    "R0",
    "LP",
    "SL",
    "NL",
    "FC",
    "SF",
    "NF",
    "IP",
    "SP",
    "IC",
    "SI",
    "NP",
    "NV",
    "RC",
    "SR",
    "NR",
    "NO",
    "GE",
    "GN",
    "GS",
    "CE",
    "CS",
)


def normalise(number: str) -> str:
    """Upper case without spaces, dots, dashes or slashes: how registries compare numbers."""
    return re.sub(r"[\s.\-/]", "", number).upper()


# Characters OCR confuses; folded only when comparing a typed number with a read one.
_CONFUSABLE = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "|": "1", "Z": "2", "S": "5", "B": "8"}
)


def fold(number: str) -> str:
    """For comparing typed and read numbers: letters and digits only, confusables unified."""
    return re.sub(r"[^0-9A-Z]", "", normalise(number).translate(_CONFUSABLE))


@dataclass(frozen=True)
class Validation:
    valid: bool | None  # None: no rule for this country
    rule: str
    sole_proprietorship: bool = False


def uscc_is_valid(code: str) -> bool:
    code = normalise(code)
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    total = sum(USCC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(code[:17]))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def _uk(number: str) -> bool:
    return bool(re.fullmatch(r"\d{8}", number)) or (
        number[:2] in _UK_PREFIXES and bool(re.fullmatch(r"\d{6}", number[2:]))
    )


def _australia(number: str) -> bool:
    return bool(acn.is_valid(number) or abn.is_valid(number))


_RULES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "SG": ("SG UEN (python-stdnum)", uen.is_valid),
    "JP": ("JP corporate number (python-stdnum)", jp_corporate.is_valid),
    "AU": ("AU ACN/ABN (python-stdnum)", _australia),
    "FR": ("FR SIREN (python-stdnum)", siren.is_valid),
    "IN": ("IN GSTIN (python-stdnum)", gstin.is_valid),
    "GB": ("UK Companies House number", _uk),
    "HK": ("HK Business Registration number", lambda n: bool(re.fullmatch(r"\d{8}", n))),
    "DE": (
        "DE commercial register number",
        lambda n: bool(re.fullmatch(r"(HRA|HRB|GNR|PR|VR)\d{1,6}[A-Z]?", n)),
    ),
    "CN": ("CN Unified Social Credit Code", uscc_is_valid),
}


def validate(number: str, country: str) -> Validation:
    normalised = normalise(number)
    rule = _RULES.get(country.upper())
    if rule is None:
        return Validation(None, "no format rule for this country")
    name, check = rule
    sole = country.upper() == "CN" and normalised.startswith("92")
    return Validation(bool(check(normalised)), name, sole)
