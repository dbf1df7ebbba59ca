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
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import RagError
from rag.index.bm25_stream import write_from_manifest
from rag.index.embeddings import Embedder, get_embedder
from rag.index.gc import collect_garbage
from rag.index.keyword import tokenize
from rag.index.manifest import (
    SCHEMA_VERSION,
    Manifest,
    chroma_metadata,
    chunk_from_json,
    chunk_to_json,
    doc_to_json,
    embed_key,
    embed_text,
    writer_lock,
)
from rag.index.regions import infer_regions
from rag.index.steps import run_post_commit
from rag.ingest.chunking import chunk_document
from rag.ingest.documents import build_document, with_inferred_region
from rag.ingest.untrusted import scan_chunks
from rag.types import Chunk, Document

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
        # streamed in two passes over the manifest (rag.index.bm25_stream): memory flat in the number of chunks
        all_ids = write_from_manifest(bm25_dir, manifest.db, {cid for cid, _, _ in kept}, staged=True)
        progress("keyword index", 1, 1)
        # security (rag.ingest.untrusted): (chunk_id, file, kinds, excerpt) of new chunks carrying text planted for an AI
        report.untrusted = [dataclasses.astuple(w) for w in scan_chunks(
            chunk_from_json(raw) for (raw,) in manifest.db.execute("SELECT json FROM pending_chunks"))]
        _commit(manifest, new_files, docs, doc_added, changed_docs, generation, bm25_dir.name, embedder.id, settings)
        report.chunks_total = len(all_ids)
        collect_garbage(manifest, store, set(all_ids))
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


