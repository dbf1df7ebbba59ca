"""The only module that imports chromadb: an embedded PersistentClient or an HttpClient to a server.

Vectors always come from our embedder (``embeddings=`` / ``query_embeddings=``): Chroma's default
embedding function would try to download a model. One collection per embedder id, so vectors of
two models never mix. Chroma metadata cannot hold None: unknown region is "" and unknown year 0.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from rag.config import Settings
from rag.errors import RagError


def collection_name(embedder_id: str) -> str:
    """A valid Chroma collection name ([a-zA-Z0-9._-], 3–63 chars) for an embedder id."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", embedder_id).strip("-._")[:40] or "emb"
    digest = hashlib.sha1(embedder_id.encode()).hexdigest()[:8]
    return f"chunks-{slug}-{digest}"


# chromadb's per-path System cache is not thread-safe: two sessions opening the store at once (an
# upload and a re-index in the UI) could start one System while the other dropped it ("'RustBindingsAPI'
# object has no attribute 'bindings'"). Opening is serialised; queries are not.
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class VectorHit:
    """One dense result: chunk id and cosine similarity."""

    chunk_id: str
    score: float


class VectorStore:
    """A Chroma collection of chunk vectors keyed by chunk id."""

    def __init__(self, settings: Settings, embedder_id: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.location: str
        self._reopen: Callable[[], Any] | None = None  # reliability fix: reload after another process wrote
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                self.client: Any = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                self.client.heartbeat()
                self.location = settings.chroma_url
            else:
                path = Path(settings.index_dir) / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                with _OPEN_LOCK:
                    _forget_cached_system(str(path))  # reliability fix: see _forget_cached_system
                    self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
                self.location = str(path)
                self._reopen = lambda: _reopened(settings, embedder_id)
        except Exception as exc:  # boundary: chromadb/httpx/sqlite raise many types; said as a RagError with a hint
            where = settings.chroma_url or str(settings.index_dir)
            raise RagError(
                f"cannot open the Chroma vector store at {where}: {exc.__class__.__name__}: {exc}"[:500],
                "start the server (`chroma run --path DIR --port 8000`) or unset RAG_CHROMA_URL to use the "
                "embedded store" if settings.chroma_url else "check that the index directory is writable",
            ) from exc
        self.name = collection_name(embedder_id)
        with _OPEN_LOCK:
            self.collection = self.client.get_or_create_collection(
                self.name, metadata={"hnsw:space": "cosine", "embedder": embedder_id}, embedding_function=None
            )

    def count(self) -> int:
        """Number of vectors stored."""
        return int(self.collection.count())

    def ids(self) -> set[str]:
        """All chunk ids stored (paged, for large collections)."""
        out: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < page:
                return out
            offset += page

    def vectors(self, ids: Sequence[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, present): row i holds the vector of ``ids[i]``; ``present[i]`` is False if it has none."""
        matrix = np.zeros((len(ids), dim), dtype=np.float32)
        present = np.zeros(len(ids), dtype=bool)
        row = {cid: i for i, cid in enumerate(ids)}
        step = 5000
        for start in range(0, len(ids), step):
            got = self.collection.get(ids=list(ids[start: start + step]), include=["embeddings"])
            embeddings = got.get("embeddings")
            if embeddings is None or not len(got["ids"]):
                continue
            rows = [row[cid] for cid in got["ids"]]
            matrix[rows] = np.asarray(embeddings, dtype=np.float32)
            present[rows] = True
        return matrix, present

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """Insert or replace vectors (batched below Chroma's max batch size)."""
        step = 1000
        for i in range(0, len(ids), step):
            self.collection.upsert(
                ids=list(ids[i: i + step]), embeddings=vectors[i: i + step].tolist(),
                metadatas=list(metadatas[i: i + step]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove vectors by chunk id."""
        step = 1000
        for i in range(0, len(ids), step):
            self.collection.delete(ids=list(ids[i: i + step]))

    def query(self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[VectorHit]:
        """Nearest chunks by cosine similarity, optionally filtered on metadata.

        No ``count()`` first: Chroma answers an empty collection or ``n`` above its size with what it has,
        and on a server with a million vectors a count costs ~100 ms, more than the query.
        """
        kwargs: dict[str, Any] = {"query_embeddings": [vector.tolist()], "n_results": max(n, 1),
                                  "where": where or None, "include": ["distances"]}
        try:
            res = self.collection.query(**kwargs)
        except Exception:
            # reliability fix: another process (e.g. `rag ingest`) deleted vectors this process's
            # cached HNSW index still holds ("Error finding id"): reload from disk once and retry
            if self._reopen is None:
                raise
            self.collection = self._reopen()
            res = self.collection.query(**kwargs)
        return [VectorHit(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]


def _reopened(settings: Settings, embedder_id: str) -> Any:
    """The collection of a freshly opened store (re-read from disk)."""
    return VectorStore(settings, embedder_id).collection


def _forget_cached_system(path: str) -> None:
    """Make the next PersistentClient for ``path`` load the store from disk (reliability fix).

    chromadb caches one System per path per process, with its HNSW index in memory; it does not see
    vectors another process (a ``rag ingest`` next to a running UI) added or deleted, and queries then
    fail with "Error finding id". Clients already open keep their own System (their collections hold
    it), so dropping the cache entry only affects stores opened from now on.
    """
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:  # pragma: no cover - other chromadb layouts
        return
    SharedSystemClient._identifier_to_system.pop(path, None)
