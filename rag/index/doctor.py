"""``rag doctor``: check an index and repair or rebuild what can be rebuilt.

Checks, in order (each a ``Check`` with a plain-language detail and whether ``--repair`` can fix it):

- ``directory``: the index directory exists and is writable (queries work read-only; ingest and repair don't);
- ``manifest``: ``manifest.sqlite`` passes SQLite's integrity check, has its tables, and every chunk row parses;
- ``keyword``: the BM25 folder the manifest names loads and holds exactly the manifest's chunk ids;
- ``vectors``: the Chroma collection of the manifest's embedder holds a vector, with the current embed
  key, for every chunk; vectors of chunks the manifest no longer has are garbage;
- ``facts``: ``facts.sqlite`` (the indicator table) opens, passes its integrity check and has a table;
- ``garbage``: keyword folders of other generations, staged rows of an interrupted ingest, ``*.tmp`` files.

Repairs (``repair``): a corrupt manifest is moved aside and the corpus re-ingested (vectors already in
Chroma are reused, nothing is re-embedded that need not be); the keyword index is rebuilt from the
manifest's tokens; missing vectors are re-embedded; stray vectors, folders and staged rows are removed;
the facts table is rebuilt by the post-commit steps (``rag.index.steps``). Every repair holds the
index's writer lock, so it never races an ingest.

Example::

    report = diagnose(settings)
    if not report.ok:
        report = repair(settings, report)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings

_TABLES = {"meta", "files", "documents", "chunks", "pending_chunks"}


@dataclass(frozen=True)
class Check:
    """One finding: ``ok`` or a problem, and whether ``repair`` can fix it."""

    name: str
    ok: bool
    detail: str
    repairable: bool = False


@dataclass(frozen=True)
class DoctorReport:
    """All checks of one run, and the repairs made (when ``repair`` ran)."""

    index_dir: str
    checks: tuple[Check, ...]
    repaired: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if it ran."""
        return next((c for c in self.checks if c.name == name), None)


def _ro(path: Path) -> sqlite3.Connection:
    immutable = "" if os.access(path.parent, os.W_OK) else "&immutable=1"  # a WAL file on a read-only disk
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{immutable}", uri=True, timeout=10)


def _integrity(path: Path) -> str:
    """"" when the SQLite file is sound, else what SQLite says."""
    try:
        db = _ro(path)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != ["ok"]:
        return "; ".join(rows[:3])
    return "" if tables else "no tables"


def _manifest_ids(index: Path) -> tuple[list[str], str, str, str]:
    """Chunk ids (manifest order), keyword folder, embedder id, first unparsable chunk row ("" if none)."""
    from rag.index.manifest import chunk_from_json

    db = _ro(index / "manifest.sqlite")
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        ids: list[str] = []
        bad = ""
        cursor = db.execute("SELECT chunk_id, json FROM chunks ORDER BY doc_id, rowid")
        while rows := cursor.fetchmany(2048):
            for cid, raw in rows:
                ids.append(cid)
                if not bad:
                    try:
                        chunk_from_json(raw)
                    except (ValueError, TypeError, KeyError):
                        bad = cid
        return ids, meta.get("bm25_dir", ""), meta.get("embedder", ""), bad
    finally:
        db.close()


