"""Text folding for matching, and figures (numbers with units) for grounding.

Shown text keeps its original characters; everything that *compares* text goes through
``fold`` first, so 「５．５％」 and 「5.5%」 match::

    >>> fold("增长５．５％， 达到 2. 5 个百分点")
    '增长5.5%, 达到2.5个百分点'

``figures`` finds numbers with the unit attached, and redacted values (XX亿元) marked as such::

    >>> [(f.value, f.unit, f.redacted) for f in figures("地区生产总值XX亿元，增长2.5%")]
    [(None, '亿元', True), (2.5, '%', False)]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Longest first: the regex alternation takes the first that matches.
UNITS: tuple[str, ...] = (
    "个百分点", "百分点", "万亿元", "亿美元", "万美元", "亿元", "万元", "千元", "美元", "元",
    "万人次", "人次", "万人", "万户", "万平方米", "平方米", "平方公里", "公里", "千米", "万亩", "亩",
    "万吨", "吨", "千瓦时", "千瓦", "%", "‰", "人", "户", "家", "个", "项", "所", "件", "场", "条", "座",
    "套", "辆", "批次", "批", "名", "处", "次", "倍", "万", "亿",
)
_UNIT_RE = "|".join(re.escape(u) for u in UNITS)
REDACTED_RE = re.compile(r"(?:[XxＸｘ]{2,}|[×]{2,}|＊{2,})")
_NUM = r"(?<![\d.A-Za-z])(\d+(?:\.\d+)?)"
FIGURE_RE = re.compile(rf"{_NUM}\s*({_UNIT_RE})?")
REDACTED_FIGURE_RE = re.compile(rf"(?:[XxＸｘ]{{2,}}|×{{2,}})\s*({_UNIT_RE})?")
CITATION_RE = re.compile(r"\[(\d{1,2})\]")
# a unit with no number where one belongs: 「完成公共财政预算收入亿元」「增长%」 (broken source text)
MISSING_FIGURE_RE = re.compile(r"(?<=[\u4e00-\u9fa5])(?<![百千万亿十数几多两])(亿元|万元|亿美元|万美元|%)")


@dataclass(frozen=True)
class Figure:
    """A number with its unit as it stands in (folded) text; ``value`` is None when redacted."""

    value: float | None
    unit: str
    text: str
    start: int
    end: int
    redacted: bool = False

    def key(self) -> tuple[float | None, str]:
        """Identity for comparison: value and canonical unit."""
        return (self.value, canonical_unit(self.unit))


def canonical_unit(unit: str) -> str:
    """Units that mean the same thing compare equal (个百分点 == 百分点)."""
    return "个百分点" if unit == "百分点" else unit


_SPACE_IN_NUMBER = [
    (re.compile(r"(?<=\d)\s+(?=[.%‰])"), ""),
    (re.compile(r"(?<=\d\.)\s+(?=\d)"), ""),
    (re.compile(rf"(?<=\d)\s+(?={_UNIT_RE})"), ""),
]


def fold(text: str) -> str:
    """Fold for matching: NFKC (full-width digits, ％, ．, letters → ASCII) and spaces in numbers.

    Only ever applied to a copy used for comparison, never to text shown to users.
    """
    out = unicodedata.normalize("NFKC", text)
    out = out.replace("\u3000", " ").replace("\xa0", " ")
    for pattern, repl in _SPACE_IN_NUMBER:
        out = pattern.sub(repl, out)
    return out


def _is_year(match: re.Match[str], text: str) -> bool:
    num, unit = match.group(1), match.group(2)
    after = text[match.end(1): match.end(1) + 1]
    if after == "年" or (after == "-" and len(num) == 4):
        return True
    return unit is None and len(num) == 4 and num.isdigit() and 1900 <= int(num) <= 2100


def figures(text: str, *, include_redacted: bool = True) -> list[Figure]:
    """Numbers with units in ``fold(text)``; years (2024年), citation markers [n] and dates skipped.

    Offsets refer to the folded text. Redacted values (XX亿元, ××) come back with ``value=None``.
    """
    folded = fold(text)
    citation_spans = {(m.start(1), m.end(1)) for m in CITATION_RE.finditer(folded)}
    found: list[Figure] = []
    for m in FIGURE_RE.finditer(folded):
        if (m.start(1), m.end(1)) in citation_spans or _is_year(m, folded):
            continue
        nxt = folded[m.end(1): m.end(1) + 1]
        if nxt in ("月", "日", "时") and m.group(2) is None:  # 12月24日
            continue
        unit = m.group(2) or ""
        found.append(Figure(float(m.group(1)), unit, m.group(0).strip(), m.start(), m.end()))
    if include_redacted:
        for m in REDACTED_FIGURE_RE.finditer(folded):
            found.append(Figure(None, m.group(1) or "", m.group(0), m.start(), m.end(), redacted=True))
        for m in MISSING_FIGURE_RE.finditer(folded):
            found.append(Figure(None, m.group(1), m.group(0), m.start(), m.end(), redacted=True))
        found.sort(key=lambda f: f.start)
    return found


def figure_in(fig: Figure, passages: Iterable[str]) -> bool:
    """True when ``fig`` (value and unit) stands in one of the passages.

    A unit-less figure matches the same value with any unit; a figure with a unit needs the same
    unit (so "16%" is not grounded by "16个").
    """
    if fig.redacted or fig.value is None:
        return True
    for passage in passages:
        for other in figures(passage, include_redacted=False):
            if other.value == fig.value and (not fig.unit or other.key()[1] == canonical_unit(fig.unit)):
                return True
    return False


def ungrounded(answer: str, passages: Iterable[str]) -> list[Figure]:
    """Figures in ``answer`` that stand in none of ``passages``."""
    texts = list(passages)
    return [f for f in figures(answer, include_redacted=False) if not figure_in(f, texts)]


def has_redaction(text: str) -> bool:
    """True when the text holds a redacted value (XX, ××)."""
    return bool(REDACTED_RE.search(text))


def iter_sentences(text: str) -> Iterator[tuple[int, int]]:
    """Spans of sentences: split after 。！？；!? and at line breaks; whitespace-only skipped."""
    start = 0
    for m in re.finditer(r"[。！？；!?;]+|\n+", text):
        end = m.end()
        if text[start:end].strip():
            yield start, end
        start = end
    if text[start:].strip():
        yield start, len(text)
