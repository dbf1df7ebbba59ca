"""Computations the reports do not state: differences, percentage-point gaps, sums, ratios, growth.

The question is split into operands (two years, two regions or two indicators); each operand's
figure is taken from its best cited clause (``rag.answer.extractive``), the arithmetic is done here
(``arith``), never by a model, and the answer shows the formula with both citations::

    仓山区2024年GDP目标比2023年实际增速高多少?
    → 2024年目标:地区生产总值增长5.5%左右[1];2023年实际:增长2.5%[2]
      5.5% − 2.5% = 3.0个百分点[1][2]
"""

from __future__ import annotations

import os
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
    total,
)
from rag.answer.answerers.base import Draft, Evidence
from rag.answer.extractive import answer_figure, is_relevant, score_clauses
from rag.lexicon import find_indicators
from rag.regions import short_name
from rag.search.query import ParsedQuestion, find_intent
from rag.textnorm import figures, fold, iter_sentences
from rag.types import ScoredChunk

COMPUTE_RE = re.compile(
    r"比.{0,24}?(?:高|低|多|少|快|慢|增加|减少|提高|下降)(?:了)?(?:多少|几)|相差|差距|差(?:了)?多少|之差|差值|高出|低了?多少"
    r"|之和|合计|总共|一共|加起来|总和|是.{0,16}?的(?:几|多少)倍|几倍|多少倍|(?:增长|增加|提高|提升|上升)了?百分之(?:几|多少)|增幅是多少"
    r"|difference|how much (?:higher|lower|more|less|faster|slower)|\bsum\b|combined|how many times|gap"
    r"|\bexceeds?\b|by how (?:much|many)|how many (?:more|fewer|percentage points)",
    re.I,
)
_SUM_RE = re.compile(r"之和|合计|总共|一共|加起来|总和|\bsum\b|combined|total of", re.I)
_RATIO_RE = re.compile(r"几倍|多少倍|的(?:几|多少)倍|how many times", re.I)
_GROWTH_RE = re.compile(r"(?:增长|增加|提高|提升|上升)了?百分之(?:几|多少)|增幅是多少|增长率是多少|growth rate", re.I)
_YEAR_RE = re.compile(r"(?:19|20)\d{2}")


_MULTI_YEAR_RE = re.compile(r"年均|累计|五年|“十[一二三四五六]五”|十[一二三四五六]五期间")
_THRESHOLD_RE = re.compile(r"突破|超过|迈上|跨过|跨越|逾|近|约|接近")
RATE_RE = re.compile(r"增速|增幅|增长率|百分点|增长|growth|rate|percent", re.I)


def _compatible(options: list[list[tuple[Quantity, str, int]]], wants_rate: bool) -> list[tuple[Quantity, str, int]] | None:
    """One candidate per operand, all in compatible units (rates first when a rate is asked)."""
    first = options[0]
    if wants_rate:
        first = sorted(first, key=lambda c: c[0].unit not in PERCENT)
    for head in first:
        rest = [next((c for c in opts if c[0].unit == head[0].unit and c[:2] != head[:2]),  # same unit first
                     next((c for c in opts if compatible(head[0], c[0]) and c[:2] != head[:2]), None))
                for opts in options[1:]]  # never the head's own figure again (two sides of one sentence)
        if all(r is not None for r in rest):
            return [head, *[r for r in rest if r is not None]]
    return None


_COMPARED_RE = re.compile(r"^(?P<a>.+?)比(?P<b>.+?)(?:高|低|多|少|快|慢|增加|减少|提高|下降)了?(?:多少|几|出)")
_SUMMED_RE = re.compile(r"^(?P<a>.+?)(?:和|与|及|以及|加上)(?P<b>.+?)(?:一共|总共|合计|加起来|之和|总和)")
_TIME_ONLY_RE = re.compile(r"^(?:上年|去年|上一年|前一年|同期|上年同期|年初|以前|之前)$")
_YEAR_MENTION_RE = re.compile(r"(?:19|20)\d{2}\s*年")


def sides(q: ParsedQuestion) -> tuple[str, str] | None:
    """The two things one region and year compares or adds (「山东省2025年A增速比B增速快多少」 → A, B).

    Each side becomes its own sub-question (with the shared region/year prefix), so each figure is
    the one its own words precede in the passage, not the first figure of the sentence.
    """
    m = _COMPARED_RE.search(q.text) or _SUMMED_RE.search(q.text)
    if m is None:
        return None
    a, b = m.group("a"), m.group("b").strip("的")
    end = max((y.end() for y in _YEAR_MENTION_RE.finditer(a)), default=0)
    for r in q.regions:
        for name in (r, short_name(r)):
            at = a.find(name)
            if at >= 0:
                end = max(end, at + len(name))
    own = a[end:].strip("的")
    if len(re.findall(r"[\u4e00-\u9fff]", own)) < 2 or len(re.findall(r"[\u4e00-\u9fff]", b)) < 2 \
            or _TIME_ONLY_RE.match(b) or _YEAR_MENTION_RE.search(b):
        return None
    return a, a[:end] + b


def is_compute(q: ParsedQuestion) -> bool:
    """A question asking for arithmetic over two or more figures."""
    if not COMPUTE_RE.search(q.text):
        return False
    return (len(q.years) >= 2 or len(q.regions) >= 2 or len(q.indicators) >= 2 or bool(_SUM_RE.search(q.text))
            or sides(q) is not None or len(_levels_asked(q)) == 2)


