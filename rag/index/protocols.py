"""The two search seams of the index, as Protocols: what the retriever needs from a vector store and a keyword index.

``rag.index.store.VectorStore`` (Chroma) and ``rag.index.keyword.KeywordIndex`` (bm25s) implement
them; ``rag.search.retrieve.Retriever`` takes either by injection (default: the real ones), so a
test or another backend can stand in without touching the retriever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rag.index.store import VectorHit


class Store(Protocol):
    """Chunk vectors keyed by chunk id (dense search)."""

    def count(self) -> int:
        """How many vectors the store holds."""
        ...

    def vectors(self, ids: Sequence[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of ``ids`` in order (zeros where missing) and a mask of which were present."""
        ...

    def query(self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[VectorHit]:
        """The ``n`` nearest vectors (cosine), optionally filtered by metadata."""
        ...


class KeywordSearch(Protocol):
    """A keyword index over chunks: row ``i`` is ``ids[i]``; ``row`` maps a chunk id to its row."""

    ids: list[str]
    row: dict[str, int]

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """A score per row for the query."""
        ...

    def search(self, query_tokens: list[str], n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``n`` best (chunk id, score) pairs among the rows ``mask`` allows."""
        ...
