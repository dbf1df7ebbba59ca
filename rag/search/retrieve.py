"""Hybrid retrieval: region/year filters, BM25 + dense search, reciprocal-rank fusion, dedupe.

1. Filters. A region the question names (and the index holds) is a hard filter; a region the
   index does not hold ends retrieval with a refusal reason. A year Y keeps passages that speak of
   Y, or undated passages of reports from Y or Y+1 (a 2024 report reviews 2023); when that leaves
   nothing for a region the index does hold, the reason lists the years it has.
2. Search. BM25 over jieba tokens (question + canonical indicator names) and Chroma cosine search,
   each restricted to the filter, ``settings.candidates`` each.
3. Fusion. RRF with keyword weight 1.0 and dense 0.6 (keyword-first: on these reports BM25 is the
   stronger signal; dense adds paraphrase and English recall), then small multiplicative boosts for
   the asked period year, target-vs-actual section, and the asked indicator in the passage. The keyword
   winner is kept first when the dense top few hold it too, or when it wins by a clear score margin.
4. Dedupe. Passages saying the same thing (same text once digits and XX redactions are masked)
   collapse to one, preferring the copy with real figures over a redacted one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.index.embeddings import Embedder, get_embedder
from rag.index.keyword import KeywordIndex, tokenize, top_rows
from rag.index.manifest import Manifest, require_index
from rag.index.passages import PassageStore
from rag.index.protocols import KeywordSearch, Store
from rag.lexicon import REVIEW_SECTION_RE, TARGET_SECTION_RE
from rag.search.dense import EXACT_ROWS_MAX, POOL_MAX, filtered_dense
from rag.search.query import ParsedQuestion
from rag.textnorm import REDACTED_RE, fold, mask_figures
from rag.types import Chunk, ScoredChunk

KEYWORD_WEIGHT, DENSE_WEIGHT = 1.0, 0.6
KEYWORD_MARGIN = 1.6  # a BM25 top score this many times the second's is a clear keyword winner
AGREED_DENSE_RANK = 3  # the keyword winner within the dense list's top this many: both agree


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages plus what filtering did (and why nothing may be found)."""

    passages: tuple[ScoredChunk, ...]
    filters: dict[str, object] = field(default_factory=dict)
    refusal: str = ""  # non-empty: the index cannot hold the answer (region/year not covered)
    timings_ms: dict[str, float] = field(default_factory=dict)


def _year_label(years: set[int]) -> str:
    return "、".join(f"{y}年" for y in sorted(years))


