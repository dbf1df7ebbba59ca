"""One benchmark row, measured in a child process (``python -m benchmarks.bench --child SPEC``): ingest, query, LLM."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.common import load_questions, passage_matches, question_turns, row_settings
from benchmarks.stats import peak_rss_mb, summary
from benchmarks.synthetic import synthetic_row


def _ingest_row(spec: dict[str, Any]) -> dict[str, Any]:
    from rag.index.run import ingest

    settings = row_settings(spec)
    t = time.perf_counter()
    report = ingest([Path(p) for p in spec["paths"]], settings)
    wall = time.perf_counter() - t
    return {"files": len(report.indexed), "chunks": report.chunks_total, "chunks_embedded": report.chunks_embedded,
            "ingest_s": round(wall, 2), "embed_s": round(report.embed_seconds, 2),
            "ingest_chunks_per_s": round(report.chunks_embedded / wall, 2) if wall else 0.0,
            "embed_chunks_per_s": round(report.chunks_embedded / report.embed_seconds, 2)
            if report.embed_seconds else 0.0,
            "peak_rss_mb_ingest": peak_rss_mb()}


def _query_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Latency percentiles and recall@5 over the dev questions, ``repeats`` times."""
    from rag.answer.pipeline import Pipeline
    from rag.index.keyword import tokenize

    settings = row_settings(spec)
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
        "chunks_loaded": retriever.chunk_count, "load_s": round(load_s, 2), "rss_mb_loaded": rss_loaded,
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

    settings = row_settings(spec).model_copy(update={"generator": "local"})
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
        out["build"] = _ingest_row(spec) if spec["kind"] == "ingest" else synthetic_row(spec)
        out["build"]["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
        saved.write_text(json.dumps(out["build"], ensure_ascii=False), encoding="utf-8")
    elif saved.exists():  # a reused index keeps the figures of the run that built it
        out["build"] = {**json.loads(saved.read_text(encoding="utf-8")), "reused": True}
    out["query"] = _query_row(spec)
    return out
