"""Typed fields against what the certificate says: a score, a status and the evidence.

Statuses: `match` (the same after normalisation), `partial` (close, e.g. one letter apart:
the reviewer must look), `mismatch`, `not_found` (nothing legible for that field). Nothing
here approves anything; it only tells the reviewer where to look.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz

from consumers.ocr import licence, registration
from consumers.ocr.extract import Candidate, Line, address_text, find, following_text
from consumers.ocr.text import (
    CJK,
    company_key,
    find_country,
    fold_text,
    loose,
    parse_dates,
    says_no_expiry,
    split_legal_form,
)
from schemas.enums import EntityType, FieldName, MatchStatus, Side, Site
from schemas.events import Application, Evidence, FieldMatch

BoxMapper = Callable[[tuple[int, int, int, int]], tuple[int, int, int, int]]
PARTIAL_SCORE = 85.0
SURE_CONFIDENCE = 90.0
ADDRESS_MATCH = 90.0  # addresses tolerate OCR noise: they are checked by the reviewer anyway
_GLYPHS = str.maketrans({"l": "i", "1": "i", "|": "i", "0": "o"})
#: Confusions OCR makes even when sure, and a customer hardly ever types (q and g are far
#: apart on a keyboard): folded on every reading.
_ALWAYS = str.maketrans({"q": "g"})
#: "lronbridge": a capital I read as l (not the legal forms "ltd", "llc", or "lt" cut short).
_WORD_INITIAL_L = re.compile(r"\bl(?!td?\b|lc\b)(?=[^aeiouy\W\d_])")
#: "lIronbridge": a bold capital I read as two strokes, l then I (no name starts "lI").
_SPLIT_CAPITAL_I = re.compile(r"\bl(?=I)")
LEGAL_FORM_CLOSE = 75.0  # a garbled legal form ("co lt", "co td") still reads as "co ltd"
_SOLE_MARKERS = ("sole proprietorship", "sole proprietor", "individual business", "个体工商户")


@dataclass(frozen=True)
class Reading:
    """The lines read from one side, and how to map their boxes back to the original image."""

    side: Side
    lines: Sequence[Line]
    to_original: BoxMapper
    reread: Mapping[FieldName, Candidate] = field(default_factory=dict)  # region re-reads

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def evidence(self, candidate: Candidate | None) -> Evidence | None:
        if candidate is None:
            return None
        return Evidence(
            side=self.side,
            box=self.to_original(candidate.box),
            confidence=round(candidate.confidence, 1),
        )


def match_fields(reading: Reading, application: Application, today: date) -> list[FieldMatch]:
    company = application.company
    country = application.registered_country
    address = address_text(reading.lines)
    return [
        _company_name(reading, company.company_name),
        _registration_number(reading, company.registration_number, country),
        _in_address(reading, FieldName.ADDRESS_LINE1, company.address_line1, address),
        _in_address(
            reading, FieldName.CITY, company.city, find(reading.lines, FieldName.CITY) or address
        ),
        _in_address(
            reading,
            FieldName.STATE_PROVINCE,
            company.state_province,
            find(reading.lines, FieldName.STATE_PROVINCE) or address,
        ),
        _issue_date(reading, country),
        _expiry_date(reading, country, today),
        _issuing_country(reading, country),
        _entity_type(reading, company.entity_type, company.registration_number, application.site),
    ]


def _not_found(field: FieldName, submitted: str | None, notes: tuple[str, ...] = ()) -> FieldMatch:
    return FieldMatch(
        field=field,
        submitted=submitted,
        found=None,
        score=0,
        status=MatchStatus.NOT_FOUND,
        notes=notes,
    )


def _found_unlabelled(field: FieldName, typed: str, notes: tuple[str, ...] = ()) -> FieldMatch:
    """The typed value appears in the text, though no label pointed at it."""
    return FieldMatch(
        field=field,
        submitted=typed,
        found=typed,
        score=100,
        status=MatchStatus.MATCH,
        notes=(*notes, "found without a label"),
    )


def _status(score: float, equal: bool) -> MatchStatus:
    if equal:
        return MatchStatus.MATCH
    return MatchStatus.PARTIAL if score >= PARTIAL_SCORE else MatchStatus.MISMATCH


def _company_name(reading: Reading, typed: str) -> FieldMatch:
    # typed in Chinese: the name as printed after 名称 (the licence has no English one);
    # else the labelled name, and its re-read when there is one: the better verdict counts
    # (two readings of the same pixels; a different company reads different in both)
    printed = licence.value(reading.lines, FieldName.COMPANY_NAME) if CJK.search(typed) else None
    candidates = (
        [printed]
        if printed is not None
        else [
            candidate
            for candidate in (
                reading.reread.get(FieldName.COMPANY_NAME),
                find(reading.lines, FieldName.COMPANY_NAME),
            )
            if candidate is not None
        ]
    )
    if not candidates:
        # No label read: is the typed name anywhere in the text?
        wanted = company_key(typed)
        if wanted and company_key(reading.text).find(wanted) >= 0:
            return _found_unlabelled(FieldName.COMPANY_NAME, typed)
        return _not_found(FieldName.COMPANY_NAME, typed)
    verdicts = [_name_verdict(reading, candidate, typed) for candidate in candidates]
    return max(verdicts, key=lambda m: (m.status is MatchStatus.MATCH, m.score))


def _name_verdict(reading: Reading, candidate: Candidate, typed: str) -> FieldMatch:
    # A word cannot start with l before a consonant in any name we read: that is a capital I.
    unsure = candidate.confidence < SURE_CONFIDENCE
    read = _SPLIT_CAPITAL_I.sub("", candidate.text) if unsure else candidate.text
    found = _WORD_INITIAL_L.sub("i", company_key(read)).translate(_ALWAYS)
    wanted = _WORD_INITIAL_L.sub("i", company_key(typed)).translate(_ALWAYS)
    if unsure:
        # l/I/1 and O/0 are OCR's classic confusions when it is unsure; a sure reading is
        # taken letter for letter, so a typed typo between l and i is still caught.
        wanted, found = wanted.translate(_GLYPHS), found.translate(_GLYPHS)
    score = round(fuzz.ratio(wanted, found), 1)
    notes: tuple[str, ...] = ()
    # Some engines drop the spaces between words ("ShenzhenHengtong"); nobody registers a
    # company whose name differs from another's by spaces only.
    equal = wanted.replace(" ", "") == found.replace(" ", "")
    if equal:
        score = 100.0
    if not equal and _garbled_legal_form(wanted, found):
        equal, notes = True, ("legal form garbled in the reading; the name itself matches",)
    return FieldMatch(
        field=FieldName.COMPANY_NAME,
        submitted=typed,
        found=candidate.text,
        score=score,
        status=_status(score, equal),
        evidence=reading.evidence(candidate),
        notes=notes,
    )


def _garbled_legal_form(wanted: str, found: str) -> bool:
    """OCR often garbles the legal form at the end of a line ("Co., Lt", "Co, td"): the name
    before it must be read exactly (spaces aside: "DongfangInformation"), and what follows
    must be close to the typed legal form and no longer. No legal form has a digit
    ("Co., L1."): digits there are OCR's and are dropped."""
    name, form = split_legal_form(wanted)
    name, form, found = name.replace(" ", ""), form.replace(" ", ""), found.replace(" ", "")
    if not form or not found.startswith(name):
        return False
    read_form = re.sub(r"\d", "", found[len(name) :])
    return len(read_form) <= len(form) and fuzz.ratio(form, read_form) >= LEGAL_FORM_CLOSE


