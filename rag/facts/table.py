"""Indicator table: exact figures per region, year and indicator, as targets, results or forecasts.

Extraction (``extract_facts``) reads the cleaned text of a document, sentence by sentence:

- a *sentence* ends at 。！？ or a line break; the word 「预计」 anywhere earlier in the sentence makes
  every figure after it a forecast (「预计地区生产总值677.77亿元,增长9.3%;一般公共预算总收入26.25亿元」);
- a *part* ends at ；; — each part names its own indicator;
- a *clause* ends at ，,：: — a clause without an indicator but with a growth figure
  (「增长9.3%」) belongs to the indicator named earlier in the same part, so
  「地区生产总值677.77亿元,增长9.3%」 gives a level AND a growth fact.

Kind: 「预计」 in the sentence or the section title → forecast; a targets/plan section
(「2024年主要预期目标」, 「2024年工作安排」) or 力争/目标/预期 in the part → target; otherwise actual.
Year the figure refers to: a year stated in the part before the figure, else the section's year
(``Chunk.period_year``), else derived from the report year (targets: the report year; results: the
year before) and recorded as such (``year_source``). 「年均」 figures span several years: year None.

Only the indicators of ``rag.lexicon.INDICATORS`` are extracted, with units that fit them
(money, people, %, 个百分点). Redacted values (XX亿元) are kept with ``value=None, redacted=True``.

Other rules met in real reports: 「从7248亿元提高到8865亿元」 keeps the end value; 「城镇和农村居民人均可支配收入
分别增长4.3%、5.5%」 gives the urban figure; 年均/五年/连年 in the clause, five-year sums and five-year
targets get ``year=None`` (``year_source="multi-year"``); 人均GDP, shares (占…比重), 外贸出口, 外资企业,
海洋生产总值, 大湾区经济总量 are not headline figures. A decline keeps its stated value with the
qualifier 下降 (display 「下降3.3%」).

API
- ``extract_facts(doc, chunks) -> list[Fact]`` (pure); ``extract_all(documents, chunks)``.
- ``build_facts(settings) -> int`` / ``build_facts_from_manifest(manifest, settings) -> int``: rebuild
  ``facts.sqlite`` in the index directory (ingest and remove_documents call the latter);
  ``query_facts(settings, region=, year=, indicator=, kind=) -> list[Fact]`` (short region names and
  indicator aliases accepted; builds the table on first use for an index that predates it).
- ``lookup(parsed, settings) -> FactAnswer | None`` and its pure core ``answer_from_facts(parsed, facts)``:
  intent target → targets only; actual → results and forecasts (预计); any → all. None when the question
  names no indicator or region, or the table holds none of its regions. ``FactAnswer`` has ``cells``
  (region × year × indicator × kind, every source), ``missing`` (with the years the table holds),
  ``conflicts`` (same region/year/indicator/kind/measure, different figures from different documents,
  e.g. 「XX亿元」 in the redacted copy vs 「1065亿元」 in the news summary) and ``chunk_ids``.
- ``format_fact_answer(fa) -> str``: Chinese, figures verbatim with units, ``[n]`` = ``fa.chunk_ids[n-1]``;
  a markdown table for comparisons; conflicts and missing combinations spelled out.
- ``add_facts_parser(subparsers)`` / ``run_facts_command(args)``: ``rag facts [--region R] [--year Y]
  [--indicator I] [--kind K] [--json] [--index DIR] [--rebuild] [--eval]``.

Precision/recall against hand-labelled figures: ``evals/facts_eval.py`` (``rag facts --eval``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.ingest.untrusted import defang
from rag.lexicon import (
    ASKS_GROWTH_RE,
    GROWTH_RE,
    INDICATORS,
    TARGET_CLAUSE_RE,
    Indicator,
    indicator_by_name,
    region_label,
)
from rag.textnorm import PERCENT_UNITS, Figure, fold_with_map, scan_figures
from rag.types import Chunk, Document, Section

if TYPE_CHECKING:  # pragma: no cover
    from rag.config import Settings
    from rag.index.run import Manifest
    from rag.search.query import ParsedQuestion

FACTS_FILE = "facts.sqlite"
KINDS = ("target", "actual", "forecast")
KIND_ZH = {"target": "目标", "actual": "实际", "forecast": "预计"}
MEASURE_ZH = {"level": "总量", "growth": "增速"}

MONEY_UNITS = frozenset({"万亿元", "亿元", "万元", "千元", "元", "亿美元", "万美元", "美元"})
PEOPLE_UNITS = frozenset({"万人", "人"})
RATE_INDICATORS = frozenset({"居民消费价格", "城镇调查失业率"})  # their level is a percentage
PEOPLE_INDICATORS = frozenset({"城镇新增就业"})
GRAIN_UNITS = frozenset({"万亿斤", "亿斤", "万斤", "亿公斤", "万吨"})

_SENTENCE_RE = re.compile(r"[。！？!?\n]+")
_PART_RE = re.compile(r"[；;]+")
_CLAUSE_RE = re.compile(r"[，,：:]+")
_BLOCK_RE = re.compile(r"占|比重|比例|排名|居全|第[一二三四五六七八九十\d]|人均|税收|贡献|、|分别|其中")
_CARRY_RE = re.compile(r"^\s*(?:比上年|同比|较上年|比去年|[五十]年|近\d+年)?(?:年均)?(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?)?\s*$")
_YEAR_IN_TEXT_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(?!度?[^\d]{0,2}月)")
_TARGET_CUE_RE = re.compile(r"预期目标|主要目标|目标是|目标为|目标:")  # earlier in the sentence: a targets list
_HORIZON_RE = re.compile(r"到((?:19|20)\d{2})年")
_RELATIVE_YEAR_RE = re.compile(r"(?<![比较同])(今年|去年)")
_TO_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小)?[到至](?:(?:19|20)\d{2}年的?)?$")
_FROM_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小)?[到至]")
_URBAN_RURAL_RE = re.compile(r"城镇(?:居民)?[和、与及]农村居民人均可支配收入(?P<name_end>)分别(?:增长|达到|超过|为)?")
_CONTINUE_RE = re.compile(r"^[、和及]\s*(?:比上年|同比|较上年|比去年)?(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?)?\s*$")
# a mention preceded by these is another indicator (人均GDP, 农村居民人均可支配收入)
_EXCLUDED_PREFIXES: dict[str, tuple[str, ...]] = {
    "地区生产总值": ("人均", "占", "单位", "海洋", "旅游", "文化", "数字经济", "农业", "工业", "服务业", "民营经济"),
    "居民人均可支配收入": ("农村", "农民"),
    "城镇居民人均可支配收入": (),
    "进出口总额": ("国家", "地区"),  # 「与共建“一带一路”国家进出口」 is a part of the total
}
_EXCLUDED_NEAR: dict[str, tuple[str, ...]] = {  # anywhere in the 4 characters before the name
    "进出口总额": ("国家", "伙伴", "电商", "跨境", "对"),  # 「对东盟进出口增长8%」
    "地区生产总值": ("湾区", "都市圈", "城市群", "经济圈"),
}
_CLAUSE_MULTI_RE = re.compile(r"年均|连年|十年|五年|多年|每年")  # in the clause before the figure: not one year
_EXCLUDED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "进出口总额": ("出口", "进口", "实绩", "企业"),  # 「外贸出口增长7.2%」 is exports only
    "实际利用外资": ("企业", "项目", "机构", "准入", "市场", "占比", "和对外"),  # 「新设外资企业数量增长19.5%」
}
_PLAN_HEADING_RE = re.compile(r"(?:((?:19|20)\d{2})年|今年)[^。]{0,6}?(?:重点工作|工作安排|主要任务|工作任务|工作重点)")
_FUTURE_FIVE_RE = re.compile(r"十五五|今后五年|未来五年")
_MULTI_YEAR_RE = re.compile(r"十年来|的五年|这五年|五年来|过去五年|过去的五年|今后五年|未来五年|五年累计|五年共|五年间|[“\"]?十[三四五]五[”\"]?时期|十[三四五]五期间")
_BEFORE_QUALIFIERS = ("力争", "同比", "比上年", "突破", "超过", "年均", "累计", "上半年", "约")
_AFTER_QUALIFIERS = ("左右", "以上", "以内", "以下")
_PERIOD_RE = re.compile(r"上半年|下半年|前三季度|一季度|\d{1,2}-\d{1,2}月份?|到\d{1,2}月份?|截止目前")
_MAX_GAP = 14  # characters allowed between an indicator's name and its first figure


@dataclass(frozen=True)
class Fact:
    """One figure of one indicator, with where it stands and what it means."""

    region: str | None
    year: int | None  # the year the figure refers to (None: unknown or several years)
    indicator: str  # canonical name (rag.lexicon)
    wording: str  # the indicator as worded in the source
    measure: str  # level | growth
    value: float | None  # None when redacted
    unit: str
    value_text: str  # the figure verbatim from Document.text, e.g. 「677.77亿元」, 「XX亿元」
    kind: str  # target | actual | forecast
    qualifiers: tuple[str, ...] = ()
    redacted: bool = False
    region_inferred: bool = False
    year_source: str = "section"  # clause | section | report | multi-year | unknown
    report_year: int | None = None
    doc_id: str = ""
    source: str = ""
    doc_kind: str = ""
    chunk_id: str = ""
    section: str = ""
    start: int = 0  # span of the mention (indicator … figure) in Document.text
    end: int = 0
    clause: str = ""  # the part (between ；) the figure stands in, verbatim

    def display_value(self) -> str:
        """The figure as the source states it, with qualifiers, e.g. 「增长5.5%左右」."""
        text = self.value_text
        if self.redacted:
            return f"{text}(原文已脱敏,数值未知)"
        if self.measure == "growth":
            text = ("下降" if "下降" in self.qualifiers else "增长") + text
        after = "".join(q for q in self.qualifiers if q in _AFTER_QUALIFIERS)
        before = "".join(q for q in self.qualifiers if q in ("力争", "突破", "超过", "年均", "约"))
        return before + text + after


# ---------------------------------------------------------------- extraction
def _mentions(text: str) -> list[tuple[int, int, Indicator]]:
    """Indicator names in folded text: longest alias first, no overlaps, exclusions applied."""
    aliases = sorted(((a, ind) for ind in INDICATORS for a in ind.aliases), key=lambda x: -len(x[0]))
    taken: list[tuple[int, int, Indicator | None]] = []
    for alias, ind in aliases:
        for m in re.finditer(re.escape(alias), text, flags=re.I):
            if any(s < m.end() and m.start() < e for s, e, _ in taken):
                continue
            before = text[max(0, m.start() - 4): m.start()]
            excluded = any(before.endswith(p) for p in _EXCLUDED_PREFIXES.get(ind.name, ())) or any(
                text.startswith(x, m.end()) for x in _EXCLUDED_SUFFIXES.get(ind.name, ())) or any(
                p in before for p in _EXCLUDED_NEAR.get(ind.name, ()))
            taken.append((m.start(), m.end(), None if excluded else ind))
    return sorted(((s, e, i) for s, e, i in taken if i is not None), key=lambda x: x[0]) + [
        (s, e, _BLOCKER) for s, e, i in taken if i is None
    ]


_BLOCKER = Indicator("<excluded>", (), ())


def _figures(text: str) -> list[Figure]:
    """Figures with a unit in folded text, ranges (「4.5%—5%」) as one; redacted ones too, not a bare unit."""
    return [f for f in scan_figures(text, ranges=True) if f.unit and not f.missing]


def _unit_fits(indicator: str, measure: str, unit: str) -> bool:
    if measure == "growth":
        return unit in PERCENT_UNITS
    if indicator in RATE_INDICATORS:
        return unit in PERCENT_UNITS
    if indicator in PEOPLE_INDICATORS:
        return unit in PEOPLE_UNITS
    if indicator == "粮食产量":
        return unit in GRAIN_UNITS
    return unit in MONEY_UNITS


def _top_section(doc: Document, pos: int) -> Section | None:
    """The level-1 section enclosing ``pos`` (within its compilation segment)."""
    seg = next((s for s in doc.segments if s.start <= pos < s.end), None)
    seg_start = seg.start if seg else 0
    top: Section | None = None
    for sec in doc.sections:
        if sec.start > pos:
            break
        if sec.start >= seg_start and sec.level == 1:
            top = sec
    return top


def _heading_line(folded: str, pos: int, max_lines: int = 15) -> str:
    """The nearest short line (≤ 30 characters, no 。) before ``pos``: a heading describe() may not know."""
    end = folded.rfind("\n", 0, pos)
    for _ in range(max_lines):
        if end <= 0:
            return ""
        start = folded.rfind("\n", 0, end) + 1
        line = folded[start:end].strip()
        if line and len(line) <= 30 and "。" not in line:
            return line
        end = start - 1
    return ""


def _nearest_section(doc: Document, pos: int) -> Section | None:
    """The nearest heading (any level) before ``pos``."""
    near: Section | None = None
    for sec in doc.sections:
        if sec.start > pos:
            break
        near = sec
    return near


def _chunk_at(chunks: Sequence[Chunk], start: int, end: int) -> Chunk | None:
    inside = [c for c in chunks if c.start <= start and end <= c.end]
    if inside:
        return inside[0]
    return next((c for c in chunks if c.start <= start < c.end), None)


def _split(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    s = start
    for m in pattern.finditer(text, start, end):
        if m.start() > s:
            spans.append((s, m.start()))
        s = m.end()
    if end > s:
        spans.append((s, end))
    return spans


def _qualifiers(folded: str, clause_start: int, fig: Figure, mention_end: int) -> tuple[str, ...]:
    """Qualifiers of a figure: words before it in its clause (力争, 同比, 年均 …) and after it (左右, 以上 …)."""
    quals: list[str] = []
    part_start = clause_start
    before = folded[part_start: fig.start]
    for q in _BEFORE_QUALIFIERS:
        if q == "约":
            if folded[max(part_start, fig.start - 1): fig.start] == "约":
                quals.append(q)
        elif q in before:
            quals.append(q)
    if "下降" in folded[mention_end: fig.start] or "下降" in folded[max(part_start, fig.start - 4): fig.start]:
        quals.append("下降")
    after = folded[fig.end: fig.end + 2]
    quals.extend(q for q in _AFTER_QUALIFIERS if after.startswith(q))
    return tuple(dict.fromkeys(quals))


def extract_facts(doc: Document, chunks: Sequence[Chunk]) -> list[Fact]:
    """Facts of the headline indicators in ``doc`` (see the module docstring); spans index doc.text."""
    folded, index = fold_with_map(defang(doc.text))  # guard: an instruction to an assistant is no fact
    doc_chunks = sorted((c for c in chunks if c.doc_id == doc.doc_id), key=lambda c: c.start)
    facts: list[Fact] = []
    for s_start, s_end in _split(folded, _SENTENCE_RE, 0, len(folded)):
        for p_start, p_end in _split(folded, _PART_RE, s_start, s_end):
            facts.extend(_part_facts(doc, doc_chunks, folded, index, s_start, p_start, p_end))
    return facts


def _part_facts(doc: Document, chunks: Sequence[Chunk], folded: str, index: list[int],
                s_start: int, p_start: int, p_end: int) -> list[Fact]:
    """Facts in one part (text between ；), carrying the indicator across its clauses."""
    out: list[Fact] = []
    current: tuple[Indicator, int, int] | None = None  # indicator, mention start, mention end
    for c_start, c_end in _split(folded, _CLAUSE_RE, p_start, p_end):
        clause = folded[c_start:c_end]
        pair = _URBAN_RURAL_RE.search(clause)
        if pair:  # 「城镇和农村居民人均可支配收入分别增长4.3%、5.5%」: the first figure is the urban one
            after = [f for f in _figures(clause) if f.start >= pair.end()]
            urban = indicator_by_name("城镇居民人均可支配收入")
            if after and urban is not None:
                fig = dataclasses.replace(after[0], start=after[0].start + c_start, end=after[0].end + c_start)
                measure = "growth" if (GROWTH_RE.search(pair.group(0)) and fig.unit in PERCENT_UNITS) else "level"
                if _unit_fits(urban.name, measure, fig.unit):
                    fact = _make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
                                      (urban, pair.start() + c_start, pair.start("name_end") + c_start), fig, measure,
                                      clause_start=c_start)
                    if fact:
                        out.append(fact)
            current = None
            continue
        mentions = [(s + c_start, e + c_start, ind) for s, e, ind in _mentions(clause)]
        mentions.sort(key=lambda m: m[0])
        figs = [dataclasses.replace(f, start=f.start + c_start, end=f.end + c_start) for f in _figures(clause)]
        if not mentions:
            # a clause like 「增长9.3%」 continues the indicator named earlier in the part
            if current is not None and figs:
                fig = figs[0]
                if _CARRY_RE.match(folded[c_start: fig.start]) and fig.unit in PERCENT_UNITS:
                    fact = _make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
                                      current, fig, "growth", clause_start=c_start)
                    if fact:
                        out.append(fact)
            continue
        for k, (m_start, m_end, ind) in enumerate(mentions):
            if ind is _BLOCKER:
                current = None
                continue
            current = (ind, m_start, m_end)
            next_mention = mentions[k + 1][0] if k + 1 < len(mentions) else c_end
            seen: set[str] = set()
            prev_end = m_end
            for fig in figs:
                if fig.start < m_end or fig.start >= next_mention:
                    continue
                gap = folded[prev_end: fig.start]
                if prev_end == m_end and len(gap) > _MAX_GAP:
                    break
                if re.match(r"(?:以上|以下|左右)?的", folded[fig.end: fig.end + 3]):
                    break  # 「经济总量超500亿元的县域增至12个」: the figure qualifies something else
                if re.match(r"、\s*\d", folded[fig.end: fig.end + 3]) and prev_end == m_end and not GROWTH_RE.search(gap):
                    break  # 「接连突破8万亿元、9万亿元」: milestones, not one year's figure
                if ("从" in gap or "由" in gap) and _FROM_RE.match(folded[fig.end: fig.end + 4]):
                    prev_end = fig.end  # 「从7248亿元提高到8865亿元」: keep the end value (the base year is rarely stated)
                    continue
                if prev_end > m_end and _TO_RE.match(gap):
                    gap = ""
                if _BLOCK_RE.search(gap) and not (prev_end > m_end and _CONTINUE_RE.match(gap)):
                    break  # 「…占…比重」, 「分别…、…」 — but 「60199.45亿元、增长5%」 continues
                growth_word = GROWTH_RE.search(gap) or (prev_end == m_end and GROWTH_RE.search(ind_text(folded, m_start, m_end)))
                measure = "growth" if (growth_word and fig.unit in PERCENT_UNITS) else "level"
                if measure in seen or not _unit_fits(ind.name, measure, fig.unit):
                    break
                seen.add(measure)
                fact = _make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
                                  (ind, m_start, m_end), fig, measure, clause_start=c_start)
                if fact:
                    out.append(fact)
                prev_end = fig.end
    return out


def ind_text(folded: str, start: int, end: int) -> str:
    """The indicator's own wording (「经济增长」 is itself a growth)."""
    return folded[start:end]


