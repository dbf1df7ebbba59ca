"""Exact in-memory dense search (numpy over the vectors loaded from Chroma) agrees with Chroma's HNSW."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import common
from rag.config import get_settings
from rag.search.query import parse_question
from rag.search.retrieve import Retriever


def test_exact_dense_search_matches_chroma(seed_index: Path) -> None:
    exact = Retriever(get_settings(index_dir=seed_index, generator="extractive"))
    hnsw = Retriever(get_settings(index_dir=seed_index, generator="extractive", exact_dense_max=0))
    matrix, present = exact._dense_matrix() or (None, None)
    assert matrix is not None and present is not None and hnsw._dense_matrix() is None
    assert present.all() and matrix.shape == (len(exact.keyword.ids), exact.embedder.dim)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)

    compared = 0
    for q in common.load_questions():
        text, _ = common.question_turns(q)
        parsed = parse_question(text, exact.regions())
        mask, refusal, filters = exact._mask(parsed)
        if refusal or not mask.any():
            continue
        vec = exact.embedder.embed_query(text)
        got = exact._exact_dense((matrix, present), vec, mask, 10)
        # every hit passes the filter, best first, and scores are cosines
        assert all(mask[exact.keyword.row[cid]] for cid, _ in got)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        where = {"region": {"$in": list(parsed.regions)}} if parsed.regions else None
        want = [(h.chunk_id, h.score) for h in hnsw.store.query(vec, 60, where)
                if exact._allowed(h.chunk_id, mask)][:10]
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