def _levels_asked(q: ParsedQuestion) -> list[Quantity]:
    """Two levels the question itself states for a growth (「从2110公里增加到3055公里,增长了百分之多少」)."""
    if not _GROWTH_RE.search(q.text):
        return []
    qs = [Quantity(f.value, f.unit) for f in figures(q.text) if f.value is not None and f.unit and not f.redacted]
    return qs if len(qs) == 2 and compatible(qs[0], qs[1]) and qs[0].unit not in PERCENT else []


def operands(q: ParsedQuestion) -> list[tuple[str, ParsedQuestion]]:
    """(label, sub-question) per operand: by year (with each year's own intent), region or indicator."""
    if len(q.years) >= 2:
        spans = [(m.start(), int(m.group())) for m in _YEAR_RE.finditer(q.text) if int(m.group()) in q.years]
        out = []
        for k, (pos, year) in enumerate(spans):
            end = spans[k + 1][0] if k + 1 < len(spans) else len(q.text)
            segment = q.text[pos:end]
            # the comparison itself (「低多少」「高出」) says nothing about target vs actual
            intent = find_intent(COMPUTE_RE.sub("", segment)) if COMPUTE_RE.search(segment) else find_intent(segment)
            label = f"{year}年" + {"target": "目标", "actual": "实际"}.get(intent, "")
            sub = replace(q, years=(year,), intent=intent)
            if len(q.regions) == len(spans):  # 「仓山区2023年…比台江区2021年…」: region and year pair up
                sub = replace(sub, regions=(q.regions[k],))
                label = q.regions[k] + label
            out.append((label, sub))
        return out
    if len(q.regions) >= 2:
        return [(r, replace(q, regions=(r,))) for r in q.regions]
    two = sides(q) if len(q.regions) <= 1 else None
    if two is not None:
        out = []
        for text in two:
            inds = tuple(i.name for i in find_indicators(text))
            label = text[len(os.path.commonprefix(two)):] if two[0] != two[1] else ""
            out.append((label.strip("的"), replace(q, text=text, indicators=inds, expansions=inds)))
        return out
    if len(q.indicators) >= 2:
        return [(i, replace(q, indicators=(i,), expansions=(i,))) for i in q.indicators]
    return [("", q)]


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

    def candidates(self, sub: ParsedQuestion, evidence: Evidence) -> list[tuple[Quantity, str, int]]:
        """Figures that may answer one operand, best first: (figure, its clause, passage index).

        From the best few relevant clauses, the figure ``answer_figure`` picks first, then the
        clause's other figures (so the pair chosen can be of compatible units).
        """
        idx = [i for i in dict.fromkeys([*range(len(evidence.passages)), *evidence.more(sub)])
               if _in_scope(evidence.passages[i], sub)]
        out: list[tuple[Quantity, str, int]] = []
        scoped = [evidence.passages[i] for i in idx]
        one_year = len(sub.years) == 1 and not _MULTI_YEAR_RE.search(sub.text)
        clauses = [c for c in score_clauses(sub, scoped)[:8] if is_relevant(sub, c)
                   and not (one_year and _MULTI_YEAR_RE.search(c.text))][:3]  # a 5-year average is no year's figure
        for clause in clauses:
            best = answer_figure(sub, clause.text)
            figs = [f for f in figures(clause.text) if not f.redacted and f.value is not None and f.unit]
            folded = fold(clause.text)
            # the figure answer_figure picks first; thresholds (突破/迈上6万亿元台阶) after exact values
            at = (best.start, best.end) if best is not None else None  # figures() builds new objects: compare spans
            figs.sort(key=lambda f: ((f.start, f.end) != at, bool(_THRESHOLD_RE.search(folded[max(0, f.start - 4):f.start]))))
            text = clause.text.strip().rstrip("；;，,。")
            out.extend((Quantity(f.value, f.unit), text, idx[clause.passage]) for f in figs if f.value is not None)
        return out

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """Operand figures (cited), then the formula (cited with all of them)."""
        levels = _levels_asked(q)
        if levels:
            return self._from_levels(q, levels, evidence)
        labels: list[str] = []
        options: list[list[tuple[Quantity, str, int]]] = []
        for label, sub in operands(q):
            cands = self.candidates(sub, evidence)
            if not cands and sub.intent != "any":  # 「Y年实际」 not stated in the next report: any report of that year
                cands = self.candidates(replace(sub, intent="any"), evidence)
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
        lines = [f"{label + ':' if label else ''}{clause}[{i + 1}]" for label, (_, clause, i) in zip(labels, chosen, strict=True)]
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


def formula_for(q: ParsedQuestion, values: list[Quantity]) -> Formula:
    """The computation ``q`` asks for over ``values`` (in the order the question names them)."""
    if _SUM_RE.search(q.text):
        return total(values)
    a, b = values[0], values[1]
    if _RATIO_RE.search(q.text):
        return ratio(a, b)
    if _GROWTH_RE.search(q.text) and a.unit not in ("%", "个百分点"):
        later, earlier = (a, b) if (q.years and q.years[0] >= q.years[-1]) else (b, a)
        return growth(later, earlier)
    return difference(a, b)