def _make_fact(doc: Document, chunks: Sequence[Chunk], folded: str, index: list[int], s_start: int,
               p_start: int, p_end: int, mention: tuple[Indicator, int, int], fig: Figure, measure: str,
               clause_start: int) -> Fact | None:
    ind, m_start, m_end = mention
    o_start, o_end = index[m_start], index[fig.end]
    o_fig_start = index[fig.start]
    chunk = _chunk_at(chunks, o_start, o_end)
    top = _top_section(doc, o_start)
    near = _nearest_section(doc, o_start)
    near_is_sub = near is not None and near is not top
    line_start = folded.rfind("\n", 0, fig.start)
    paragraph = folded[folded.rfind("\n", 0, max(line_start, 0)) + 1: fig.start]  # this and the previous line
    heading = _heading_line(folded, fig.start)
    this_line = folded[line_start + 1: fig.start]
    # 「“十五五”时期的主要目标任务」 above, unless this line names its own year (「2022年我们要…主要目标是」)
    own_year = bool(_YEAR_IN_TEXT_RE.search(this_line))
    future_five = (bool(_FUTURE_FIVE_RE.search(heading)) and "回顾" not in heading
                   and not own_year and not _YEAR_IN_TEXT_RE.search(heading))
    plan_heading = _PLAN_HEADING_RE.search(heading)  # 「三、2026年重点工作」 that describe() did not take as a part
    five_here = future_five or (not own_year and bool(_MULTI_YEAR_RE.search(this_line)))  # this line or heading
    five_years = five_here or bool(  # for results: also the previous line or the sub-section title
        _MULTI_YEAR_RE.search(paragraph) or (near_is_sub and near is not None and _MULTI_YEAR_RE.search(near.title)))
    part_before = folded[p_start: fig.start]
    sentence_before = folded[s_start: fig.start]
    quals = _qualifiers(folded, clause_start, fig, m_end)
    if fig.range:
        quals = (*quals, "区间")
    period = _PERIOD_RE.search(part_before)
    if period and period.group(0) not in quals:
        quals = (*quals, period.group(0))  # a part of the year (上半年, 1-10月份)

    report_year = chunk.year if chunk else doc.year
    # kind
    if "预计" in sentence_before or (top is not None and "预计" in top.title):
        kind = "forecast"
    elif top is not None and top.kind in ("targets", "plan"):
        kind = "target"
    elif future_five:
        kind = "target"
    elif plan_heading and (not plan_heading.group(1) or not report_year or int(plan_heading.group(1)) >= report_year):
        kind = "target"
    elif near_is_sub and near is not None and near.kind == "targets":
        kind = "target"  # 「二、“十五五”时期主要目标任务」 inside a review part
    elif (TARGET_CLAUSE_RE.search(folded[clause_start: fig.start]) or _TARGET_CUE_RE.search(sentence_before)
          or (("左右" in quals or "以内" in quals) and not five_years)):
        kind = "target"  # a targets list outside a detected targets section; 「5%左右」 is how targets are set
    else:
        kind = "actual"

    # year the figure refers to
    years = [int(y) for y in _YEAR_IN_TEXT_RE.findall(part_before)] or [
        int(y) for y in _HORIZON_RE.findall(sentence_before)]  # 「到2030年,…;…达到9万元左右」
    relative = _RELATIVE_YEAR_RE.findall(sentence_before)
    year: int | None
    if _CLAUSE_MULTI_RE.search(folded[clause_start: fig.start]):
        year, year_source = None, "multi-year"  # 年均, 五年增长, 连年稳定在
    elif years:
        year, year_source = years[-1], "clause"
    elif relative and report_year and doc.kind != "汇编":
        year, year_source = (report_year if relative[-1] == "今年" else report_year - 1), "clause"
    elif (kind == "target" and five_here) or (kind != "target" and (("累计" in quals and five_years) or (
            five_here and (ind.name in PEOPLE_INDICATORS or (measure == "level" and ind.name == "实际利用外资"))))):
        year, year_source = None, "multi-year"  # five-year targets; five-year sums (新增就业, 使用外资)
    elif kind == "target" and plan_heading and plan_heading.group(1):
        year, year_source = int(plan_heading.group(1)), "section"
    elif kind == "target" and top is not None and top.kind == "review" and report_year:
        year, year_source = report_year, "report"  # targets inside a review part speak of the report year
    elif chunk is not None and chunk.period_year:
        year, year_source = chunk.period_year, "section"
    elif report_year and doc.kind != "汇编":
        year, year_source = (report_year if kind == "target" else report_year - 1), "report"
    elif report_year:
        year, year_source = report_year, "report"
    else:
        year, year_source = None, "unknown"

    region = chunk.region if chunk else doc.region
    return Fact(
        region=region, year=year, indicator=ind.name, wording=doc.text[o_start: index[m_end]],
        measure=measure, value=fig.value, unit=fig.unit if fig.unit != "百分点" else "个百分点",
        value_text=doc.text[o_fig_start: o_end], kind=kind, qualifiers=quals, redacted=fig.redacted,
        region_inferred=bool(chunk.region_inferred if chunk else doc.region_inferred),
        year_source=year_source, report_year=report_year, doc_id=doc.doc_id, source=doc.source,
        doc_kind=doc.kind, chunk_id=chunk.chunk_id if chunk else "", section=chunk.section if chunk else "",
        start=o_start, end=o_end, clause=doc.text[index[p_start]: index[p_end]].strip(),
    )


