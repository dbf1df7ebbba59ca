"""Reports of an evaluation run: Markdown, or a self-contained HTML page with inline SVG charts.

Input is the result JSON of ``rag eval --json`` (and optionally the comparison with a baseline
from ``rag.eval.metrics.diff_runs``), so a report can be rebuilt from stored results at any time::

    python -m rag.eval.report artifacts/ci.json artifacts/ci.html --baseline evals/baselines/ci.json

The charts are hand-written SVG (per-kind accuracy bars, latency histogram): no network assets,
no plotting dependency.
"""

from __future__ import annotations

import argparse
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.eval.metrics import diff_runs


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}%"


def _val(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, dict | list):
        return json.dumps(x, ensure_ascii=False, sort_keys=True)
    return str(x)


def _md(text: Any) -> str:
    """Make a value safe inside a Markdown table cell."""
    return _val(text).replace("|", "\\|").replace("\n", " ")


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


META_KEYS = ("file", "started_at", "finished_at", "git_sha", "git_dirty", "generator", "generator_reason",
             "generators_used", "embedder", "chunking", "top_k", "prompt_hash", "index", "interrupted")
RATE_ROWS = (("accuracy", "accuracy"), ("answerable_accuracy", "answerable accuracy"),
             ("refusal_accuracy", "refusal accuracy"), ("grounded_rate", "grounded rate"),
             ("hit_at_k", "hit@k"), ("mrr", "MRR"))


