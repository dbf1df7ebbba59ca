"""What a figure found in a report means: target, result or forecast; the year it speaks of; its qualifiers.

Kind: 「预计」 in the sentence or the section title → forecast; a targets/plan section
(「2024年主要预期目标」, 「2024年工作安排」), a plan heading line (「三、2026年重点工作」) or
力争/目标/预期 in the clause → target; 「5%左右」 is how targets are set; otherwise actual.

Year: a year stated in the part before the figure (「2023年…」, 「到2030年」, 今年/去年), else the
section's year (``Chunk.period_year``), else derived from the report year (targets: the report year;
results: the year before) and recorded as such (``year_source``). 年均/五年/连年 in the clause,
five-year sums and five-year targets get ``year=None`` (``year_source="multi-year"``).

Also: a span of years (「1986年同1978年相比」) gives a growth no single year; 「过去一年」 earlier in the
paragraph makes a result last year's; 「控制在3.3%」 (an exact figure) or 「稳定在5%左右」 in a review is a
result, not a target; a plan named by number is ahead of the report in its first year (「“十三五”时期
主要目标」 in 2016); in the five-year account of a review (the paragraphs from 「过去五年」「五年来」 to
「一年来」「2025年」) growth, sums and levels held every year are multi-year and the level reached is the
last year's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.facts.fact import AFTER_QUALIFIERS, BEFORE_QUALIFIERS, PEOPLE_INDICATORS, Fact
from rag.lexicon import TARGET_CLAUSE_RE, Indicator
from rag.textnorm import Figure
from rag.types import Chunk, Document, Section

_YEAR_IN_TEXT_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(?!度?[^\d]{0,2}月)")
_TARGET_CUE_RE = re.compile(r"预期目标|主要目标|目标是|目标为|目标:|目标[,，]?\s*(?:定为|确定为)"
                            r"|今年计划|计划要求|计划规定|计划草案|[六七八九十]五[”\"]?计划")  # earlier in the sentence: a targets list
_HORIZON_RE = re.compile(r"到((?:19|20)\d{2})年")
_RELATIVE_YEAR_RE = re.compile(r"(?<![比较同])(今年|去年|过去一年|过去的一年)")
_PAST_YEAR_RE = re.compile(r"去年|过去一年|过去的一年")
_LINE_YEAR_RE = re.compile(r"过去一年|过去的一年")  # 「过去一年，…。国内生产总值增长10.3%」
_CLAUSE_MULTI_RE = re.compile(r"年均|连年|十年|五年|多年|每年|连续\s*[\d一二三四五六七八九十]+\s*年"
                              r"|(?<![\d年])\d{1,2}\s*年(?=增长|提高|增加|累计|来|间)")
# 「调查失业率稳定在5%左右」: a result held, not a target set
_STEADY_RE = re.compile(r"稳定在|保持在")
# inside a five-year block of a review: figures held over the years (「粮食年产量稳定在700亿斤以上」)
_HELD_RE = re.compile(r"稳定在|保持在|年产量|连年|每年")
# the first words of a paragraph that open a five-year review (「过去五年」「五年来」「“十四五”时期」) or a one-year one
_FIVE_MARK_RE = re.compile(r"过去的?五年|五年来|这五年|经过五年|的五年|五年间|十[三四五]五[”\"]?(?:时期|期间|以来|收官)")
_ONE_MARK_RE = re.compile(r"^(?:各位代表[，,！!:：]?\s*)?(?:刚刚过去的|过去的|过去|回顾)?(?:(?:19|20)\d{2}年|一年来|一年)")  # in the clause before the figure: not one year
_PLAN_HEADING_RE = re.compile(r"(?:((?:19|20)\d{2})年|今年)[^。]{0,6}?(?:重点工作|工作安排|主要任务|工作任务|工作重点)")
_PLAN_RE = re.compile(r"十([一二三四五六])五|今后五年|未来五年")
_PLAN_START = {"一": 2006, "二": 2011, "三": 2016, "四": 2021, "五": 2026, "六": 2031}  # first year of each plan
# 「1986年同1978年相比」「2020年到2025年」: a span of years, not one year
_Y = r"(?:19|20)\d{2}|[一二][九〇零][〇零一二三四五六七八九]{2}"  # 1986, 一九八六
_SPAN_RE = re.compile(rf"({_Y})\s*年\s*(?:同|与|和|较|比)\s*({_Y})\s*年相比"
                      rf"|({_Y})\s*年?\s*(?:到|至|—|-|～)\s*({_Y})\s*年")
_CN_DIGIT = str.maketrans("〇零一二三四五六七八九", "00123456789")
_MULTI_YEAR_RE = re.compile(r"十年来|的五年|这五年|五年来|过去五年|过去的五年|今后五年|未来五年|五年累计|五年共|五年间|[“\"]?十[三四五]五[”\"]?时期|十[三四五]五期间")
_PERIOD_RE = re.compile(r"上半年|下半年|前三季度|一季度|\d{1,2}-\d{1,2}月份?|到\d{1,2}月份?|截止目前")


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


def _future_plan(heading: str, report_year: int | None) -> bool:
    """Whether ``heading`` names a five-year plan still ahead of the report (「“十三五”时期主要目标」 in 2016)."""
    return any(not m.group(1) or report_year is None or _PLAN_START[m.group(1)] >= report_year
               for m in _PLAN_RE.finditer(heading))


def five_year_block(text: str, top: Section | None, pos: int) -> bool:
    """Whether ``pos`` lies in the five-year part of a review (「一、“十四五”时期和2025年工作回顾」).

    Decided by the paragraph openings between the review heading and ``pos``: the last one that
    opens a five-year account (「过去五年」「五年来」) or a one-year one (「过去一年」「一年来」「2025年」) wins.
    """
    if top is None or top.kind != "review":
        return False
    five = False
    for line in text[top.start: pos].split("\n")[1:]:
        head = line.strip()
        if _FIVE_MARK_RE.search(head[:40]):
            five = True
        elif _ONE_MARK_RE.match(head):
            five = False
    return five


def _chunk_at(chunks: Sequence[Chunk], start: int, end: int) -> Chunk | None:
    inside = [c for c in chunks if c.start <= start and end <= c.end]
    if inside:
        return inside[0]
    return next((c for c in chunks if c.start <= start < c.end), None)


def _qualifiers(folded: str, clause_start: int, fig: Figure, mention_end: int) -> tuple[str, ...]:
    """Qualifiers of a figure: words before it in its clause (力争, 同比, 年均 …) and after it (左右, 以上 …)."""
    quals: list[str] = []
    part_start = clause_start
    before = folded[part_start: fig.start]
    for q in BEFORE_QUALIFIERS:
        if q == "约":
            if folded[max(part_start, fig.start - 1): fig.start] == "约":
                quals.append(q)
        elif q in before:
            quals.append(q)
    if "下降" in folded[mention_end: fig.start] or "下降" in folded[max(part_start, fig.start - 4): fig.start]:
        quals.append("下降")
    after = folded[fig.end: fig.end + 2]
    quals.extend(q for q in AFTER_QUALIFIERS if after.startswith(q))
    return tuple(dict.fromkeys(quals))


def make_fact(doc: Document, chunks: Sequence[Chunk], folded: str, index: list[int], s_start: int,
               p_start: int, p_end: int, mention: tuple[Indicator, int, int], fig: Figure, measure: str,
               clause_start: int, base: bool = False, threshold: bool = False) -> Fact | None:
    """The fact of one figure (kind, year, qualifiers decided here).

    ``base``: the start value of 「从A提高到B」, kept only in a five-year review, where it is the
    level of the year before the period (2020 in a 2026 report); elsewhere None. ``threshold``: a
    level stated as a threshold crossed (「迈上4000亿元台阶」), None inside a five-year review.
    """
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
    report_year = chunk.year if chunk else doc.year
    future_five = ((_future_plan(heading, report_year) and "回顾" not in heading
                    and not _YEAR_IN_TEXT_RE.search(heading))
                   or (near_is_sub and near is not None and near.kind == "targets"
                       and _future_plan(near.title, report_year))) and not own_year
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

    # kind
    clause_before = folded[clause_start: fig.start]
    cue = TARGET_CLAUSE_RE.search(clause_before)
    if (cue and cue.group(0) == "控制在" and ((top is not None and top.kind == "review") or _PAST_YEAR_RE.search(this_line))
            and not {"左右", "以内", "以下"} & set(quals) and not _TARGET_CUE_RE.search(sentence_before)):
        cue = None  # 「居民消费价格涨幅控制在3.3%」 in a review: the result of keeping a figure down
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
    elif (cue or _TARGET_CUE_RE.search(sentence_before)
          or (("左右" in quals or "以内" in quals) and not five_years
              and not _STEADY_RE.search(folded[clause_start: fig.start]))):
        kind = "target"  # a targets list outside a detected targets section; 「5%左右」 is how targets are set
    else:
        kind = "actual"

    # year the figure refers to
    years = [int(y) for y in _YEAR_IN_TEXT_RE.findall(part_before)] or [
        int(y) for y in _HORIZON_RE.findall(sentence_before)]  # 「到2030年,…;…达到9万元左右」
    relative = _RELATIVE_YEAR_RE.findall(sentence_before) or _LINE_YEAR_RE.findall(this_line)
    year: int | None
    if _CLAUSE_MULTI_RE.search(folded[clause_start: fig.start]):
        year, year_source = None, "multi-year"  # 年均, 五年增长, 连年稳定在
    elif span := _SPAN_RE.search(part_before):
        first, last = sorted(int(y.translate(_CN_DIGIT)) for y in span.groups() if y)
        year, year_source = (None, "multi-year") if measure == "growth" else (last, "clause")
    elif years:
        year, year_source = years[-1], "clause"
    elif kind == "actual" and five_year_block(doc.text, top, o_start) and (
            measure == "growth" or ind.name in PEOPLE_INDICATORS or _HELD_RE.search(folded[clause_start: fig.start])):
        year, year_source = None, "multi-year"  # five-year growth, sums and levels held every year
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

    if threshold and five_year_block(doc.text, top, o_start):
        return None  # 「跨越5000亿元大关」 in a five-year review: crossed some time in the period
    if base:
        if kind != "actual" or not report_year or not five_year_block(doc.text, top, o_start):
            return None
        year, year_source = report_year - 6, "clause"
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
