"""Does the local model earn its place? Per case: was its text kept, and if not, why.

Runs question sets through ``Pipeline.prepare → stream → finalize`` (the same steps as
``Pipeline.run``) with the configured generator and writes one JSON line per case: whether the
model was asked at all (table/refusal/indicator-table answers never go to it), the model's raw
text, the final answer, whether the final text is the model's (``kept``), the discard reason
(``Prepared.discard``: refused / no_source / ungrounded / leak / foreign / failed) and the
sentences alignment dropped, the grade, and timings. The summary gives the kept share per kind,
grounded rate, pass rate and time to first token / answer p50/p95 of the generated answers.

    .venv/bin/python benchmarks/model_kept.py evals/dev_questions.jsonl --index /tmp/seed \
        --out /tmp/kept.jsonl [--ids r01,r02] [--kinds open,oov]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import nearest_rank  # noqa: E402
from rag.answer.pipeline import Pipeline  # noqa: E402
from rag.config import get_settings  # noqa: E402
from rag.eval.cases import Case, load_cases, select_cases  # noqa: E402
from rag.eval.grade import grade  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    """Seconds, from milliseconds."""
    return round(nearest_rank(values, q) / 1000, 1)


def run_case(p: Pipeline, case: Case) -> dict[str, Any]:
    """One case through prepare → stream → finalize, with the discard reason."""
    t0 = time.perf_counter()
    prep = p.prepare(case.question, case.turns)
    raw = "".join(p.stream(prep)) if prep.messages else None
    answer = p.finalize(prep, raw)
    ms = (time.perf_counter() - t0) * 1000
    g = grade(case, answer, top_k=p.settings.top_k)
    return {
        "id": case.id, "kind": case.kind, "question": case.question, "asked_model": bool(prep.messages),
        "answerer": prep.retrieval.filters.get("answerer", "lookup"),
        "kept": bool(prep.messages) and answer.generator != "extractive",
        "discard": prep.discard, "dropped": list(prep.dropped), "raw": raw, "answer": answer.answer,
        "passed": g.passed, "grounded": g.grounded, "ungrounded": list(g.ungrounded),
        "failures": [str(f) for f in g.failures], "notices": list(answer.notices),
        "first_token_ms": round(prep.timings_ms.get("first_token", 0.0)), "total_ms": round(ms),
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Kept share per kind, pass/grounded rates, latency of the generated answers."""
    asked = [r for r in rows if r["asked_model"]]
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # cases, asked, kept, passed
    for r in rows:
        k = per[r["kind"]]
        k[0] += 1
        k[1] += r["asked_model"]
        k[2] += r["kept"]
        k[3] += r["passed"]
    ttft = [float(r["first_token_ms"]) for r in asked if r["first_token_ms"]]
    total = [float(r["total_ms"]) for r in asked]
    return {
        "cases": len(rows), "passed": sum(r["passed"] for r in rows),
        "grounded": sum(bool(r["grounded"]) for r in rows), "ungrounded_figures": sum(len(r["ungrounded"]) for r in rows),
        "asked_model": len(asked), "kept": sum(r["kept"] for r in asked),
        "kept_share": round(sum(r["kept"] for r in asked) / len(asked), 3) if asked else None,
        "discards": dict(Counter(r["discard"] for r in asked if not r["kept"])),
        "per_kind": {k: dict(zip(("cases", "asked", "kept", "passed"), v, strict=True)) for k, v in sorted(per.items())},
        "ttft_s_p50": _pct(ttft, 0.5), "ttft_s_p95": _pct(ttft, 0.95),
        "answer_s_p50": _pct(total, 0.5), "answer_s_p95": _pct(total, 0.95),
        "answer_s_max": round(max(total) / 1000, 1) if total else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--generator", default="local")
    ap.add_argument("--ids", default="", help="comma list of case ids to run (default: all)")
    ap.add_argument("--kinds", default=None)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines, one per case, then the summary")
    args = ap.parse_args()
    settings = get_settings(index_dir=args.index, generator=args.generator)
    p = Pipeline(settings)
    ids = {i.strip() for i in args.ids.split(",") if i.strip()}
    cases = [c for f in args.files for c in select_cases(load_cases(f), args.kinds, None) if not ids or c.id in ids]
    rows = []
    out = args.out.open("w", encoding="utf-8") if args.out else None
    for case in cases:
        row = run_case(p, case)
        rows.append(row)
        flag = "KEPT" if row["kept"] else ("-" if not row["asked_model"] else f"DISCARD:{row['discard']}")
        print(f"{row['id']:5} {row['kind']:12} pass={int(row['passed'])} {flag:22} {row['total_ms'] / 1000:5.1f}s "
              f"{(row['raw'] or '')[:60]!r}", file=sys.stderr, flush=True)
        if out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    s = summary(rows)
    s["median_s"] = statistics.median([r["total_ms"] / 1000 for r in rows]) if rows else 0
    if out:
        out.write(json.dumps({"summary": s}, ensure_ascii=False) + "\n")
        out.close()
    print(json.dumps(s, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
