"""Garbage collection and deletion: vectors and keyword folders the live generation no longer uses; forgetting documents."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.index.keyword import KeywordIndex
from rag.index.manifest import Manifest, keyword_corpus, writer_lock
from rag.index.steps import run_post_commit


def collect_garbage(manifest: Manifest, store: Any, live_ids: set[str]) -> None:
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
            KeywordIndex.from_token_ids(*keyword_corpus(manifest, left, staged=False)).save(bm25_dir)
            manifest.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(gen),))
            manifest.db.execute("INSERT OR REPLACE INTO meta VALUES ('bm25_dir', ?)", (bm25_dir.name,))
        from rag.index.store import VectorStore

        embedder_id = manifest.meta("embedder")
        if embedder_id:
            collect_garbage(manifest, VectorStore(settings, embedder_id), left)
        run_post_commit(manifest, settings)
        return [r["source"] for r in rows]
    finally:
        manifest.close()
