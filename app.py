"""Streamlit UI of gov-report RAG: chat with citations, knowledge base, evaluation, indicators.

    streamlit run app.py            # settings from RAG_* env vars / .env, like the CLI

UI only: the pipeline (rag.answer.pipeline), text helpers (rag.ui.format), knowledge-base actions
(rag.ui.kb) and the feedback store (rag.ui.feedback) hold the logic.
"""

from __future__ import annotations

import hmac
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from rag.config import REPO_ROOT, Settings, get_settings
from rag.errors import RagError
from rag.textnorm import CITATION_RE
from rag.types import Answer, ScoredChunk
from rag.ui.feedback import FeedbackStore
from rag.ui.format import (
    answer_keys,
    card_label,
    escape_md,
    full_text_html,
    highlight_figures,
    link_citations,
    md_lines,
    source_links,
)

st.set_page_config(page_title="政府工作报告问答 · Gov-report RAG", page_icon=":material/description:", layout="wide")

ANY = "(不限 any)"
AVATAR = {"user": ":material/person:", "assistant": ":material/description:"}
CTX: dict[str, Any] = {}  # settings and pipeline of this run, set by main() before the page runs


# ------------------------------------------------------------------------------ resources
@st.cache_resource(show_spinner="加载生成模型 Loading generator…")
def _generator(index_dir: str) -> tuple[Any, str]:
    """The generator is shared by the pipelines of every top-k (a local model is loaded once)."""
    from rag.answer.generators import select_generator

    return select_generator(get_settings(index_dir=Path(index_dir)))


@st.cache_resource(show_spinner="加载索引 Loading index…")
def load_pipeline(index_dir: str, top_k: int) -> Any:
    """One pipeline per (index, top-k); never mutated after it is returned."""
    from rag.answer.pipeline import Pipeline
    from rag.search.retrieve import Retriever

    settings = get_settings(index_dir=Path(index_dir), top_k=top_k)
    generator, reason = _generator(index_dir)
    pipeline = Pipeline(settings, Retriever(settings), generator=generator)
    pipeline.generator_reason = reason
    return pipeline


def knowledge_base_changed() -> None:
    """Drop cached pipelines so the next run loads the new index generation."""
    load_pipeline.clear()


def show_error(exc: RagError) -> None:
    st.error(f"{exc.message}\n\n→ {exc.hint}" if exc.hint else exc.message, icon=":material/error:")


def progress_callback(bar: Any) -> Any:
    def update(stage: str, done: int, total: int) -> None:
        frac = done / total if total else 0.0
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{stage} {done}/{total}" if total else stage)
    return update


def admin_ok(settings: Settings, where: str) -> bool:
    """Changing the knowledge base needs RAG_ADMIN_PASSWORD when one is set (asking never does)."""
    if not settings.admin_password:
        return True
    given = st.text_input("管理员密码 Admin password", type="password", key=f"pw-{where}",
                          help="设置了 RAG_ADMIN_PASSWORD:修改知识库需要密码;提问不需要。")
    if given and hmac.compare_digest(given.encode(), settings.admin_password.encode()):
        return True
    if given:
        st.error("密码不正确 Wrong password")
    return False


def build_index_screen(settings: Settings, exc: RagError) -> None:
    """No index yet: say how to build it, and offer to build it from the corpus folder."""
    show_error(exc)
    st.markdown(f"命令行 CLI: `rag ingest {settings.corpus_dir}` — 或者在这里从 `{settings.corpus_dir}` 构建:")
    if admin_ok(settings, "build") and st.button("从 corpus/ 构建索引 Build index", type="primary"):
        from rag.index.run import ingest

        bar = st.progress(0.0, text="开始 starting…")
        try:
            report = ingest([Path(settings.corpus_dir)], settings, progress=progress_callback(bar))
        except RagError as err:
            show_error(err)
            return
        knowledge_base_changed()
        st.success(f"已索引 {len(report.indexed)} 个文件,{report.chunks_total} 个段落 ({report.seconds:.0f} s)")
        if report.skipped:
            st.warning("跳过 skipped: " + ";".join(f"{s}: {r}" for s, r in report.skipped))
        st.button("打开问答 Open chat")


# ------------------------------------------------------------------------------ chat
def new_conversation() -> None:
    st.session_state.messages = []


def feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore(Path(settings.index_dir) / "feedback.sqlite")


