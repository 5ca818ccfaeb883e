"""Chinese business licences: fields by their printed labels, wherever the label stands.

The national format prints labels spread by full-width spaces (名　　称) in two columns, the
Unified Social Credit Code top left with the code under its label, and bilingual exports add
English labels after the Chinese ones. So a label is found anywhere in its row with the
spaces removed, its value is what follows up to the next label in that row, and a label
standing alone takes the words below it. Line order does not matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from consumers.ocr.engines import Word
from consumers.ocr.extract import Candidate, Line, join_words
from consumers.ocr.registration import normalise, uscc_is_valid
from schemas.enums import FieldName

__all__ = ["LABELS", "uscc_candidate", "uscc_readings", "value"]

#: The labels of the fields we match, as printed on licences of companies and of individual
#: businesses (个体工商户 print 经营场所 and 注册日期).
LABELS: dict[FieldName, tuple[str, ...]] = {
    FieldName.COMPANY_NAME: ("名称", "企业名称"),
    FieldName.REGISTRATION_NUMBER: ("统一社会信用代码", "注册号"),
    FieldName.ADDRESS_LINE1: ("住所", "经营场所", "营业场所"),
    FieldName.ISSUE_DATE: ("成立日期", "注册日期"),
    FieldName.EXPIRY_DATE: ("营业期限",),
}
#: Other labels of the format: they end the value before them.
_OTHER_LABELS = ("类型", "法定代表人", "经营者", "注册资本", "组成形式", "经营范围", "登记机关")
_ALL = sorted({*(label for labels in LABELS.values() for label in labels), *_OTHER_LABELS}, key=len)
_NAME_ENDINGS = ("有限公司", "有限责任公司", "经营部", "合伙企业", "分公司", "商行", "厂", "店")
_TYPES = ("有限责任公司", "股份有限公司", "个体工商户")
_ENGLISH_LABEL = re.compile(r"^[A-Za-z][A-Za-z .]*[:：]")
_USCC_SHAPED = re.compile(r"[0-9A-Z]{18}")
_CONFUSIONS = {"0": "O", "O": "0", "1": "I", "I": "1", "2": "Z", "Z": "2"}
_CONFUSIONS |= {"5": "S", "S": "5", "8": "B", "B": "8"}
#: Printed J and 1 read as brackets and bars (seen on RapidOCR photos of the code's last digit).
_CONFUSIONS |= {"]": "J", "|": "1"}


@dataclass(frozen=True)
class _Char:
    char: str
    word: int  # index into the line's words
    offset: int  # index into that word's text


@dataclass(frozen=True)
class _Label:
    text: str
    start: int  # in the row's characters
    end: int


def value(lines: Sequence[Line], field: FieldName) -> Candidate | None:
    """The value printed for `field` after one of its Chinese labels, or None."""
    for index, line in enumerate(lines):
        chars = _chars(line)
        labels = _labels(chars)
        for position, label in enumerate(labels):
            if label.text not in LABELS[field]:
                continue
            stop = labels[position + 1].start if position + 1 < len(labels) else len(chars)
            words = _span(line, chars, label.end, stop)
            if not words and index + 1 < len(lines):
                words = _below(line, chars, label, lines[index + 1])
            words = _without_english_label(words)
            if words:
                return Candidate(join_words(w.text for w in words), tuple(words), line)
    return _name_shaped(lines) if field is FieldName.COMPANY_NAME else None


def _name_shaped(lines: Sequence[Line]) -> Candidate | None:
    """No 名称 label read (a seal over it, a glyph misread): the first word that ends like a
    business name (…有限公司, …经营部) and is not the type printed after 类型."""
    for line in lines:
        for word in line.words:
            text = word.text.strip(":：")
            shaped = text.endswith(_NAME_ENDINGS) and text not in _TYPES and len(text) >= 6
            if shaped and not any(label in text for label in _ALL):
                return Candidate(text, (word,), line)
    return None


def uscc_candidate(lines: Sequence[Line]) -> Candidate | None:
    """The code after 统一社会信用代码 (the code-shaped word there, or its words joined when
    the engine split the code), else the first valid code anywhere, after at most one repair."""
    labelled = value(lines, FieldName.REGISTRATION_NUMBER)
    if labelled is not None:
        shaped = [w for w in labelled.words if sum(ch.isdigit() for ch in w.text) >= 4]
        if shaped:
            joined = "".join(normalise(w.text.strip(":：")) for w in shaped)
            if len(shaped) > 1 and uscc_readings(joined):
                return Candidate(joined, tuple(shaped), labelled.line)
            word = max(shaped, key=lambda w: len(normalise(w.text)))
            return Candidate(word.text.strip(":："), (word,), labelled.line)
    for line in lines:
        text = normalise(line.text)
        for shaped_text in _USCC_SHAPED.findall(text):
            if uscc_readings(shaped_text):
                return Candidate(shaped_text, line.words, line)
    return None


def uscc_readings(read: str) -> list[str]:
    """The valid codes `read` can stand for: itself when valid; else every code one OCR
    error away that validates (GB 32100-2015 check character). The errors: one confusion
    (0/O, 1/I, 2/Z, 5/S, 8/B, ]→J, |→1), or, on 17 characters, one doubled character read
    once (a CTC recogniser such as PP-OCR merges repeats: JJ → J)."""
    code = normalise(read)
    if uscc_is_valid(code):
        return [code]
    if len(code) == 18:
        repairs = {
            code[:i] + other + code[i + 1 :]
            for i, ch in enumerate(code)
            if (other := _CONFUSIONS.get(ch)) is not None
        }
    elif len(code) == 17:
        repairs = {code[: i + 1] + code[i:] for i in range(len(code))}
    else:
        repairs = set()
    return sorted(repair for repair in repairs if uscc_is_valid(repair))


def _chars(line: Line) -> list[_Char]:
    """The row's characters without whitespace, each knowing its word."""
    return [
        _Char(ch, w, o)
        for w, word in enumerate(line.words)
        for o, ch in enumerate(word.text)
        if not ch.isspace()
    ]


