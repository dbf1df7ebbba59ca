"""The 1,000,000-chunk row: a Chroma server (HNSW) + the streamed keyword index, built and queried.

What is synthetic: every real chunk of a real index (``--base``, e.g. ``rag ingest corpus``) is copied
into variants whose region names are replaced by invented ones and whose years are shifted, as in
the 104k row (``benchmarks/synthetic.py``); variant 0 is the real index, so the dev questions keep their
answers. A copy's vector is the real chunk's e5 vector plus Gaussian noise (σ = 0.01 per dimension,
re-normalised) — no copy is embedded — and its jieba tokens get the same substitutions. Search costs
(HNSW over 1M vectors in ``chroma run``, BM25 over 1M rows, region filters, fetching the passages)
are real; the query vectors come from the real embedder.

Build (one child process, ``nice``): the manifest and Chroma are written in batches, the keyword index
with ``rag.index.bm25_stream`` (two passes over the manifest); peak RSS is sampled at 10%, 50% and
100% of the chunks to show it flat. Query (another child, run when the machine is quiet): the app's own
``Retriever`` (rag/search/retrieve.py) over the built index, with the Chroma server: each dev question is
parsed as the pipeline does and ``Retriever.search`` timed end to end (BM25 under the region/year mask,
the e5 query embedding, dense search without Chroma's metadata filter, fusion, passages read by id from
the manifest); recall@5, load time and the process's RSS.

    python -m benchmarks.scale --base /tmp/seed --target 1000000 --work /tmp/scale   # ~1 h on 2 shared cores
    python -m benchmarks.scale --work /tmp/scale --query-only                         # re-measure when quiet
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import QUESTIONS, load_questions, passage_matches, question_turns
from benchmarks.stats import peak_rss_mb, summary
from benchmarks.synthetic import NOISE_SIGMA, SYNTH_STEMS, shift_years
from rag.config import REPO_ROOT, get_settings

OUT = REPO_ROOT / "benchmarks"
BATCH = 4096


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """``chroma run`` at low priority; returns once it answers."""
    import urllib.request

    cli = Path(sys.executable).parent / "chroma"
    log = (path.parent / "chroma.log").open("ab")
    proc = subprocess.Popen(["nice", "-n", "15", str(cli), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def _variants(base: Path, target: int) -> tuple[Iterator[tuple[Any, list[str], np.ndarray]], dict[str, Any]]:
    """(chunk, tokens, vector) for ``target`` chunks, variant by variant (nothing accumulated)."""
    from rag.index.manifest import Manifest
    from rag.index.store import VectorStore

    m = Manifest(base)
    try:
        chunks, embedder = m.chunks(), m.meta("embedder")
        tokens = {cid: json.loads(t) for cid, _, t, _ in m.chunk_rows()}
    finally:
        m.close()
    src = VectorStore(get_settings(index_dir=base, chroma_url=""), embedder)
    got = src.collection.get(ids=[c.chunk_id for c in chunks], include=["embeddings"])
    vec = {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], got["embeddings"], strict=True)}
    regions = sorted({c.region for c in chunks if c.region})
    info: dict[str, Any] = {"base": str(base), "base_chunks": len(chunks), "embedder": embedder, "dim": len(next(iter(vec.values()))),
            "variants": -(-target // len(chunks)), "noise_sigma": NOISE_SIGMA}

    def gen() -> Iterator[tuple[Any, list[str], np.ndarray]]:
        rng = np.random.default_rng(7)
        made = 0
        for v in range(int(info["variants"])):
            dy = -(v % 9)
            names = {r: r if v == 0 else SYNTH_STEMS[v % 100] + SYNTH_STEMS[(i * 37 + v // 100) % 100]
                     + (r[-1] if r[-1] in "区县市省旗" else "区") for i, r in enumerate(regions)}

            def sub(text: str, names: dict[str, str] = names, dy: int = dy) -> str:
                for r, n in names.items():
                    if r != n:
                        text = text.replace(r, n).replace(r[:-1], n[:-1]) if len(r) > 2 else text.replace(r, n)
                return shift_years(text, dy) if dy else text

            for c in chunks:
                if made >= target:
                    return
                made += 1
                if v == 0:
                    yield c, tokens[c.chunk_id], vec[c.chunk_id]
                    continue
                new = dataclasses.replace(
                    c, chunk_id=f"{c.chunk_id}~v{v}", doc_id=f"{c.doc_id}~v{v}", source=f"synthetic/v{v}/{c.source}",
                    title=sub(c.title), text=sub(c.text), header=sub(c.header), section=sub(c.section),
                    region=names.get(c.region or "", c.region), year=(c.year + dy) if c.year else c.year,
                    period_year=(c.period_year + dy) if c.period_year else None)
                noisy = vec[c.chunk_id] + rng.normal(0.0, NOISE_SIGMA, size=vec[c.chunk_id].shape).astype(np.float32)
                yield new, [sub(t) for t in tokens[c.chunk_id]], noisy / np.linalg.norm(noisy)

    return gen(), info


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Manifest + Chroma server + streamed keyword index for ``args.target`` chunks."""
    import chromadb

    from rag.index.bm25_stream import write_streaming
    from rag.index.manifest import Manifest, chroma_metadata, chunk_to_json, embed_key
    from rag.index.store import collection_name

    work = Path(args.work)
    index = work / "index"
    index.mkdir(parents=True, exist_ok=True)
    server = start_chroma(work / "chroma", args.port)
    out: dict[str, Any] = {"target": args.target, "rss_mb_at": {}}
    try:
        rows, info = _variants(Path(args.base), args.target)
        out.update(info)
        client = chromadb.HttpClient(host="127.0.0.1", port=args.port)
        coll = client.get_or_create_collection(collection_name(info["embedder"]),
                                               metadata={"hnsw:space": "cosine", "embedder": info["embedder"]})
        m = Manifest(index)
        t0 = time.perf_counter()
        checkpoints = {args.target // 10, args.target // 2, args.target}
        batch: list[tuple[Any, list[str], np.ndarray]] = []
        done = 0
        if args.finish:  # a build stopped early: index what both stores hold, say how many
            kept = set(coll.get(include=[])["ids"])
            gone = [r[0] for r in m.db.execute("SELECT chunk_id FROM chunks") if r[0] not in kept]
            with m.db:
                m.db.executemany("DELETE FROM chunks WHERE chunk_id=?", [(c,) for c in gone])
            out["stopped_early_at"] = len(kept)
            rows = iter(())
        for item in rows:
            batch.append(item)
            if len(batch) == BATCH or done + len(batch) == args.target:
                keys = [embed_key(c) for c, _, _ in batch]
                with m.db:
                    m.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?)", [
                        (c.chunk_id, c.doc_id, chunk_to_json(c), json.dumps(t, ensure_ascii=False), k)
                        for (c, t, _), k in zip(batch, keys, strict=True)])
                coll.add(ids=[c.chunk_id for c, _, _ in batch], embeddings=np.vstack([v for _, _, v in batch]),
                         metadatas=[chroma_metadata(c, k) for (c, _, _), k in zip(batch, keys, strict=True)])
                done += len(batch)
                batch = []
                if any(done >= cp > done - BATCH for cp in checkpoints):
                    out["rss_mb_at"][str(done)] = {"rss": round(_rss_mb()), "elapsed_s": round(time.perf_counter() - t0)}
                    print(f"  {done:,} chunks, RSS {_rss_mb():.0f} MB, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        out["manifest_and_chroma_s"] = round(time.perf_counter() - t0, 1)
        with m.db:
            for key, value in {"generation": "1", "bm25_dir": "bm25-1", "embedder": info["embedder"],
                               "synthetic": json.dumps(info)}.items():
                m.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))
        t = time.perf_counter()
        rss_before = _rss_mb()

        def token_rows() -> Iterator[list[str]]:
            cur = m.db.execute("SELECT tokens FROM chunks ORDER BY rowid")
            while got := cur.fetchmany(2048):
                for (raw,) in got:
                    yield json.loads(raw)

        ids = (r[0] for r in m.db.execute("SELECT chunk_id FROM chunks ORDER BY rowid"))
        out["keyword"] = write_streaming(index / "bm25-1", ids, token_rows)
        out["keyword_build_s"] = round(time.perf_counter() - t, 1)
        out["keyword_rss_growth_mb"] = round(_rss_mb() - rss_before)
        m.close()
        out["chroma_count"] = coll.count()
        out["peak_rss_mb_build"] = peak_rss_mb()
        out["disk_mb"] = {p.name: round(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20)
                          for p in (index, work / "chroma")}
    finally:
        server.terminate()
        server.wait(60)
    return out


