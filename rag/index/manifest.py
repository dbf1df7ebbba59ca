"""The index's source of truth on disk: ``manifest.sqlite`` (files, documents, chunks, meta), its writer lock.

Documents and chunks are stored as JSON of their dataclasses; a chunk also keeps its jieba token
ids (the keyword index is rebuilt from them) and its ``embed_key`` (hash of header + text: a vector
is re-used while it is unchanged). See ``rag.index.run`` for how an ingest updates it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import IndexMissingError, RagError
from rag.types import Chunk, Document, Section, Segment

SCHEMA_VERSION = "3"


def doc_to_json(doc: Document) -> str:
    """Serialise a Document (with its cleaned text) for the manifest."""
    return json.dumps(dataclasses.asdict(doc), ensure_ascii=False)


def doc_from_json(raw: str) -> Document:
    """Inverse of ``doc_to_json``."""
    d = json.loads(raw)
    d["sections"] = tuple(Section(**s) for s in d.get("sections", ()))
    d["segments"] = tuple(Segment(**s) for s in d.get("segments", ()))
    return Document(**d)


def chunk_to_json(chunk: Chunk) -> str:
    """Serialise a Chunk."""
    return json.dumps(dataclasses.asdict(chunk), ensure_ascii=False)


def chunk_from_json(raw: str) -> Chunk:
    """Inverse of ``chunk_to_json``."""
    return Chunk(**json.loads(raw))


def embed_text(chunk: Chunk) -> str:
    """What the embedder sees: the context header, then the passage."""
    return f"{chunk.header}\n{chunk.text}"


def embed_key(chunk: Chunk) -> str:
    """Changes whenever what is embedded changes."""
    return hashlib.sha1(embed_text(chunk).encode("utf-8")).hexdigest()[:16]


def chroma_metadata(chunk: Chunk, key: str) -> dict[str, Any]:
    """Filterable metadata for Chroma (no None values allowed there)."""
    return {"doc_id": chunk.doc_id, "region": chunk.region or "", "year": chunk.year or 0,
            "period_year": chunk.period_year or 0, "embed_key": key}


class Manifest:
    """SQLite manifest: the index's source of truth. One connection per instance."""

    def __init__(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.dir = index_dir
        path = index_dir / "manifest.sqlite"
        if path.exists() and not os.access(index_dir, os.W_OK):  # reliability: a read-only index still answers
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                      check_same_thread=False)
            return
        self.db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, source TEXT, sha256 TEXT, size INTEGER,
                doc_id TEXT, status TEXT, reason TEXT, added_at REAL);
            CREATE TABLE IF NOT EXISTS documents (doc_id TEXT PRIMARY KEY, json TEXT, added_at REAL);
            CREATE TABLE IF NOT EXISTS chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT, json TEXT,
                tokens TEXT, embed_key TEXT);
            CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
            CREATE TABLE IF NOT EXISTS pending_chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT, json TEXT,
                tokens TEXT, embed_key TEXT);
            """
        )

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def meta(self, key: str, default: str = "") -> str:
        """Read a meta value."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def files(self) -> dict[str, dict[str, Any]]:
        """All file rows keyed by absolute path."""
        cols = ["path", "source", "sha256", "size", "doc_id", "status", "reason", "added_at"]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in self.db.execute(f"SELECT {','.join(cols)} FROM files")}

    def documents(self) -> dict[str, Document]:
        """All documents keyed by doc id."""
        return {r[0]: doc_from_json(r[1]) for r in self.db.execute("SELECT doc_id, json FROM documents")}

    def document_added(self) -> dict[str, float]:
        """When each document was first added."""
        return {r[0]: r[1] for r in self.db.execute("SELECT doc_id, added_at FROM documents")}

    def chunks(self) -> list[Chunk]:
        """All chunks in a stable order (document, then position)."""
        rows = self.db.execute("SELECT json FROM chunks ORDER BY doc_id, rowid").fetchall()
        return [chunk_from_json(r[0]) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        """One document, or None."""
        row = self.db.execute("SELECT json FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return doc_from_json(row[0]) if row else None

    def doc_ids(self) -> list[str]:
        """Ids of all documents, sorted."""
        return [r[0] for r in self.db.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of one document, in order."""
        rows = self.db.execute("SELECT json FROM chunks WHERE doc_id=? ORDER BY rowid", (doc_id,)).fetchall()
        return [chunk_from_json(r[0]) for r in rows]

    def chunk_keys(self) -> list[tuple[str, str, str]]:
        """(chunk_id, doc_id, embed_key) of every chunk, stable order (no text, no tokens)."""
        return self.db.execute("SELECT chunk_id, doc_id, embed_key FROM chunks ORDER BY doc_id, rowid").fetchall()

    def chunk_rows(self) -> list[tuple[str, str, str, str]]:
        """(chunk_id, doc_id, tokens json, embed_key) of every chunk, stable order."""
        return self.db.execute("SELECT chunk_id, doc_id, tokens, embed_key FROM chunks ORDER BY doc_id, rowid").fetchall()

    def chunk_count(self) -> int:
        """Number of chunks in the live generation."""
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock (``.ingest.lock``); a second writer fails at once with a clear error.

    Two ingests interleaving their commits and clean-ups could delete each other's new vectors. The
    lock is an flock, so the OS releases it when a writer dies (SIGKILL included); on platforms
    without fcntl there is no lock.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with (index_dir / ".ingest.lock").open("a", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RagError(f"another ingest is updating the index at {index_dir}",
                           "wait until it has finished (queries keep working meanwhile), then try again") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def keyword_corpus(manifest: Manifest, live: set[str], staged: bool) -> tuple[list[str], list[list[int]], dict[str, int]]:
    """Chunk ids and their tokens as integer ids, streamed from the manifest (live rows, then staged).

    Tokens are stored as JSON strings; decoding all of them at once held ~2 KB of Python strings per
    chunk. Here each token becomes a shared vocabulary int (8 bytes per occurrence).
    """
    vocab: dict[str, int] = {}
    ids: list[str] = []
    rows: list[list[int]] = []
    tables = ["chunks ORDER BY doc_id, rowid", *(["pending_chunks ORDER BY rowid"] if staged else [])]
    for i, table in enumerate(tables):
        cursor = manifest.db.execute(f"SELECT chunk_id, tokens FROM {table}")  # noqa: S608 - fixed names
        while batch := cursor.fetchmany(1024):
            for cid, raw in batch:
                if i == 0 and cid not in live:
                    continue
                ids.append(cid)
                rows.append([vocab.setdefault(t, len(vocab)) for t in json.loads(raw)])
    return ids, rows, vocab


def require_index(settings: Settings) -> Path:
    """The manifest path, or a clear error telling the user how to build the index."""
    path = Path(settings.index_dir) / "manifest.sqlite"
    if not path.exists():
        raise IndexMissingError(
            f"no index at {settings.index_dir}",
            "build it first: `rag ingest corpus/` (or set RAG_INDEX_DIR / --index to an existing index)",
        )
    return path
