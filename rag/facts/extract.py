"""Extraction: the figures of the headline indicators in a document's cleaned text.

``extract_facts`` reads a document sentence by sentence:

- a *sentence* ends at 。！？ or a line break; the word 「预计」 anywhere earlier in the sentence makes
  every figure after it a forecast (「预计地区生产总值677.77亿元,增长9.3%;一般公共预算总收入26.25亿元」);
- a *part* ends at ；; — each part names its own indicator;
- a *clause* ends at ，,：: — a clause without an indicator but with a growth figure
  (「增长9.3%」) belongs to the indicator named earlier in the same part, so
  「地区生产总值677.77亿元,增长9.3%」 gives a level AND a growth fact.

Only the indicators of ``rag.lexicon.INDICATORS`` are extracted, with units that fit them
(money, people, %, 个百分点). Redacted values (XX亿元) are kept with ``value=None, redacted=True``.
What each figure means (kind, year, qualifiers) is decided in ``rag.facts.context``.

Other rules met in real reports: 「从7248亿元提高到8865亿元」 keeps the end value; 「城镇和农村居民人均可支配收入
分别增长4.3%、5.5%」 gives the urban figure; 人均GDP, shares (占…比重), 外贸出口, 外资企业,
海洋生产总值, 大湾区经济总量 are not headline figures. A decline keeps its stated value with the
qualifier 下降 (display 「下降3.3%」).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Sequence

from rag.facts.context import make_fact
from rag.facts.fact import GRAIN_UNITS, MONEY_UNITS, PEOPLE_INDICATORS, PEOPLE_UNITS, RATE_INDICATORS, Fact
from rag.ingest.untrusted import defang
from rag.lexicon import GROWTH_RE, INDICATORS, Indicator, indicator_by_name
from rag.textnorm import PERCENT_UNITS, Figure, fold_with_map, scan_figures
from rag.types import Chunk, Document

_SENTENCE_RE = re.compile(r"[。！？!?\n]+")
_PART_RE = re.compile(r"[；;]+")
_CLAUSE_RE = re.compile(r"[，,：:]+")
_BLOCK_RE = re.compile(r"占|比重|比例|排名|居全|第[一二三四五六七八九十\d]|人均|税收|贡献|、|分别|其中")
_CARRY_RE = re.compile(r"^\s*(?:比上年|同比|较上年|比去年|[五十]年|近\d+年)?(?:年均)?(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?)?\s*$")
_TO_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小)?[到至](?:(?:19|20)\d{2}年的?)?$")
_FROM_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小)?[到至]")
_URBAN_RURAL_RE = re.compile(r"城镇(?:居民)?[和、与及]农村居民人均可支配收入(?P<name_end>)分别(?:增长|达到|超过|为)?")
_CONTINUE_RE = re.compile(r"^[、和及]\s*(?:比上年|同比|较上年|比去年)?(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?)?\s*$")
_MAX_GAP = 14  # characters allowed between an indicator's name and its first figure
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
_EXCLUDED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "进出口总额": ("出口", "进口", "实绩", "企业"),  # 「外贸出口增长7.2%」 is exports only
    "实际利用外资": ("企业", "项目", "机构", "准入", "市场", "占比", "和对外"),  # 「新设外资企业数量增长19.5%」
}



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
                    fact = make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
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
                    fact = make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
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
                fact = make_fact(doc, chunks, folded, index, s_start, p_start, p_end,
                                  (ind, m_start, m_end), fig, measure, clause_start=c_start)
                if fact:
                    out.append(fact)
                prev_end = fig.end
    return out


def ind_text(folded: str, start: int, end: int) -> str:
    """The indicator's own wording (「经济增长」 is itself a growth)."""
    return folded[start:end]


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