def query(args: argparse.Namespace) -> dict[str, Any]:
    """The app's own ``Retriever`` over the built index: load time, p50/p95 per stage, recall@5 on the dev questions, RSS.

    Each dev question is rewritten and parsed as the pipeline does, then ``Retriever.search`` runs (BM25 under the
    region/year mask, e5 query embedding, dense search without Chroma's metadata filter — see
    ``rag.search.dense`` — fusion, passages read by id from the manifest). A probe then times the dense strategies
    on their own and Chroma's metadata-filtered HNSW for comparison.
    """
    from rag.search.dense import filtered_dense
    from rag.search.query import parse_question, rewrite_followup
    from rag.search.retrieve import Retriever

    work = Path(args.work)
    index = work / "index"
    server = start_chroma(work / "chroma", args.port)
    try:
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        r = Retriever(get_settings(index_dir=index, chroma_url=f"http://127.0.0.1:{args.port}", generator="extractive"))
        load_s = time.perf_counter() - t0
        regions = r.regions()
        questions = load_questions(QUESTIONS)
        parsed = []
        for q in questions:
            text, turns = question_turns(q)
            parsed.append(parse_question(rewrite_followup(text, turns, regions) if turns else text, regions))
        r.search(parsed[0])  # opens the store, loads jieba and the onnx session
        rss_loaded = _rss_mb()
        times: dict[str, list[float]] = {"keyword": [], "dense": [], "retrieval": []}
        hits = answerable = 0
        for rep in range(args.repeats + 1):  # the first round warms up (HNSW pages, SQLite pages)
            for q, p in zip(questions, parsed, strict=True):
                t = time.perf_counter()
                got = r.search(p)
                total_ms = (time.perf_counter() - t) * 1000
                if rep:
                    times["retrieval"].append(total_ms)
                    for k in ("keyword", "dense"):
                        if k in got.timings_ms:
                            times[k].append(got.timings_ms[k])
                elif q.get("answerable") and q.get("expect"):
                    answerable += 1
                    hits += any(passage_matches(sc.chunk.text, q["expect"]) for sc in got.passages[:5])
        probe: dict[str, list[float]] = {"dense_strategy": [], "chroma_where": [], "hnsw_unfiltered": []}
        pools: list[int] = []
        for p in parsed:
            mask, refusal, _ = r._mask(p)
            if refusal or not mask.any():
                continue
            vec = r.embedder.embed_query(" ".join([p.text, *p.expansions]))
            t = time.perf_counter()
            res = filtered_dense(r.store, vec, mask, live=int(r.row_live.sum()), total=r.chunk_count,
                                 ids=r.keyword.ids, row=r.keyword.row, dim=r.embedder.dim, n=30,
                                 exact_rows_max=r.exact_rows_max, pool_max=r.pool_max)
            probe["dense_strategy"].append((time.perf_counter() - t) * 1000)
            pools.append(res.pool)
            t = time.perf_counter()
            r.store.query(vec, 30)
            probe["hnsw_unfiltered"].append((time.perf_counter() - t) * 1000)
            if p.regions:
                where = {"region": {"$in": list(p.regions)}}
                t = time.perf_counter()
                r.store.query(vec, 30, where)
                probe["chroma_where"].append((time.perf_counter() - t) * 1000)
        # filters of a given size (random rows: as spread out as a province's reports), best first query vector
        by_size: dict[str, Any] = {}
        rng = np.random.default_rng(11)
        vec = r.embedder.embed_query(" ".join([parsed[0].text, *parsed[0].expansions]))
        for size in (40, 400, 2_000, 10_000, 100_000):
            if size >= len(r.keyword.ids):
                continue
            mask = np.zeros(len(r.keyword.ids), dtype=bool)
            mask[rng.choice(len(r.keyword.ids), size, replace=False)] = True
            ms, used = [], []
            for _ in range(3):
                t = time.perf_counter()
                res = filtered_dense(r.store, vec, mask, live=int(r.row_live.sum()), total=r.chunk_count,
                                     ids=r.keyword.ids, row=r.keyword.row, dim=r.embedder.dim, n=30,
                                     exact_rows_max=r.exact_rows_max, pool_max=r.pool_max)
                ms.append(round((time.perf_counter() - t) * 1000, 1))
                used.append(res.pool)
            by_size[str(size)] = {"ms": ms, "pool": used}
        out = {"chunks": r.chunk_count, "retriever": "rag.search.retrieve.Retriever", "retriever_load_s": round(load_s, 1),
               "rss_mb_before_load": round(rss0), "rss_mb_loaded": round(rss_loaded), "peak_rss_mb_query": peak_rss_mb(),
               "recall_at_5": round(hits / answerable, 3) if answerable else None, "answerable": answerable,
               "questions": len(questions), "repeats": args.repeats,
               "exact_rows_max": r.exact_rows_max, "pool_max": r.pool_max,
               **{f"{k}_ms": summary(v) for k, v in times.items()},
               "probe_ms": {k: summary(v) for k, v in probe.items() if v}, "dense_pools": pools, "dense_by_filter_rows": by_size,
               "load_avg_at_end": [round(x, 1) for x in os.getloadavg()], "nice": os.nice(0)}
    finally:
        server.terminate()
        server.wait(60)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", help="a real index to derive the chunks from (built by rag ingest)")
    p.add_argument("--target", type=int, default=1_000_000)
    p.add_argument("--work", required=True, help="where the index and the Chroma server's data go")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--query-only", action="store_true")
    p.add_argument("--finish", action="store_true", help="a build stopped early: keyword index + query over what exists")
    p.add_argument("--build-only", action="store_true", help="build, measure the query phase later (--query-only)")
    p.add_argument("--out", default=str(OUT / "scale_results.json"))
    args = p.parse_args()
    result: dict[str, Any] = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    key = f"{args.target // 1000}k" + ("-partial" if args.finish else "")
    row = result.setdefault(key, {})
    row["machine"] = {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    if not args.query_only:
        row["build"] = build(args)
    if not args.build_only:
        row["query"] = query(args)
    row["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(row, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
