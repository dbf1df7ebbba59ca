"""Build and update the index incrementally from a manifest of content hashes.

Layout of ``settings.index_dir``::

    manifest.sqlite   files, documents, chunks (text, metadata, jieba tokens), meta — the source of truth;
                      pending_chunks stages the chunks of changed documents during an ingest
    chroma/           vectors, one collection per embedder (ids = chunk ids)
    bm25-<gen>/       keyword index of generation <gen> (the manifest names the live one)

Memory: changed documents are chunked one at a time into ``pending_chunks``; embedding and the
keyword build stream rows back out of SQLite, so an ingest does not hold every chunk of the run.

Crash safety: new vectors are upserted first (extra vectors are harmless: retrieval only trusts
ids in the manifest), then a new BM25 folder is written, then ONE SQLite transaction switches the
manifest to the new generation (the staged chunks become live in it); stale vectors and old BM25
folders are removed afterwards and, if the process died before that, at the start of the next
ingest, which also empties ``pending_chunks``. An ingest killed at any point leaves
the previous generation answering queries. Unchanged files (same sha256) are not re-read or
re-embedded; a vector is re-used when its ``embed_key`` (hash of header + text) is unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import IndexMissingError, RagError
from rag.index.embeddings import Embedder, get_embedder
from rag.index.keyword import KeywordIndex, tokenize
from rag.index.steps import run_post_commit
from rag.ingest.chunking import chunk_document
from rag.ingest.documents import build_document, with_inferred_region
from rag.ingest.untrusted import scan_chunks
from rag.types import Chunk, Document, Section, Segment

SCHEMA_VERSION = "3"
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestReport:
    """What an ingest did (printed by ``rag ingest`` and shown by the UI)."""

    files_seen: int = 0
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, same content as)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_total: int = 0
    chunks_embedded: int = 0
    inferred: list[tuple[str, str, str]] = field(default_factory=list)  # (file, region, evidence)
    untrusted: list[tuple[str, str, tuple[str, ...], str]] = field(default_factory=list)  # planted text, see below
    seconds: float = 0.0
    embed_seconds: float = 0.0


# ---------------------------------------------------------------- (de)serialising
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


# ---------------------------------------------------------------- the manifest
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


# ---------------------------------------------------------------- region inference
def _shingles(text: str, n: int = 5) -> set[str]:
    import re

    clean = re.sub(r"[\W\d_A-Za-z]+", "", text)  # CJK only: figures and XX redactions differ by copy
    return {clean[i: i + n] for i in range(len(clean) - n + 1)}


def _shingle_hashes(text: str) -> np.ndarray:
    """The document's shingles as sorted unique int64 hashes (8 bytes each instead of a ~90-byte str)."""
    grams = _shingles(text)
    return np.unique(np.fromiter((hash(g) for g in grams), dtype=np.int64, count=len(grams)))


def infer_regions(docs: dict[str, Document]) -> dict[str, tuple[str, str]]:
    """For documents without a region, find a known-region document sharing rare passages.

    A redacted copy (「XX区」) of a report shares long runs of identical text with another copy
    that names its region. Score = shingles found only in the two documents; infer when the best
    match has ≥ 40 such shingles and at least 3× the runner-up. Returns doc_id → (region, evidence).

    Memory stays proportional to the documents being inferred, not to the corpus: only their
    shingles are kept (hashed), and every other document is read once to count them.
    """
    targets = [d for d in docs.values() if not d.region and d.kind != "汇编"]
    if not targets:
        return {}
    target_hashes = {d.doc_id: _shingle_hashes(d.text) for d in targets}
    pool = np.unique(np.concatenate(list(target_hashes.values())))
    df = np.zeros(len(pool), dtype=np.int32)  # documents holding each pooled shingle
    shared_with: dict[str, np.ndarray] = {}  # known-region document → its pooled shingles
    for doc in docs.values():
        present = np.isin(pool, target_hashes.get(doc.doc_id, _shingle_hashes(doc.text)), assume_unique=True)
        df += present
        if doc.region and not doc.region_inferred:
            shared_with[doc.doc_id] = pool[present]
    rare = pool[df == 2]
    out: dict[str, tuple[str, str]] = {}
    for doc in targets:
        mine = np.intersect1d(target_hashes[doc.doc_id], rare, assume_unique=True)
        scores = [(len(np.intersect1d(mine, shared_with[other.doc_id], assume_unique=True)), other)
                  for other in docs.values() if other.doc_id in shared_with]
        scores.sort(key=lambda s: -s[0])
        if scores and scores[0][0] >= 40 and (len(scores) == 1 or scores[0][0] >= 3 * max(scores[1][0], 1)):
            n, other = scores[0]
            shared = set(np.intersect1d(mine, shared_with[other.doc_id], assume_unique=True).tolist())
            sample = "、".join(sorted(g for g in _shingles(doc.text) if hash(g) in shared)[:4])
            out[doc.doc_id] = (other.region or "", f"inferred: shares {n} distinctive passages with "
                               f"{other.source} ({other.region}), e.g. {sample}")
    return out


