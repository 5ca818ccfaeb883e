"""From OCR words to candidate field values, anchored on the labels certificates print.

Certificates say "Label: value" in one form or another ("Company Name:", "Name of Entity",
"名称", a centred name after "This is to certify that"). Each field has a list of labels; the
value is what follows the label on its line, or the next line when the label stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from consumers.ocr.engines import Word
from consumers.ocr.text import CJK, fold_text
from schemas.enums import FieldName


@dataclass(frozen=True)
class Line:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return join_words(word.text for word in self.words)

    def box(self, words: Sequence[Word] | None = None) -> tuple[int, int, int, int]:
        chosen = words or self.words
        left = min(w.box[0] for w in chosen)
        top = min(w.box[1] for w in chosen)
        right = max(w.box[0] + w.box[2] for w in chosen)
        bottom = max(w.box[1] + w.box[3] for w in chosen)
        return left, top, right - left, bottom - top


@dataclass(frozen=True)
class Candidate:
    """A value read for a field, with the words it came from."""

    text: str
    words: tuple[Word, ...]
    line: Line

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.line.box(self.words)


def join_words(tokens: Iterable[str]) -> str:
    """Words joined by spaces, except between two CJK characters."""
    out = ""
    for token in tokens:
        if out and not (CJK.search(out[-1]) and CJK.search(token[0])):
            out += " "
        out += token
    return out


def _noise(word: Word) -> bool:
    """Specks and border fragments: short, unsure, or no letters or digits at all."""
    if not any(ch.isalnum() for ch in word.text):
        return len(word.text) > 0 and word.text not in {":", "-", "/"}
    return word.confidence < 40 and len(word.text) <= 3


def lines_of(words: Sequence[Word]) -> list[Line]:
    """Rows of words by position on the page, not by tesseract's blocks: in a table it reads
    the label column and the value column as separate blocks, which would part each label
    from its value."""
    kept = sorted((w for w in words if not _noise(w)), key=lambda w: w.box[1] + w.box[3] / 2)
    rows: list[list[Word]] = []
    for word in kept:
        centre = word.box[1] + word.box[3] / 2
        if rows:
            row = rows[-1]
            row_centre = sum(w.box[1] + w.box[3] / 2 for w in row) / len(row)
            height = sorted(w.box[3] for w in row)[len(row) // 2]
            if abs(centre - row_centre) <= 0.45 * max(height, word.box[3]):
                row.append(word)
                continue
        rows.append([word])
    return [Line(tuple(sorted(row, key=lambda w: w.box[0]))) for row in rows]


LABELS: dict[FieldName, tuple[str, ...]] = {
    FieldName.COMPANY_NAME: (
        "company name",
        "name of company",
        "name of entity",
        "entity name",
        "business name",
        "name",
    ),
    FieldName.REGISTRATION_NUMBER: (
        "unified social credit code",
        "统一社会信用代码",
        "registration number",
        "registration no",
        "company number",
        "company no",
        "uen / reg. no",
        "uen",
        "reg. no",
        "corporate number",
        "acn",
        "abn",
        "br no",
    ),
    FieldName.ADDRESS_LINE1: ("registered address", "registered office", "address", "住所"),
    FieldName.CITY: ("city",),
    FieldName.STATE_PROVINCE: ("state / province", "state/province", "province", "state"),
    FieldName.ISSUE_DATE: (
        "date of issue",
        "date of incorporation",
        "date of registration",
        "date of establishment",
        "issued on",
        "成立日期",
    ),
    FieldName.EXPIRY_DATE: (
        "valid until",
        "expiry date",
        "date of expiry",
        "expiry",
        "valid to",
        "营业期限",
    ),
}
_ALL_LABELS = sorted(
    {label for labels in LABELS.values() for label in labels}, key=len, reverse=True
)
_SEPARATORS = " :：.-|"
_LEADING_JUNK = " \"'“”‘’|:;.,-_~=»«"


def _label_at_start(text: str, label: str) -> int | None:
    """Length of `text`'s prefix that spells `label` (ignoring case and a leading Chinese label)."""
    lowered = fold_text(text)
    lead = len(lowered) - len(lowered.lstrip(_LEADING_JUNK))
    lowered = lowered[lead:]
    stripped = re.sub(r"^(?:[\u3400-\u9fff]\s*)+", "", lowered) if label.isascii() else lowered
    offset = len(lowered) - len(stripped)
    if stripped.startswith(label) and (
        len(stripped) == len(label) or not stripped[len(label)].isalnum()
    ):
        return lead + offset + len(label)
    return None