def _rate_rows(s: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    ci = s.get("ci95") or {}
    rows = []
    for key, label in RATE_ROWS:
        iv = ci.get(key)
        shown = _val(s.get(key)) if key == "mrr" else _pct(s.get(key))
        rng = "—" if not iv else (f"{iv[0]:.3f}–{iv[1]:.3f}" if key == "mrr" else f"{_pct(iv[0])}–{_pct(iv[1])}")
        if key == "hit_at_k":
            label = f"hit@{s.get('k')}"
        rows.append((label, shown, rng))
    return rows


def render_markdown(result: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    """The report as Markdown."""
    s, cases = result["summary"], result["cases"]
    out = [f"# Evaluation: {s.get('file', '')}", ""]
    if s.get("interrupted"):
        out += [f"**Interrupted** after {s['n']} of {s.get('n_planned', '?')} cases.", ""]
    out += [f"**{s['passed']}/{s['n']} passed** — accuracy {_pct(s.get('accuracy'))}, "
            f"p50 {s.get('p50_ms')} ms, p95 {s.get('p95_ms')} ms", "",
            "## Metrics", "", "| metric | value | 95% CI (bootstrap) |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in _rate_rows(s)]
    out += ["", "## Per kind", "", "| kind | n | passed | accuracy |", "|---|---|---|---|"]
    out += [f"| {_md(k)} | {v['n']} | {v['passed']} | {_pct(v['accuracy'])} |"
            for k, v in (s.get("per_kind") or {}).items()]
    out += ["", "## Latency (ms)", "", "| stage | n | p50 | p95 |", "|---|---|---|---|"]
    out += [f"| {st} | {v.get('n', '')} | {_val(v['p50'])} | {_val(v['p95'])} |"
            for st, v in (s.get("latency_ms") or {}).items()]
    if comparison:
        out += ["", f"## Compared with baseline {_md(str(comparison['baseline'].get('git_sha'))[:12])} "
                    f"({_md(comparison['baseline'].get('started_at'))})", "",
                "| metric | baseline | current | delta |", "|---|---|---|---|"]
        out += [f"| {k} | {_val(d['baseline'])} | {_val(d['current'])} | {_val(d['delta'])} |"
                for k, d in comparison["deltas"].items()]
        out += ["", f"- pass → fail: {', '.join(comparison['pass_to_fail']) or 'none'}",
                f"- fail → pass: {', '.join(comparison['fail_to_pass']) or 'none'}"]
        if comparison.get("only_current") or comparison.get("only_baseline"):
            com = comparison.get("common", {})
            out += [f"- the case sets differ (only in this run: {len(comparison.get('only_current', []))}, "
                    f"only in baseline: {len(comparison.get('only_baseline', []))}); on the {com.get('n')} shared "
                    f"cases {com.get('baseline_passed')} → {com.get('current_passed')} passed"]
    failed = [c for c in cases if not c.get("passed")]
    out += ["", f"## Failures ({len(failed)})", ""]
    if failed:
        out += ["| id | kind | question | answer | why |", "|---|---|---|---|---|"]
        out += [f"| {_md(c['id'])} | {_md(c.get('kind'))} | {_md(_question(c))} | {_md(_short(c.get('answer', ''), 120))} "
                f"| {_md('; '.join(c.get('failures', [])))} |" for c in failed]
    out += ["", "## All cases", "", "| id | kind | result | ms | generator | citations |", "|---|---|---|---|---|---|"]
    out += [f"| {_md(c['id'])} | {_md(c.get('kind'))} | {'pass' if c.get('passed') else 'FAIL'} | {c.get('ms')} "
            f"| {_md(c.get('generator'))} | {len(c.get('citations', []))} |" for c in cases]
    out += ["", "## Run", "", "| key | value |", "|---|---|"]
    out += [f"| {k} | {_md(s.get(k))} |" for k in META_KEYS if k in s]
    return "\n".join(out) + "\n"


def _question(case: Mapping[str, Any]) -> str:
    if case.get("turns"):
        return " → ".join(case["turns"])
    return str(case.get("question", ""))


# ------------------------------------------------------------------------------------------ SVG
def svg_bars(items: Sequence[tuple[str, float | None, str]], *, width: int = 560, bar_h: int = 22) -> str:
    """Horizontal bars of values in [0, 1]: (label, value, note)."""
    left, right = 150, 90
    h = bar_h * len(items) + 30
    inner = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" '
             f'aria-label="accuracy per kind" font-family="sans-serif" font-size="12">']
    for frac in (0, 0.5, 1):
        x = left + inner * frac
        parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{h - 22}" stroke="#ccc"/>'
                     f'<text x="{x:.1f}" y="{h - 8}" text-anchor="middle" fill="#555">{int(frac * 100)}%</text>')
    for i, (label, value, note) in enumerate(items):
        y = 6 + i * bar_h
        v = 0.0 if value is None else max(0.0, min(1.0, float(value)))
        color = "#2e7d32" if v >= 0.9 else "#f9a825" if v >= 0.6 else "#c62828"
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.6:.1f}" text-anchor="end">{html.escape(label)}</text>'
                     f'<rect x="{left}" y="{y}" width="{inner * v:.1f}" height="{bar_h - 6}" fill="{color}"/>'
                     f'<text x="{left + inner * v + 4:.1f}" y="{y + bar_h * 0.6:.1f}" fill="#333">'
                     f'{html.escape(_pct(value))} {html.escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_histogram(values: Sequence[float], *, bins: int = 12, width: int = 560, height: int = 200) -> str:
    """A histogram of latencies (ms)."""
    if not values:
        return "<p>no latencies</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / span * bins), bins - 1)] += 1
    left, bottom, top = 40, 30, 10
    inner_w, inner_h = width - left - 10, height - bottom - top
    peak = max(counts)
    bw = inner_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="latency histogram" font-family="sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#555">{peak}</text>']
    for i, c in enumerate(counts):
        bh = inner_h * c / peak if peak else 0
        x = left + i * bw
        parts.append(f'<rect x="{x + 1:.1f}" y="{top + inner_h - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
                     f'fill="#1565c0"><title>{lo + span * i / bins:.0f}–{lo + span * (i + 1) / bins:.0f} ms: '
                     f'{c}</title></rect>')
    for frac in (0, 0.5, 1):
        parts.append(f'<text x="{left + inner_w * frac:.1f}" y="{height - 10}" text-anchor="middle" fill="#555">'
                     f'{lo + span * frac:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:3px 8px;
vertical-align:top;font-size:13px}th{background:#f4f4f4}.fail{color:#c62828;font-weight:bold}
.pass{color:#2e7d32}.small{font-size:12px;color:#555}details{margin:.2em 0}"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(result: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    """The report as one self-contained HTML page."""
    s, cases = result["summary"], result["cases"]
    e = html.escape
    parts = ["<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
             f"<title>Evaluation {e(str(s.get('file', '')))}</title><style>{_CSS}</style></head><body>",
             f"<h1>Evaluation: {e(str(s.get('file', '')))}</h1>"]
    if s.get("interrupted"):
        parts.append(f"<p class='fail'>Interrupted after {s['n']} of {s.get('n_planned', '?')} cases.</p>")
    parts.append(f"<p><b>{s['passed']}/{s['n']} passed</b> — accuracy {_pct(s.get('accuracy'))}, "
                 f"p50 {e(_val(s.get('p50_ms')))} ms, p95 {e(_val(s.get('p95_ms')))} ms</p>")
    parts.append("<h2>Metrics</h2>" + _table(["metric", "value", "95% CI (bootstrap)"],
                                             [[e(a), e(b), e(c)] for a, b, c in _rate_rows(s)]))
    kinds = s.get("per_kind") or {}
    parts.append("<h2>Accuracy per kind</h2>" + svg_bars(
        [(k, v["accuracy"], f"({v['passed']}/{v['n']})") for k, v in kinds.items()]))
    parts.append("<h2>Latency</h2>" + svg_histogram([float(c.get("ms") or 0) for c in cases]))
    parts.append(_table(["stage", "n", "p50 ms", "p95 ms"],
                        [[e(st), e(_val(v.get("n"))), e(_val(v["p50"])), e(_val(v["p95"]))]
                         for st, v in (s.get("latency_ms") or {}).items()]))
    if comparison:
        parts.append(f"<h2>Compared with baseline {e(str(comparison['baseline'].get('git_sha'))[:12])}</h2>")
        parts.append(_table(["metric", "baseline", "current", "delta"],
                            [[e(k), e(_val(d["baseline"])), e(_val(d["current"])), e(_val(d["delta"]))]
                             for k, d in comparison["deltas"].items()]))
        parts.append(f"<p>pass → fail: <span class='fail'>{e(', '.join(comparison['pass_to_fail']) or 'none')}"
                     f"</span><br>fail → pass: <span class='pass'>{e(', '.join(comparison['fail_to_pass']) or 'none')}"
                     "</span></p>")
        if not comparison.get("same_cases", True):
            com = comparison.get("common", {})
            parts.append(f"<p>The case sets differ: on the {com.get('n')} shared cases {com.get('baseline_passed')} → "
                         f"{com.get('current_passed')} passed.</p>")
    rows = []
    for c in cases:
        ok = bool(c.get("passed"))
        cites = "".join(f"<details><summary>[{ci.get('id')}] {e(str(ci.get('source', '')))}</summary>"
                        f"<div class='small'>{e(str(ci.get('text', '')))}</div></details>" for ci in c.get("citations", []))
        rows.append([e(str(c["id"])), e(str(c.get("kind", ""))),
                     f"<span class='{'pass' if ok else 'fail'}'>{'pass' if ok else 'FAIL'}</span>",
                     e(_val(c.get("ms"))), e(_question(c)), e(str(c.get("answer", ""))) + cites,
                     "<br>".join(e(f) for f in c.get("failures", []))])
    parts.append("<h2>Cases</h2>" + _table(["id", "kind", "result", "ms", "question", "answer", "why"], rows))
    parts.append("<h2>Run</h2>" + _table(["key", "value"], [[e(k), e(_val(s.get(k)))] for k in META_KEYS if k in s]))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: Path | str, result: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> None:
    """Write Markdown (``.md``) or HTML (``.html``/``.htm``) depending on the suffix."""
    p = Path(path)
    text = render_html(result, comparison) if p.suffix.lower() in (".html", ".htm") else render_markdown(result, comparison)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild a report from a stored result JSON."""
    parser = argparse.ArgumentParser(prog="python -m rag.eval.report", description=__doc__)
    parser.add_argument("result", type=Path)
    parser.add_argument("out", type=Path, help="OUT.md or OUT.html")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text(encoding="utf-8"))
    comparison = None
    if args.baseline:
        comparison = diff_runs(result, json.loads(args.baseline.read_text(encoding="utf-8")))
    write_report(args.out, result, comparison)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