# ---------------------------------------------------------------- ingest
def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _under(path: str, roots: Sequence[Path]) -> bool:
    p = Path(path)
    return any(p == r or r in p.parents for r in roots)


def ingest(
    paths: Sequence[Path], settings: Settings, progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Index ``paths`` (files or folders) into ``settings.index_dir``; see the module docstring."""
    try:
        with writer_lock(Path(settings.index_dir)):  # reliability fix: one writer per index at a time
            return _ingest(paths, settings, progress, embedder)
    except RagError:
        raise
    except Exception as exc:  # security/reliability: a full or read-only disk is said plainly (rag.index.faults)
        from rag.index.faults import disk_full, read_only

        where = settings.chroma_url or str(settings.index_dir)
        if disk_full(exc):
            raise RagError(f"the disk holding the index is full ({where}): the ingest stopped before switching to "
                           "the new version", "free some space and run the ingest again; the previous index is "
                           "unchanged and keeps answering (`rag doctor --repair` removes leftovers)") from exc
        if read_only(exc):
            raise RagError(f"the index at {where} is read-only: nothing was changed",
                           "make the directory writable (queries keep working meanwhile)") from exc
        raise


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


def _ingest(
    paths: Sequence[Path], settings: Settings, progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    from rag.index.store import VectorStore
    from rag.ingest.loaders import discover, load_file

    t0 = time.perf_counter()
    report = IngestReport()
    progress = progress or (lambda stage, done, total: None)
    roots = [Path(p).resolve() for p in paths]
    for root in roots:
        if not root.exists():
            raise RagError(f"{root} does not exist", "pass a file or folder of reports (txt, md, html, docx, pdf)")
    found, unsupported = discover(list(roots))
    report.files_seen = len(found) + len(unsupported)
    report.skipped.extend((_display_path(p), reason) for p, reason in unsupported)

    embedder = embedder or get_embedder(settings)
    manifest = Manifest(Path(settings.index_dir))
    store = VectorStore(settings, embedder.id)
    try:
        if manifest.meta("embedder") not in ("", embedder.id):
            # vectors of two models never mix: every chunk is re-embedded into the new collection
            progress(f"embedder changed ({manifest.meta('embedder')} → {embedder.id}): re-embedding", 0, 0)
        old_files = manifest.files()
        docs = manifest.documents()
        doc_added = manifest.document_added()
        new_files: dict[str, dict[str, Any]] = {p: r for p, r in old_files.items() if not _under(p, roots)}
        changed_docs: set[str] = set()
        now = time.time()

        for i, path in enumerate(found):
            progress("reading", i, len(found))
            key, source = str(path), _display_path(path)
            try:
                digest = _sha256(path)
            except OSError as exc:
                report.skipped.append((source, f"cannot read: {exc.strerror or exc}"))
                continue
            prev = old_files.get(key)
            if prev and prev["sha256"] == digest and prev["status"] in ("indexed", "duplicate") and prev["doc_id"] in docs:
                new_files[key] = prev
                report.unchanged.append(source)
                continue
            try:
                loaded = load_file(path, display_path=source)
                doc = build_document(loaded)
            except RagError as exc:
                report.skipped.append((source, exc.message))
                if prev and prev["doc_id"] in docs:  # keep the last good version searchable
                    new_files[key] = {**prev, "reason": f"kept previous version; new file unreadable: {exc.message}"}
                continue
            except Exception as exc:  # a parser bug must not kill the whole ingest
                report.skipped.append((source, f"unexpected error: {exc.__class__.__name__}: {exc}"[:300]))
                if prev and prev["doc_id"] in docs:
                    new_files[key] = prev
                continue
            owner = next((r for r in new_files.values() if r["doc_id"] == doc.doc_id and r["status"] == "indexed"), None)
            status = "indexed"
            if owner is not None and owner["path"] != key:
                status = "duplicate"
                report.duplicates.append((source, owner["source"]))
            elif doc.doc_id not in docs:
                docs[doc.doc_id] = doc
                doc_added.setdefault(doc.doc_id, now)
                changed_docs.add(doc.doc_id)
                report.indexed.append(source)
            else:
                report.unchanged.append(source)
            new_files[key] = {"path": key, "source": source, "sha256": digest, "size": path.stat().st_size,
                              "doc_id": doc.doc_id, "status": status, "reason": "", "added_at": now}
        progress("reading", len(found), len(found))

        # documents no longer referenced by any file are removed; a duplicate takes over from a removed owner
        live = {r["doc_id"] for r in new_files.values()}
        for row in new_files.values():
            if row["status"] == "duplicate" and not any(
                r["doc_id"] == row["doc_id"] and r["status"] == "indexed" for r in new_files.values()
            ):
                row["status"] = "indexed"
        for p, r in old_files.items():
            if p not in new_files:
                report.removed.append(r["source"])
        docs = {d: doc for d, doc in docs.items() if d in live}
        for doc_id, doc in list(docs.items()):  # source follows the owning file
            owner = next((r for r in new_files.values() if r["doc_id"] == doc_id and r["status"] == "indexed"), None)
            if owner and owner["source"] != doc.source:
                docs[doc_id] = dataclasses.replace(doc, source=owner["source"])
                changed_docs.add(doc_id)

        # region inference across the corpus (recorded as inferred, with evidence)
        base = {d: (dataclasses.replace(doc, region=None, region_inferred=False) if doc.region_inferred else doc)
                for d, doc in docs.items()}
        inferred = infer_regions(base)
        for doc_id, doc in base.items():
            if doc_id in inferred:
                region, evidence = inferred[doc_id]
                new = with_inferred_region(doc, region, evidence)
                report.inferred.append((doc.source, region, evidence))
            else:
                new = doc
            if new != docs[doc_id]:
                changed_docs.add(doc_id)
            docs[doc_id] = new

        # chunks: keep those of unchanged documents; (re)chunk the changed ones into the staging
        # table, one document at a time, so memory does not grow with the number of new chunks
        kept = [(cid, did, ek) for cid, did, ek in manifest.chunk_keys() if did in docs and did not in changed_docs]
        _stage_chunks(manifest, [docs[d] for d in sorted(changed_docs)], settings, progress)

        # vectors: embed what the collection does not already hold with the same embed key
        want = {cid: ek for cid, _, ek in kept}
        want.update(manifest.db.execute("SELECT chunk_id, embed_key FROM pending_chunks").fetchall())
        have = _stored_keys(store, list(want))
        todo = {cid for cid, ek in want.items() if have.get(cid) != ek}
        te = time.perf_counter()
        _embed_and_upsert(manifest, todo, embedder, store, settings, progress)
        report.embed_seconds = time.perf_counter() - te
        report.chunks_embedded = len(todo)

        # keyword index of the new generation, then the atomic switch
        generation = int(manifest.meta("generation", "0") or 0) + 1
        bm25_dir = Path(settings.index_dir) / f"bm25-{generation}"
        if bm25_dir.exists():
            shutil.rmtree(bm25_dir)
        progress("keyword index", 0, 1)
        all_ids, token_ids, vocab = _keyword_corpus(manifest, {cid for cid, _, _ in kept}, staged=True)
        KeywordIndex.from_token_ids(all_ids, token_ids, vocab).save(bm25_dir)
        del token_ids, vocab
        progress("keyword index", 1, 1)
        # security (rag.ingest.untrusted): (chunk_id, file, kinds, excerpt) of new chunks carrying text planted for an AI
        report.untrusted = [dataclasses.astuple(w) for w in scan_chunks(
            chunk_from_json(raw) for (raw,) in manifest.db.execute("SELECT json FROM pending_chunks"))]
        _commit(manifest, new_files, docs, doc_added, changed_docs, generation, bm25_dir.name, embedder.id, settings)
        report.chunks_total = len(all_ids)
        _collect_garbage(manifest, store, set(all_ids))
        run_post_commit(manifest, settings)  # derived tables (the indicator table): rag.index.steps
    finally:
        manifest.close()
    report.seconds = time.perf_counter() - t0
    return report


def _stored_keys(store: Any, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(ids), 2000):
        got = store.collection.get(ids=ids[i: i + 2000], include=["metadatas"])
        for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            out[cid] = (meta or {}).get("embed_key", "")
    return out


def _stage_chunks(manifest: Manifest, docs: Sequence[Document], settings: Settings, progress: Progress) -> None:
    """Chunk and tokenize each document into ``pending_chunks`` (emptied first: a crashed run's rows)."""
    db = manifest.db
    with db:
        db.execute("DELETE FROM pending_chunks")
    for i, doc in enumerate(docs):
        progress("chunking", i, len(docs))
        chunks = chunk_document(doc, size=settings.chunk_size, overlap=settings.chunk_overlap)
        with db:
            db.executemany("INSERT OR REPLACE INTO pending_chunks VALUES (?,?,?,?,?)", [
                (c.chunk_id, c.doc_id, chunk_to_json(c), json.dumps(tokenize(embed_text(c)), ensure_ascii=False),
                 embed_key(c)) for c in chunks])
    progress("chunking", len(docs), len(docs))


def _chunks_to_embed(manifest: Manifest, todo: set[str]) -> Iterator[Chunk]:
    """The chunks named in ``todo``: staged ones, then live ones missing a vector (new embedder)."""
    remaining = set(todo)  # staged rows first: a re-chunked document's new text wins over its old row
    for table in ("pending_chunks", "chunks"):
        cursor = manifest.db.execute(f"SELECT chunk_id, json FROM {table} ORDER BY rowid")  # noqa: S608 - fixed names
        while rows := cursor.fetchmany(512):
            for cid, raw in rows:
                if cid in remaining:
                    remaining.discard(cid)
                    yield chunk_from_json(raw)


def _embed_and_upsert(manifest: Manifest, todo: set[str], embedder: Embedder, store: Any, settings: Settings,
                      progress: Progress) -> None:
    """Embed in batches and upsert each batch at once, so a killed ingest keeps its progress."""
    step = max(8, settings.embed_batch * 4)
    done, batch = 0, []
    for chunk in _chunks_to_embed(manifest, todo):
        batch.append(chunk)
        if len(batch) == step:
            progress("embedding", done, len(todo))
            _upsert(batch, embedder, store)
            done, batch = done + len(batch), []
    if batch:
        progress("embedding", done, len(todo))
        _upsert(batch, embedder, store)
    progress("embedding", len(todo), len(todo))


def _upsert(batch: list[Chunk], embedder: Embedder, store: Any) -> None:
    vectors = embedder.embed_documents([embed_text(c) for c in batch])
    store.upsert([c.chunk_id for c in batch], vectors, [chroma_metadata(c, embed_key(c)) for c in batch])


def _keyword_corpus(manifest: Manifest, live: set[str], staged: bool) -> tuple[list[str], list[list[int]], dict[str, int]]:
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


def _commit(manifest: Manifest, files: dict[str, dict[str, Any]], docs: dict[str, Document],
            doc_added: dict[str, float], changed: set[str], generation: int, bm25_name: str,
            embedder_id: str, settings: Settings) -> None:
    db = manifest.db
    with db:  # one transaction: the switch to the new generation
        db.execute("DELETE FROM files")
        db.executemany("INSERT INTO files VALUES (:path,:source,:sha256,:size,:doc_id,:status,:reason,:added_at)",
                       list(files.values()))
        db.execute(f"DELETE FROM documents WHERE doc_id NOT IN ({','.join('?' * len(docs))})", list(docs))
        db.execute(f"DELETE FROM chunks WHERE doc_id NOT IN ({','.join('?' * len(docs))})", list(docs))
        for doc_id in changed:
            db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            db.execute("INSERT OR REPLACE INTO documents VALUES (?,?,?)",
                       (doc_id, doc_to_json(docs[doc_id]), doc_added.get(doc_id, time.time())))
        db.execute("INSERT INTO chunks SELECT chunk_id, doc_id, json, tokens, embed_key FROM pending_chunks ORDER BY rowid")
        db.execute("DELETE FROM pending_chunks")
        for key, value in {"generation": str(generation), "bm25_dir": bm25_name, "embedder": embedder_id,
                           "schema": SCHEMA_VERSION, "chunk_size": str(settings.chunk_size),
                           "chunk_overlap": str(settings.chunk_overlap), "updated_at": str(time.time())}.items():
            db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))