class Retriever:
    """Loads the live index generation once; ``search`` is thread-safe and read-only."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, *,
                 store: Store | None = None, keyword: KeywordSearch | None = None) -> None:
        """Load the index at ``settings.index_dir``; ``store`` / ``keyword`` replace the real Chroma / BM25."""
        require_index(settings)
        self.settings = settings
        manifest = Manifest(Path(settings.index_dir))
        try:
            self.generation = manifest.meta("generation")
            self.embedder_id = manifest.meta("embedder")
            bm25_dir = Path(settings.index_dir) / manifest.meta("bm25_dir")
            self.documents = manifest.documents()
        finally:
            manifest.close()
        self.embedder = embedder or get_embedder(settings)
        if keyword is None:
            keyword = KeywordIndex.load(bm25_dir) if bm25_dir.name and bm25_dir.exists() else KeywordIndex([], None)
        self.keyword: KeywordSearch = keyword
        # passages are read by id from the manifest (no Chunk object held per chunk); ``by_id`` is that mapping
        self.by_id = PassageStore(Path(settings.index_dir))
        # what the index holds, read once: questions are parsed against it and refusals list it; per keyword
        # row, integer arrays for vectorised filtering (regions as integer codes)
        facts = self.by_id.facts(self.keyword.row)
        self._regions = frozenset(r for r in facts.years_by_region if r)
        self._years_by_region = facts.years_by_region
        self._region_code = facts.region_codes
        self.row_region_code, self.row_year = facts.row_region_code, facts.row_year
        self.row_period, self.row_live = facts.row_period, facts.row_live
        self.chunk_count = facts.chunk_count
        self.chunks_per_doc, self.regions_per_doc = facts.chunks_per_doc, facts.regions_per_doc
        self._live_rows = int(np.count_nonzero(self.row_live))
        # dense search under a filter: exact over at most this many fetched rows, else a post-filtered HNSW pool
        self.exact_rows_max, self.pool_max = EXACT_ROWS_MAX, POOL_MAX
        self._store: Store | None = store
        self._vector_count: int | None = None
        self._lock = threading.Lock()
        self._matrix_lock = threading.Lock()
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None  # (vectors by keyword row, row has a vector)
        self._matrix_tried = False
        if self.embedder_id and self.embedder.id != self.embedder_id:
            from rag.errors import ConfigError

            raise ConfigError(
                f"the index was embedded with {self.embedder_id}, but the configured embedder is {self.embedder.id}",
                "re-run `rag ingest` with the current embedder (it re-embeds), or switch RAG_EMBED_BACKEND back",
            )

    @property
    def store(self) -> Store:
        """The vector store: the one injected, else the Chroma collection, opened on first use."""
        with self._lock:
            if self._store is None:
                from rag.index.store import VectorStore

                self._store = VectorStore(self.settings, self.embedder.id)
            return self._store

    def _has_vectors(self) -> bool:
        """Whether the collection holds vectors (asked once per retriever: it is fixed per generation)."""
        if self._vector_count is None:
            self._vector_count = self.store.count()
        return bool(self._vector_count)

    def regions(self) -> frozenset[str]:
        """Regions the index holds (stated or inferred); the same object on every call (cheap cache key)."""
        return self._regions

    def years_of(self, region: str) -> set[int]:
        """Report years the index holds for a region."""
        return set(self._years_by_region.get(region, ()))

    def years(self) -> set[int]:
        """Report years the index holds (any region)."""
        return set().union(*self._years_by_region.values())

    @property
    def chunks(self) -> Sequence[Chunk]:
        """Every chunk, lazily from the manifest (``len`` is one COUNT; iterating reads them all: not per query)."""
        return self.by_id.all_chunks()

    def _rows_of(self, values: np.ndarray, wanted: list[int]) -> np.ndarray:
        """Boolean row mask: ``values`` equal to one of ``wanted`` (a few values: no np.isin sort)."""
        out = np.zeros(len(values), dtype=bool)
        for v in wanted:
            out |= values == v
        return out

    def _mask(self, q: ParsedQuestion) -> tuple[np.ndarray, str, dict[str, object]]:
        mask = self.row_live.copy()
        filters: dict[str, object] = {}
        if q.regions:
            codes = [self._region_code[r] for r in q.regions if r in self._region_code]
            mask &= self._rows_of(self.row_region_code, codes)
            filters["region"] = list(q.regions)
        elif q.unknown_regions:
            have = "、".join(sorted(self.regions())) or "none"
            return np.zeros_like(mask), (f"语料中没有{'、'.join(q.unknown_regions)}的报告(现有地区:{have})。"), {
                "unknown_region": list(q.unknown_regions)}
        before_reports = mask.copy()
        if q.report_years:
            rm = self._rows_of(self.row_year, list(q.report_years))
            if not (mask & rm).any():
                held = [int(y) for y in np.unique(self.row_year[mask]) if y]
                near = "、".join(f"{y}年" for y in held[-8:]) or "无"
                who = "、".join(q.regions) if q.regions else ""
                return mask & rm, (f"语料中没有{who}{_year_label(set(q.report_years))}的报告(现有:{near})。"), {
                    "report_year": list(q.report_years)}
            mask &= rm
            filters["report_year"] = list(q.report_years)
        if q.years:
            ym = np.zeros_like(mask)
            for y in q.years:
                ym |= (self.row_period == y) | ((self.row_period == 0) & self._rows_of(self.row_year, [y, y + 1]))
            if q.intent == "actual" and not q.report_years:
                # year Y's actual result is reviewed in the report of year Y+1 (the report of Y only sets its
                # targets): use that report when the index holds it for this scope
                later = np.zeros_like(mask)
                for y in q.years:
                    later |= ((self.row_period == y) | (self.row_period == 0)) & (self.row_year == y + 1)
                if (mask & later).any():
                    ym = later
            if not (mask & ym).any() and q.report_years and (before_reports & ym).any():
                # 「2025年报告安排的专项债是2022年的几倍」: the named report and the other year, each in its own rows
                mask, ym = before_reports, ym | self._rows_of(self.row_year, list(q.report_years))
            if not (mask & ym).any():
                if q.regions:
                    parts = []
                    for r in q.regions:
                        years = self.years_of(r)
                        parts.append(f"{r}只有{_year_label(years)}的报告" if years else f"{r}的报告没有标明年份")
                    asked = _year_label(set(q.years))
                    return mask & ym, f"语料中没有{'、'.join(q.regions)}{asked}的数据:{';'.join(parts)}。", {
                        "region": list(q.regions), "year": list(q.years)}
                return mask & ym, f"语料中没有涉及{_year_label(set(q.years))}的报告。", {"year": list(q.years)}
            mask &= ym
            filters["year"] = list(q.years)
        return mask, "", filters

    def search(self, q: ParsedQuestion, k: int | None = None) -> Retrieval:
        """Top ``k`` passages for a parsed question."""
        k = k or self.settings.top_k
        n = max(self.settings.candidates, k)
        t0 = time.perf_counter()
        mask, refusal, filters = self._mask(q)
        if refusal or not mask.any():
            return Retrieval((), filters, refusal or "索引中没有可检索的段落。", {"retrieve": _ms(t0)})
        query_text = " ".join([q.text, *q.expansions])
        kw_hits = self.keyword.search(tokenize(query_text), n, mask)
        t1 = time.perf_counter()
        dense_hits: list[tuple[str, float]] = []
        try:  # reliability: a vector store that is down (server restarting, disk full) leaves keyword search answering
            dense_hits = self._dense(q, query_text, mask, filters, n)
        except Exception as exc:  # chromadb/httpx/sqlite errors alike; said in the answer's notices
            why = getattr(exc, "message", "") or f"{exc.__class__.__name__}: {exc}"
            filters = {**filters, "degraded": f"向量检索暂不可用,仅用关键词检索({why})"[:240]}
        t2 = time.perf_counter()
        fused = self._fuse(q, kw_hits, dense_hits)
        passages = tuple(_dedupe(fused)[:k])
        return Retrieval(passages, filters, "", {"keyword": (t1 - t0) * 1000, "dense": (t2 - t1) * 1000,
                                                 "retrieve": _ms(t0)})

    def _dense(self, q: ParsedQuestion, query_text: str, mask: np.ndarray, filters: dict[str, object],
               n: int) -> list[tuple[str, float]]:
        if not self._has_vectors():
            return []
        vec = self.embedder.embed_query(query_text)
        exact = self._dense_matrix()
        if exact is not None:
            return self._exact_dense(exact, vec, mask, n)
        # no metadata-filtered HNSW (it walks the graph checking every candidate's metadata): see rag.search.dense
        return filtered_dense(self.store, vec, mask, live=self._live_rows, total=self._vector_count or 0,
                              ids=self.keyword.ids, row=self.keyword.row, dim=self.embedder.dim, n=n,
                              exact_rows_max=self.exact_rows_max, pool_max=self.pool_max,
                              where=_where(q, filters)).hits

    def _dense_matrix(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every keyword row's vector, loaded from Chroma once, for exact search in memory.

        None with a Chroma server (the vectors live there) or above ``settings.exact_dense_max``
        chunks; then ``rag.search.dense.filtered_dense`` answers (unfiltered HNSW post-filtered, or
        exact search over the filtered rows' vectors fetched by id).
        """
        with self._matrix_lock:
            if not self._matrix_tried:
                self._matrix_tried = True
                if not self.settings.chroma_url and 0 < len(self.keyword.ids) <= self.settings.exact_dense_max:
                    self._matrix = self.store.vectors(self.keyword.ids, self.embedder.dim)
            return self._matrix

    def _exact_dense(self, exact: tuple[np.ndarray, np.ndarray], vec: np.ndarray, mask: np.ndarray,
                     n: int) -> list[tuple[str, float]]:
        """Top ``n`` rows of ``mask`` by cosine (vectors are unit length), best first."""
        matrix, present = exact
        rows = np.flatnonzero(mask & present)
        if not len(rows):
            return []
        # a few rows: multiply only those; most rows: one product over all (no copy of the matrix)
        scores = matrix[rows] @ vec if len(rows) * 4 < len(matrix) else (matrix @ vec)[rows]
        top = top_rows(scores, n)
        return [(self.keyword.ids[rows[i]], float(scores[i])) for i in top]

    def _fuse(self, q: ParsedQuestion, kw: list[tuple[str, float]], dense: list[tuple[str, float]]) -> list[ScoredChunk]:
        rrf_k = self.settings.rrf_k
        scores: dict[str, float] = {}
        ranks: dict[str, dict[str, int | None]] = {}
        for name, hits, weight in (("keyword", kw, KEYWORD_WEIGHT), ("dense", dense, DENSE_WEIGHT)):
            for rank, (cid, _) in enumerate(hits, start=1):
                scores[cid] = scores.get(cid, 0.0) + weight / (rrf_k + rank)
                ranks.setdefault(cid, {"keyword": None, "dense": None})[name] = rank
        out = []
        chunks = self.by_id.get_many(scores)
        for cid, score in scores.items():
            chunk = chunks.get(cid)
            if chunk is None:  # an orphan vector from an interrupted ingest, or removed since: not in the manifest
                continue
            score *= _boost(q, chunk)
            out.append(ScoredChunk(chunk, score, ranks[cid]))
        out.sort(key=lambda s: -s.score)
        agreed = bool(kw and dense) and kw[0][0] in {cid for cid, _ in dense[:AGREED_DENSE_RANK]}
        if kw and out and (agreed or (len(kw) >= 2 and kw[1][1] > 0 and kw[0][1] >= KEYWORD_MARGIN * kw[1][1])):
            # the keyword winner stays first when the dense list agrees (its top few hold it: section boosts must
            # not push it out of the top k), or when it wins by a clear margin (the one passage holding a rare
            # term: 赤字率, 专项债券) even if the dense list misses it, which RRF alone would let passages ranked
            # moderately in both outrank
            top = next((i for i, s in enumerate(out) if s.chunk.chunk_id == kw[0][0]), None)
            if top:
                out.insert(0, ScoredChunk(out[top].chunk, out[0].score, out[top].ranks))
                del out[top + 1]
        return out


