"""``rag eval``: run a question set through the pipeline, grade every answer, print and write the results.

Cases are read by ``rag.eval.cases``, run by ``rag.eval.run`` and graded by ``rag.eval.grade`` (the
rules of docs/eval-contract.md and the failure codes are listed there). Each case's JSON record has
its failures as strings ``"code: detail"`` and ``failure_codes`` with the codes alone.

Runs are resumable evidence, not all-or-nothing: with ``--json OUT`` every finished case is
appended to ``OUT.partial.jsonl`` at once, and Ctrl-C (or SIGTERM) still writes ``OUT`` with
``"interrupted": true`` over the finished cases. Example::

    rag eval evals/ci_questions.jsonl --json artifacts/ci.json --report artifacts/ci.html
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import IndexMissingError, RagError
from rag.eval.cases import Case, EvalFileError, load_cases, select_cases
from rag.eval.grade import short
from rag.eval.metrics import diff_runs
from rag.eval.run import AskPipeline, build_result, load_result, run_cases, run_meta


def format_row(rec: Mapping[str, Any], id_width: int = 8) -> str:
    """One line of the per-case table."""
    status = "pass" if rec.get("passed") else "FAIL"
    reason = ""
    if rec.get("failures"):
        codes = ",".join(dict.fromkeys(rec.get("failure_codes") or []))
        first = str(rec["failures"][0]).split(": ", 1)
        reason = codes + (f" — {first[1]}" if len(first) > 1 else "")
    return f"{str(rec.get('id')):<{id_width}} {str(rec.get('kind') or ''):<14} {status:<4} " \
           f"{float(rec.get('ms') or 0):>8.0f}  {short(reason, 110)}"


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}%"


def _signed(x: Any) -> str:
    return "—" if x is None else f"{x:+g}"


def format_summary(result: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    """The summary printed after the table (and the baseline comparison when given)."""
    s = result["summary"]
    ci = s.get("ci95") or {}

    def with_ci(key: str) -> str:
        iv = ci.get(key)
        return _pct(s.get(key)) + (f" [{_pct(iv[0])}–{_pct(iv[1])}]" if iv else "")

    lines = [
        f"n={s['n']} passed={s['passed']}  accuracy {with_ci('accuracy')}"
        + ("  (INTERRUPTED)" if s.get("interrupted") else ""),
        f"answerable {with_ci('answerable_accuracy')}  refusal {with_ci('refusal_accuracy')}  "
        f"grounded {with_ci('grounded_rate')}",
        f"hit@{s.get('k')} {_pct(s.get('hit_at_k'))}  MRR {s.get('mrr') if s.get('mrr') is not None else '—'}"
        f"  (over {s.get('n_with_source', 0)} cases with a source)",
        f"latency p50 {s.get('p50_ms')} ms  p95 {s.get('p95_ms')} ms  "
        + "  ".join(f"{st}: {v['p50']}/{v['p95']}" for st, v in (s.get("latency_ms") or {}).items()
                    if st != "total"),
        "per kind: " + "  ".join(f"{k} {v['passed']}/{v['n']}" for k, v in (s.get("per_kind") or {}).items()),
        f"generator {s.get('generator')}  index {s.get('index')}  git {str(s.get('git_sha'))[:12]}"
        f"{' (dirty)' if s.get('git_dirty') else ''}  prompt {s.get('prompt_hash')}",
    ]
    if comparison:
        lines.append(f"vs baseline {str(comparison['baseline'].get('git_sha'))[:12]} "
                     f"({comparison['baseline'].get('started_at')}):")
        if not comparison.get("same_cases", True):
            com = comparison["common"]
            lines.append(f"  note: the case sets differ; on the {com['n']} shared cases "
                         f"{com['baseline_passed']} → {com['current_passed']} passed")
        lines.append("  " + "  ".join(f"{k} {_signed(d['delta'])}" for k, d in comparison["deltas"].items()))
        lines.append(f"  pass→fail: {', '.join(comparison['pass_to_fail']) or 'none'}")
        lines.append(f"  fail→pass: {', '.join(comparison['fail_to_pass']) or 'none'}")
    return "\n".join(lines)


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rag eval`` on an argparse subparsers object (sets ``func=run_eval_command``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval", help="run a question set through the pipeline and grade it",
        description="Run every case of FILE.jsonl through the same pipeline as `rag ask`, print a "
                    "per-case table and a summary. Exit 0 even when cases fail; 1 below --min-accuracy; "
                    "2 when it cannot run; 130 when interrupted.")
    _add_eval_arguments(p)
    p.set_defaults(func=run_eval_command)
    return p


def _add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="question set, JSON Lines (see docs/eval-contract.md)")
    p.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write the result JSON here")
    p.add_argument("--baseline", type=Path, metavar="PREV.json", help="compare with an earlier result JSON")
    p.add_argument("--min-accuracy", type=float, metavar="X", help="exit 1 when accuracy is below X (0–1)")
    p.add_argument("--generator", choices=["auto", "local", "openai", "extractive"], help="override RAG_GENERATOR")
    p.add_argument("--index", type=Path, metavar="DIR", help="index directory (default: settings)")
    p.add_argument("--report", type=Path, metavar="OUT.md|OUT.html", help="write a Markdown or HTML report")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases (after --kinds)")
    p.add_argument("--kinds", metavar="a,b", help="only cases of these kinds")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_eval_command(args: argparse.Namespace) -> int:
    """``rag eval``: returns the process exit code."""
    try:
        return _run_eval(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run_eval(args: argparse.Namespace) -> int:
    from rag.config import get_settings

    cases = select_cases(load_cases(args.file), args.kinds, args.limit)
    if not cases:
        raise EvalFileError(f"no cases left in {args.file} after --kinds/--limit")
    baseline = load_result(args.baseline) if args.baseline else None
    settings = get_settings().with_index(args.index)
    if args.generator:
        settings = settings.model_copy(update={"generator": args.generator})
    _require_index(settings)
    try:
        from rag.answer.pipeline import Pipeline
    except ImportError as exc:
        raise RagError(f"the pipeline is not available: {exc}", "install the project: pip install -e .") from exc

    started = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"loading pipeline (index {settings.index_dir}) …", file=sys.stderr)
    pipeline = Pipeline(settings)
    describe = dict(pipeline.describe())
    meta = run_meta(settings, describe)
    k = int(meta.get("top_k") or settings.top_k)
    extra = {"file": str(args.file), "started_at": started, "filters": {"kinds": args.kinds, "limit": args.limit}}
    return _execute(pipeline, cases, args, meta=meta, k=k, extra=extra, baseline=baseline)


def _require_index(settings: Settings) -> None:
    """Fail before loading models when there is no index (exit 2, per the contract)."""
    try:
        from rag.index.manifest import require_index
    except ImportError:  # index module not importable: check the directory ourselves
        if not Path(settings.index_dir).exists():
            raise IndexMissingError(f"no index at {settings.index_dir}",
                                    f"build it first: rag ingest corpus --index {settings.index_dir}") from None
        return
    require_index(settings)


def _execute(pipeline: AskPipeline, cases: Sequence[Case], args: argparse.Namespace, *, meta: Mapping[str, Any],
             k: int, extra: dict[str, Any], baseline: Mapping[str, Any] | None) -> int:
    """Run, print, write; separated from pipeline construction so tests can pass any AskPipeline."""
    from tqdm import tqdm

    json_out: Path | None = args.json_out
    partial = json_out.with_name(json_out.name + ".partial.jsonl") if json_out else None
    if partial:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("", encoding="utf-8")
    id_width = max(8, *(len(c.id) for c in cases))
    bar = tqdm(total=len(cases), file=sys.stderr, unit="case", dynamic_ncols=True, leave=False, disable=None)
    tqdm.write(f"{'id':<{id_width}} {'kind':<14} {'res':<4} {'ms':>8}  reason", file=sys.stdout)
    done: list[dict[str, Any]] = []

    def on_record(rec: dict[str, Any]) -> None:
        done.append(rec)
        if partial:
            with partial.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        tqdm.write(format_row(rec, id_width), file=sys.stdout)
        bar.update(1)
        bar.set_postfix(passed=sum(1 for r in done if r.get("passed")))

    completed = False
    old_handler = None
    try:
        old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not in the main thread
        pass
    try:
        run_cases(pipeline, cases, top_k=k, on_record=on_record)
        completed = True
    except KeyboardInterrupt:
        print(f"\ninterrupted after {len(done)}/{len(cases)} cases; keeping finished results", file=sys.stderr)
    finally:
        bar.close()
        interrupted = not completed  # Ctrl-C, SIGTERM, or a crash outside the per-case guard
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
        extra = {**extra, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "n_planned": len(cases)}
        result = build_result(done, meta, k=k, interrupted=interrupted, extra=extra)
        comparison = diff_runs(result, baseline) if baseline else None
        if comparison:
            result["baseline_comparison"] = comparison
        if json_out:
            _write_json(json_out, result)
            if partial and partial.exists():
                partial.unlink()
    print(format_summary(result, comparison))
    if json_out:
        print(f"wrote {json_out}", file=sys.stderr)
    if args.report:
        from rag.eval.report import write_report

        write_report(args.report, result, comparison)
        print(f"wrote {args.report}", file=sys.stderr)
    if interrupted:
        return 130
    acc = result["summary"]["accuracy"] or 0.0
    if args.min_accuracy is not None and acc < args.min_accuracy:
        print(f"accuracy {acc:.3f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rag.eval.cli FILE …`` (same options as ``rag eval``)."""
    parser = argparse.ArgumentParser(prog="rag eval")
    _add_eval_arguments(parser)
    return run_eval_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
