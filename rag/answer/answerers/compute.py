"""Computations the reports do not state: differences, percentage-point gaps, sums, ratios, growth.

The question is split into operands (two years, two regions or two indicators); each operand's
figure is taken from its best cited clause (``rag.answer.extractive``), the arithmetic is done here
(``arith``), never by a model, and the answer shows the formula with both citations::

    仓山区2024年GDP目标比2023年实际增速高多少?
    → 2024年目标:地区生产总值增长5.5%左右[1];2023年实际:增长2.5%[2]
      5.5% − 2.5% = 3.0个百分点[1][2]
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.answerers.arith import (
    PERCENT,
    Formula,
    Quantity,
    compatible,
    difference,
    growth,
    ratio,
    share,
    total,
)
from rag.answer.answerers.base import Draft, Evidence
from rag.answer.answerers.operands import COMPUTE_RE, named_years, operands, sides, with_previous_year
from rag.answer.extractive import answer_figure, is_relevant, other_quantities_masked, score_clauses
from rag.lexicon import indicator_by_name
from rag.regions import NATIONAL
from rag.search.query import ParsedQuestion
from rag.textnorm import Figure, figures, fold, iter_sentences
from rag.types import ScoredChunk

_SUM_RE = re.compile(r"之和|合计|总共|一共|加起来|总和|\bsum\b|combined|total of", re.I)
_RATIO_RE = re.compile(r"几倍|多少倍|的(?:几|多少)倍|how many times", re.I)
SHARE_RE = re.compile(r"占(?!比).{0,24}?(?:比重|比例|的比|百分之|多少|几成)|的百分之(?:几|多少)|what share|what percentage of", re.I)
# a figure stated as a fall (「固定资产投资下降3.3%」) is a negative growth rate when the question asks a growth
_FALL_RE = re.compile(r"(?:下降|降低|减少|下滑|回落|负增长|萎缩)(?:了)?\s*$")
_CHANGE_RE = re.compile(r"比[^，,；;。]{0,10}?(?:增加|减少|提高|下降|降低|增长|多|少|高|低)了?$")  # 「比上年增加1000亿元」
_GROWTH_BEFORE_RE = re.compile(r"增长|增速|增幅|下降|降低|减少|提高|回落|上涨|涨幅|分别")
_LOWER_RE = re.compile(r"比.{0,24}?(?:低|少|慢|减少|下降)[\u4e00-\u9fff]{0,2}?了?(?:多少|几)|lower|less|fewer|slower", re.I)
_ASKS_FALL_RE = re.compile(r"下降|降低|减少|下滑|回落|降幅|减幅|跌")
_GROWTH_RE = re.compile(r"(?:增长|增加|提高|提升|上升)了?百分之(?:几|多少)|增幅是多少|增长率是多少|growth rate", re.I)


_MULTI_YEAR_RE = re.compile(r"年均|累计|五年|“十[一二三四五六]五”|十[一二三四五六]五期间")
CLAUSES = 5  # the best relevant clauses an operand's figure is chosen from (by fit, not by clause score alone)
_THRESHOLD_RE = re.compile(r"突破|超过|迈上|跨过|跨越|逾|近|约|接近")
RATE_RE = re.compile(r"增速|增幅|增长率|百分点|增长|(?<!效)率(?!先)|growth|rate|percent", re.I)  # 赤字率: a rate too


def _compatible(options: list[list[Candidate]], wants_rate: bool) -> list[Candidate] | None:
    """One candidate per operand, all in compatible units (rates first when a rate is asked)."""
    # a rate asked: growth rates first (「增长4.3%」 before a level in % such as 「城镇化率78%」); an amount asked
    # (「多多少」 of two incomes): levels first, the rates after them
    # and a change (「比上年提高1个百分点」) only after every level: it is itself a difference, not an operand
    # then a figure whose own part of the sentence names what is asked (「地区生产总值增长3.9%」, not 「用电成本下降
    # 6.8%」 in a sentence that mentions GDP elsewhere), and an exact value before a bound (「稳定在800亿斤以上」)
    def order(c: tuple[Quantity, str, int, int]) -> tuple[bool, bool, int, bool]:
        before = c[1].split(c[0].shown.lstrip("-"))[0]
        return ((c[0].unit in PERCENT) != wants_rate, c[0].unit in ("个百分点", "百分点") or bool(_CHANGE_RE.search(before)),
                c[3], wants_rate and not _GROWTH_BEFORE_RE.search(before[-8:]))

    options = [sorted(opts, key=order) for opts in options]
    first = options[0]
    for head in first:
        rest = [next((c for c in opts if c[0].unit == head[0].unit and c[:2] != head[:2]),  # same unit first
                     next((c for c in opts if compatible(head[0], c[0]) and c[:2] != head[:2]), None))
                for opts in options[1:]]  # never the head's own figure again (two sides of one sentence)
        if all(r is not None for r in rest):
            return [head, *[r for r in rest if r is not None]]
    return None


_RESPECTIVE_RE = re.compile(r"([^，,。；;：:]*?)分别")


def _respective(asked: str, clause: str, figs: list[Figure]) -> tuple[int, int] | None:
    """The span of the figure that belongs to ``asked`` in a 「A和B…分别x、y」 clause (None: not such a clause).

    The items before 「分别」 pair with the figures after it in order; the one item whose first two
    characters the operand's words contain picks its figure.
    """
    m = _RESPECTIVE_RE.search(clause)
    if m is None:
        return None
    items = [x for x in re.split(r"[和与及、]", m.group(1)) if len(x) >= 2]
    after = [f for f in figs if f.start >= m.end()]
    if len(items) < 2 or len(after) < len(items):
        return None
    hits = [k for k, item in enumerate(items) if item[:2] in asked]
    return (after[hits[0]].start, after[hits[0]].end) if len(hits) == 1 else None


_PART_RE = re.compile(r"[^，,；;。]+")


def _part_free_figure(clause: str) -> bool:
    """Whether some figure of ``clause`` stands in a part that speaks of no multi-year span."""
    return any(not _MULTI_YEAR_RE.search(_part(clause, f)) for f in figures(clause) if f.unit and not f.redacted)


def _part(clause: str, f: Figure) -> str:
    """The part of a long sentence that states ``f`` (between commas; with the part before when it is short)."""
    parts = [(m.start(), m.end()) for m in _PART_RE.finditer(clause)]
    k = next((i for i, (s, e) in enumerate(parts) if s <= f.start < e), None)
    if k is None:
        return clause.strip().rstrip("；;，,。")
    s, e = parts[k]
    if k and len(re.findall(r"[\u4e00-\u9fff]", clause[s:f.start])) < 4:  # 「…、增长5.5%」: the subject is before
        s = parts[k - 1][0]
    return clause[s:e].strip()


Candidate = tuple[Quantity, str, int, int]  # figure, its part of the sentence, passage index, misfit (0 best)
_VERB_RE = re.compile(r"增长|增速|增幅|达到|实现|完成|安排|拟按|提高到|提高|下降|降低|减少|增加|同比|全年|今年|上年|年均|分别|约|为|是|按|达")
_BOUND_AFTER_RE = re.compile(r"^\s*(?:以上|以内|以下|左右)")
_BOUND_BEFORE_RE = re.compile(r"(?:稳定在|保持在|控制在|不低于|不超过)\s*$")


def _misfit(sub: ParsedQuestion, part: str, figure: str, before: str, after: str) -> int:
    """How badly a figure fits its operand (0 best).

    100: its part of the sentence does not name the indicator asked; 10: a bound (「稳定在800亿斤以上」)
    when a result, not a target, is asked; plus one per word pair of its subject the question does not
    have (「其中，中央财政赤字1.55万亿元」 for 「财政赤字」: a part of the total, not the total).
    """
    names = [a for n in sub.indicators if (ind := indicator_by_name(n)) for a in (n, *ind.aliases) if len(a) >= 2]
    if names and not any(a in other_quantities_masked(sub, fold(part)) for a in names):
        return 100  # (「单位地区生产总值二氧化碳排放下降3.8%」 names emissions, not GDP)
    bound = _BOUND_AFTER_RE.match(after) or _BOUND_BEFORE_RE.search(before)
    subject = _VERB_RE.sub("", "".join(re.findall(r"[\u4e00-\u9fff]+", part.split(figure)[0])))
    extra = {subject[i:i + 2] for i in range(len(subject) - 1)} - {sub.text[i:i + 2] for i in range(len(sub.text) - 1)}
    return (10 if bound and sub.intent != "target" else 0) + min(len(extra), 9)


_YEAR_LABEL_RE = re.compile(r"((?:19|20)\d{2})\s*年(?:底|末)?的?[\u4e00-\u9fff]{0,6}$")


def _labelled(part: str, value: Quantity, year: int) -> bool:
    """Whether ``part`` states ``value`` right after its own year (「2020年的3.68万亿元」, 「2020年末达到…」)."""
    folded = fold(part)
    for f in figures(part):
        if f.value is not None and f.unit == value.unit and abs(f.value) == abs(value.value):
            m = _YEAR_LABEL_RE.search(folded[max(0, f.start - 14):f.start])
            if m and int(m.group(1)) == year:
                return True
    return False


def is_compute(q: ParsedQuestion) -> bool:
    """A question asking for arithmetic over two or more figures."""
    if not COMPUTE_RE.search(q.text):
        return False
    q = with_previous_year(q)
    return (len(named_years(q)) >= 2 or len(q.regions) >= 2 or len(q.indicators) >= 2
            or sides(q) is not None or len(_levels_asked(q)) == 2)


def _levels_asked(q: ParsedQuestion) -> list[Quantity]:
    """Two levels the question itself states for a growth (「从2110公里增加到3055公里,增长了百分之多少」)."""
    if not _GROWTH_RE.search(q.text):
        return []
    qs = [Quantity(f.value, f.unit) for f in figures(q.text) if f.value is not None and f.unit and not f.redacted]
    return qs if len(qs) == 2 and compatible(qs[0], qs[1]) and qs[0].unit not in PERCENT else []


def _in_scope(sc: ScoredChunk, q: ParsedQuestion) -> bool:
    c = sc.chunk
    if q.regions and c.region not in q.regions:
        return False
    if q.years:
        y = q.years[0]
        if c.period_year:
            return c.period_year == y
        return c.year in ((y,) if q.intent == "target" else (y + 1,) if q.intent == "actual" else (y, y + 1))
    return True


class ComputeAnswerer:
    """Two (or more) cited figures and the formula computed from them."""

    kind = "compute"

    def candidates(self, sub: ParsedQuestion, evidence: Evidence) -> list[Candidate]:
        """Figures that may answer one operand, best first: (figure, its part of the clause, passage index, misfit).

        From the best few relevant clauses, the figure ``answer_figure`` picks first, then the
        clause's other figures (so the pair chosen can be of compatible units).
        """
        # a year's figure with no target/actual said: searched as the plan (its own report) and as the result (the
        # next report reviews it) too, so the better-fitting of the two can be chosen
        both = [replace(sub, intent=i) for i in ("target", "actual")] if sub.intent == "any" and sub.years else []
        found = [i for one in (sub, *both) for i in evidence.more(one)]
        idx = [i for i in dict.fromkeys([*range(len(evidence.passages)), *found]) if _in_scope(evidence.passages[i], sub)]
        out: list[Candidate] = []
        scoped = [evidence.passages[i] for i in idx]
        one_year = len(sub.years) == 1 and not _MULTI_YEAR_RE.search(sub.text)
        # a 5-year average is no year's figure: a clause that is all about one is skipped, and in a clause that
        # also mentions one (「…达到“十五五”目标任务的序时进度」) its own part is
        clauses = [c for c in score_clauses(sub, scoped)[:8] if is_relevant(sub, c)
                   and not (one_year and _MULTI_YEAR_RE.search(c.text) and not _part_free_figure(c.text))][:CLAUSES]
        for clause in clauses:
            best = answer_figure(sub, clause.text)
            figs = [f for f in figures(clause.text) if not f.redacted and f.value is not None and f.unit]
            folded = fold(clause.text)
            # the figure answer_figure picks first; thresholds (突破/迈上6万亿元台阶) after exact values
            at = (best.start, best.end) if best is not None else None  # figures() builds new objects: compare spans
            own = _respective(sub.text, folded, figs)  # 「城镇和农村…分别增长4.3%、5.5%」: the operand's own place
            figs.sort(key=lambda f: (own is not None and (f.start, f.end) != own, (f.start, f.end) != at,
                                     bool(_THRESHOLD_RE.search(folded[max(0, f.start - 4):f.start]))))
            signed = not _ASKS_FALL_RE.search(sub.text)
            for f in figs:
                part, before, value = _part(clause.text, f), folded[max(0, f.start - 6):f.start], f.value or 0.0
                if one_year and _MULTI_YEAR_RE.search(part):
                    continue
                if signed and f.unit == "%" and _FALL_RE.search(before):
                    value = -value
                out.append((Quantity(value, f.unit), part, idx[clause.passage],
                            _misfit(sub, part, f.text, before, folded[f.end:f.end + 3])))
        return out

    def _found(self, sub: ParsedQuestion, evidence: Evidence) -> tuple[list[Candidate], str]:
        """An operand's candidates and the intent they were found under.

        No region named: the national reports first (「2025年的赤字率」 is the country's), then any region;
        「Y年实际」 not stated in the next report: any report of that year.
        """
        scopes = [sub] if sub.regions or sub.unknown_regions else [replace(sub, regions=(NATIONAL,)), sub]
        for scope in scopes:
            for one in (scope, replace(scope, intent="any")) if scope.intent != "any" else (scope,):
                cands = self.candidates(one, evidence)
                if cands:
                    return cands, one.intent
        if len(sub.years) == 1:  # 「从2020年的3.68万亿元增长到2025年的4.93万亿元」: a later report labels the year's figure
            year = sub.years[0]
            for scope in scopes:
                unbound = replace(scope, years=(), report_years=(), intent="any")
                cands = [c for c in self.candidates(unbound, evidence) if _labelled(c[1], c[0], year)]
                if cands:
                    return cands, "any"
        return [], sub.intent

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """Operand figures (cited), then the formula (cited with all of them)."""
        levels = _levels_asked(q)
        if levels:
            return self._from_levels(q, levels, evidence)
        labels: list[str] = []
        options: list[list[Candidate]] = []
        for label, sub in operands(q):
            cands, intent = self._found(sub, evidence)
            if intent != sub.intent:
                label = label.replace("实际", "").replace("目标", "")
            if not cands:
                what = label or "所问的数值"
                return Draft(self.kind, "", found=False, reason=f"报告段落中找不到{what}的数值,无法计算。")
            labels.append(label)
            options.append(cands)
        chosen = _compatible(options, wants_rate=bool(RATE_RE.search(q.text)))
        if chosen is None:
            return Draft(self.kind, "", found=False, reason="找到的数值单位不一致,无法直接计算。")
        try:
            formula = formula_for(q, [c[0] for c in chosen])
        except ValueError as exc:
            return Draft(self.kind, "", found=False, reason=f"两个数值无法直接计算({exc})。")
        cited = tuple(dict.fromkeys(c[2] for c in chosen))
        marks = "".join(f"[{i + 1}]" for i in cited)
        lines = [f"{label + ':' if label else ''}{clause}[{i + 1}]" for label, (_, clause, i, _) in zip(labels, chosen, strict=True)]
        lines.append(f"{formula.text}{marks}")
        if q.english:  # the figures and quotes stay as written; what was done is said in English
            lines.insert(0, "The answer is computed from the figures the reports state (cited below):")
            lines[-1] = f"The result is {formula.text}{marks}"
        return Draft(self.kind, "\n".join(lines), cited, computed=(formula.shown_result,))

    def _from_levels(self, q: ParsedQuestion, levels: list[Quantity], evidence: Evidence) -> Draft:
        """Growth between two levels the question states, cited from the passage that states both."""
        wanted = {fold(x.shown) for x in levels}
        for i, sc in enumerate(evidence.passages):
            for start, end in iter_sentences(sc.chunk.text):
                clause = sc.chunk.text[start:end].strip()
                shown = {fold(Quantity(f.value, f.unit).shown) for f in figures(clause) if f.value is not None}
                if wanted <= shown:
                    formula = growth(levels[1], levels[0])
                    text = f"{clause.rstrip('；;，,。')}[{i + 1}]\n{formula.text}[{i + 1}]"
                    return Draft(self.kind, text, (i,), computed=(formula.shown_result,))
        return Draft(self.kind, "", found=False, reason="报告段落中找不到问题所说的两个数值。")


_STATED_RE = re.compile(r"(?:高于|低于|快于|慢于|多于|少于|超过|超出|比)(?P<other>[^，,。；;\d]{1,12}?)[\d.]+\s*(?:个百分点|倍)")
_SHARE_STATED_RE = re.compile(r"占[^，,。；;]{0,24}?(?:比重|比例|的比)[^，,。；;]{0,8}?[\d.]+\s*%")


def states_comparison(q: ParsedQuestion, text: str) -> bool:
    """Whether ``text`` states what the computation ``q`` asks (so a quote answers it).

    A comparison counts when what it compares with is named in the question (「北京…比全国高多少」 and
    「高于全国0.4个百分点」; not 「比去年预算低0.4个百分点」 for a question about two other years); a
    share asked counts when the text states a share (「占地区生产总值比重达56.2%」).
    """
    clause = fold(text)
    if SHARE_RE.search(q.text):
        return bool(_SHARE_STATED_RE.search(clause))
    return any(any(m.group("other")[i:i + 2] in q.text for i in range(len(m.group("other")) - 1))
               for m in _STATED_RE.finditer(clause))


def formula_for(q: ParsedQuestion, values: list[Quantity]) -> Formula:
    """The computation ``q`` asks for over ``values`` (in the order the question names them)."""
    if _SUM_RE.search(q.text):
        return total(values)
    a, b = values[0], values[1]
    if _RATIO_RE.search(q.text):
        return ratio(a, b)
    if SHARE_RE.search(q.text) and a.unit not in PERCENT:
        return share(a, b)
    if _GROWTH_RE.search(q.text) and a.unit not in ("%", "个百分点"):
        later, earlier = (a, b) if (q.years and q.years[0] >= q.years[-1]) else (b, a)
        return growth(later, earlier)
    formula = difference(a, b)
    if formula.result < 0 and _LOWER_RE.search(q.text):  # 「A比B低多少」 with A below B: B − A, a positive gap
        return difference(b, a)
    return formula