# ---------------------------------------------------------------- store
_COLUMNS = [f.name for f in dataclasses.fields(Fact)]


def facts_path(settings: Settings) -> Path:
    """Where the table of an index lives."""
    return Path(settings.index_dir) / FACTS_FILE


def extract_all(documents: dict[str, Document], chunks: Sequence[Chunk]) -> list[Fact]:
    """Facts of every document (chunks grouped by document)."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    facts: list[Fact] = []
    for doc_id in sorted(documents):
        try:
            facts.extend(extract_facts(documents[doc_id], by_doc.get(doc_id, [])))
        except Exception as exc:  # an extraction bug must not break ingest: the document just has no facts
            print(f"facts: skipped {documents[doc_id].source}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    return facts


def write_facts(path: Path, facts: Iterable[Fact]) -> int:
    """Write the table atomically (a new file, then rename); returns the number of rows."""
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    db = sqlite3.connect(str(tmp))
    try:
        cols = ", ".join(f"{c} {'INTEGER' if c in ('year', 'report_year', 'start', 'end', 'redacted', 'region_inferred') else ('REAL' if c == 'value' else 'TEXT')}"
                         for c in _COLUMNS)
        db.execute(f"CREATE TABLE facts (rowid INTEGER PRIMARY KEY, {cols})")
        db.execute("CREATE INDEX facts_lookup ON facts(region, year, indicator, kind)")
        rows = (tuple(json.dumps(list(v), ensure_ascii=False) if isinstance(v, tuple) else v
                      for v in dataclasses.astuple(f)) for f in facts)
        marks = ", ".join("?" for _ in _COLUMNS)
        db.executemany(f"INSERT INTO facts ({', '.join(_COLUMNS)}) VALUES ({marks})", rows)
        db.commit()
        count = int(db.execute("SELECT COUNT(*) FROM facts").fetchone()[0])
    finally:
        db.close()
    os.replace(tmp, path)
    return count


def build_facts_from_manifest(manifest: Manifest, settings: Settings) -> int:
    """Rebuild ``facts.sqlite`` from the manifest's live documents and chunks (called by ingest).

    One document (and its chunks) at a time, so memory does not grow with the corpus.
    """
    def facts() -> Iterator[Fact]:
        for doc_id in manifest.doc_ids():
            doc = manifest.document(doc_id)
            if doc is not None:
                yield from extract_all({doc_id: doc}, manifest.doc_chunks(doc_id))

    return write_facts(facts_path(settings), facts())


def build_facts(settings: Settings) -> int:
    """Rebuild the table of the index at ``settings.index_dir``; returns the number of facts."""
    from rag.index.run import Manifest, require_index

    require_index(settings)
    manifest = Manifest(Path(settings.index_dir))
    try:
        return build_facts_from_manifest(manifest, settings)
    finally:
        manifest.close()


def _row_to_fact(row: sqlite3.Row) -> Fact:
    values: dict[str, Any] = {c: row[c] for c in _COLUMNS}
    values["qualifiers"] = tuple(json.loads(values["qualifiers"] or "[]"))
    values["redacted"] = bool(values["redacted"])
    values["region_inferred"] = bool(values["region_inferred"])
    return Fact(**values)


def canonical_indicator(name: str) -> str:
    """「GDP」/「社零」/「地区生产总值」 → the canonical name; unknown names come back unchanged."""
    ind = indicator_by_name(name)
    if ind is None:
        from rag.lexicon import find_indicators

        found = find_indicators(name)
        ind = found[0] if found else None
    return ind.name if ind else name


def query_facts(settings: Settings, region: str | None = None, year: int | None = None,
                indicator: str | None = None, kind: str | None = None) -> list[Fact]:
    """Facts of the index's table matching every given filter (region short names accepted)."""
    path = facts_path(settings)
    if not path.exists():
        from rag.errors import RagError

        raise RagError(f"no indicator table at {path}",
                       "build it with `rag facts --rebuild` (or re-run `rag ingest`)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        where: list[str] = []
        params: list[Any] = []
        if region:
            where.append("(region = ? OR region LIKE ?)")
            params += [region, f"{region}%"]
        if year is not None:
            where.append("year = ?")
            params.append(year)
        if indicator:
            where.append("indicator = ?")
            params.append(canonical_indicator(indicator))
        if kind:
            if kind not in KINDS:
                from rag.errors import RagError

                raise RagError(f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}")
            where.append("kind = ?")
            params.append(kind)
        sql = "SELECT * FROM facts" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rowid"
        return [_row_to_fact(r) for r in db.execute(sql, params)]
    finally:
        db.close()


# ---------------------------------------------------------------- answering from the table
_INTENT_KINDS = {"target": ("target",), "actual": ("actual", "forecast"), "any": KINDS}


@dataclass(frozen=True)
class FactCell:
    """The figures of one region × year × indicator × kind, from every source that states them."""

    region: str
    year: int | None
    indicator: str
    kind: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Conflict:
    """Sources that state different figures for the same region/year/indicator/kind/measure."""

    region: str
    year: int | None
    indicator: str
    kind: str
    measure: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Missing:
    """A requested combination the table does not hold, with the years it does hold for it."""

    region: str
    year: int | None
    indicator: str
    available_years: tuple[int, ...]  # years the table holds for region × indicator (any kind)
    available: tuple[tuple[int | None, str], ...] = ()  # (year, kind) pairs it holds


@dataclass(frozen=True)
class FactAnswer:
    """What the table says about a question; ``chunk_ids[n-1]`` is the source of marker [n]."""

    question: str
    regions: tuple[str, ...]
    years: tuple[int, ...]
    indicators: tuple[str, ...]
    intent: str
    measure: str | None  # growth when the question asks for growth, else None (both)
    cells: tuple[FactCell, ...]
    missing: tuple[Missing, ...]
    conflicts: tuple[Conflict, ...]
    chunk_ids: tuple[str, ...]
    comparison: bool

    @property
    def found(self) -> bool:
        """True when at least one figure answers the question."""
        return bool(self.cells)


def _conflicts(cell: FactCell) -> list[Conflict]:
    out: list[Conflict] = []
    for measure in ("level", "growth"):
        facts = [f for f in cell.facts if f.measure == measure]
        signatures = {(f.redacted, f.value, f.unit) for f in facts}
        if len(signatures) > 1 and len({f.doc_id for f in facts}) > 1:
            out.append(Conflict(cell.region, cell.year, cell.indicator, cell.kind, measure, tuple(facts)))
    return out


def answer_from_facts(parsed: ParsedQuestion, facts: Sequence[Fact]) -> FactAnswer | None:
    """Answer ``parsed`` from ``facts`` (pure). None when the table cannot speak to the question.

    None when the question names no indicator or no region, or the table holds none of the named
    regions for the named indicators (retrieval answers then). Otherwise the matching figures per
    region × year × indicator × kind, what is missing (with the years the table does hold), and
    conflicting sources.
    """
    if not parsed.indicators or not parsed.regions:
        return None
    kinds = _INTENT_KINDS.get(parsed.intent, KINDS)
    measure = "growth" if ASKS_GROWTH_RE.search(parsed.text) else None
    indicators = tuple(dict.fromkeys(canonical_indicator(i) for i in parsed.indicators))
    relevant = [f for f in facts if f.region in parsed.regions and f.indicator in indicators
                and f.kind in kinds and (measure is None or f.measure == measure)]
    if not relevant and not any(f.region in parsed.regions for f in facts):
        return None
    cells: list[FactCell] = []
    missing: list[Missing] = []
    for region in parsed.regions:
        for ind in indicators:
            mine = [f for f in relevant if f.region == region and f.indicator == ind]
            every = [f for f in facts if f.region == region and f.indicator == ind]
            have_years = tuple(sorted({f.year for f in every if f.year is not None}))
            available = tuple(sorted({(f.year, f.kind) for f in every}, key=lambda yk: (yk[0] or 0, yk[1])))
            mine_years = sorted({f.year for f in mine if f.year is not None})
            years: Sequence[int | None] = parsed.years or (*mine_years, *([None] if any(f.year is None for f in mine) else []))
            if not years:
                missing.append(Missing(region, None, ind, have_years, available))
            for year in years:
                hits = [f for f in mine if f.year == year]
                if not hits:
                    missing.append(Missing(region, year, ind, have_years, available))
                    continue
                for kind in KINDS:
                    of_kind = tuple(f for f in hits if f.kind == kind)
                    if of_kind:
                        cells.append(FactCell(region, year, ind, kind, of_kind))
    if not cells and not missing:
        return None
    chunk_ids = tuple(dict.fromkeys(f.chunk_id for c in cells for f in c.facts if f.chunk_id))
    conflicts = tuple(x for c in cells for x in _conflicts(c))
    comparison = len(parsed.regions) > 1 or len(parsed.years) > 1 or len(indicators) > 1
    return FactAnswer(parsed.text, tuple(parsed.regions), tuple(parsed.years), indicators, parsed.intent,
                      measure, tuple(cells), tuple(missing), conflicts, chunk_ids, comparison)


def lookup(parsed: ParsedQuestion, settings: Settings) -> FactAnswer | None:
    """Answer ``parsed`` from the index's indicator table (None when the table cannot)."""
    if not parsed.indicators or not parsed.regions:
        return None
    facts = [f for region in parsed.regions for f in query_facts(settings, region=region)]
    return answer_from_facts(parsed, facts)


def _year_label(year: int | None, facts: Sequence[Fact] = ()) -> str:
    if year is not None:
        return f"{year}年"
    if any(f.year_source == "multi-year" for f in facts):
        return "(多年,年均)"
    return "(年份不详)"


def _source_name(fact: Fact) -> str:
    return Path(fact.source).name or fact.source


def format_fact_answer(fa: FactAnswer) -> str:
    """Chinese answer: figures verbatim with units, [n] markers keyed to ``fa.chunk_ids``."""
    marker = {cid: i + 1 for i, cid in enumerate(fa.chunk_ids)}

    def cite(facts: Iterable[Fact]) -> str:
        ids = sorted({marker[f.chunk_id] for f in facts if f.chunk_id in marker})
        return "".join(f"[{i}]" for i in ids)

    def values(cell: FactCell) -> str:
        parts: list[str] = []
        for measure in ("level", "growth"):
            groups: dict[str, list[Fact]] = {}
            for f in cell.facts:
                if f.measure == measure:
                    groups.setdefault(f.display_value(), []).append(f)
            parts.extend(text + cite(fs) for text, fs in groups.items())
        return ",".join(parts)

    def inferred(cell: FactCell) -> str:
        srcs = sorted({_source_name(f) for f in cell.facts if f.region_inferred})
        return f"(其中《{'》《'.join(srcs)}》的地区为推断)" if srcs else ""

    lines: list[str] = []
    if fa.comparison and fa.cells:
        lines.append("| 地区 | 年份 | 指标 | 类型 | 数值 | 来源 |")
        lines.append("|---|---|---|---|---|---|")
        for c in fa.cells:
            lines.append(f"| {c.region} | {_year_label(c.year, c.facts)} | {c.indicator} | {KIND_ZH[c.kind]} | "
                         f"{values(c)} | {'、'.join(sorted({_source_name(f) for f in c.facts}))} |")
    else:
        for c in fa.cells:
            lines.append(f"{c.region}{_year_label(c.year, c.facts)}{c.indicator}({KIND_ZH[c.kind]}):"
                         f"{values(c)}。{inferred(c)}")
    for x in fa.conflicts:
        stated = ";".join(f"《{_source_name(f)}》为{f.display_value()}{cite([f])}" for f in x.facts)
        lines.append(f"注意:{x.region}{_year_label(x.year, x.facts)}{x.indicator}{MEASURE_ZH[x.measure]}"
                     f"({KIND_ZH[x.kind]})各来源不一致——{stated}。")
    kind_label = {"target": "目标", "actual": "实际/预计"}.get(fa.intent, "")
    for m in fa.missing:
        what = f"{m.region}{_year_label(m.year) if m.year else ''}{m.indicator}{kind_label}"
        by_year: dict[str, list[str]] = {}
        for y, k in m.available:
            by_year.setdefault(_year_label(y) if y else "未标年份", []).append(KIND_ZH[k])
        have = "、".join(f"{y}({'/'.join(ks)})" for y, ks in by_year.items())
        lines.append(f"未找到{what}的数据" + (f";指标表中{m.region}{m.indicator}有{have}的数据。" if have
                                              else f";指标表中没有{m.region}{m.indicator}的数据。"))
    return "\n".join(lines)


# ---------------------------------------------------------------- command line
def add_facts_parser(subparsers: Any) -> None:
    """Register ``rag facts`` on the CLI's sub-parsers."""
    p = subparsers.add_parser("facts", help="print the indicator table (region × year × indicator)")
    p.add_argument("--region", help="region, e.g. 仓山区 or 仓山")
    p.add_argument("--year", type=int, help="the year the figure refers to")
    p.add_argument("--indicator", help="indicator name or alias, e.g. GDP, 社零")
    p.add_argument("--kind", choices=list(KINDS), help="target | actual | forecast")
    p.add_argument("--json", action="store_true", help="print {count, facts} as JSON on stdout")
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="rebuild facts.sqlite from the manifest first")
    p.add_argument("--eval", action="store_true",
                   help="score extraction against evals/facts_labelled.jsonl on corpus/ (no index needed)")
    p.set_defaults(func=run_facts_command)