def _registration_number(reading: Reading, typed: str, country: str) -> FieldMatch:
    check = registration.validate(typed, country)
    notes = (
        f"{check.rule}: {'valid' if check.valid else 'INVALID format or check digit'}"
        if check.valid is not None
        else check.rule,
    )
    if country == "CN":
        uscc = _uscc(reading, typed, notes)
        if uscc is not None:
            return uscc
    candidate = reading.reread.get(FieldName.REGISTRATION_NUMBER) or find(
        reading.lines, FieldName.REGISTRATION_NUMBER
    )
    wanted = registration.fold(typed)
    if candidate is not None:
        found = registration.fold(candidate.text.split()[0] if country == "CN" else candidate.text)
        if wanted == found or (wanted and wanted in found):
            return FieldMatch(
                field=FieldName.REGISTRATION_NUMBER,
                submitted=typed,
                found=candidate.text,
                score=100,
                status=MatchStatus.MATCH,
                evidence=reading.evidence(candidate),
                notes=notes,
            )
    if wanted and wanted in registration.fold(reading.text.replace("\n", " ")):
        # Printed, but not where a label led us (e.g. on the back, or an unusual layout).
        return _found_unlabelled(FieldName.REGISTRATION_NUMBER, typed, notes)
    if candidate is None:
        return _not_found(FieldName.REGISTRATION_NUMBER, typed, notes=notes)
    score = round(fuzz.ratio(wanted, registration.fold(candidate.text)), 1)
    return FieldMatch(
        field=FieldName.REGISTRATION_NUMBER,
        submitted=typed,
        found=candidate.text,
        score=score,
        status=MatchStatus.MISMATCH,
        evidence=reading.evidence(candidate),
        notes=notes,
    )


