"""Route a parsed question to its answerer (rag/answer/answerers) and wrap the draft for the pipeline.

lookup questions keep the pipeline's extractive clause + indicator table path (``routed.extract`` is
None); open, compute and table questions get their answerer's draft, with any passages it searched
for sub-questions appended; an opinion/prediction, or open evidence that does not cover the
question, gives a refusal reason. A compute or table answerer that finds no figures falls back to
lookup (its reason is kept for the refusal if lookup finds nothing either).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from rag.answer.answerers.base import Evidence, Search
from rag.answer.answerers.choose import question_form
from rag.answer.answerers.compute import ComputeAnswerer, states_comparison
from rag.answer.answerers.open import OpenAnswerer
from rag.answer.answerers.refuse import evidence_reason, mark_redacted, opinion
from rag.answer.answerers.semantic import UnitSimilarity
from rag.answer.answerers.table import TableAnswerer
from rag.answer.extractive import Extract, extract_answer
from rag.search.query import ParsedQuestion
from rag.types import ScoredChunk

_RELATIVE_YEAR_RE = re.compile(r"今年|去年|本年度|this year|last year", re.I)
_GENERATED_KINDS = frozenset({"lookup", "open"})  # the model may phrase these; computed and table answers stay as built


@dataclass(frozen=True)
class Routed:
    """What the chosen answerer produced."""

    kind: str  # lookup | open | compute | table | refuse
    passages: tuple[ScoredChunk, ...]
    extract: Extract | None = None  # None: answer by the lookup path
    computed: tuple[str, ...] = ()
    reason: str = ""  # why there is no answer (used when nothing answers)
    refuse: bool = False  # refuse even if lookup would find a clause (opinions)

    @property
    def may_generate(self) -> bool:
        """Whether the local model may phrase this answer."""
        return self.kind in _GENERATED_KINDS


def relative_year(parsed: ParsedQuestion, years_of: Callable[[str], set[int]]) -> ParsedQuestion:
    """「今年/去年」 with one region and no year: the region's latest report year (去年: the one it reviews)."""
    m = _RELATIVE_YEAR_RE.search(parsed.text)
    if m is None or parsed.years or parsed.report_years or len(parsed.regions) != 1:
        return parsed
    years = years_of(parsed.regions[0])
    if not years:
        return parsed
    latest = max(years)
    if m.group(0).lower() in ("去年", "last year"):
        return replace(parsed, years=(latest - 1,), intent="actual" if parsed.intent == "any" else parsed.intent)
    return replace(parsed, years=(latest,))


def stated_directly(q: ParsedQuestion, passages: list[ScoredChunk]) -> bool:
    """Whether the lookup clause already states what a computation would give (``compute.states_comparison``)."""
    ext = extract_answer(q, passages, max_clauses=1)
    return ext.found and bool(ext.cited) and states_comparison(q, ext.text)


def route(q: ParsedQuestion, passages: list[ScoredChunk], search: Search | None,
          regions: Iterable[str], years_of: Callable[[str], set[int]],
          similarity: UnitSimilarity | None = None) -> Routed:
    """The answerer's result for ``q`` over ``passages``.

    ``search`` finds passages for sub-questions; ``similarity`` ranks sentences across languages
    (rag.answer.answerers.semantic).
    """
    form = question_form(q)
    if form == "opinion":
        return Routed("refuse", tuple(passages), reason=opinion(q), refuse=True)
    evidence = Evidence(list(passages), search, similarity)
    if form == "compute":
        if q.unknown_regions:  # one operand's region is not in the corpus: no computation, say which
            return Routed("refuse", tuple(passages), reason=f"语料中没有{'、'.join(q.unknown_regions)}的报告,无法计算。",
                          refuse=True)
        if stated_directly(q, passages):  # the report states the comparison or share itself: quote it
            return Routed("lookup", tuple(passages))
        draft = ComputeAnswerer().answer(q, evidence)  # not found: the indicator table may still compute it
        # (rag.answer.facts_answer.with_facts); a lookup clause alone never answers a computation
    elif form == "table":
        regions = list(regions)
        draft = TableAnswerer(regions, {r: years_of(r) for r in regions}).answer(q, evidence)
    elif form == "open":
        reason = evidence_reason(q, evidence) if not q.english else ""
        if reason:
            return Routed("refuse", tuple(passages), reason=reason)
        draft = OpenAnswerer().answer(q, evidence)
    else:
        return Routed("lookup", tuple(passages))
    if not draft.found:
        return Routed("lookup", tuple(evidence.passages), reason=draft.reason)
    text = mark_redacted(draft.text, q.english)
    extract = Extract(text, draft.cited, False, True)  # XX in a point is marked in the text, not a redacted answer
    return Routed(draft.kind, tuple(evidence.passages), extract, draft.computed)