def _eval_module() -> Any:
    import importlib.util

    from rag.config import REPO_ROOT

    path = REPO_ROOT / "evals" / "facts_eval.py"
    if not path.exists():
        from rag.errors import RagError

        raise RagError(f"{path} not found", "run --eval from a source checkout of the project")
    spec = importlib.util.spec_from_file_location("facts_eval", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("facts_eval", module)  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def run_facts_command(args: argparse.Namespace) -> int:
    """``rag facts``: print (or score) the indicator table."""
    if args.eval:
        module = _eval_module()
        return int(module.main(["--json"] if args.json else []))
    from rag.config import get_settings

    settings = get_settings(**({"index_dir": Path(args.index)} if args.index else {}))
    if args.rebuild:
        n = build_facts(settings)
        print(f"rebuilt {facts_path(settings)}: {n} facts", file=sys.stderr)
    facts = query_facts(settings, region=args.region, year=args.year, indicator=args.indicator, kind=args.kind)
    if args.json:
        print(json.dumps({"count": len(facts), "facts": [dataclasses.asdict(f) for f in facts]},
                         ensure_ascii=False, indent=2))
        return 0
    if not facts:
        print("no facts match (try fewer filters; `rag facts` lists the whole table)", file=sys.stderr)
        return 0
    print("地区\t年份\t指标\t类型\t口径\t数值\t来源")
    for f in facts:
        region = region_label(f.region, f.region_inferred)
        print(f"{region}\t{_year_label(f.year, [f])}\t{f.indicator}\t{KIND_ZH[f.kind]}\t{MEASURE_ZH[f.measure]}\t"
              f"{f.display_value()}\t{_source_name(f)}#{f.chunk_id}")
    return 0
