"""The chat page: history, the live answer of a background job, a queue for questions sent meanwhile.

Flow of one question: the input (or an example button) puts it in ``st.session_state.queue``;
``advance`` starts an ``AnswerJob`` when none runs and moves a finished job into the history. The
live answer is a fragment redrawn every half second: the extractive draft is THE answer (with its
sources) until the model's text is checked; above the Stop button the model's status and elapsed
time. Sidebar filters travel with the question as ``Filters`` (never as text in the question).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections import Counter
from typing import Any

import streamlit as st

from rag.errors import RagError
from rag.lexicon import indicator_by_name
from rag.types import Filters
from rag.ui.common import ANY, AVATAR, Page, error_text
from rag.ui.format import escape_md
from rag.ui.jobs import AnswerJob
from rag.ui.sources import render_answer

POLL_S = 0.5  # the live answer is redrawn this often
QUICK_S = 1.5  # an answer done within this time goes straight into the history


def new_conversation() -> None:
    job = st.session_state.get("job")
    if job is not None:
        job.stop()
    st.session_state.messages = []
    st.session_state.queue = []
    st.session_state.job = None


def current_filters() -> Filters:
    """The sidebar's region/year as explicit filters."""
    region = st.session_state.get("f_region", ANY)
    year = st.session_state.get("f_year", ANY)
    return Filters(None if region == ANY else region, None if year == ANY else int(year))


def filters_label(filters: Filters) -> str:
    bits = [b for b in (filters.region, f"{filters.year}年" if filters.year else None) if b]
    return "筛选 Filters: " + " · ".join(bits) if bits else ""


def enqueue(question: str | None = None) -> None:
    """Queue a question (the chat input's on_submit, or an example button)."""
    text = (question if question is not None else st.session_state.get("chat_q") or "").strip()
    if text:
        st.session_state.setdefault("queue", []).append({"question": text, "filters": current_filters()})


def advance(page: Page) -> AnswerJob | None:
    """Move a finished job into the history; start the next queued question when the model is free."""
    messages: list[dict[str, Any]] = st.session_state.setdefault("messages", [])
    queue: list[dict[str, Any]] = st.session_state.setdefault("queue", [])
    job: AnswerJob | None = st.session_state.get("job")
    if job is not None and job.done:
        if job.error is not None:
            messages.append({"role": "assistant", "id": job.id, "error": error_text(job.error)})
        else:
            messages.append({"role": "assistant", "id": job.id, "answer": job.answer, "streamed": job.streamed,
                             "draft_notices": job.draft.notices if job.draft else (), "seconds": job.seconds})
        job = st.session_state.job = None
    if job is None and queue:
        item = queue.pop(0)
        turns = [m["content"] for m in messages if m["role"] == "user"]
        messages.append({"role": "user", "content": item["question"], "filters": item["filters"],
                         "id": uuid.uuid4().hex})
        job = st.session_state.job = AnswerJob.start(page.pipeline, item["question"], turns, item["filters"])
        if job.wait(QUICK_S):  # a quick (extractive) answer is drawn in this run, without polling
            return advance(page)
    return job


def example_questions(settings: Any, pipeline: Any) -> list[str]:
    """Questions this index answers: annual targets found in its indicator table (any index, any region).

    The most common indicator of the newest year with a target in two regions gives a lookup, a
    second indicator, a comparison and the same lookup in English.
    """
    from rag.facts import query_facts

    try:
        facts = [f for f in query_facts(settings) if f.kind == "target" and f.region and f.year
                 and not f.region_inferred and not f.redacted and f.value is not None]
    except (RagError, OSError, sqlite3.Error):  # no indicator table: no examples, the page still works
        return []
    if not facts:
        return []
    year = max(f.year for f in facts if f.year)
    newest = [f for f in facts if f.year == year]
    common = Counter(f.indicator for f in newest).most_common()
    indicator = common[0][0]
    regions = sorted({f.region for f in newest if f.indicator == indicator and f.region})
    out = [f"{regions[0]}{year}年{indicator}目标是多少?"]
    if len(common) > 1:
        other = next((f for f in newest if f.indicator == common[1][0]), None)
        if other is not None:
            out.append(f"{other.region}{year}年{other.indicator}目标")
    if len(regions) > 1:
        out.append(f"{regions[0]}和{regions[1]}{year}年{indicator}目标相比如何?")
    known = indicator_by_name(indicator)
    if known is not None and known.english:  # the English name the question parser knows
        name = known.english[0].upper() if len(known.english[0]) <= 4 else known.english[0]  # gdp -> GDP
        out.append(f"What was the {name} target of {regions[0]} for {year}?")
    return out


