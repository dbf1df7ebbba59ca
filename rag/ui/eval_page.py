"""The evaluation page: run a question set live (per-case progress, estimate, Stop), metrics, baseline.

Only question sets this index can answer are offered (the reports their cases name are indexed);
a baseline is compared only over the cases both runs share, and a different generator is said.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import REPO_ROOT
from rag.errors import RagError
from rag.ui.common import Page
from rag.ui.format import escape_md
from rag.ui.jobs import EvalJob

METRICS = [("accuracy", "准确率 accuracy"), ("answerable_accuracy", "可答题 answerable"),
           ("refusal_accuracy", "拒答 refusal"), ("grounded_rate", "有据 grounded")]


def question_sets(sources: set[str]) -> tuple[list[tuple[Path, list[Any]]], list[str]]:
    """(usable sets with their cases, reasons other files were left out).

    A set is usable when it parses as cases and most cases that name a report name one in the index.
    """
    from rag.eval.cases import load_cases

    usable: list[tuple[Path, list[Any]]] = []
    skipped: list[str] = []
    for path in sorted((REPO_ROOT / "evals").glob("*.jsonl")):
        try:
            cases = load_cases(path)
        except RagError:
            skipped.append(f"{path.name}: 不是问题集 not a question set")
            continue
        named = [c for c in cases if c.source]
        found = [c for c in named if any(s in src for s in c.source for src in sources)]
        if named and len(found) * 2 < len(named):
            skipped.append(f"{path.name}: 所需报告不在索引中 its reports are not indexed "
                           f"({len(found)}/{len(named)})")
            continue
        usable.append((path, cases))
    return usable, skipped


def pct(x: Any) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


@st.fragment(run_every=0.5)
def live_progress(job: EvalJob) -> None:
    if job.done:
        st.rerun()
    n, done = len(job.cases), len(job.records)
    left = job.remaining_s()
    eta = "估算中 estimating…" if left is None else f"约还需 about {left:.0f} s left"
    st.progress(done / n if n else 1.0, text=f"{done}/{n} 题 cases · {job.elapsed:.0f} s · {eta}"
                + (f" · 正在 now: {job.current}" if job.current else ""))
    if job.records:
        passed = sum(1 for r in job.records if r["passed"])
        st.caption(f"已通过 passed so far: {passed}/{done}")
        st.dataframe([{"id": r["id"], "通过 passed": r["passed"], "问题 question": r.get("question"),
                       "耗时 ms": r["ms"]} for r in reversed(job.records)], hide_index=True, width="stretch")
    st.button("停止评测 Stop", key="eval-stop", on_click=job.stop, disabled=job.cancel.is_set(),
              icon=":material/stop_circle:")


def finish(job: EvalJob, page: Page, path: Path) -> None:
    from rag.eval.run import build_result, run_meta

    meta = run_meta(page.settings, page.pipeline.describe())
    st.session_state["eval_result"] = build_result(job.records, meta, k=job.top_k, interrupted=job.stopped,
                                                   extra={"file": f"evals/{path.name}", "n_planned": len(job.cases)})
    st.session_state["eval_job"] = None


def show_result(result: dict[str, Any]) -> None:
    s = result["summary"]
    if result.get("interrupted"):
        st.warning(f"已停止:只运行了 {s['n']}/{s.get('n_planned', '?')} 题。 Stopped after {s['n']} cases.")
    cols = st.columns(6)
    values = [(label, pct(s[key])) for key, label in METRICS] + [("中位耗时 p50 ms", s["p50_ms"]),
                                                                  ("p95 耗时 ms", s["p95_ms"])]
    for col, (label, val) in zip(cols, values, strict=True):
        col.metric(label, val)
    st.caption(escape_md(f"{s['passed']}/{s['n']} 通过 passed · {s.get('file', '')} · 生成 generator {s.get('generator')}"))
    only_fail = st.toggle("只看失败 Failures only")
    rows = [{"id": r["id"], "类型 kind": r["kind"], "通过 passed": r["passed"],
             "问题 question": r.get("question") or " → ".join(r.get("turns") or []), "回答 answer": r["answer"],
             "原因 failures": "; ".join(r["failures"]), "耗时 ms": r["ms"]}
            for r in result["cases"] if not (only_fail and r["passed"])]
    st.dataframe(rows, hide_index=True, width="stretch")
    import pandas as pd

    per_kind = pd.DataFrame([{"类型 kind": k, "准确率 accuracy": v["accuracy"] or 0.0} for k, v in s["per_kind"].items()])
    latency = pd.DataFrame([{"id": r["id"], "耗时 ms": r["ms"]} for r in result["cases"]])
    left, right = st.columns(2)
    with left:
        st.markdown("**按类型准确率 Accuracy per kind**")
        st.bar_chart(per_kind, x="类型 kind", y="准确率 accuracy")
    with right:
        st.markdown("**每题耗时 Latency per case (ms)**")
        st.bar_chart(latency, x="id", y="耗时 ms")


def compare(result: dict[str, Any]) -> None:
    """Compare with a stored baseline of the same question set, over the cases both ran."""
    from rag.eval.metrics import diff_runs
    from rag.eval.run import load_result

    s = result["summary"]
    baselines = []
    for p in sorted((REPO_ROOT / "evals" / "baselines").glob("*.json")):
        try:
            baselines.append((p, load_result(p)))
        except RagError:
            continue
    same_set = [(p, b) for p, b in baselines if Path(str(b["summary"].get("file", ""))).name == Path(s["file"]).name]
    if not same_set:
        st.caption("没有这个问题集的基线 No stored baseline for this question set (evals/baselines/).")
        return
    names = [p.name for p, _ in same_set]
    pick = st.selectbox("对比基线 Compare with baseline", names)
    base = same_set[names.index(pick)][1]
    cmp = diff_runs(result, base)
    b = base["summary"]
    if b.get("generator") != s.get("generator"):
        st.warning(escape_md(f"基线的生成方式是 {b.get('generator')},本次是 {s.get('generator')}:差异包含生成方式的影响。"
                             f" The baseline used {b.get('generator')}, this run {s.get('generator')}."))
    common = cmp["common"]
    if not cmp["same_cases"]:
        st.info(f"基线 {b.get('n')} 题,本次 {s['n']} 题:只比较两次都运行的 {common['n']} 题。"
                f" Compared over the {common['n']} cases both runs share.")
    st.dataframe([{"": "通过 passed", "基线 baseline": common["baseline_passed"], "本次 current": common["current_passed"],
                   "变化 change": common["current_passed"] - common["baseline_passed"]}], hide_index=True)
    st.markdown(escape_md(f"通过→失败 pass→fail: {', '.join(cmp['pass_to_fail']) or '无 none'} · "
                          f"失败→通过 fail→pass: {', '.join(cmp['fail_to_pass']) or '无 none'}"))


def eval_page(page: Page) -> None:
    pipeline = page.pipeline
    st.title("评测 Evaluation")
    sources = {d.source for d in pipeline.retriever.documents.values()}
    sets, skipped = question_sets(sources)
    if skipped:
        with st.expander(f"未列出的文件 {len(skipped)} files not offered"):
            for line in skipped:
                st.caption(escape_md(line))
    if not sets:
        st.info("evals/ 中没有适用于这个索引的问题集 No question set fits this index.")
        return
    names = [p.name for p, _ in sets]
    default = names.index("ci_questions.jsonl") if "ci_questions.jsonl" in names else 0
    name = st.selectbox("问题集 Question set", names, index=default)
    path, cases = sets[names.index(name)]
    kinds = sorted({c.kind for c in cases})
    pick = st.multiselect("类型 Kinds", kinds, default=kinds, placeholder="选择类型 Choose kinds")
    chosen = [c for c in cases if c.kind in pick]
    st.caption(f"{len(chosen)} / {len(cases)} 题 cases · 生成 generator {pipeline.generator_name}")
    job: EvalJob | None = st.session_state.get("eval_job")
    if job is not None and job.done:
        finish(job, page, st.session_state.get("eval_path", path))
        job = None
    if st.button("运行 Run", type="primary", disabled=not chosen or job is not None):
        st.session_state["eval_path"] = path
        job = st.session_state["eval_job"] = EvalJob.start(pipeline, chosen, pipeline.settings.top_k)
    if job is not None:
        live_progress(job)
        return
    result = st.session_state.get("eval_result")
    if not result:
        return
    show_result(result)
    compare(result)
    st.download_button("下载结果 Download JSON", json.dumps(result, ensure_ascii=False, indent=1),
                       file_name="eval.json", mime="application/json")
