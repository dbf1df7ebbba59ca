"""The ``scale`` row's corpus: every real chunk copied into variants with invented regions and shifted years.

Copies reuse the real chunk's vector plus Gaussian noise (σ = ``NOISE_SIGMA`` per dimension, cosine
≈ 0.98 to the original) and its jieba tokens with the same substitutions (see ``benchmarks.bench``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import row_settings
from benchmarks.stats import peak_rss_mb

NOISE_SIGMA = 0.01
_STEMS_A = "东西南北中新安平永长"
_STEMS_B = "山河湖江川林阳宁丰华"
SYNTH_STEMS = [a + b for a in _STEMS_A for b in _STEMS_B]  # 100 invented two-character stems


def shift_years(text: str, dy: int) -> str:
    return re.sub(r"(?<!\d)((?:19|20)\d{2})(?=\s*年|\s*—|\s*-)", lambda m: str(int(m.group(1)) + dy), text)


def synthetic_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Write a ≥ target-chunk index derived from ``spec['base']`` (see the module docstring)."""
    from rag.index.keyword import KeywordIndex
    from rag.index.manifest import (
        SCHEMA_VERSION,
        Manifest,
        chroma_metadata,
        chunk_to_json,
        doc_to_json,
        embed_key,
    )
    from rag.index.store import VectorStore
    from rag.types import Chunk

    base_dir, out_dir, target = Path(spec["base"]), Path(spec["index_dir"]), int(spec["target"])
    t0 = time.perf_counter()
    base = Manifest(base_dir)
    try:
        chunks = base.chunks()
        tokens = {cid: json.loads(toks) for cid, _, toks, _ in base.chunk_rows()}
        docs = base.documents()
        embedder_id = base.meta("embedder")
    finally:
        base.close()
    settings = row_settings({**spec, "index_dir": str(base_dir)})
    src = VectorStore(settings, embedder_id)
    vec: dict[str, np.ndarray] = {}
    ids = [c.chunk_id for c in chunks]
    for i in range(0, len(ids), 2000):
        got = src.collection.get(ids=ids[i: i + 2000], include=["embeddings"])
        for cid, v in zip(got["ids"], got["embeddings"], strict=True):
            vec[cid] = np.asarray(v, dtype=np.float32)
    missing = [cid for cid in ids if cid not in vec]
    if missing:
        raise RuntimeError(f"base index lacks {len(missing)} vectors")
    regions = sorted({c.region for c in chunks if c.region} | {d.region for d in docs.values() if d.region})
    real = set(regions)
    variants = -(-target // max(len(chunks), 1))
    rng = np.random.default_rng(7)
    out_chunks: list[Chunk] = []
    out_tokens: list[list[str]] = []
    out_vecs: list[np.ndarray] = []
    out_docs = []
    for v in range(variants):
        dy = -(v % 9)  # years shift back 0..8
        names = {}
        for i, r in enumerate(regions):
            suffix = r[-1] if r[-1] in "区县市省旗" else "区"
            name = SYNTH_STEMS[v % 100] + SYNTH_STEMS[(i * 37 + v // 100) % 100] + suffix
            names[r] = r if v == 0 or name in real else name

        def sub(text: str, names: dict[str, str] = names, dy: int = dy) -> str:
            for r, n in names.items():
                if r != n:
                    text = text.replace(r, n)
                    stem = r[:-1]
                    if len(stem) >= 2:
                        text = text.replace(stem, n[:-1])
            return shift_years(text, dy) if dy else text

        for d in docs.values():
            if v == 0:
                out_docs.append(d)
                continue
            out_docs.append(dataclasses.replace(
                d, doc_id=f"{d.doc_id}~v{v}", source=f"synthetic/v{v}/{d.source}", title=sub(d.title),
                text=sub(d.text), region=names.get(d.region or "", d.region),
                year=(d.year + dy) if d.year else d.year, sections=(), segments=()))
        for c in chunks:
            if v == 0:
                out_chunks.append(c)
                out_tokens.append(tokens[c.chunk_id])
                out_vecs.append(vec[c.chunk_id])
                continue
            new = dataclasses.replace(
                c, chunk_id=f"{c.chunk_id}~v{v}", doc_id=f"{c.doc_id}~v{v}", source=f"synthetic/v{v}/{c.source}",
                title=sub(c.title), text=sub(c.text), header=sub(c.header), section=sub(c.section),
                region=names.get(c.region or "", c.region),
                year=(c.year + dy) if c.year else c.year, period_year=(c.period_year + dy) if c.period_year else None)
            out_chunks.append(new)
            out_tokens.append([sub(t) for t in tokens[c.chunk_id]])
            noisy = vec[c.chunk_id] + rng.normal(0.0, NOISE_SIGMA, size=vec[c.chunk_id].shape).astype(np.float32)
            out_vecs.append(noisy / np.linalg.norm(noisy))
    t_gen = time.perf_counter() - t0

    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    kw = KeywordIndex.build([c.chunk_id for c in out_chunks], out_tokens)
    kw.save(out_dir / "bm25-1")
    t_bm25 = time.perf_counter() - t
    t = time.perf_counter()
    store = VectorStore(row_settings(spec), embedder_id)
    keys = [embed_key(c) for c in out_chunks]
    store.upsert([c.chunk_id for c in out_chunks], np.vstack(out_vecs),
                 [chroma_metadata(c, k) for c, k in zip(out_chunks, keys, strict=True)])
    t_chroma = time.perf_counter() - t
    t = time.perf_counter()
    m = Manifest(out_dir)
    try:
        with m.db:
            m.db.executemany("INSERT OR REPLACE INTO documents VALUES (?,?,?)",
                             [(d.doc_id, doc_to_json(d), time.time()) for d in out_docs])
            m.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?)", [
                (c.chunk_id, c.doc_id, chunk_to_json(c), json.dumps(tk, ensure_ascii=False), k)
                for c, tk, k in zip(out_chunks, out_tokens, keys, strict=True)])
            for key, value in {"generation": "1", "bm25_dir": "bm25-1", "embedder": embedder_id,
                               "schema": SCHEMA_VERSION, "synthetic": json.dumps({"base": str(base_dir),
                                                                                  "variants": variants})}.items():
                m.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))
    finally:
        m.close()
    t_manifest = time.perf_counter() - t
    return {"files": 0, "documents": len(out_docs), "chunks": len(out_chunks), "variants": variants,
            "base_chunks": len(chunks), "generate_s": round(t_gen, 2), "bm25_build_s": round(t_bm25, 2),
            "chroma_upsert_s": round(t_chroma, 2), "chroma_upsert_per_s": round(len(out_chunks) / t_chroma, 1),
            "manifest_write_s": round(t_manifest, 2), "peak_rss_mb_ingest": peak_rss_mb()}
