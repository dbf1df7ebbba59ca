"""Exact in-memory dense search (numpy over the vectors loaded from Chroma) agrees with Chroma's HNSW."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import common
from rag.config import get_settings
from rag.index.store import VectorHit
from rag.search.dense import filtered_dense, passes
from rag.search.query import ParsedQuestion, parse_question
from rag.search.retrieve import Retriever


def _filtered_questions(retriever: Retriever) -> Iterator[tuple[str, ParsedQuestion, np.ndarray, np.ndarray]]:
    """The dev questions whose region/year filter keeps some rows: (text, parsed, mask, query vector)."""
    for q in common.load_questions():
        text, _ = common.question_turns(q)
        parsed = parse_question(text, retriever.regions())
        mask, refusal, _ = retriever._mask(parsed)
        if refusal or not mask.any():
            continue
        yield text, parsed, mask, retriever.embedder.embed_query(text)


def test_exact_dense_search_matches_chroma(seed_index: Path) -> None:
    exact = Retriever(get_settings(index_dir=seed_index, generator="extractive"))
    hnsw = Retriever(get_settings(index_dir=seed_index, generator="extractive", exact_dense_max=0))
    matrix, present = exact._dense_matrix() or (None, None)
    assert matrix is not None and present is not None and hnsw._dense_matrix() is None
    assert present.all() and matrix.shape == (len(exact.keyword.ids), exact.embedder.dim)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)

    compared = 0
    for text, parsed, mask, vec in _filtered_questions(exact):
        got = exact._exact_dense((matrix, present), vec, mask, 10)
        # every hit passes the filter, best first, and scores are cosines
        assert all(mask[exact.keyword.row[cid]] for cid, _ in got)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        where = {"region": {"$in": list(parsed.regions)}} if parsed.regions else None
        want = [(h.chunk_id, h.score) for h in hnsw.store.query(vec, 60, where)
                if passes(exact.keyword.row, mask, h.chunk_id)][:10]
        assert [c for c, _ in got][:5] == [c for c, _ in want][:5], text
        assert all(abs(a - b) < 1e-3 for (_, a), (_, b) in zip(got, want, strict=False))
        compared += 1
    assert compared >= 10

    # whole retrieval: the same passages either way on the dev questions
    for q in common.load_questions():
        text, _ = common.question_turns(q)
        a = exact.search(parse_question(text, exact.regions()))
        b = hnsw.search(parse_question(text, hnsw.regions()))
        assert [p.chunk.chunk_id for p in a.passages] == [p.chunk.chunk_id for p in b.passages], text


class _Recording:
    """The real Chroma store, recording what each query asked for (a wrapper, not a fake)."""

    def __init__(self, store: Any) -> None:
        self.store, self.calls, self.fetched = store, [], []  # type: ignore[var-annotated]

    def count(self) -> int:
        return int(self.store.count())

    def vectors(self, ids: Sequence[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        self.fetched.append(len(ids))
        return self.store.vectors(ids, dim)

    def query(self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[VectorHit]:
        self.calls.append((n, where))
        return self.store.query(vector, n, where)


def test_filtered_dense_without_metadata_filter_matches_exact(seed_index: Path) -> None:
    """Region/year-filtered dense search: exact over fetched rows, or a post-filtered HNSW pool, = exact search."""
    exact = Retriever(get_settings(index_dir=seed_index, generator="extractive"))
    hnsw = Retriever(get_settings(index_dir=seed_index, generator="extractive", exact_dense_max=0))
    matrix_present = exact._dense_matrix()
    assert matrix_present is not None
    store = _Recording(hnsw.store)
    total, ids, row, dim = store.count(), hnsw.keyword.ids, hnsw.keyword.row, hnsw.embedder.dim
    live = int(hnsw.row_live.sum())
    strategies: dict[str, int] = {"exact_rows": 0, "pool": 0, "grown": 0, "fallback": 0}
    for text, _parsed, mask, vec in _filtered_questions(hnsw):
        # also a filter whose rows are the query's farthest: none of them in the first pool, so it must grow
        far = np.zeros_like(mask)
        far[np.argsort(matrix_present[0] @ vec)[:20]] = True
        for allowed, n in ((mask, 5), (mask, 10), (far, 5)):
            want = exact._exact_dense(matrix_present, vec, allowed, n)
            runs = {  # name -> (exact_rows_max, pool_max)
                "exact_rows": (10**9, 10**9), "pool": (0, 10**9), "fallback": (0, 1)}
            for name, (rows_max, pool_max) in runs.items():
                store.calls.clear()
                got = filtered_dense(store, vec, allowed, live=live, total=total, ids=ids, row=row, dim=dim, n=n,
                                     exact_rows_max=rows_max, pool_max=pool_max)
                assert all(where is None for _, where in store.calls)  # never Chroma's metadata filter
                assert all(allowed[row[c]] for c, _ in got.hits)
                assert [c for c, _ in got.hits] == [c for c, _ in want], (name, text)
                assert all(abs(a - b) < 1e-3 for (_, a), (_, b) in zip(got.hits, want, strict=True))
                if name == "pool" and allowed.sum() < live:
                    assert got.pool > 0 and store.calls
                    strategies["grown"] += len(store.calls) > 1
                strategies[name] += 1 if (got.pool == 0) == (name != "pool") else 0
    # every strategy answered (a pool that reaches the whole collection is exact, not a fallback), and a
    # selective filter made the pool grow at least once
    assert strategies["exact_rows"] >= 20 and strategies["pool"] >= 20 and strategies["fallback"] >= 10
    assert strategies["grown"] >= 1

    # the real Retriever on the HNSW path, either strategy: the passages exact search gives
    hnsw_pool = Retriever(get_settings(index_dir=seed_index, generator="extractive", exact_dense_max=0))
    hnsw_pool.exact_rows_max = 0
    for q in common.load_questions():
        text, _ = common.question_turns(q)
        a = exact.search(parse_question(text, exact.regions()))
        for r in (hnsw, hnsw_pool):
            b = r.search(parse_question(text, r.regions()))
            assert [p.chunk.chunk_id for p in a.passages] == [p.chunk.chunk_id for p in b.passages], text


def test_large_filter_past_the_fetch_cap_uses_chromas_filter(seed_index: Path, monkeypatch: Any) -> None:
    """Last resort for a filter too large to fetch when HNSW pools run dry: Chroma's metadata filter, mask after."""
    import rag.search.dense as dense

    hnsw = Retriever(get_settings(index_dir=seed_index, generator="extractive", exact_dense_max=0))
    exact = Retriever(get_settings(index_dir=seed_index, generator="extractive"))
    matrix_present = exact._dense_matrix()
    assert matrix_present is not None
    monkeypatch.setattr(dense, "EXACT_FETCH_MAX", 0)
    region = sorted(hnsw.regions())[0]
    q = parse_question(f"{region}经济增长目标", hnsw.regions())
    mask, _, _ = hnsw._mask(q)
    vec = hnsw.embedder.embed_query(q.text)
    got = filtered_dense(hnsw.store, vec, mask, live=int(hnsw.row_live.sum()), total=hnsw.store.count(),
                         ids=hnsw.keyword.ids, row=hnsw.keyword.row, dim=hnsw.embedder.dim, n=5,
                         exact_rows_max=0, pool_max=1, where={"region": region})
    want = exact._exact_dense(matrix_present, vec, mask, 5)
    assert got.pool == -1 and [c for c, _ in got.hits] == [c for c, _ in want]
