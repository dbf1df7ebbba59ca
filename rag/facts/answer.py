"""Answering from the indicator table: the figures per region × year × indicator × kind a question asks for.

``answer_from_facts(parsed, facts)`` (pure) and ``lookup(parsed, settings)``: intent target → targets
only; actual → results and forecasts (预计); any → all. None when the question names no indicator or
region, or the table holds none of its regions (retrieval answers then). ``FactAnswer`` has ``cells``
(every source), ``missing`` (with the years the table holds), ``conflicts`` (same
region/year/indicator/kind/measure, different figures from different documents, e.g. 「XX亿元」 in the
redacted copy vs 「1065亿元」 in the news summary) and ``chunk_ids`` (``[n]`` = ``chunk_ids[n-1]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.facts.fact import KINDS, Fact
from rag.facts.store import canonical_indicator, query_facts
from rag.lexicon import ASKS_GROWTH_RE

if TYPE_CHECKING:  # pragma: no cover
    from rag.config import Settings
    from rag.search.query import ParsedQuestion

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
        # a redacted copy (XX亿元) states no figure: it is shown as redacted, never as a disagreement
        facts = [f for f in cell.facts if f.measure == measure and not f.redacted]
        signatures = {(f.value, f.unit) for f in facts}
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