def _uscc(reading: Reading, typed: str, notes: tuple[str, ...]) -> FieldMatch | None:
    """A Unified Social Credit Code read whole (valid, or valid after undoing one OCR error)
    is compared character for character; None when none was read whole. When several
    one-error repairs validate, the typed code matches if it is one of them."""
    candidate = licence.uscc_candidate(reading.lines)
    if candidate is None:
        return None
    readings = licence.uscc_readings(candidate.text)
    wanted = registration.normalise(typed)
    if wanted in readings:
        code = wanted
    elif len(readings) == 1:
        code = readings[0]
    else:
        return None
    if code != registration.normalise(candidate.text):
        notes = (
            *notes,
            f"read {candidate.text!r}; one OCR error undone by the check character",
        )
    equal = wanted == code
    return FieldMatch(
        field=FieldName.REGISTRATION_NUMBER,
        submitted=typed,
        found=code,
        score=100 if equal else round(fuzz.ratio(wanted, code), 1),
        status=MatchStatus.MATCH if equal else MatchStatus.MISMATCH,
        evidence=reading.evidence(candidate),
        notes=notes,
    )


def _in_address(
    reading: Reading, field: FieldName, typed: str, where: Candidate | None
) -> FieldMatch:
    if where is None:
        return _not_found(field, typed)
    haystack = loose(where.text)
    wanted = loose(typed)
    score = round(fuzz.partial_ratio(wanted, haystack), 1) if wanted else 0.0
    equal = bool(wanted) and wanted in haystack
    status = MatchStatus.MATCH if equal or score >= ADDRESS_MATCH else _status(score, False)
    if status is not MatchStatus.MATCH and score < PARTIAL_SCORE:
        status = MatchStatus.MISMATCH
    return FieldMatch(
        field=field,
        submitted=typed,
        found=where.text,
        score=score,
        status=status,
        evidence=reading.evidence(where),
    )


def _dates(reading: Reading, field: FieldName, country: str) -> tuple[Candidate | None, list[date]]:
    """Dates printed for `field`, including a label-less line below (bilingual certificates
    print the period again in English there)."""
    candidate = (licence.value(reading.lines, field) if country == "CN" else None) or find(
        reading.lines, field
    )
    if candidate is None:
        return None, []
    text = f"{candidate.text} {following_text(reading.lines, candidate)}"
    return candidate, parse_dates(text, country)