def diagnose(settings: Settings, *, vectors: bool = True) -> DoctorReport:
    """Run every check (read-only: nothing in the index is changed)."""
    index = Path(settings.index_dir)
    checks: list[Check] = []
    if not (index / "manifest.sqlite").exists():
        return DoctorReport(str(index), (Check("manifest", False, f"no index at {index} (run `rag ingest`)", True),))
    writable = os.access(index, os.W_OK)
    checks.append(Check("directory", writable, "writable" if writable else
                        f"{index} is read-only: queries work, ingest and repair need write access"))
    problem = _integrity(index / "manifest.sqlite")
    if not problem:
        db = _ro(index / "manifest.sqlite")
        try:
            missing = _TABLES - {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
        problem = f"missing tables: {', '.join(sorted(missing))}" if missing else ""
    if problem:
        checks.append(Check("manifest", False, f"manifest.sqlite is damaged ({problem}); repair re-ingests the corpus",
                            True))
        return DoctorReport(str(index), tuple(checks))
    ids, bm25_name, embedder_id, bad = _manifest_ids(index)
    checks.append(Check("manifest", not bad, f"{len(ids)} chunks" if not bad else f"chunk {bad} does not parse", True))
    checks.append(_check_keyword(index, bm25_name, ids))
    if vectors:
        checks.append(_check_vectors(settings, embedder_id, index, set(ids)))
    checks.append(_check_facts(index))
    checks.append(_check_garbage(index, bm25_name))
    return DoctorReport(str(index), tuple(checks))


def _check_keyword(index: Path, bm25_name: str, ids: list[str]) -> Check:
    from rag.index.keyword import KeywordIndex

    if not bm25_name or not (index / bm25_name).is_dir():
        return Check("keyword", False, f"keyword folder {bm25_name or '(none)'} is missing", True)
    try:
        kw = KeywordIndex.load(index / bm25_name)
    except Exception as exc:  # any damage to the folder: bm25s/numpy/json errors alike
        return Check("keyword", False, f"{bm25_name} does not load ({exc.__class__.__name__}: {exc})"[:200], True)
    if kw.ids != ids:
        extra, missing = set(kw.ids) - set(ids), set(ids) - set(kw.ids)
        return Check("keyword", False, f"{bm25_name}: {len(missing)} chunks missing, {len(extra)} unknown"
                     + ("" if extra or missing else ", order differs"), True)
    return Check("keyword", True, f"{bm25_name}: {len(ids)} chunks")


def _check_vectors(settings: Settings, embedder_id: str, index: Path, ids: set[str]) -> Check:
    from rag.index.store import VectorStore

    try:
        store = VectorStore(settings, embedder_id)
        have = _stored_keys(store, sorted(ids))
        stray = len(store.ids() - ids)
    except Exception as exc:  # Chroma unreachable or its files damaged: say which
        where = settings.chroma_url or str(index / "chroma")
        why = getattr(exc, "message", "") or f"{exc.__class__.__name__}: {exc}"
        return Check("vectors", False, f"vector store at {where} unusable: {why}"[:240], True)
    keys = _manifest_keys(index)
    missing = sum(1 for cid in ids if cid not in have)
    stale = sum(1 for cid in ids if cid in have and have[cid] != keys.get(cid))
    if missing or stale or stray:
        return Check("vectors", False, f"{missing} chunks without a vector, {stale} with an outdated one, "
                     f"{stray} vectors of removed chunks", True)
    return Check("vectors", True, f"{len(ids)} vectors ({embedder_id})")


def _stored_keys(store: object, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    collection = store.collection  # type: ignore[attr-defined]
    for i in range(0, len(ids), 2000):
        got = collection.get(ids=list(ids[i: i + 2000]), include=["metadatas"])
        for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            out[cid] = (meta or {}).get("embed_key", "")
    return out


def _manifest_keys(index: Path) -> dict[str, str]:
    db = _ro(index / "manifest.sqlite")
    try:
        return dict(db.execute("SELECT chunk_id, embed_key FROM chunks").fetchall())
    finally:
        db.close()


def _check_facts(index: Path) -> Check:
    path = index / "facts.sqlite"
    if not path.exists():
        return Check("facts", False, "facts.sqlite (the indicator table) is missing", True)
    problem = _integrity(path)
    if not problem:
        db = _ro(path)
        try:
            n = db.execute("SELECT COUNT(*) FROM facts").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
        finally:
            db.close()
    if problem:
        return Check("facts", False, f"facts.sqlite is damaged ({problem})", True)
    return Check("facts", True, f"{n} facts")


def _check_garbage(index: Path, bm25_name: str) -> Check:
    stale = [d.name for d in index.glob("bm25-*") if d.name != bm25_name]
    tmp = [p.name for p in index.glob("*.tmp")]
    db = _ro(index / "manifest.sqlite")
    try:
        pending = db.execute("SELECT COUNT(*) FROM pending_chunks").fetchone()[0]
    finally:
        db.close()
    if stale or tmp or pending:
        return Check("garbage", False, f"{len(stale)} old keyword folders, {len(tmp)} temp files, "
                     f"{pending} staged rows of an interrupted ingest", True)
    return Check("garbage", True, "none")


# ---------------------------------------------------------------- repair
def repair(settings: Settings, report: DoctorReport | None = None, corpus: Sequence[Path] = (),
           progress: Callable[[str], None] = lambda _msg: None) -> DoctorReport:
    """Fix what ``diagnose`` found (under the writer lock), then diagnose again."""
    from rag.errors import RagError
    from rag.index.manifest import writer_lock

    report = report or diagnose(settings)
    index = Path(settings.index_dir)
    if not os.access(index, os.W_OK):
        raise RagError(f"cannot repair {index}: the directory is read-only",
                       "make it writable (or copy it elsewhere and repair the copy); queries keep working meanwhile")
    done: list[str] = []
    failed: list[str] = []
    with writer_lock(index):
        manifest_check = report.check("manifest")
        if manifest_check is not None and not manifest_check.ok:
            done.append(_rebuild_manifest(settings, corpus, progress))
            after = diagnose(settings)
            return DoctorReport(after.index_dir, after.checks, tuple(done), tuple(c.name for c in after.checks if not c.ok))
        for check in report.checks:
            if check.ok or not check.repairable:
                continue
            progress(f"repairing {check.name} …")
            try:
                done.append(_REPAIRS[check.name](settings))
            except Exception as exc:  # report and go on with the other repairs
                failed.append(f"{check.name}: {exc.__class__.__name__}: {exc}"[:200])
    after = diagnose(settings)
    return DoctorReport(after.index_dir, after.checks, tuple(done), tuple(failed))


def _rebuild_manifest(settings: Settings, corpus: Sequence[Path], progress: Callable[[str], None]) -> str:
    from rag.index.run import _ingest  # the lock is already held

    index = Path(settings.index_dir)
    aside = index / f"manifest.sqlite.damaged-{int(time.time())}"
    for suffix in ("", "-wal", "-shm"):
        src = index / f"manifest.sqlite{suffix}"
        if src.exists():
            src.rename(Path(str(aside) + suffix))
    paths = list(corpus) or [Path(settings.corpus_dir)]
    progress(f"re-ingesting {', '.join(map(str, paths))} (vectors already stored are reused) …")
    result = _ingest(paths, settings)
    return (f"manifest moved to {aside.name}; re-ingested {len(result.indexed)} files, {result.chunks_total} chunks "
            f"({result.chunks_embedded} embedded)")


def _repair_keyword(settings: Settings) -> str:
    from rag.index.keyword import KeywordIndex
    from rag.index.manifest import Manifest

    index = Path(settings.index_dir)
    manifest = Manifest(index)
    try:
        vocab: dict[str, int] = {}
        ids: list[str] = []
        rows: list[list[int]] = []
        for cid, _doc, raw, _key in manifest.chunk_rows():
            ids.append(cid)
            rows.append([vocab.setdefault(t, len(vocab)) for t in json.loads(raw)])
        generation = int(manifest.meta("generation", "0") or 0)
        name = f"bm25-{generation}r{int(time.time())}"
        KeywordIndex.from_token_ids(ids, rows, vocab).save(index / name)
        old = manifest.meta("bm25_dir")
        with manifest.db:
            manifest.db.execute("INSERT OR REPLACE INTO meta VALUES ('bm25_dir', ?)", (name,))
    finally:
        manifest.close()
    if old and old != name:
        shutil.rmtree(index / old, ignore_errors=True)
    return f"keyword index rebuilt from the manifest ({len(ids)} chunks) into {name}"


def _repair_vectors(settings: Settings) -> str:
    from rag.index.embeddings import get_embedder
    from rag.index.manifest import Manifest, chroma_metadata, chunk_from_json, embed_text
    from rag.index.store import VectorStore

    index = Path(settings.index_dir)
    manifest = Manifest(index)
    try:
        embedder_id = manifest.meta("embedder")
        keys = dict(manifest.db.execute("SELECT chunk_id, embed_key FROM chunks").fetchall())
        store = VectorStore(settings, embedder_id)
        have = _stored_keys(store, sorted(keys))
        todo = [cid for cid, k in keys.items() if have.get(cid) != k]
        stray = sorted(store.ids() - set(keys))
        if stray:
            store.delete(stray)
        if todo:
            embedder = get_embedder(settings)
            if embedder.id != embedder_id:
                raise RuntimeError(f"the index was embedded with {embedder_id}, the settings select {embedder.id}")
            for i in range(0, len(todo), 64):
                batch = todo[i: i + 64]
                rows = manifest.db.execute(f"SELECT json FROM chunks WHERE chunk_id IN ({','.join('?' * len(batch))})",
                                           batch).fetchall()
                chunks = [chunk_from_json(r[0]) for r in rows]
                vecs = embedder.embed_documents([embed_text(c) for c in chunks])
                store.upsert([c.chunk_id for c in chunks], vecs, [chroma_metadata(c, keys[c.chunk_id]) for c in chunks])
    finally:
        manifest.close()
    return f"vectors: {len(todo)} re-embedded, {len(stray)} stray removed"


def _repair_facts(settings: Settings) -> str:
    from rag.index.manifest import Manifest
    from rag.index.steps import registered, run_post_commit

    index = Path(settings.index_dir)
    path = index / "facts.sqlite"
    if path.exists():
        path.rename(index / f"facts.sqlite.damaged-{int(time.time())}")
    if not registered():
        raise RuntimeError("no post-commit step registered (import rag.facts first)")
    manifest = Manifest(index)
    try:
        run_post_commit(manifest, settings)
    finally:
        manifest.close()
    return "facts table rebuilt from the manifest"


def _repair_garbage(settings: Settings) -> str:
    from rag.index.manifest import Manifest

    index = Path(settings.index_dir)
    manifest = Manifest(index)
    try:
        live = manifest.meta("bm25_dir")
        with manifest.db:
            pending = manifest.db.execute("DELETE FROM pending_chunks").rowcount
    finally:
        manifest.close()
    stale = [d for d in index.glob("bm25-*") if d.name != live]
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    tmp = list(index.glob("*.tmp"))
    for p in tmp:
        p.unlink(missing_ok=True)
    return f"removed {len(stale)} old keyword folders, {len(tmp)} temp files, {pending} staged rows"


_REPAIRS: dict[str, Callable[[Settings], str]] = {
    "keyword": _repair_keyword, "vectors": _repair_vectors, "facts": _repair_facts, "garbage": _repair_garbage,
}
