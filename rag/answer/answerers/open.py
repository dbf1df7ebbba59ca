"""Open questions (what / how / which / why / list / summary): several cited points.

Extractive form: every sentence unit of the passages is scored for the question (content-word
coverage, the asked period and part of the report — plans for 「打算/重点/将」, the review for
「做了/成效」 — and passage rank), then picked by maximal marginal relevance so the points say
different things; each point carries its own [n]. The generated form (the model writes the points)
goes through the same number check and alignment citations in ``rag.answer.align``.
"""

from __future__ import annotations

import re

from rag.answer.answerers.base import Draft, Evidence
from rag.answer.answerers.semantic import topic
from rag.answer.answerers.sentences import (
    MULTI_YEAR_RE,
    Unit,
    bigrams,
    content_weights,
    coverage,
    similarity,
    units,
)
from rag.answer.extractive import english_source
from rag.lexicon import REVIEW_SECTION_RE, TARGET_SECTION_RE
from rag.search.query import ParsedQuestion
from rag.textnorm import REDACTED_RE

# the report itself, or its list of targets or tasks
SUMMARY_RE = re.compile(r"summar|overview|highlights|in brief|outline|(?:main|key|major) (?:points|targets|goals|tasks|priorities)",
                        re.I)
PLAN_CUE_RE = re.compile(r"打算|计划|将要|准备|重点|任务|安排|目标|举措|措施|要做|怎么干|部署|plan|will|priorit|goal")
REVIEW_CUE_RE = re.compile(r"做了|成效|成绩|取得|完成|回顾|进展|亮点|过去|去年|achiev|did|done|progress")
BOILERPLATE_RE = re.compile(r"习近平|党的二十大|二十届|总基调|指导思想|新发展理念|新发展格局|紧密地团结|各位代表|我代表|请予审议")
LAMBDA = 0.7  # MMR: relevance vs. novelty
SEM_WEIGHT = 1.0  # cross-lingual similarity (0…1, relative to the candidates) next to coverage (0…2.5)
SEM_UNITS = 12  # candidates re-ranked by similarity (≈0.25 s to embed on a quiet 2-core machine, then cached)


class OpenAnswerer:
    """Several diversified, cited sentences."""

    kind = "open"

    def __init__(self, max_points: int = 4) -> None:
        self.max_points = max_points

    def score(self, q: ParsedQuestion, evidence: Evidence, unit: Unit, weights: dict[str, float]) -> float:
        """Relevance of one unit to the question."""
        sc = evidence.passages[unit.passage]
        rel = 1.5 * coverage(weights, unit.text) + 1.0 * coverage(weights, unit.context)
        section = sc.chunk.section
        if PLAN_CUE_RE.search(q.text) and TARGET_SECTION_RE.search(section):
            rel += 0.6 + (0.4 if unit.headed else 0.0)
        if REVIEW_CUE_RE.search(q.text) and REVIEW_SECTION_RE.search(section):
            rel += 0.6
        if SUMMARY_RE.search(q.text):
            rel += 0.3 + (0.5 if unit.headed else 0.0)  # a summary: the report's numbered priorities first
        if q.years and sc.chunk.period_year in q.years:
            rel += 0.3
        if len(q.years) == 1 and MULTI_YEAR_RE.search(unit.context) and not MULTI_YEAR_RE.search(q.text):
            rel -= 0.6  # 「过去的五年…」: a five-year review does not say what one year did
        if REDACTED_RE.search(unit.text):
            rel -= 0.3
        if BOILERPLATE_RE.search(unit.text):
            rel -= 0.8  # the guiding-ideology preamble every report has says nothing about the question
        if len(unit.text) < 12:
            rel -= 0.5
        return rel / (1.0 + 0.08 * unit.passage)

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """Up to ``max_points`` points, MMR-diversified, each cited."""
        weights = content_weights(q)
        cands = [(self.score(q, evidence, u, weights), u) for u in units(evidence.passages)]
        cands = [(s, u) for s, u in cands if s > 0
                 and (not weights or coverage(weights, u.text) + coverage(weights, u.context) > 0)]
        if q.english and not weights and not SUMMARY_RE.search(q.text):
            cands = []  # an English question none of whose words the glossary knows: word overlap sees nothing
        cands = _semantic(q, evidence, cands)  # an English question: cross-lingual rank among the candidates
        if not cands:
            return Draft(self.kind, "", found=False, reason="检索到的段落中没有与问题相关的句子。")
        cands.sort(key=lambda su: -su[0])
        best = cands[0][0]
        if weights and coverage(weights, " ".join(u.text for _, u in cands[:8])) == 0:
            return Draft(self.kind, "", found=False, reason="检索到的段落没有谈到所问的内容。")
        chosen: list[tuple[Unit, set[str]]] = []
        pool = [(s, u, bigrams(u.text)) for s, u in cands[:40] if s >= 0.35 * best]
        while pool and len(chosen) < self.max_points:
            def mmr(item: tuple[float, Unit, set[str]]) -> float:
                redundancy = max((similarity(item[2], g) for _, g in chosen), default=0.0)
                return LAMBDA * item[0] / best - (1 - LAMBDA) * redundancy

            pick = max(pool, key=mmr)
            pool.remove(pick)
            if any(similarity(pick[2], g) > 0.5 for _, g in chosen):
                continue
            chosen.append((pick[1], pick[2]))
        lines = [f"- {u.text.rstrip('；;，,。')}。[{u.passage + 1}]" for u, _ in chosen]
        cited = tuple(dict.fromkeys(u.passage for u, _ in chosen))
        lead = _lead(q, evidence, cited)
        return Draft(self.kind, lead + "\n".join(lines), cited)


def _semantic(q: ParsedQuestion, evidence: Evidence, cands: list[tuple[float, Unit]]) -> list[tuple[float, Unit]]:
    """English questions: the best ``SEM_UNITS`` candidates re-scored with their cross-lingual similarity.

    The glossary's Chinese words find the candidates (「environment」 → 环境 also finds 营商环境 and 政治生态);
    the embedder ranks them by what the question means (rag.answer.answerers.semantic). Chinese questions
    are matched word by word as before. Only candidates are embedded, so the cost stays bounded.
    """
    if not q.english or evidence.similarity is None or len(cands) < 2:
        return cands
    cands = sorted(cands, key=lambda su: -su[0])
    head, rest = cands[:SEM_UNITS], cands[SEM_UNITS:]
    rel = evidence.similarity.scores(topic(q), [u.text for _, u in head])
    return [(s + SEM_WEIGHT * r, u) for (s, u), r in zip(head, rel, strict=True)] + rest


def _lead(q: ParsedQuestion, evidence: Evidence, cited: tuple[int, ...]) -> str:
    """「仓山区2024年报告提到:」: whose report the points come from."""
    chunks = [evidence.passages[i].chunk for i in cited]
    regions = list(dict.fromkeys(c.region for c in chunks if c.region))
    years = list(dict.fromkeys(c.year for c in chunks if c.year))
    who = "、".join(regions) if len(regions) <= 2 else "各地"
    when = f"{years[0]}年" if len(years) == 1 else ""
    if q.english:
        if len(regions) == 1:
            return english_source(regions[0], years[0] if len(years) == 1 else None) + ", the main points are:\n"
        return "According to the reports, the main points are:\n"
    return f"{who}{when}报告提到:\n" if who else "报告提到:\n"
