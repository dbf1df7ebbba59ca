"""Operands of a computation: which figures a question combines, each as its own sub-question.

By year (「2025年的赤字率比2018年高多少」 → 2025年的赤字率, 2018年的赤字率: each side in its own words,
the second borrowing what it leaves out), by report year beside a plain year (「2025年政府工作报告安排的…是
2022年的几倍」), by region, by the two sides of one region and year (「A增速比B增速快多少」, 「A占B的比重」),
or by indicator. Each side's target-vs-actual intent is its own when a side says one.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from rag.lexicon import find_indicators
from rag.regions import short_name
from rag.search.query import ParsedQuestion, find_intent

COMPUTE_RE = re.compile(
    r"比.{0,24}?(?:高|低|多|少|快|慢|增加|减少|提高|下降)[\u4e00-\u9fff]{0,2}?(?:了)?(?:多少|几)|相差|差距|差(?:了)?多少|之差|差值|高出|低了?多少"
    r"|占(?!比).{0,24}?(?:比重|比例|的比)(?:是|为|有)?(?:多少|几)|占(?!比).{0,24}?(?:百分之|多少|几成)|是.{0,16}?的百分之(?:几|多少)"
    r"|之和|合计|总共|一共|加起来|总和|是.{0,16}?的(?:几|多少)倍|几倍|多少倍|(?:增长|增加|提高|提升|上升)了?百分之(?:几|多少)|增幅是多少"
    r"|difference|how much (?:higher|lower|more|less|faster|slower)|\bsum\b|combined|how many times|gap"
    r"|\bexceeds?\b|by how (?:much|many)|how many (?:more|fewer|percentage points)",
    re.I,
)


_YEAR_RE = re.compile(r"(?:19|20)\d{2}")


_COMPARED_RE = re.compile(r"^(?P<a>.+?)比(?P<b>.+?)(?:高|低|多|少|快|慢|增加|减少|提高|下降)(?:[\u4e00-\u9fff]{0,2}?)了?(?:多少|几|出)")
_SUMMED_RE = re.compile(r"^(?P<a>.+?)(?:和|与|及|以及|加上)(?P<b>.+?)(?:一共|总共|合计|加起来|之和|总和)")
_DIFFERED_RE = re.compile(r"^(?P<a>.+?)(?:和|与|跟|同)(?P<b>.+?)(?:相差|之差|的差距|差距|差值|差了?多少)")
_TIMES_RE = re.compile(r"^(?P<a>.+?)是(?P<b>.+?)的(?:几|多少)倍")
_SHARED_RE = re.compile(r"^(?P<a>.+?)占(?!比)(?P<b>.+?)的?(?:比重|比例|的比|百分之|多少|几成)|^(?P<a2>.+?)是(?P<b2>.+?)的百分之")
_TIME_ONLY_RE = re.compile(r"^(?:上年|去年|上一年|前一年|同期|上年同期|年初|以前|之前)$")
_YEAR_MENTION_RE = re.compile(r"(?:19|20)\d{2}\s*年")


def sides(q: ParsedQuestion) -> tuple[str, str] | None:
    """The two things one region and year compares or adds (「山东省2025年A增速比B增速快多少」 → A, B).

    Each side becomes its own sub-question (with the shared region/year prefix), so each figure is
    the one its own words precede in the passage, not the first figure of the sentence.
    """
    m = _two_sides(q.text)
    if m is not None:
        a, b = m.group("a"), m.group("b").strip("的")
    elif (m := _SHARED_RE.search(q.text)) is not None:  # 「A占B的比重」: the part, then the whole
        a, b = m.group("a") or m.group("a2"), (m.group("b") or m.group("b2")).strip("的")
    else:
        return None
    end = _scope_end(q, a)
    own = a[end:].strip("的")
    if len(re.findall(r"[\u4e00-\u9fff]", own)) < 2 or len(re.findall(r"[\u4e00-\u9fff]", b)) < 2 \
            or _TIME_ONLY_RE.match(b) or _YEAR_MENTION_RE.search(b):
        return None
    return a, a[:end] + _completed(b, own)


def _scope_end(q: ParsedQuestion, text: str) -> int:
    """Where the shared region/year words of ``text`` end (「山东省2025年」 of 「山东省2025年规上工业…」)."""
    end = max((y.end() for y in _YEAR_MENTION_RE.finditer(text)), default=0)
    for r in q.regions:
        for name in (r, short_name(r)):
            at = text.find(name)
            if at >= 0:
                end = max(end, at + len(name))
    return end


def _completed(b: str, own: str) -> str:
    """The second side with the words it shares with the first (「农村居民人均可支配收入增速比城镇居民」 → 城镇居民人均可支配收入增速).

    When the second side names no indicator but the first does, the second takes the first's words
    after their common part (居民), or the first's indicator onward when they share none.
    """
    if find_indicators(b) or not (inds := find_indicators(own)):
        return b
    for k in range(min(len(b), len(own)) - 1, 1, -1):  # the longest ending of b that stands in own
        at = own.find(b[-k:])
        if at >= 0:
            return b + own[at + k:]
    at = min((own.find(a) for i in inds for a in (i.name, *i.aliases) if a and a in own), default=-1)
    return b + own[at:] if at >= 0 else b


_INTENT_WORD_RE = re.compile(r"实际|目标|计划|预期|力争|完成|实现")
_YEAR_LEAD_RE = re.compile(r"\d{4}\s*年?(?:的)?(?:政府)?(?:工作报告)?(?:的)?")
_ASKED_RE = re.compile(r"(?:高|低|多|少|快|慢|增加|减少|提高|下降)?了?(?:多少|几)(?:个)?(?:百分点|倍|万人|亿元|万亿元)?")
_REPORT_AFTER_RE = re.compile(r"\s*年?的?(?:政府)?工作报告|年报告")


def _year_texts(q: ParsedQuestion, spans: list[tuple[int, int]]) -> list[str]:
    """Each year operand's own words, without the comparison (「2025年的赤字率比2018年高多少」 → 2025年的赤字率, 2018年的赤字率).

    The second side borrows what it leaves out from the first (its region, and the thing compared
    when it names only a year); [] when the question is not 「A比B…」/「A和B一共」 with one year each side.
    """
    m = _two_sides(q.text)
    if m is None or len(spans) != 2 or not spans[0][0] < m.end("a") <= spans[1][0]:
        return []
    a, b = m.group("a"), m.group("b").strip("的")
    year_a, year_b = spans[0][0], spans[1][0] - m.start("b")
    if year_b < 0:
        return []
    lead_a, lead_b = _YEAR_LEAD_RE.match(a, year_a), _YEAR_LEAD_RE.match(b, year_b)
    if lead_a is None or lead_b is None:
        return []
    own_a, own_b = a[lead_a.end():].strip("的"), b[lead_b.end():].strip("的")
    if len(re.findall(r"[\u4e00-\u9fff]", _INTENT_WORD_RE.sub("", own_b))) < 2:
        own_b += _INTENT_WORD_RE.sub("", own_a)  # 「…比2018年高多少」「…比2023年实际少多少」: the same thing, another year
    elif not find_indicators(own_b):
        own_b = _completed(own_b, own_a)
    prefix = "" if len(q.regions) == 2 else a[:year_a]
    return [a, prefix + b[:lead_b.end()] + own_b]


def _two_sides(text: str) -> re.Match[str] | None:
    """「A比B高多少」「A和B一共」「A是B的几倍」「A和B相差多少」: the match with groups a and b (None: not two sides)."""
    return _COMPARED_RE.search(text) or _SUMMED_RE.search(text) or _TIMES_RE.search(text) or _DIFFERED_RE.search(text)


def _han(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def _region_texts(q: ParsedQuestion) -> list[str]:
    """Each region operand in its own words; [] when the question is not two sides.

    「浙江省2025年GDP增速比广东省高多少」 → 浙江省2025年GDP增速, 广东省2025年GDP增速;
    「四川省和福建省2026年城镇新增就业目标一共」 → 四川省2026年城镇新增就业目标, 福建省2026年城镇新增就业目标.
    """
    m = _two_sides(q.text)
    if m is None or len(q.regions) != 2:
        return []
    a, b = m.group("a"), m.group("b").strip("的")
    spots = []
    for text, region in ((a, q.regions[0]), (b, q.regions[1])):
        name = next((n for n in (region, short_name(region)) if n and n in text), None)
        if name is None:
            return []
        at = text.find(name)
        spots.append((text[:at + len(name)], text[at + len(name):].strip("的")))
    (head_a, own_a), (head_b, own_b) = spots
    if _han(_INTENT_WORD_RE.sub("", own_b)) < 2:
        own_b += own_a  # 「…比广东省高多少」: the same thing, the other region
    if _han(own_a) < 2:
        own_a = own_b  # 「四川省和福建省…一共」: the shared words follow the second
    return [head_a + own_a, head_b + own_b]


def named_years(q: ParsedQuestion) -> set[int]:
    """The years a question names, as years or as report years (「2025年政府工作报告…2022年的」: two)."""
    return set(q.years) | set(q.report_years)


def _year_spans(q: ParsedQuestion) -> list[tuple[int, int]]:
    """(position, year) of each year mention, in the question's order."""
    named = named_years(q)
    return [(m.start(), int(m.group())) for m in _YEAR_RE.finditer(q.text) if int(m.group()) in named]


