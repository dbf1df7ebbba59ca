"""The evaluation page: run a question set through the shared pipeline, metrics, compare with a baseline."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.config import REPO_ROOT
from rag.errors import RagError
from rag.ui.common import Page, show_error
from rag.ui.format import escape_md


def eval_page(page: Page) -> None:
    from rag.eval.metrics import diff_runs
    from rag.eval.run import build_result, load_cases, load_result, run_cases, run_meta

    settings, pipeline = page.settings, page.pipeline
    st.title("评测 Evaluation")
    sets = sorted((REPO_ROOT / "evals").glob("*.jsonl"))
    if not sets:
        st.info("evals/ 中没有问题集 (*.jsonl)。")
        return
    path = st.selectbox("问题集 Question set", sets, format_func=lambda p: p.name,
                        index=next((i for i, p in enumerate(sets) if p.name == "ci_questions.jsonl"), 0))
    try:
        cases = load_cases(path)
    except RagError as exc:
        show_error(exc)
        return
    kinds = sorted({c.kind for c in cases})
    pick = st.multiselect("类型 Kinds", kinds, default=kinds)
    chosen = [c for c in cases if c.kind in pick]
    st.caption(f"{len(chosen)} / {len(cases)} cases · generator {pipeline.generator_name} · top-k "
               f"{pipeline.settings.top_k}")
    if st.button("运行 Run", type="primary", disabled=not chosen):
        bar = st.progress(0.0, text=f"0/{len(chosen)}")
        done: list[dict[str, Any]] = []

        def on_record(rec: dict[str, Any]) -> None:
            done.append(rec)
            bar.progress(len(done) / len(chosen), text=f"{len(done)}/{len(chosen)} · {rec['id']}")

        k = pipeline.settings.top_k
        records = run_cases(pipeline, chosen, top_k=k, on_record=on_record)
        meta = run_meta(settings, pipeline.describe())
        st.session_state["eval_result"] = build_result(records, meta, k=k, extra={"file": str(path)})
    result = st.session_state.get("eval_result")
    if not result:
        return
    s = result["summary"]

    def pct(x: Any) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    cols = st.columns(6)
    for col, (label, val) in zip(cols, [("accuracy", pct(s["accuracy"])), ("answerable", pct(s["answerable_accuracy"])),
                                        ("refusal", pct(s["refusal_accuracy"])), ("grounded", pct(s["grounded_rate"])),
                                        ("p50 ms", s["p50_ms"]), ("p95 ms", s["p95_ms"])], strict=True):
        col.metric(label, val)
    st.caption(escape_md(f"{s['passed']}/{s['n']} passed · {s.get('file', '')} · generator {s.get('generator')}"))
    only_fail = st.toggle("只看失败 Failures only")
    rows = [{"id": r["id"], "kind": r["kind"], "passed": r["passed"], "question": r.get("question") or
             " → ".join(r.get("turns") or []), "answer": r["answer"], "failures": "; ".join(r["failures"]),
             "ms": r["ms"]} for r in result["cases"] if not (only_fail and r["passed"])]
    st.dataframe(rows, hide_index=True, width="stretch")
    import pandas as pd

    per_kind = pd.DataFrame([{"kind": k, "accuracy": v["accuracy"] or 0.0} for k, v in s["per_kind"].items()])
    latency = pd.DataFrame([{"id": r["id"], "ms": r["ms"]} for r in result["cases"]])
    left, right = st.columns(2)
    with left:
        st.markdown("**按类型准确率 Accuracy per kind**")
        st.bar_chart(per_kind, x="kind", y="accuracy")
    with right:
        st.markdown("**每题耗时 Latency per case (ms)**")
        st.bar_chart(latency, x="id", y="ms")
    baselines = sorted((REPO_ROOT / "evals" / "baselines").glob("*.json"))
    if baselines:
        base_path = st.selectbox("对比基线 Compare with baseline", baselines, format_func=lambda p: p.name)
        try:
            cmp = diff_runs(result, load_result(base_path))
        except RagError as exc:
            show_error(exc)
        else:
            st.dataframe([{"metric": k, **v} for k, v in cmp["deltas"].items()], hide_index=True)
            st.markdown(escape_md(f"pass→fail: {', '.join(cmp['pass_to_fail']) or 'none'} · "
                                  f"fail→pass: {', '.join(cmp['fail_to_pass']) or 'none'}"))
    else:
        st.caption("evals/baselines/ 中没有基线 (no stored baseline to compare with).")
    import json

    st.download_button("下载结果 JSON", json.dumps(result, ensure_ascii=False, indent=1), file_name="eval.json",
                       mime="application/json")
