"""Text folding for matching, and figures (numbers with units) for grounding.

Shown text keeps its original characters; everything that *compares* text goes through
``fold`` first, so 「５．５％」 and 「5.5%」 match::

    >>> fold("增长５．５％， 达到 2. 5 个百分点")
    '增长5.5%, 达到 2.5个百分点'

``figures`` finds numbers with the unit attached, and redacted values (XX亿元) marked as such::

    >>> [(f.value, f.unit, f.redacted) for f in figures("地区生产总值XX亿元，增长2.5%")]
    [(None, '亿元', True), (2.5, '%', False)]

The one grounding rule (``figure_grounded`` / ``ungrounded_figures``) serves both the runtime number
check of generated answers (``rag.answer.compose``) and the eval grader (``rag.eval``)::

    >>> [f.text for f in ungrounded_figures("1. 增长5.5%[1],约1065亿元", ["增长５．５％"])]
    ['1065亿元']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Units a figure may carry; the regex tries the longest first (「个百分点」 before 「个」, 「亿斤」 before 「亿」).
UNITS: tuple[str, ...] = (
    "个百分点", "百分点", "万亿元", "万亿美元", "亿美元", "万美元", "亿元", "万元", "千元", "美元", "元",
    "万人次", "人次", "万人", "万户", "万平方米", "平方米", "平方公里", "公里", "千米", "万亩", "亩",
    "万亿斤", "亿斤", "万斤", "亿公斤", "亿吨", "万吨", "吨", "万个", "千瓦时", "千瓦", "%", "‰", "人", "户", "家", "个", "项",
    "所", "件", "场", "条", "座", "套", "辆", "批次", "批", "名", "处", "次", "倍", "万", "亿",
)
PERCENT_UNITS = frozenset({"%", "‰", "个百分点", "百分点"})
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
REDACTED_RE = re.compile(r"(?:[XxＸｘ]{2,}|[×]{2,}|＊{2,})")
_NUM = r"(?<![\d.A-Za-z])(\d+(?:\.\d+)?)"
# 「1270多万人」「300余家」: at least the number, with the unit after 多/余
FIGURE_RE = re.compile(rf"{_NUM}(?:\s*[多余](?=\s*(?:{_UNIT_RE})))?\s*({_UNIT_RE})?")
_RANGE_RE = re.compile(rf"{_NUM}(?:%|个百分点)?\s*[-—–~至]\s*(\d+(?:\.\d+)?)(%|个百分点)")
REDACTED_FIGURE_RE = re.compile(rf"(?:[XxＸｘ]{{2,}}|×{{2,}})\s*({_UNIT_RE})?")
CITATION_RE = re.compile(r"\[(\d{1,2})\]")
# a unit with no number where one belongs: 「完成公共财政预算收入亿元」「增长%」 (broken source text)
MISSING_FIGURE_RE = re.compile(r"(?<=[\u4e00-\u9fa5])(?<![百千万亿十数几多两])(亿元|万元|亿美元|万美元|%)")
# labels, not figures: list and section numbering at a line start (「1.」「2、」「(3)」「3.1 」)
_LINE_START_RE = re.compile(r"(?:^|\n)[ \t]*[(（]?$")
_MONTH_SPAN_RE = re.compile(r"[-—–~至]\d{1,2}月")
# a digit, a dot, X: what masking replaces so copies differing only by figures compare equal
_FIGURE_MASK_RE = re.compile(r"[\d.]+|[XxＸｘ×]{2,}")


@dataclass(frozen=True)
class Figure:
    """A number with its unit as it stands in (folded) text; ``value`` is None when redacted.

    ``range``: 「4.5%—5%」 read as one figure (``value`` = the lower bound), only with ``ranges=True``.
    ``missing``: a unit where the number was lost (「收入亿元」); then also ``redacted``.
    """

    value: float | None
    unit: str
    text: str
    start: int
    end: int
    redacted: bool = False
    range: bool = False
    missing: bool = False

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


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC-fold character by character, keeping offsets: ``index[i]`` = original offset of folded char ``i``.

    ``index`` has one extra entry, ``len(text)``, so ``index[end]`` maps an end offset. Unlike
    ``fold`` it keeps spaces inside numbers (every folded character has an original one).

    >>> fold_with_map("增长５％")
    ('增长5%', [0, 1, 2, 3, 4])
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(f)
        index.extend([i] * len(f))
    index.append(len(text))
    return "".join(out), index


def mask_figures(text: str, repl: str = "#") -> str:
    """``text`` folded, with every number and redaction (XX, ××) and whitespace replaced by ``repl``.

    Two copies of one statement that differ only in their figures (a redacted copy) mask equal.

    >>> mask_figures("增长５．５％") == mask_figures("增长XX%")
    True
    """
    return re.sub(r"\s+", repl, _FIGURE_MASK_RE.sub(repl, fold(text)))


def _is_year(match: re.Match[str], text: str) -> bool:
    num, unit = match.group(1), match.group(2)
    after = text[match.end(1): match.end(1) + 1]
    if after == "年" or (after == "-" and len(num) == 4):
        return True
    return unit is None and len(num) == 4 and num.isdigit() and 1900 <= int(num) <= 2100


def _is_label(match: re.Match[str], text: str) -> bool:
    """A unit-less number that numbers or dates something: 「1.」「2、」「(3)」「3.1 」 at a line start, 第3, 3月, 1-10月."""
    if match.group(2) is not None:
        return False
    after = text[match.end(1): match.end(1) + 4]
    if after[:1] in ("月", "日", "时", "号"):  # 12月24日
        return True
    if _MONTH_SPAN_RE.match(after):  # 1-10月
        return True
    if after[:1] and (after[:1] in ".、)）" or after[:1].isspace()):  # numbering, but only at a line start
        return bool(_LINE_START_RE.search(text[max(0, match.start(1) - 8): match.start(1)]))
    return text[match.start(1) - 1: match.start(1)] == "第"


def scan_figures(text: str, *, include_redacted: bool = True, ranges: bool = False) -> list[Figure]:
    """Figures in ``text`` as given (no folding: offsets index ``text``; fold first, or use ``figures``).

    Years (2024年), dates (3月), list numbering and ordinals (「1.」「第3」) and citation markers
    [n] are not figures. ``ranges=True`` reads 「4.5%—5%」 as one figure (the indicator table does);
    otherwise each bound is a figure of its own.
    """
    citation_spans = {(m.start(1), m.end(1)) for m in CITATION_RE.finditer(text)}
    found: list[Figure] = []
    claimed: set[int] = set()
    if ranges:
        for m in _RANGE_RE.finditer(text):
            found.append(Figure(float(m.group(1)), m.group(3), m.group(0), m.start(), m.end(), range=True))
            claimed.update(range(m.start(), m.end()))
    for m in FIGURE_RE.finditer(text):
        if m.start() in claimed or (m.start(1), m.end(1)) in citation_spans or _is_year(m, text) or _is_label(m, text):
            continue
        unit = m.group(2) or ""
        found.append(Figure(float(m.group(1)), unit, m.group(0).strip(), m.start(), m.end()))
    if include_redacted:
        for m in REDACTED_FIGURE_RE.finditer(text):
            found.append(Figure(None, m.group(1) or "", m.group(0), m.start(), m.end(), redacted=True))
        for m in MISSING_FIGURE_RE.finditer(text):
            found.append(Figure(None, m.group(1), m.group(0), m.start(), m.end(), redacted=True, missing=True))
    found.sort(key=lambda f: f.start)
    return found


def figures(text: str, *, include_redacted: bool = True, ranges: bool = False) -> list[Figure]:
    """Figures in ``fold(text)`` (offsets refer to the folded text); see ``scan_figures``.

    Redacted values (XX亿元, ××) come back with ``value=None``.
    """
    return scan_figures(fold(text), include_redacted=include_redacted, ranges=ranges)


# ---------------------------------------------------------------- grounding (one rule: runtime check and grader)
def units_match(stated: str, found: str) -> bool:
    """Whether a figure stated with unit ``stated`` is the one found with unit ``found``.

    The same unit (个百分点 == 百分点); or the statement leaves off the end of the source's unit
    (「1065亿」 for 「1065亿元」, 「10万」 for 「10万人」). A percentage never matches another unit, and a
    statement never adds to the source's unit (「1065亿元」 is not grounded by 「1065亿斤」).
    A unit-less statement matches any unit.
    """
    a, b = canonical_unit(stated), canonical_unit(found)
    if not a or a == b:
        return True
    if a in PERCENT_UNITS or b in PERCENT_UNITS:
        return False
    return b.startswith(a)


def figure_grounded(fig: Figure, passages: Iterable[str]) -> bool:
    """True when ``fig`` (its value, with a matching unit: ``units_match``) stands in one of ``passages``.

    Redacted figures are never claims, so they count as grounded. Passages are also read with
    whitespace removed, for sources that space out digits (「7 4 7 7 2 亿元」 in the 1998 national report).
    """
    if fig.redacted or fig.value is None:
        return True
    for passage in passages:
        for variant in (passage, re.sub(r"[\s\u200b\u200c\u200d\ufeff]+", "", passage)):  # zero-widths too (「74.4⏎\u200b⏎万亿元」)
            for other in figures(variant, include_redacted=False):
                if other.value == fig.value and units_match(fig.unit, other.unit):
                    return True
    return False


def ungrounded_figures(text: str, passages: Iterable[str]) -> list[Figure]:
    """Figures stated in ``text`` that stand in none of ``passages`` (redacted values are not claims)."""
    texts = list(passages)
    return [f for f in figures(text, include_redacted=False) if not figure_grounded(f, texts)]


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