def _is_label_line(text: str) -> bool:
    return any(_label_at_start(text, label) is not None for label in _ALL_LABELS)


def _words_after(line: Line, characters: int) -> tuple[Word, ...]:
    """The words of `line` after its first `characters` (folded) characters; a word that
    straddles the boundary ("Name:Acme" read as one token) keeps only its tail."""
    taken: list[Word] = []
    consumed = ""
    for word in line.words:
        before = len(fold_text(consumed))
        if before >= characters:
            taken.append(word)
        elif before + len(fold_text(" " + word.text)) > characters + 1:
            tail = word.text[characters - before :].lstrip(_SEPARATORS)
            if tail:
                taken.append(Word(tail, word.confidence, word.box, word.line))
        consumed = join_words([consumed, word.text]) if consumed else word.text
    return tuple(taken)


def find(lines: Sequence[Line], field: FieldName) -> Candidate | None:
    """The value printed for `field`, or None when no label for it was read."""
    for label in sorted(LABELS[field], key=len, reverse=True):
        for index, line in enumerate(lines):
            end = _label_at_start(line.text, label)
            if end is None:
                continue
            words = tuple(w for w in _words_after(line, end) if w.text.strip(_SEPARATORS))
            if not words and index + 1 < len(lines) and not _is_label_line(lines[index + 1].text):
                line = lines[index + 1]
                words = line.words
            if not words:
                continue
            text = join_words([w.text for w in words]).strip(_SEPARATORS)
            if not _plausible(field, text):
                below = lines[index + 1] if index + 1 < len(lines) else None
                if below is None or _is_label_line(below.text) or not _plausible(field, below.text):
                    continue
                line, words, text = below, below.words, below.text.strip(_SEPARATORS)
            if field is FieldName.COMPANY_NAME and (
                CJK.search(text) or _misread_chinese(line, words)
            ):
                english = _english_below(lines, lines.index(line))
                if english is not None:
                    return english  # the seed: use the English version when there are several
            return Candidate(text, words, line)
    if field is FieldName.COMPANY_NAME:
        return _certified_name(lines)
    return None


def _plausible(field: FieldName, text: str) -> bool:
    """Whether `text` can be a value of `field` at all (junk next to a label is common)."""
    if field is FieldName.REGISTRATION_NUMBER:
        return sum(ch.isdigit() for ch in text) >= 4
    if field in (FieldName.ISSUE_DATE, FieldName.EXPIRY_DATE):
        return any(ch.isdigit() for ch in text) or bool(
            re.search(r"no expiry|long|长期|perpetual", text, re.I)
        )
    return sum(ch.isalnum() for ch in text) >= 2


def following_text(lines: Sequence[Line], candidate: Candidate) -> str:
    """The line after the candidate's, when it carries no label (a translation, a continuation)."""
    index = list(lines).index(candidate.line) if candidate.line in lines else -1
    if 0 <= index < len(lines) - 1 and not _is_label_line(lines[index + 1].text):
        return lines[index + 1].text
    return ""


def _misread_chinese(line: Line, words: Sequence[Word]) -> bool:
    """On a bilingual line ("名称 Name: 深圳新海贸易有限公司") tesseract sometimes reads the
    Chinese name as Latin letters it is unsure of ("PRUE BPR", confidence 16); the English
    name printed under it is then the value to use."""
    return bool(CJK.search(line.words[0].text)) and min(w.confidence for w in words) < 50


def _english_below(lines: Sequence[Line], index: int) -> Candidate | None:
    if index + 1 >= len(lines):
        return None
    following = lines[index + 1]
    if CJK.search(following.text) or _is_label_line(following.text):
        return None
    return Candidate(following.text.strip(_SEPARATORS), following.words, following)


def _certified_name(lines: Sequence[Line]) -> Candidate | None:
    """'This is to certify that' / <name> / 'is registered as ...'."""
    for index, line in enumerate(lines[:-1]):
        if "certify that" in fold_text(line.text):
            following = lines[index + 1]
            return Candidate(following.text, following.words, following)
    return None


def address_text(lines: Sequence[Line]) -> Candidate | None:
    """The address with its continuation lines (up to two), for city and state matching."""
    for label in sorted(LABELS[FieldName.ADDRESS_LINE1], key=len, reverse=True):
        for index, line in enumerate(lines):
            end = _label_at_start(line.text, label)
            if end is None:
                continue
            words = list(_words_after(line, end))
            for following in lines[index + 1 : index + 3]:
                if _is_label_line(following.text):
                    break
                words += following.words
            if words:
                return Candidate(
                    join_words([w.text for w in words]).strip(_SEPARATORS), tuple(words), line
                )
    return None
