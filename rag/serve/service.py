"""What the servers offer, independent of the protocol: ask, search, facts, reports, health.

One ``Service`` wraps the one shared ``Pipeline`` (and its generation gate); the HTTP API, the MCP
server and the LangChain parts call it. Results are plain JSON-ready dicts: every passage and every
figure carries where it stands (source, region, year, section, span ``start``–``end``, text).

What the corpus holds (regions, their report years, documents) is computed once at start-up and
written into the MCP tool descriptions and ``GET /v1/reports``::

    svc = Service(get_settings())
    svc.corpus.summary()   # '5 reports, 3 regions: 仓山区 (2023–2024年), 台江区 (2022年), …'
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.errors import RagError
from rag.search.query import ParsedQuestion, parse_question
from rag.types import Answer, Filters, ScoredChunk

MAX_TOP_K = 50
MAX_FACT_ROWS = 500
PROFILE_GENERATED = "gov-report-rag"
PROFILE_EXTRACTIVE = "gov-report-rag-extractive"
PROFILES = (PROFILE_GENERATED, PROFILE_EXTRACTIVE)


@dataclass(frozen=True)
class Corpus:
    """What the index holds: regions with their report years, and one row per document."""

    regions: dict[str, list[int]]
    documents: list[dict[str, Any]]
    chunks: int

    @property
    def years(self) -> list[int]:
        """Every report year in the index."""
        return sorted({y for ys in self.regions.values() for y in ys} | {d["year"] for d in self.documents if d["year"]})

    def summary(self, max_regions: int = 40) -> str:
        """One line for tool descriptions: how many reports, which regions and years."""
        if not self.documents:
            return "The index is empty."
        parts = [f"{r} ({_years_label(ys)})" for r, ys in sorted(self.regions.items())]
        more = f", and {len(parts) - max_regions} more" if len(parts) > max_regions else ""
        span = f"{self.years[0]}–{self.years[-1]}" if self.years else "unknown years"
        return (f"{len(self.documents)} Chinese government work reports (政府工作报告), report years {span}, "
                f"{len(self.regions)} regions: " + ", ".join(parts[:max_regions]) + more + ".")

    def to_dict(self) -> dict[str, Any]:
        """The ``GET /v1/reports`` body."""
        return {"regions": [{"region": r, "years": ys} for r, ys in sorted(self.regions.items())],
                "years": self.years, "documents": self.documents, "chunks": self.chunks,
                "summary": self.summary()}


def _years_label(years: Sequence[int]) -> str:
    if not years:
        return "year unknown"
    if len(years) > 3 and years[-1] - years[0] + 1 == len(years):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


def describe_corpus(pipeline: Pipeline) -> Corpus:
    """Regions (of every passage: compilations hold several), their years, and the documents of the index."""
    retriever = pipeline.retriever
    per_doc = retriever.chunks_per_doc  # counted once at load (no pass over every chunk)
    doc_regions = retriever.regions_per_doc
    documents = [{"doc_id": d.doc_id, "source": d.source, "title": d.title, "region": d.region,
                  "region_inferred": d.region_inferred, "regions": sorted(doc_regions.get(d.doc_id, ())),
                  "year": d.year, "kind": d.kind, "chunks": per_doc[d.doc_id]}
                 for d in sorted(retriever.documents.values(), key=lambda d: (d.region or "", d.year or 0, d.source))
                 if per_doc[d.doc_id]]
    regions = {r: sorted(retriever.years_of(r)) for r in retriever.regions()}
    return Corpus(regions, documents, retriever.chunk_count)


def passage_dict(rank: int, p: ScoredChunk) -> dict[str, Any]:
    """One retrieved passage with its scores and where it stands."""
    c = p.chunk
    return {"rank": rank, "score": round(p.score, 6), "ranks": p.ranks, "chunk_id": c.chunk_id, "source": c.source,
            "title": c.title, "region": c.region, "region_inferred": c.region_inferred, "year": c.year,
            "period_year": c.period_year, "section": c.section, "start": c.start, "end": c.end, "text": c.text}


def answer_dict(answer: Answer) -> dict[str, Any]:
    """An answer as the contract's JSON (``Answer.to_dict``): text with its [n], citations, refused, notices."""
    return answer.to_dict()