def _labels(chars: list[_Char]) -> list[_Label]:
    """Every label in the row, left to right; a longer label wins over one inside it."""
    text = "".join(c.char for c in chars)
    found: list[_Label] = []
    for label in sorted(_ALL, key=len, reverse=True):
        for match in re.finditer(re.escape(label), text):
            if all(match.end() <= f.start or match.start() >= f.end for f in found):
                found.append(_Label(label, match.start(), match.end()))
    return sorted(found, key=lambda f: f.start)


def _span(line: Line, chars: list[_Char], start: int, stop: int) -> list[Word]:
    """The words covering characters [start, stop), cut where a word straddles an end."""
    while start < stop and chars[start].char in ":：":
        start += 1
    if start >= stop:
        return []
    words: list[Word] = []
    first, last = chars[start], chars[stop - 1]
    for index in range(first.word, last.word + 1):
        word = line.words[index]
        begin = first.offset if index == first.word else 0
        end = last.offset + 1 if index == last.word else len(word.text)
        text = word.text[begin:end].strip()
        if text:
            words.append(Word(text, word.confidence, word.box, word.line))
    return words


def _below(line: Line, chars: list[_Char], label: _Label, below: Line) -> list[Word]:
    """A label alone in its row: the value is printed under it, from near its left edge up
    to the next label in that row."""
    anchor = line.words[chars[label.start].word].box
    below_chars = _chars(below)
    below_labels = _labels(below_chars)
    limit = below_chars[below_labels[0].start].word if below_labels else len(below.words)
    return [w for w in below.words[:limit] if w.box[0] >= anchor[0] - 3 * anchor[3]]


def _without_english_label(words: list[Word]) -> list[Word]:
    """Bilingual rows put an English label ("Name:") between the Chinese label and value."""
    text = join_words(w.text for w in words)
    match = _ENGLISH_LABEL.match(text)
    if match is None or not re.search(r"[\u3400-\u9fff0-9]", text[match.end() :]):
        return words
    consumed, kept = 0, []
    for word in words:
        if consumed >= match.end():
            kept.append(word)
        consumed += len(word.text) + 1
    return kept or words