def on_feedback(key: str, msg: dict[str, Any], settings: Settings) -> None:
    import sqlite3

    value = st.session_state.get(key)
    store = feedback_store(settings)
    try:
        if value is None:
            store.remove(msg["id"])
        else:
            store.record(msg["id"], msg["answer"], int(value))
    except (OSError, sqlite3.Error) as exc:  # e.g. a read-only index directory
        st.toast(f"反馈未能保存 feedback not saved: {exc}", icon=":material/error:")
        return
    st.toast("谢谢反馈 Thanks for the feedback", icon=":material/check:")


def copy_text(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines += [f"[{c.id}] {c.title}({c.region or '地区未知'} {c.year or ''}年 · {c.section})"
                  for c in answer.citations]
    return "\n".join(lines)


def render_sources(passages: tuple[ScoredChunk, ...] | list[ScoredChunk], cited: set[int] | None,
                   keys: set[Any], anchor: str, documents: dict[str, Any]) -> None:
    """Numbered source cards: passage with the answer's figures marked, and the whole document.

    ``cited`` is None while the answer is not final yet (nothing is marked as cited then).
    """
    if not passages:
        return
    label = f"检索到的段落 Retrieved passages ({len(passages)})"
    if cited is not None:
        label += " — 已引用 cited: " + (", ".join(f"[{n}]" for n in sorted(cited)) or "无 none")
    st.caption(label)
    cited = cited or set()
    for n, sc in enumerate(passages, 1):
        c = sc.chunk
        st.markdown(f'<div id="{anchor}-{n}"></div>', unsafe_allow_html=True)
        with st.expander(card_label(n, c.title, c.region, c.year, c.section, n in cited), expanded=n in cited,
                         icon=":material/task_alt:" if n in cited else ":material/article:"):
            inferred = "(地区为推断 inferred)" if c.region_inferred else ""
            st.caption(f"{escape_md(c.source)} · {escape_md(c.section or '—')} · score {sc.score:.3f}{inferred}")
            st.markdown(highlight_figures(c.text, keys, multiline=True), unsafe_allow_html=True)
            doc = documents.get(c.doc_id)
            if doc is not None and st.toggle("查看全文 Full document", key=f"full-{anchor}-{n}"):
                st.iframe(full_text_html(doc.text, c.start, c.end, keys, doc.title), height=420)


def render_answer(msg: dict[str, Any], documents: dict[str, Any], settings: Settings) -> None:
    """An answer from the history: text with linked citations, notices, sources, copy and feedback."""
    answer: Answer = msg["answer"]
    anchor = f"a{msg['id'][:8]}"
    cited = {c.id for c in answer.citations}
    if answer.refused:
        st.warning(md_lines(escape_md(answer.answer)), icon=":material/block:")
        if answer.refusal_reason and answer.refusal_reason not in answer.answer:
            st.caption("拒答原因 Reason: " + escape_md(answer.refusal_reason))
    else:
        text = link_citations(answer.answer, anchor, cited)
        if cited and not {int(n) for n in CITATION_RE.findall(answer.answer)} & cited:
            text += "\n\n" + source_links(anchor, cited)  # cited by the checker, not marked in the text
        st.markdown(text, unsafe_allow_html=True)
    for notice in answer.notices:
        st.warning(escape_md(notice), icon=":material/warning:")
    streamed = msg.get("streamed")
    if streamed and answer.generator == "extractive":  # the generated text was replaced (see notices)
        with st.expander("未采用的生成文本 Generated text (not shown as the answer)"):
            st.text(streamed)
    meta = [f"generator: {answer.generator}", f"{answer.timings_ms.get('total', 0):.0f} ms"]
    if answer.standalone_question and answer.standalone_question != answer.question:
        meta.insert(0, f"理解为 understood as: {answer.standalone_question}")
    st.caption(escape_md(" · ".join(meta)))
    render_sources(answer.passages, cited, answer_keys(answer.answer) if not answer.refused else set(),
                   anchor, documents)
    with st.container(horizontal=True, vertical_alignment="center"):
        key = f"fb-{msg['id']}"
        st.feedback("thumbs", key=key, on_change=on_feedback, args=(key, msg, settings))
        with st.popover("复制 Copy", icon=":material/content_copy:", help="复制答案和来源 Copy the answer with its sources"):
            st.code(copy_text(answer), language=None, wrap_lines=True)


def apply_filters(question: str, region: str, year: str, regions: set[str]) -> str:
    """Prefix the sidebar's region/year only when the question names none (see the help text)."""
    from rag.search.query import parse_question

    parsed = parse_question(question, regions)
    prefix = ""
    if region != ANY and not parsed.regions and not parsed.unknown_regions:
        prefix += region
    if year != ANY and not parsed.years:
        prefix += f"{year}年"
    return prefix + question


def ask(pipeline: Any, question: str, turns: list[str], settings: Settings) -> dict[str, Any]:
    """Run one question live (passages and extract first, then the stream) and return the message."""
    msg: dict[str, Any] = {"role": "assistant", "id": uuid.uuid4().hex, "streamed": None}
    live = st.empty()
    with live.container():
        with st.spinner("检索中 Retrieving…"):
            prep = pipeline.prepare(question, turns)
        if prep.extract.text and not prep.refusal:
            st.caption("摘录答案 Extractive answer")
            st.markdown(highlight_figures(prep.extract.text, set(), multiline=True), unsafe_allow_html=True)
        gen_slot = st.container()  # the stream goes above the passages, which are shown at once
        render_sources(prep.passages, None, answer_keys(prep.extract.text), "live",
                       pipeline.retriever.documents)
        error = ""
        if prep.messages:
            with gen_slot, st.status("生成中… Generating", expanded=True) as status:
                try:
                    msg["streamed"] = st.write_stream(pipeline.stream(prep))
                    status.update(label="生成完成 Generated", state="complete", expanded=False)
                except RagError as exc:
                    error = f"生成模型不可用,已改用原文摘录回答:{exc.message}"
                    status.update(label="生成失败 Generation failed", state="error")
    streamed = msg["streamed"] if isinstance(msg["streamed"], str) else None
    msg["streamed"] = streamed
    msg["answer"] = pipeline.finalize(prep, streamed, error) if prep.messages else pipeline.finalize(prep)
    live.empty()
    return msg


def chat_page() -> None:
    settings, pipeline = CTX["settings"], CTX["pipeline"]
    st.title("政府工作报告问答")
    st.caption("Ask about targets and results in the indexed government work reports; every figure is "
               "cited to its passage. 例如:仓山区2024年GDP目标")
    chat_filters(pipeline)
    messages: list[dict[str, Any]] = st.session_state.setdefault("messages", [])
    documents = pipeline.retriever.documents
    for msg in messages:
        with st.chat_message(msg["role"], avatar=AVATAR[msg["role"]]):
            if msg["role"] == "user":
                st.markdown(escape_md(msg["content"]))
            elif msg.get("error"):
                st.error(msg["error"], icon=":material/error:")
            else:
                render_answer(msg, documents, settings)
    question = st.chat_input("输入问题 Ask a question,例如:仓山区2024年GDP目标")
    if not question:
        return
    asked = apply_filters(question, st.session_state.get("f_region", ANY), st.session_state.get("f_year", ANY),
                          pipeline.retriever.regions())
    turns = [m.get("asked", m["content"]) for m in messages if m["role"] == "user"]
    messages.append({"role": "user", "content": question, "asked": asked})
    with st.chat_message("user", avatar=AVATAR["user"]):
        st.markdown(escape_md(question))
        if asked != question:
            st.caption(escape_md(f"按侧栏筛选提问 asked with sidebar filters: {asked}"))
    with st.chat_message("assistant", avatar=AVATAR["assistant"]):
        try:
            msg = ask(pipeline, asked, turns, settings)
        except RagError as exc:
            show_error(exc)
            messages.append({"role": "assistant", "id": uuid.uuid4().hex,
                             "error": f"{exc.message}\n\n→ {exc.hint}" if exc.hint else exc.message})
            return
        messages.append(msg)
        render_answer(msg, documents, settings)


# ------------------------------------------------------------------------------ knowledge base
def kb_page() -> None:
    from rag.ui.kb import (
        UPLOAD_TYPES,
        delete_documents,
        document_rows,
        report_rows,
        save_uploads,
        upload_results,
    )

    settings = CTX["settings"]
    st.title("知识库 Knowledge base")
    rows = document_rows(Path(settings.index_dir))
    st.caption(f"{len(rows)} 篇文档 documents · index `{settings.index_dir}` · corpus `{settings.corpus_dir}`")
    table = [{"标题 title": r["title"], "地区 region": r["region"], "年份 year": r["year"],
              "段落 chunks": r["chunks"], "加入 added": r["added"], "内容哈希 sha256": r["sha256"],
              "文件 source": r["source"]} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    inferred = [r for r in rows if "推断" in r["region"]]
    for r in inferred:
        st.caption(escape_md(f"推断 inferred: {r['source']} → {r['region']}: {r['region_evidence']}"))

    st.subheader("上传 Upload")
    allowed = admin_ok(settings, "kb")
    gen = st.session_state.setdefault("uploader_gen", 0)
    files = st.file_uploader(f"报告文件 Report files ({', '.join(UPLOAD_TYPES)}; ≤ {settings.upload_max_mb} MB)",
                             type=list(UPLOAD_TYPES), accept_multiple_files=True, key=f"up-{gen}",
                             max_upload_size=settings.upload_max_mb, disabled=not allowed)
    if st.button("导入并索引 Import", disabled=not allowed or not files, type="primary"):
        from rag.index.run import ingest

        saved, rejected = save_uploads([(f.name, f.getvalue()) for f in files or []], settings)
        result = list(rejected)
        if saved:
            bar = st.progress(0.0, text="索引中 indexing…")
            try:
                report = ingest(saved, settings, progress=progress_callback(bar))
                result += upload_results(saved, report)
            except RagError as exc:
                show_error(exc)
            knowledge_base_changed()
        st.session_state["kb_result"] = result
        st.session_state["uploader_gen"] = gen + 1
        st.rerun()
    if st.session_state.get("kb_result"):
        st.markdown("**导入结果 Result per file**")
        st.dataframe(st.session_state["kb_result"], hide_index=True, width="stretch")

    st.subheader("删除 / 重新索引 Delete / Re-index")
    labels = {r["doc_id"]: f"{r['region']} {r['year'] or ''} · {r['title']} · {r['source']}" for r in rows}
    chosen = st.multiselect("要删除的文档 Documents to delete", list(labels), format_func=lambda d: labels.get(d, d),
                            disabled=not allowed,
                            help="从索引中移除;位于 uploads/ 的上传文件同时删除,corpus 中的其他文件保留在磁盘上"
                                 "(重新索引 corpus 会再次加入)。")
    cols = st.columns(2)
    if cols[0].button("删除 Delete", disabled=not allowed or not chosen):
        removed, deleted = delete_documents(chosen, settings)
        knowledge_base_changed()
        st.session_state["kb_result"] = ([{"file": s, "status": "已移除 removed", "detail": ""} for s in removed]
                                         + [{"file": f, "status": "文件已删除 file deleted", "detail": "uploads/"}
                                            for f in deleted])
        st.rerun()
    if cols[1].button(f"重新索引 Re-index {settings.corpus_dir.name}/", disabled=not allowed):
        from rag.index.run import ingest

        bar = st.progress(0.0, text="索引中 indexing…")
        try:
            report = ingest([Path(settings.corpus_dir)], settings, progress=progress_callback(bar))
            st.session_state["kb_result"] = report_rows(report)
        except RagError as exc:
            show_error(exc)
            return
        knowledge_base_changed()
        st.rerun()


# ------------------------------------------------------------------------------ evaluation
def eval_page() -> None:
    from rag.eval.metrics import diff_runs
    from rag.eval.run import build_result, load_cases, load_result, run_cases, run_meta

    settings, pipeline = CTX["settings"], CTX["pipeline"]
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


# ------------------------------------------------------------------------------ indicators
def facts_page() -> None:
    import sqlite3

    import pandas as pd

    settings = CTX["settings"]
    st.title("指标 Indicators")
    st.caption("从报告原文自动抽取的指标表(目标 / 实际 / 预计),每行都指向原文;数值以原文为准。"
               " Figures extracted from the reports; check the clause before quoting.")
    try:
        from rag.facts.table import KIND_ZH, MEASURE_ZH, query_facts
    except ImportError:
        st.info("指标表尚未构建 — the indicator table (rag/facts/table.py) is not available yet.")
        return
    try:
        facts = query_facts(settings)
    except RagError as exc:
        show_error(exc)
        return
    except (OSError, sqlite3.Error) as exc:
        st.error(f"指标表无法读取或构建 cannot read/build the indicator table: {exc}", icon=":material/error:")
        return
    if not facts:
        st.info("指标表为空 — no indicator figures were found in the indexed reports.")
        return
    df = pd.DataFrame([{
        "地区 region": (f.region or "未知") + ("(推断)" if f.region_inferred else ""),
        "年份 year": f.year, "指标 indicator": f.indicator, "口径 measure": MEASURE_ZH.get(f.measure, f.measure),
        "数值 value": f.display_value(), "value": f.value, "单位 unit": f.unit,
        "类型 kind": KIND_ZH.get(f.kind, f.kind), "原文 clause": f.clause, "来源 source": f.source,
        "章节 section": f.section,
    } for f in facts])
    cols = st.columns(4)
    filters = {
        "地区 region": cols[0].multiselect("地区 Region", sorted(df["地区 region"].unique())),
        "年份 year": cols[1].multiselect("年份 Year", sorted(df["年份 year"].dropna().unique().astype(int))),
        "指标 indicator": cols[2].multiselect("指标 Indicator", sorted(df["指标 indicator"].unique())),
        "类型 kind": cols[3].multiselect("类型 Kind", [KIND_ZH[k] for k in KIND_ZH]),
    }
    shown = df
    for col, wanted in filters.items():
        if wanted:
            shown = shown[shown[col].isin(wanted)]
    st.caption(f"{len(shown)} / {len(df)} 条 rows")
    st.dataframe(shown.drop(columns=["value"]), hide_index=True, width="stretch")

    st.subheader("按指标对比 Per indicator")
    groups = (shown.dropna(subset=["value"]).groupby(["指标 indicator", "口径 measure", "单位 unit"])
              .size().sort_values(ascending=False))
    if groups.empty:
        st.caption("没有可画图的数值 no numeric figures to chart.")
        return
    options = [f"{i} · {m} ({u})" for i, m, u in groups.index]
    pick = st.selectbox("指标 Indicator", options)
    ind, measure, unit = groups.index[options.index(pick)]
    sel = shown[(shown["指标 indicator"] == ind) & (shown["口径 measure"] == measure) & (shown["单位 unit"] == unit)]
    sel = sel.dropna(subset=["value"]).assign(
        label=lambda d: d["地区 region"] + " " + d["年份 year"].map(lambda y: f"{int(y)}" if pd.notna(y) else "?"))
    chart = sel.pivot_table(index="label", columns="类型 kind", values="value", aggfunc="first")
    st.bar_chart(chart, y_label=unit, stack=False)


# ------------------------------------------------------------------------------ main
def sidebar(settings: Settings) -> int:
    with st.sidebar:
        st.button("新对话 New conversation", icon=":material/add_comment:", on_click=new_conversation, width="stretch")
        k = st.slider("top-k 段落数", 1, 10, settings.top_k, key="top_k",
                      help="检索并显示的段落数 Number of passages retrieved")
    return int(k)


def chat_filters(pipeline: Any) -> None:
    """Region/year selectors in the sidebar slot main() keeps for the chat page."""
    with CTX["filters"]:
        st.markdown("**筛选 Filters**")
        regions = sorted(pipeline.retriever.regions())
        years = sorted({c.year for c in pipeline.retriever.chunks if c.year}, reverse=True)
        help_text = ("只在问题本身没有提到地区/年份时,才把所选地区/年份加在问题前面;"
                     "问题里写了地区或年份就以问题为准。")
        st.selectbox("地区 Region", [ANY, *regions], key="f_region", help=help_text)
        st.selectbox("年份 Year", [ANY, *map(str, years)], key="f_year", help=help_text)


def sidebar_info(pipeline: Any) -> None:
    info = pipeline.describe()
    with st.sidebar:
        CTX["filters"] = st.container()
        st.divider()
        st.markdown(f"**生成 Generator:** `{info['generator']}`")
        st.caption(escape_md(str(info["generator_reason"])))
        st.markdown(f"**向量 Embedder:** `{info['embedder']}`")
        st.caption(f"索引 index generation {info['index_generation']} · {info['chunks']} chunks · "
                   f"{len(pipeline.retriever.documents)} docs · chunking {info['chunking']}")


def main() -> None:
    settings = get_settings()
    k = sidebar(settings)
    try:
        from rag.index.run import require_index

        require_index(settings)
        pipeline = load_pipeline(str(settings.index_dir), k)
    except RagError as exc:
        from rag.errors import IndexMissingError

        if isinstance(exc, IndexMissingError):
            build_index_screen(settings, exc)
        else:
            show_error(exc)
        st.stop()
    CTX["settings"], CTX["pipeline"] = settings, pipeline
    pages = [
        st.Page(chat_page, title="问答 Chat", icon=":material/forum:", url_path="chat", default=True),
        st.Page(kb_page, title="知识库 Knowledge base", icon=":material/library_books:", url_path="kb"),
        st.Page(eval_page, title="评测 Evaluation", icon=":material/fact_check:", url_path="eval"),
        st.Page(facts_page, title="指标 Indicators", icon=":material/monitoring:", url_path="indicators"),
    ]
    page = st.navigation(pages)
    sidebar_info(pipeline)
    page.run()


main()