class Service:
    """The shared pipeline plus corpus facts; every method is thread-safe."""

    def __init__(self, settings: Settings, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline or Pipeline(settings)
        self.corpus = describe_corpus(self.pipeline)
        self._regions = self.pipeline.retriever.regions()

    # ------------------------------------------------------------ answers
    def ask(self, question: str, turns: Sequence[str] = (), *, generate: bool = True,
            filters: Filters | None = None, on_piece: Callable[[str], None] | None = None,
            on_status: Callable[[str], None] | None = None, cancel: threading.Event | None = None) -> Answer:
        """One answer through the pipeline's only loop (``Pipeline.run``); the gate queues generation."""
        self._check_length(question, *turns)
        filters = self.filters(filters.region, filters.year) if filters else None
        return self.pipeline.run(question, turns, on_piece, filters=filters, on_status=on_status,
                                 generate=generate, cancel=cancel)

    def filters(self, region: str | None, year: int | None) -> Filters | None:
        """Explicit filters, with a region short name (「仓山」) resolved to the index's name."""
        if not region and year is None:
            return None
        return Filters(self.resolve_region(region) if region else None, year)

    def resolve_region(self, region: str) -> str:
        """The index's name for ``region`` (exact, else the one region that starts with it); else as given."""
        region = region.strip()
        if region in self._regions:
            return region
        hits = [r for r in self._regions if r.startswith(region)]
        return hits[0] if len(hits) == 1 else region

    def warm_up(self, model: bool = True) -> str:
        """Load the lazy parts (jieba, the embedder, dense vectors; the local model) before the first request.

        Returns "" or why the model could not be loaded (questions are then answered extractively).
        """
        try:
            self.search("地区生产总值增长目标")
        except RagError:
            pass
        load = getattr(self.pipeline.state.generator, "load", None)
        if model and callable(load):
            try:
                load()
            except RagError as exc:
                return exc.message
        return ""

    def _check_length(self, *texts: str) -> None:
        size = sum(len(t) for t in texts)
        if size > self.settings.max_input_chars:
            raise RagError(f"the input is too long: {size} characters, at most {self.settings.max_input_chars}",
                           "send a shorter question (RAG_MAX_INPUT_CHARS sets the limit)")

    # ------------------------------------------------------------ retrieval only
    def search(self, query: str, region: str | None = None, year: int | None = None,
               top_k: int | None = None) -> dict[str, Any]:
        """Passages for ``query`` with scores; ``region``/``year`` filter (they win over the query's own)."""
        query = query.strip()
        if not query:
            raise RagError("the query is empty", "send a question or keywords, e.g. 仓山区2024年GDP目标")
        self._check_length(query)
        k = top_k or self.settings.top_k
        if not 1 <= k <= MAX_TOP_K:
            raise RagError(f"top_k must be between 1 and {MAX_TOP_K}, got {k}")
        parsed = self._scoped(parse_question(query, self._regions), region, year)
        result = self.pipeline.retriever.search(parsed, k)
        return {"query": query, "filters": result.filters, "refusal": result.refusal,
                "regions": list(parsed.regions), "years": list(parsed.years),
                "passages": [passage_dict(i, p) for i, p in enumerate(result.passages, 1)],
                "timings_ms": {k: round(v, 1) for k, v in result.timings_ms.items()}}

    def _scoped(self, parsed: ParsedQuestion, region: str | None, year: int | None) -> ParsedQuestion:
        if region:
            name = self.resolve_region(region)
            known = name in self._regions
            parsed = dataclasses.replace(parsed, regions=(name,) if known else (),
                                         unknown_regions=() if known else (name,))
        if year is not None:
            parsed = dataclasses.replace(parsed, years=(year,), report_years=())
        return parsed

    def facts(self, region: str | None = None, year: int | None = None, indicator: str | None = None,
              kind: str | None = None) -> dict[str, Any]:
        """Rows of the indicator table, each with the passage it was read from."""
        from rag.facts import query_facts

        rows = query_facts(self.settings, self.resolve_region(region) if region else None, year,
                           indicator or None, kind or None)
        out = [{"region": f.region, "year": f.year, "indicator": f.indicator, "wording": f.wording,
                "measure": f.measure, "value": f.value, "unit": f.unit, "value_text": f.value_text,
                "display_value": f.display_value(), "kind": f.kind, "qualifiers": list(f.qualifiers),
                "redacted": f.redacted, "region_inferred": f.region_inferred, "report_year": f.report_year,
                "citation": {"source": f.source, "region": f.region, "year": f.report_year, "section": f.section,
                             "start": f.start, "end": f.end, "text": f.clause, "chunk_id": f.chunk_id}}
               for f in rows[:MAX_FACT_ROWS]]
        return {"filters": {"region": region, "year": year, "indicator": indicator, "kind": kind},
                "count": len(rows), "truncated": len(rows) > MAX_FACT_ROWS, "facts": out}

    def health(self) -> dict[str, Any]:
        """Liveness plus what answers come from and how busy the model is."""
        gate = self.pipeline.gate
        return {"status": "ok", "generator": self.pipeline.generator_name,
                "generator_reason": self.pipeline.generator_reason, "documents": len(self.corpus.documents),
                "chunks": self.corpus.chunks, "index_generation": self.pipeline.retriever.generation,
                "queue": {"busy": bool(gate and gate.busy), "waiting": gate.waiting if gate else 0,
                          "max_waiting": gate.max_waiting if gate else 0}}
