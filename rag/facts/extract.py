"""Extraction: the figures of the headline indicators in a document's cleaned text.

``extract_facts`` reads a document sentence by sentence:

- a *sentence* ends at 。！？ or a line break; the word 「预计」 anywhere earlier in the sentence makes
  every figure after it a forecast (「预计地区生产总值677.77亿元,增长9.3%;一般公共预算总收入26.25亿元」);
- a *part* ends at ；; — each part names its own indicator;
- a *clause* ends at ，,：: — a clause without an indicator but with a growth figure
  (「增长9.3%」) belongs to the indicator named earlier in the same part, so
  「地区生产总值677.77亿元,增长9.3%」 gives a level AND a growth fact.

Only the indicators of ``rag.lexicon.INDICATORS`` are extracted, with units that fit them
(money, people, %, 个百分点, grain; ``rag.facts.fact.unit_fits``). Redacted values (XX亿元) are kept with
``value=None, redacted=True``. What each figure means (kind, year, qualifiers) is decided in
``rag.facts.context``; whether a mention is the region's own indicator in ``rag.facts.scope``.

Other rules met in real reports: 「从7248亿元提高到8865亿元」 keeps the end value (and the start value in a
five-year review); lists before 分别 take their figures in order (「城镇和农村居民人均可支配收入分别增长4.3%、5.5%」
→ the urban figure); a clause without an indicator continues the one named before it, with a growth
(「实际回落到6.1%」) or a level (「总量突破90万亿元」, 「实际到位400多亿美元」); a milestone or a threshold gives
way to the exact level that follows (「突破2万亿元、达到23562亿元」, 「迈上6万亿元台阶，达到62661亿元」);
人均GDP, shares (占…比重), ratios and intensities (与GDP的比率, 万元生产总值用水量), 登记失业率, gaps to the
national figure (增幅高于全国0.2个百分点), 外贸出口, 外资企业, 海洋生产总值, 大湾区经济总量 are not headline
figures. A decline keeps its stated value with the qualifier 下降 (display 「下降3.3%」).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Sequence

from rag.facts.context import make_fact
from rag.facts.fact import Fact, unit_fits
from rag.facts.numerals import digit_percents
from rag.facts.scope import BLOCKER, elsewhere, respectively
from rag.ingest.untrusted import defang
from rag.lexicon import GROWTH_RE, INDICATORS, Indicator, indicator_by_name
from rag.textnorm import PERCENT_UNITS, Figure, fold_with_map, scan_figures
from rag.types import Chunk, Document

_SENTENCE_RE = re.compile(r"[。！？!?\n]+")
_PART_RE = re.compile(r"[；;]+")
_CLAUSE_RE = re.compile(r"[，,：:]+")
_BLOCK_RE = re.compile(r"占|比重|比例|排名|居全|第[一二三四五六七八九十\d]|人均|税收|贡献|、|分别|其中"
                       r"|(?:高于|低于|快于|慢于)(?:全国|全省|全市|平均)|高出|比全国")
_COMPARED = r"(?:比上年|同比|较上年|比去年|较[“\"]?十[一二三四五]五[”\"]?(?:时期|期间|末)?)"  # 「较“十三五”增长16.3%」
_CARRY_RE = re.compile(rf"^\s*(?:实际|按可比价格计算)?(?:{_COMPARED}|[五十]年|近?\d{{1,2}}年)?(?:年均)?(?:实际)?"
                       r"(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?|到|至)?\s*$")
# a clause 「总量突破90万亿元」「实际到位400多亿美元」 continues the indicator named earlier with its level
_CARRY_LEVEL_RE = re.compile(r"^\s*(?:总量|总额|总规模|规模|实际到位|实际使用|实际金额)(?:达到?|突破|超过?|为|升至|增至|迈上)?\s*$")
# 「地区生产总值连续迈上4个万亿元台阶、达14.2万亿元」: the value after 、 is the year's figure
_MILESTONE_THEN_RE = re.compile(r"、\s*(?:达到?|超过?|升至|增至|实现|为)\s*$")
_MILESTONE_WORD_RE = re.compile(r"突破|迈上|跨上|跨过|跨越|超过|站上|越过")
_TO_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小|回落|减少|调高|调低|调整)?[到至](?:(?:19|20)\d{2}年的?)?$")
_FROM_RE = re.compile(r"^(?:提高|增加|增长|提升|上升|扩大|降低|下降|降|缩小|回落|减少|调高|调低|调整)?[到至]")
# 「经济增长速度的宏观调控目标，定为8至9%」: a growth named in one clause, its figure in the next
_GROWTH_VALUE_RE = re.compile(r"^\s*(?:定为|确定为|为|是)\s*$")
_URBAN_RURAL_RE = re.compile(r"(?:城镇(?:常住)?(?:居民)?[和、与及]农村(?:常住)?居民|城乡(?:常住)?居民)人均可支配收入(?P<name_end>)(?:年均)?分别"
                             r"(?:增长|达到?|超过|为)?")
_CONTINUE_RE = re.compile(rf"^[、和及]\s*(?:[^\d、，,占比人均其中分别]{{1,10}}、)?{_COMPARED}?(?:年均)?"
                          r"(?:(?:增长|增速|增幅|下降|提高|回落|上涨)(?:了|为|达到?)?|达到?|突破|超过)\s*$")
_MAX_GAP = 14  # characters allowed between an indicator's name and its first figure
# a mention preceded by these is another indicator (人均GDP, 农村居民人均可支配收入)
_EXCLUDED_PREFIXES: dict[str, tuple[str, ...]] = {
    "地区生产总值": ("人均", "占", "单位", "万元", "海洋", "旅游", "文化", "数字经济", "农业", "工业", "服务业", "民营经济"),
    "居民人均可支配收入": ("农村", "农民"),
    "城镇居民人均可支配收入": (),
    "城镇调查失业率": ("登记",),  # 城镇登记失业率 is another measure
    "进出口总额": ("国家", "地区"),  # 「与共建“一带一路”国家进出口」 is a part of the total
    "实际利用外资": ("预算",),  # 预算外资金
}
_EXCLUDED_NEAR: dict[str, tuple[str, ...]] = {  # anywhere in the 4 characters before the name
    "进出口总额": ("国家", "伙伴", "电商", "跨境", "对"),  # 「对东盟进出口增长8%」
    "地区生产总值": ("湾区", "都市圈", "城市群", "经济圈", "经济区", "与"),
}
_EXCLUDED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "进出口总额": ("出口", "进口", "实绩", "企业"),  # 「外贸出口增长7.2%」 is exports only
    "实际利用外资": ("企业", "项目", "机构", "准入", "市场", "占比", "和对外", "金"),  # 「新设外资企业数量增长19.5%」
    "地区生产总值": ("的比率", "比率", "之比", "的比重", "比重", "能耗", "用水", "电耗", "二氧化碳", "碳排放", "贡献"),  # 「社会物流总费用与国内生产总值的比率」
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
        (s, e, BLOCKER) for s, e, i in taken if i is None
    ]


def _figures(text: str) -> list[Figure]:
    """Figures with a unit in folded text, ranges (「4.5%—5%」) as one; redacted ones too, not a bare unit."""
    return [f for f in scan_figures(text, ranges=True) if f.unit and not f.missing]


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
    folded, index = digit_percents(folded, index)  # 「百分之十一点八」 in older reports
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
    done: set[tuple[str, str]] = set()  # (indicator, measure) already taken in this part

    pending: list[tuple[tuple[Indicator, int, int], Figure, int]] = []  # thresholds crossed (「迈上6万亿元台阶」)

    def emit(mention: tuple[Indicator, int, int], fig: Figure, measure: str, c_start: int, base: bool = False,
             threshold: bool = False) -> None:
        fact = make_fact(doc, chunks, folded, index, s_start, p_start, p_end, mention, fig, measure,
                         clause_start=c_start, base=base, threshold=threshold)
        if fact and base:
            out.append(fact)
        elif fact:
            out.append(fact)
            done.add((mention[0].name, measure))

    prev_clause = ""
    for c_start, c_end in _split(folded, _CLAUSE_RE, p_start, p_end):
        clause = folded[c_start:c_end]
        figs = [dataclasses.replace(f, start=f.start + c_start, end=f.end + c_start) for f in _figures(clause)]
        pair = _URBAN_RURAL_RE.search(clause)
        if pair:  # 「城镇和农村居民人均可支配收入分别增长4.3%、5.5%」: the first figure is the urban one
            urban = indicator_by_name("城镇居民人均可支配收入")
            after = [f for f in figs if f.start >= pair.end() + c_start]
            if urban is not None:
                current = (urban, pair.start() + c_start, pair.start("name_end") + c_start)
                if after:
                    measure = "growth" if (GROWTH_RE.search(pair.group(0)) and after[0].unit in PERCENT_UNITS) else "level"
                    if unit_fits(urban.name, measure, after[0].unit):
                        emit(current, after[0], measure, c_start)
            prev_clause = clause
            continue
        mentions = [(s + c_start, e + c_start, ind) for s, e, ind in _mentions(clause)]
        mentions = [(s, e, BLOCKER if ind is not BLOCKER and elsewhere(doc, folded, c_start, s, prev_clause) else ind)
                    for s, e, ind in sorted(mentions, key=lambda m: m[0])]
        prev_clause = clause
        if not mentions:
            # a clause like 「增长9.3%」 or 「总量突破90万亿元」 continues the indicator named earlier in the part
            if current is not None and figs:
                fig = figs[0]
                lead = folded[c_start: fig.start]
                if fig.unit in PERCENT_UNITS and (_CARRY_RE.match(lead) or (
                        _GROWTH_VALUE_RE.match(lead) and GROWTH_RE.search(ind_text(folded, current[1], current[2])))):
                    emit(current, fig, "growth", c_start)
                elif ((_CARRY_LEVEL_RE.match(lead) or (pending and re.fullmatch(r"\s*(?:达到?|为|实现)\s*", lead)))
                      and (current[0].name, "level") not in done
                      and unit_fits(current[0].name, "level", fig.unit)):
                    emit(current, fig, "level", c_start)
            continue
        if respectively(mentions, figs, folded, c_start, c_end, emit):
            current = None
            continue
        for k, (m_start, m_end, ind) in enumerate(mentions):
            if ind is BLOCKER:
                current = None
                continue
            current = (ind, m_start, m_end)
            next_mention = mentions[k + 1][0] if k + 1 < len(mentions) else c_end
            seen: set[str] = set()
            prev_end = m_end
            milestone = from_growth = False
            own = [f for f in figs if m_end <= f.start < next_mention]
            for j, fig in enumerate(own):
                gap = folded[prev_end: fig.start]
                if prev_end == m_end and len(gap) > _MAX_GAP:
                    break
                if re.match(r"(?:以上|以下|左右)?(?:的(?!(?:较低|较高|合理|较好)?水平)|县|市|区|企业|园区|项目)",
                            folded[fig.end: fig.end + 9]):
                    break  # 「经济总量超500亿元的县域增至12个」「超200亿元县」: the figure qualifies something else
                if re.match(r"(?:的)?(?:大关|台阶|关口)", folded[fig.end: fig.end + 3]):
                    # 「迈上6万亿元台阶，达到62661亿元」: the level that follows is the year's; the threshold only
                    # stands for the level when none follows in the part
                    if unit_fits(ind.name, "level", fig.unit):
                        pending.append(((ind, m_start, m_end), fig, c_start))
                    prev_end, milestone = fig.end, True
                    continue
                nxt = own[j + 1] if j + 1 < len(own) else None
                if (nxt is not None and _MILESTONE_WORD_RE.search(gap)
                        and _MILESTONE_THEN_RE.search(folded[fig.end: nxt.start])):
                    prev_end, milestone = fig.end, True  # 「突破2万亿元、达到23562亿元」: the milestone is passed
                    continue
                if re.match(r"、\s*\d", folded[fig.end: fig.end + 3]) and prev_end == m_end and not GROWTH_RE.search(gap):
                    break  # 「接连突破8万亿元、9万亿元」: milestones, not one year's figure
                if ("从" in gap or "由" in gap) and _FROM_RE.match(folded[fig.end: fig.end + 4]):
                    # 「从7248亿元提高到8865亿元」: the end value is the year's; the start value is kept only
                    # where its year is known (a five-year review: the year before the period)
                    if not GROWTH_RE.search(ind_text(folded, m_start, m_end)) and unit_fits(ind.name, "level", fig.unit):
                        emit((ind, m_start, m_end), fig, "level", c_start, base=True)
                    prev_end, from_growth = fig.end, bool(GROWTH_RE.search(gap))  # 「增长幅度由58.6%回落到27.8%」
                    continue
                if prev_end > m_end and _TO_RE.match(gap):
                    gap = ""
                if _MILESTONE_THEN_RE.search(gap) and (milestone or _MILESTONE_WORD_RE.search(gap)):
                    gap = ""  # 「跨过两个万亿元大关、超过6万亿元」
                if _BLOCK_RE.search(gap) and not (prev_end > m_end and _CONTINUE_RE.match(gap)):
                    break  # 「…占…比重」, 「分别…、…」 — but 「60199.45亿元、增长5%」 continues
                growth_word = GROWTH_RE.search(gap) or GROWTH_RE.search(ind_text(folded, m_start, m_end)) or from_growth
                measure = "growth" if (growth_word and fig.unit in PERCENT_UNITS) else "level"
                if measure in seen or not unit_fits(ind.name, measure, fig.unit):
                    break
                seen.add(measure)
                emit((ind, m_start, m_end), fig, measure, c_start)
                prev_end = fig.end
    for mention, fig, c_start in pending:
        if (mention[0].name, "level") not in done:
            emit(mention, fig, "level", c_start, threshold=True)
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
