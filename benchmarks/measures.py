"""Measurements beside the rows: embedding backends compared round by round; the local LLM and the UI's memory (scripts)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import load_questions, question_turns
from benchmarks.stats import summary
from rag.config import REPO_ROOT, get_settings


def embedding_comparison(backends: Sequence[str], rounds: int, n_texts: int) -> dict[str, Any]:
    """Chunks/s of each embedder on the same real seed chunks, interleaved round by round."""
    from rag.index.embeddings import E5_FOLDER, get_embedder
    from rag.index.manifest import embed_text
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
