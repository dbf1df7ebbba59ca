"""A BM25 keyword index built in two streaming passes, in bm25s's own file format (memory flat in chunks).

``KeywordIndex.from_token_ids`` hands bm25s every chunk's token list at once (~6 KB per chunk at peak).
Here the corpus is read twice through a callable that yields token lists in row order:

1. document frequencies and lengths (an int per vocabulary entry and per chunk);
2. each batch of chunks is scored (Lucene BM25, the same formula and parameters as ``KeywordIndex``)
   and written into its place of the column-compressed matrix, memory-mapped on disk; written pages
   are handed back to the OS after every batch.

The folder holds ``ids.json`` and ``bm25/`` exactly as ``KeywordIndex.save`` writes them, so
``KeywordIndex.load`` (and ``rag doctor``) read it unchanged. Example::

    write_streaming(path, ids, lambda: iter(token_lists))
    KeywordIndex.load(path).search(["地区", "生产总值"], 5)
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

K1, B = 1.2, 0.75  # as rag.index.keyword.KeywordIndex
EMPTY = "<empty>"


def _batches(rows: Iterable[list[str]], size: int) -> Iterator[list[list[str]]]:
    batch: list[list[str]] = []
    for row in rows:
        batch.append(row or [EMPTY])
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _release(arr: np.memmap) -> None:
    """Write dirty pages back and drop them from this process (RSS stays flat)."""
    arr.flush()
    raw = getattr(arr, "_mmap", None)
    if raw is not None and hasattr(raw, "madvise"):
        raw.madvise(mmap.MADV_DONTNEED)


def write_streaming(path: Path, ids: Iterable[str], rows: Callable[[], Iterable[list[str]]],
                    batch: int = 4096) -> dict[str, float]:
    """Write a keyword index folder for ``ids`` whose token lists ``rows()`` yields (called twice)."""
    path.mkdir(parents=True, exist_ok=True)
    with (path / "ids.json").open("w", encoding="utf-8") as fh:  # streamed: no list of a million ids
        fh.write("[")
        n = 0
        for cid in ids:
            fh.write(("," if n else "") + json.dumps(cid))
            n += 1
        fh.write("]")
    vocab: dict[str, int] = {}
    df = np.zeros(1024, dtype=np.int64)
    lengths = np.zeros(max(n, 1), dtype=np.int32)
    row = 0
    for chunk in _batches(rows(), batch):  # pass 1: vocabulary, document frequencies, lengths
        for tokens in chunk:
            ids_ = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64, count=len(tokens))
            if len(vocab) > len(df):
                df = np.concatenate([df, np.zeros(max(len(vocab), 2 * len(df)) - len(df), dtype=np.int64)])
            df[np.unique(ids_)] += 1
            lengths[row] = len(tokens)
            row += 1
    if row != n:
        raise ValueError(f"{n} ids but {row} token rows")
    df = df[: len(vocab)]
    avg = float(lengths[:n].mean()) if n else 1.0
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    nnz = int(indptr[-1])
    out = path / "bm25"
    out.mkdir(exist_ok=True)
    data = np.lib.format.open_memmap(out / "data.csc.index.npy", mode="w+", dtype=np.float32, shape=(nnz,))
    indices = np.lib.format.open_memmap(out / "indices.csc.index.npy", mode="w+", dtype=np.int32, shape=(nnz,))
    cursor = indptr[:-1].copy()
    row = 0
    for chunk in _batches(rows(), batch):  # pass 2: scores into their column slots
        vocs, docs, tfs = [], [], []
        for tokens in chunk:
            v, tf = np.unique(np.fromiter((vocab[t] for t in tokens), dtype=np.int64, count=len(tokens)),
                              return_counts=True)
            vocs.append(v)
            tfs.append(tf)
            docs.append(np.full(len(v), row, dtype=np.int32))
            row += 1
        voc, doc, tf_ = np.concatenate(vocs), np.concatenate(docs), np.concatenate(tfs).astype(np.float32)
        dl = lengths[doc].astype(np.float32)
        score = idf[voc] * tf_ / (K1 * ((1 - B) + B * dl / np.float32(avg)) + tf_)
        order = np.argsort(voc, kind="stable")  # rows stay ascending inside a column
        voc, doc, score = voc[order], doc[order], score[order]
        starts = np.flatnonzero(np.r_[True, voc[1:] != voc[:-1]])
        counts = np.diff(np.r_[starts, len(voc)])
        rank = np.arange(len(voc)) - np.repeat(starts, counts)
        pos = cursor[voc] + rank
        data[pos] = score
        indices[pos] = doc
        cursor[voc[starts]] += counts
        _release(data)
        _release(indices)
    del data, indices
    np.save(out / "indptr.csc.index.npy", indptr)
    (out / "vocab.index.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "params.index.json").write_text(json.dumps({
        "k1": K1, "b": B, "delta": 0.5, "method": "lucene", "idf_method": "lucene", "dtype": "float32",
        "int_dtype": "int32", "num_docs": n, "version": _bm25s_version(), "backend": "numpy"}, indent=4),
        encoding="utf-8")
    return {"chunks": n, "vocabulary": len(vocab), "nonzeros": nnz, "avg_tokens": round(avg, 1),
            "idf_max": round(float(math.log1p((n + 0.5) / 1.5)), 3)}


def _bm25s_version() -> str:
    try:
        import bm25s

        return str(bm25s.__version__)
    except ImportError:  # pragma: no cover - bm25s is a dependency
        return ""


def write_from_manifest(path: Path, db: Any, live: set[str] | None, staged: bool) -> list[str]:
    """The keyword index of the manifest's live chunks (then its staged ones), streamed; returns the row ids.

    The same rows, in the same order, as ``rag.index.manifest.keyword_corpus`` (live rows by document,
    then staged rows): tokens are decoded one batch at a time, twice, never held for the whole corpus.
    """
    tables = ["chunks ORDER BY doc_id, rowid", *(["pending_chunks ORDER BY rowid"] if staged else [])]

    def rows(column: str) -> Iterator[tuple[str, str]]:
        for i, table in enumerate(tables):
            cursor = db.execute(f"SELECT chunk_id, {column} FROM {table}")  # noqa: S608 - fixed names
            while batch := cursor.fetchmany(1024):
                for cid, raw in batch:
                    if i == 0 and live is not None and cid not in live:
                        continue
                    yield cid, raw

    ids = [cid for cid, _ in rows("NULL")]
    write_streaming(path, ids, lambda: (json.loads(raw) for _, raw in rows("tokens")))
    return ids