def _collect_garbage(manifest: Manifest, store: Any, live_ids: set[str]) -> None:
    """Drop vectors and keyword folders the live generation does not use (also after a crash)."""
    stale = [cid for cid in store.ids() if cid not in live_ids]
    if stale:
        store.delete(stale)
    live_dir = manifest.meta("bm25_dir")
    for d in manifest.dir.glob("bm25-*"):
        if d.name != live_dir:
            shutil.rmtree(d, ignore_errors=True)


def remove_documents(doc_ids: Iterable[str], settings: Settings) -> list[str]:
    """Forget documents (UI "delete"): drop their files from the manifest, then re-index what is left.

    The files on disk are not touched by this function; the caller decides (the UI deletes uploads).
    Returns the sources removed.
    """
    with writer_lock(Path(settings.index_dir)):  # reliability fix: one writer per index at a time
        return _remove_documents(doc_ids, settings)


def _remove_documents(doc_ids: Iterable[str], settings: Settings) -> list[str]:
    manifest = Manifest(Path(settings.index_dir))
    try:
        ids = set(doc_ids)
        rows = [r for r in manifest.files().values() if r["doc_id"] in ids]
        with manifest.db:
            manifest.db.executemany("DELETE FROM files WHERE path=?", [(r["path"],) for r in rows])
            manifest.db.executemany("DELETE FROM documents WHERE doc_id=?", [(d,) for d in ids])
            manifest.db.executemany("DELETE FROM chunks WHERE doc_id=?", [(d,) for d in ids])
            gen = int(manifest.meta("generation", "0") or 0) + 1
            left = {r[0] for r in manifest.chunk_keys()}
            bm25_dir = Path(settings.index_dir) / f"bm25-{gen}"
            KeywordIndex.from_token_ids(*_keyword_corpus(manifest, left, staged=False)).save(bm25_dir)
            manifest.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(gen),))
            manifest.db.execute("INSERT OR REPLACE INTO meta VALUES ('bm25_dir', ?)", (bm25_dir.name,))
        from rag.index.store import VectorStore

        embedder_id = manifest.meta("embedder")
        if embedder_id:
            _collect_garbage(manifest, VectorStore(settings, embedder_id), left)
        run_post_commit(manifest, settings)
        return [r["source"] for r in rows]
    finally:
        manifest.close()


def require_index(settings: Settings) -> Path:
    """The manifest path, or a clear error telling the user how to build the index."""
    path = Path(settings.index_dir) / "manifest.sqlite"
    if not path.exists():
        raise IndexMissingError(
            f"no index at {settings.index_dir}",
            "build it first: `rag ingest corpus/` (or set RAG_INDEX_DIR / --index to an existing index)",
        )
    return path

