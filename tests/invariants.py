"""A reusable consistency check of an index directory (see the crash-safety notes in rag/index/run.py).

``check_index(index_dir, settings)`` returns a list of problems; an empty list means the index is
consistent:

- the manifest's chunk ids are unique, each row agrees with its JSON, and no two live chunks cover
  the same (document, start, end) span;
- every chunk's text is exactly its document's ``text[start:end]``, and its document is live;
- every file row points at a live document, and every live document has an indexed file;
- the live BM25 folder named by the manifest exists and holds exactly the manifest's chunk ids;
- every manifest chunk has a vector in the Chroma collection of the manifest's embedder, with the
  chunk's current ``embed_key``.

``strict`` additionally rejects leftovers an interrupted ingest may leave behind by design (they are
removed at the start/end of the next ingest and never served): Chroma vectors whose ids are not in
the manifest, and BM25 folders of other generations.

Usage::

    problems = check_index(Path("/tmp/idx"), get_settings(index_dir=Path("/tmp/idx")))
    assert not problems, problems
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

from rag.config import Settings


def _sample(items: object, n: int = 5) -> str:
    seq = sorted(str(i) for i in items)  # type: ignore[attr-defined]
    more = f" … (+{len(seq) - n})" if len(seq) > n else ""
    return ", ".join(seq[:n]) + more


def check_index(index_dir: Path, settings: Settings | None = None, *, strict: bool = True) -> list[str]:
    """Problems found in the index at ``index_dir`` (empty list = consistent)."""
    from rag.config import get_settings

    index_dir = Path(index_dir)
    settings = (settings or get_settings()).with_index(index_dir)
    db_path = index_dir / "manifest.sqlite"
    if not db_path.exists():
        return [f"no manifest at {db_path}"]
    problems: list[str] = []
    db = sqlite3.connect(str(db_path), timeout=30)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        chunk_rows = db.execute("SELECT chunk_id, doc_id, json, embed_key FROM chunks").fetchall()
        doc_rows = db.execute("SELECT doc_id, json FROM documents").fetchall()
        file_rows = db.execute("SELECT path, doc_id, status FROM files").fetchall()
    finally:
        db.close()

    # ---- manifest: chunks
    ids = [r[0] for r in chunk_rows]
    dup_ids = [cid for cid, n in Counter(ids).items() if n > 1]
    if dup_ids:
        problems.append(f"duplicate chunk ids in manifest: {_sample(dup_ids)}")
    docs = {doc_id: json.loads(raw) for doc_id, raw in doc_rows}
    spans: Counter[tuple[str, int, int]] = Counter()
    bad_text, bad_row, dead_doc = [], [], []
    for cid, doc_id, raw, _key in chunk_rows:
        chunk = json.loads(raw)
        if chunk.get("chunk_id") != cid or chunk.get("doc_id") != doc_id:
            bad_row.append(cid)
        doc = docs.get(doc_id)
        if doc is None:
            dead_doc.append(cid)
            continue
        spans[(doc_id, chunk["start"], chunk["end"])] += 1
        if doc["text"][chunk["start"]: chunk["end"]] != chunk["text"]:
            bad_text.append(cid)
    if bad_row:
        problems.append(f"chunk rows disagree with their JSON (id/doc_id): {_sample(bad_row)}")
    if dead_doc:
        problems.append(f"chunks of documents not in the manifest: {_sample(dead_doc)}")
    if bad_text:
        problems.append(f"chunk text != document.text[start:end]: {_sample(bad_text)}")
    dup_spans = [f"{d}[{s}:{e}]" for (d, s, e), n in spans.items() if n > 1]
    if dup_spans:
        problems.append(f"duplicate chunks (same document span): {_sample(dup_spans)}")

    # ---- manifest: files and documents
    dead_files = [p for p, doc_id, _ in file_rows if doc_id not in docs]
    if dead_files:
        problems.append(f"file rows pointing at no live document: {_sample(dead_files)}")
    owned = {doc_id for _, doc_id, status in file_rows if status == "indexed"}
    unowned = [d for d in docs if d not in owned]
    if unowned:
        problems.append(f"documents without an indexed file: {_sample(unowned)}")

    # ---- keyword index of the live generation
    live_ids = set(ids)
    bm25_name = meta.get("bm25_dir", "")
    if chunk_rows and not bm25_name:
        problems.append("manifest names no live BM25 folder (meta bm25_dir)")
    elif bm25_name:
        ids_file = index_dir / bm25_name / "ids.json"
        if not ids_file.exists():
            problems.append(f"live BM25 folder {bm25_name} is missing or incomplete")
        else:
            bm25_ids = json.loads(ids_file.read_text(encoding="utf-8"))
            if len(bm25_ids) != len(set(bm25_ids)):
                problems.append(f"duplicate ids in {bm25_name}")
            if set(bm25_ids) != live_ids:
                extra, missing = set(bm25_ids) - live_ids, live_ids - set(bm25_ids)
                problems.append(f"BM25 {bm25_name} ≠ manifest: {len(extra)} extra ({_sample(extra, 3)}), "
                                f"{len(missing)} missing ({_sample(missing, 3)})")
    if strict:
        stale = [d.name for d in index_dir.glob("bm25-*") if d.name != bm25_name]
        if stale:
            problems.append(f"stale BM25 folders: {_sample(stale)}")

    # ---- vectors
    embedder_id = meta.get("embedder", "")
    if chunk_rows and not embedder_id:
        problems.append("manifest names no embedder (meta embedder)")
    elif embedder_id:
        from rag.index.store import VectorStore

        store = VectorStore(settings, embedder_id)
        stored = store.ids()
        missing = live_ids - stored
        if missing:
            problems.append(f"{len(missing)} manifest chunks have no vector: {_sample(missing)}")
        orphans = stored - live_ids
        if strict and orphans:
            problems.append(f"{len(orphans)} orphan vectors not in the manifest: {_sample(orphans)}")
        want = {cid: key for cid, _, _, key in chunk_rows}
        present = [cid for cid in want if cid in stored]
        stale_keys = []
        for i in range(0, len(present), 2000):
            got = store.collection.get(ids=present[i: i + 2000], include=["metadatas"])
            for cid, m in zip(got["ids"], got["metadatas"] or [], strict=False):
                if (m or {}).get("embed_key") != want[cid]:
                    stale_keys.append(cid)
        if stale_keys:
            problems.append(f"{len(stale_keys)} vectors embed an outdated text (embed_key): {_sample(stale_keys)}")
    return problems