def _issue_date(reading: Reading, country: str) -> FieldMatch:
    candidate, dates = _dates(reading, FieldName.ISSUE_DATE, country)
    if not dates:
        return _not_found(FieldName.ISSUE_DATE, None)
    return FieldMatch(
        field=FieldName.ISSUE_DATE,
        submitted=None,
        found=dates[0].isoformat(),
        score=100,
        status=MatchStatus.MATCH,
        evidence=reading.evidence(candidate),
    )


def _expiry_date(reading: Reading, country: str, today: date) -> FieldMatch:
    candidate, dates = _dates(reading, FieldName.EXPIRY_DATE, country)
    if candidate is not None and not dates and says_no_expiry(candidate.text):
        return FieldMatch(
            field=FieldName.EXPIRY_DATE,
            submitted=None,
            found="no expiry",
            score=100,
            status=MatchStatus.MATCH,
            evidence=reading.evidence(candidate),
        )
    if not dates:
        return _not_found(FieldName.EXPIRY_DATE, None)
    expiry = max(dates)  # "2018年9月29日 至 2038年9月28日": the period ends last
    expired = expiry < today
    return FieldMatch(
        field=FieldName.EXPIRY_DATE,
        submitted=None,
        found=expiry.isoformat(),
        score=0 if expired else 100,
        status=MatchStatus.MISMATCH if expired else MatchStatus.MATCH,
        evidence=reading.evidence(candidate),
        notes=(f"expired on {expiry.isoformat()}",) if expired else (),
    )


def _issuing_country(reading: Reading, account_country: str) -> FieldMatch:
    top = "\n".join(line.text for line in reading.lines[:4])
    found = find_country(top) or find_country(reading.text)
    if found is None:
        return _not_found(FieldName.ISSUING_COUNTRY, account_country)
    same = found == account_country
    return FieldMatch(
        field=FieldName.ISSUING_COUNTRY,
        submitted=account_country,
        found=found,
        score=100 if same else 0,
        status=MatchStatus.MATCH if same else MatchStatus.MISMATCH,
        notes=() if same else (f"issued in {found}, account registered in {account_country}",),
    )


def _entity_type(
    reading: Reading, declared: EntityType, typed_number: str, site: Site
) -> FieldMatch:
    text = fold_text(reading.text).replace(" ", "")
    markers = [m for m in _SOLE_MARKERS if m.replace(" ", "") in text]
    if site is Site.CHINA and registration.normalise(typed_number).startswith("92"):
        markers.append("USCC prefix 92 (individually-owned business)")
    found = EntityType.SOLE_PROPRIETORSHIP if markers else None
    if found is None:
        status = (
            MatchStatus.MATCH
            if declared is not EntityType.SOLE_PROPRIETORSHIP
            else MatchStatus.NOT_FOUND
        )
    else:
        status = MatchStatus.MATCH if declared is found else MatchStatus.MISMATCH
    return FieldMatch(
        field=FieldName.ENTITY_TYPE,
        submitted=declared.value,
        found=found.value if found else None,
        score=100 if status is MatchStatus.MATCH else 0,
        status=status,
        notes=tuple(f"marker: {m}" for m in markers),
    )


#: Fields whose status alone does not ask for the reviewer's attention when not found.
INFORMATIONAL = {FieldName.ISSUE_DATE}


def recommendation_reasons(fields: Sequence[FieldMatch]) -> list[str]:
    reasons = []
    for match in fields:
        if match.status is not MatchStatus.MATCH and match.field not in INFORMATIONAL:
            reasons.append(f"{match.field.value}: {match.status.value}")
        reasons += [
            f"{match.field.value}: {note}"
            for note in match.notes
            if "INVALID" in note or note.startswith(("expired", "issued in", "marker"))
        ]
    return list(dict.fromkeys(reasons))