# 「2026年目标比上一年实际增速高多少」: the year before the one the question names
_PREVIOUS_YEAR_RE = re.compile(r"(?<=比)(?:上一年|上年|去年|前一年)(?=的?(?:实际|目标|计划|预期|完成|增速|增长|水平))")


def with_previous_year(q: ParsedQuestion) -> ParsedQuestion:
    """A comparison with 「上一年/去年」 written as the year it means, when the question names exactly one year."""
    named = named_years(q)
    if len(named) != 1 or not (m := _PREVIOUS_YEAR_RE.search(q.text)):
        return q
    year = next(iter(named)) - 1
    return replace(q, text=q.text[:m.start()] + f"{year}年" + q.text[m.end():], years=tuple(sorted({*q.years, year})))


def operands(q: ParsedQuestion) -> list[tuple[str, ParsedQuestion]]:
    """(label, sub-question) per operand: by year (with each year's own intent), region or indicator."""
    q = with_previous_year(q)
    if len(named_years(q)) >= 2:
        spans = _year_spans(q)
        texts = _year_texts(q, spans)
        # the comparison itself (「低多少」「高出」) says nothing about target vs actual: a side that says neither is
        # read in both its own report and the next (the figure that fits it best wins: rag.answer.answerers.compute)
        said = [find_intent(_ASKED_RE.sub("", COMPUTE_RE.sub("", q.text[pos:spans[k + 1][0] if k + 1 < len(spans) else None])))
                for k, (pos, _) in enumerate(spans)]
        out = []
        for k, (pos, year) in enumerate(spans):
            intent = said[k]
            label = f"{year}年" + {"target": "目标", "actual": "实际"}.get(intent, "")
            sub = replace(q, text=texts[k] if texts else q.text, years=(year,), intent=intent)
            if _REPORT_AFTER_RE.match(q.text, pos + 4):  # 「2025年政府工作报告安排的…是2022年的几倍」: this report's own figure
                sub = replace(sub, years=(year - 1 if intent == "actual" else year,), report_years=(year,))
            elif year in q.years:
                sub = replace(sub, report_years=())  # a plain year beside a named report: not that report's
            else:
                continue
            if len(q.regions) == len(spans):  # 「仓山区2023年…比台江区2021年…」: region and year pair up
                sub = replace(sub, regions=(q.regions[k],))
                label = q.regions[k] + label
            out.append((label, sub))
        return out
    if len(q.regions) >= 2:
        texts = _region_texts(q)
        return [(r, replace(q, regions=(r,), text=texts[k] if texts else q.text)) for k, r in enumerate(q.regions)]
    two = sides(q) if len(q.regions) <= 1 else None
    if two is not None:
        out = []
        for text in two:
            inds = tuple(i.name for i in find_indicators(text))
            label = text[min(len(os.path.commonprefix(two)), _scope_end(q, two[0])):] if two[0] != two[1] else ""
            out.append((label.strip("的"), replace(q, text=text, indicators=inds, expansions=inds)))
        return out
    if len(q.indicators) >= 2:
        return [(i, replace(q, indicators=(i,), expansions=(i,))) for i in q.indicators]
    return [("", q)]