def start_screen(page: Page) -> None:
    examples = example_questions(page.settings, page.pipeline)
    if not examples:
        return
    st.markdown("试试这些问题 Try one of these:")
    with st.container(horizontal=True):
        for i, q in enumerate(examples):
            st.button(q, key=f"example-{i}", on_click=enqueue, args=(q,), icon=":material/help:")


def render_user(msg: dict[str, Any], note: str = "") -> None:
    with st.chat_message("user", avatar=AVATAR["user"]):
        st.markdown(escape_md(msg["content"]))
        label = filters_label(msg.get("filters") or Filters())
        if label or note:
            st.caption(escape_md(" · ".join(b for b in (label, note) if b)))


STATUS_EN = [(re.compile(r"排队中.*?(\d+)个"), "queued, {0} ahead"), (re.compile(r"阅读(\d+)段"), "model reading {0} passages"),
             (re.compile(r"生成|写"), "model writing")]


def status_label(status: str, elapsed: float) -> str:
    """The pipeline's status line with an English gloss and the elapsed time.

    >>> status_label("排队中,前面还有2个", 3.2)
    '排队中,前面还有2个 queued, 2 ahead · 3 s'
    >>> status_label("", 12)
    '准备生成 preparing · 12 s'
    """
    if not status:
        return f"准备生成 preparing · {elapsed:.0f} s"
    gloss = next((en.format(*m.groups()) for rx, en in STATUS_EN if (m := rx.search(status))), "")
    return f"{status} {gloss} · {elapsed:.0f} s" if gloss else f"{status} · {elapsed:.0f} s"


@st.fragment(run_every=POLL_S)
def live_answer(job: AnswerJob, page: Page) -> None:
    """The answer being worked out: draft + sources, the model's progress, Stop."""
    if job.done:
        st.rerun()  # the whole page: the answer moves into the history
    with st.chat_message("assistant", avatar=AVATAR["assistant"]):
        if job.draft is None:
            st.markdown(f"检索中 Searching the reports… {job.elapsed:.0f} s")
        else:
            render_answer({"id": job.id, "answer": job.draft}, page.pipeline.retriever.documents, page.settings,
                          live=True)
        if job.draft is not None or job.status:
            with st.status(status_label(job.status, job.elapsed), state="running", expanded=bool(job.pieces)):
                st.caption("模型正在改写答案;在它的文本核对完成前,上面的摘录答案就是答案。"
                           " The model is rewording the answer; until its text is checked, the answer above stands.")
                if job.pieces:
                    st.text(job.streamed)
        st.button("停止生成 Stop", icon=":material/stop_circle:", key=f"stop-{job.id}", on_click=job.stop,
                  disabled=job.cancel.is_set())


def chat_page(page: Page) -> None:
    pipeline = page.pipeline
    st.title("政府工作报告问答")
    st.caption("问报告里的目标、完成情况和数字;每个数字都引用原文段落。"
               " Ask about targets and results in the indexed government work reports; every figure is cited.")
    job = advance(page)
    messages: list[dict[str, Any]] = st.session_state.messages
    queue: list[dict[str, Any]] = st.session_state.queue
    if not messages and job is None:
        start_screen(page)
    documents = pipeline.retriever.documents
    for msg in messages:
        if msg["role"] == "user":
            render_user(msg)
            continue
        with st.chat_message("assistant", avatar=AVATAR["assistant"]):
            if msg.get("error"):
                st.error(msg["error"], icon=":material/error:")
            else:
                render_answer(msg, documents, page.settings)
    if job is not None:
        live_answer(job, page)
    for item in queue:
        render_user({"content": item["question"], "filters": item["filters"]},
                    note="排队中,上一个回答完成后开始 queued: starts when the answer above is done")
    st.chat_input("输入问题 Ask a question", key="chat_q", on_submit=enqueue)