def _boost(q: ParsedQuestion, chunk: Chunk) -> float:
    factor = 1.0
    if q.years and chunk.period_year in q.years:
        factor *= 1.25
    label = chunk.section
    if q.intent == "target" and TARGET_SECTION_RE.search(label):
        factor *= 1.2
    elif q.intent == "actual" and REVIEW_SECTION_RE.search(label):
        factor *= 1.2
    text = fold(chunk.text)
    if q.indicators and any(ind in text for ind in q.indicators):
        factor *= 1.15
    return factor


def _where(q: ParsedQuestion, filters: dict[str, object]) -> dict[str, object] | None:
    """Chroma's metadata filter for the question's regions: dense search's last resort (see rag.search.dense)."""
    if "region" in filters:
        regions = list(q.regions)
        return {"region": regions[0]} if len(regions) == 1 else {"region": {"$in": regions}}
    return None


def _grams(text: str) -> set[str]:
    key = mask_figures(text)
    return {key[i: i + 4] for i in range(max(len(key) - 3, 1))}


def _dedupe(passages: list[ScoredChunk], threshold: float = 0.6) -> list[ScoredChunk]:
    """Collapse near-duplicate passages (4-gram Jaccard ≥ threshold once figures are masked).

    The best-ranked copy keeps its place, but an unredacted copy replaces a redacted one, and a copy that
    holds the other and goes on (an overlapping chunk past the other's cut) replaces it.
    """
    out: list[ScoredChunk] = []
    grams: list[set[str]] = []
    for sc in passages:
        g = _grams(sc.chunk.text)
        dup = next((i for i, h in enumerate(grams) if len(g & h) / max(len(g | h), 1) >= threshold), None)
        if dup is None:
            out.append(sc)
            grams.append(g)
        elif (REDACTED_RE.search(out[dup].chunk.text) and not REDACTED_RE.search(sc.chunk.text)) \
                or _extends(g, grams[dup]):
            out[dup] = ScoredChunk(sc.chunk, out[dup].score, sc.ranks)
            grams[dup] = g
    return out


def _extends(g: set[str], h: set[str]) -> bool:
    """Whether a passage (grams ``g``) holds nearly all of another (``h``) and more.

    An overlapping chunk that goes on where the other was cut (「…达到74.4」 | 「…达到74.4万亿元，增长6.7%」)
    replaces it, so the figure stays whole.
    """
    return len(g) > len(h) and len(g & h) >= 0.95 * len(h)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
