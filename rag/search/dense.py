"""Dense search under region/year filters without Chroma's metadata-filtered HNSW.

A ``where`` filter makes Chroma walk the HNSW graph checking every candidate's metadata: at 270k
chunks it cost 204 ms p95 against ~20 ms unfiltered. The filter is already known in memory as a
boolean mask over the keyword rows, so dense search uses it directly:

- **few rows** (``<= exact_rows_max``, e.g. one district's reports): the filtered rows' vectors are
  fetched by id and scored exactly (a small matrix product; exact, not approximate);
- **many rows** (a year, a province, no filter): unfiltered HNSW with a candidate pool large enough
  that ``n`` hits are expected to survive the mask (``n / share of rows``, times a margin), grown ×4
  until they do; when the pool would pass ``pool_max``, exact search over the fetched rows again if
  there are at most ``EXACT_FETCH_MAX``, else Chroma's metadata filter (the caller's ``where``) with the
  mask applied after, else the hits the largest pool had.

Chroma can return far fewer than ``n_results`` (HNSW's search stops in a dense cluster: at 1M synthetic
chunks with 6,757 near-copies per passage, 34 of 600 asked), so a pool is judged by what survives, not by its size.

With an exact HNSW the post-filtered pool's top ``n`` is exactly the filtered top ``n`` (every allowed
row scoring higher would rank above them in the unfiltered pool); with a real one it is as good as
HNSW's recall at that pool size. ``tests/test_dense_exact.py`` compares both paths with exact search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.index.keyword import top_rows
from rag.index.protocols import Store

# chosen by measurement on the Chroma server at ~500k chunks (benchmarks/scale.md): fetching vectors by id costs
# ~0.1-0.15 ms each (200: 21 ms, 1000: 138 ms), an unfiltered HNSW query of a 4,000 pool 30-45 ms, and Chroma
# returns far fewer than asked past that (20,000 asked: 7,748 returned)
EXACT_ROWS_MAX = 400
POOL_MAX = 4000
# the last resort fetches at most this many rows' vectors (100,000 took 17-22 s); past it, Chroma's metadata filter
EXACT_FETCH_MAX = 4000
POOL_MARGIN = 2.0


@dataclass(frozen=True)
class DenseResult:
    """Hits (chunk id, cosine) best first, and how: ``pool`` HNSW candidates, 0 = exact, -1 = Chroma's filter."""

    hits: list[tuple[str, float]]
    pool: int


def passes(row: dict[str, int], mask: np.ndarray, chunk_id: str) -> bool:
    """Whether a chunk's keyword row passes the filter mask (no set of every allowed id)."""
    r = row.get(chunk_id)
    return r is not None and bool(mask[r])


def exact_over_rows(store: Store, vec: np.ndarray, rows: np.ndarray, ids: Sequence[str], dim: int,
                    n: int) -> list[tuple[str, float]]:
    """Exact cosine top ``n`` among ``rows`` (keyword rows), their vectors fetched from the store by id."""
    if not len(rows):
        return []
    wanted = [ids[i] for i in rows]
    matrix, present = store.vectors(wanted, dim)
    keep = np.flatnonzero(present)
    scores = matrix[keep] @ vec
    return [(wanted[keep[i]], float(scores[i])) for i in top_rows(scores, n)]


def filtered_dense(store: Store, vec: np.ndarray, mask: np.ndarray, *, live: int, total: int,
                   ids: Sequence[str], row: dict[str, int], dim: int, n: int,
                   exact_rows_max: int = EXACT_ROWS_MAX, pool_max: int = POOL_MAX,
                   where: dict[str, Any] | None = None) -> DenseResult:
    """Top ``n`` rows of ``mask`` by cosine: exact over few rows, else post-filtered unfiltered HNSW.

    ``live`` is how many rows any filter starts from, ``total`` how many vectors the store holds.
    """
    rows = np.flatnonzero(mask)
    if not len(rows) or not total:
        return DenseResult([], 0)
    if len(rows) <= exact_rows_max:
        return DenseResult(exact_over_rows(store, vec, rows, ids, dim, n), 0)
    share = len(rows) / max(live, 1)
    pool = min(total, max(n, math.ceil(n * POOL_MARGIN / share)) if share < 1 else n + n // 2)
    kept: list[tuple[str, float]] = []
    while pool <= pool_max or pool >= total:
        kept = [(h.chunk_id, h.score) for h in store.query(vec, pool) if passes(row, mask, h.chunk_id)]
        if len(kept) >= n or pool >= total:
            return DenseResult(kept[:n], pool)
        pool = min(total, pool * 4)
    if len(rows) <= max(EXACT_FETCH_MAX, exact_rows_max):
        return DenseResult(exact_over_rows(store, vec, rows, ids, dim, n), 0)
    if where is not None:
        filtered = [(h.chunk_id, h.score) for h in store.query(vec, n * 3, where) if passes(row, mask, h.chunk_id)]
        return DenseResult(filtered[:n], -1)
    return DenseResult(kept[:n], pool)
