"""The chat page: history, the live answer (extract first, then the model's stream), filters."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from rag.errors import RagError
from rag.ui.common import ANY, AVATAR, Page, error_text, show_error
from rag.ui.format import answer_keys, escape_md, highlight_figures
from rag.ui.sources import render_answer, render_sources


def new_conversation() -> None:
    st.session_state.messages = []


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


def ask(pipeline: Any, question: str, turns: list[str]) -> dict[str, Any]:
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


def chat_page(page: Page) -> None:
    settings, pipeline = page.settings, page.pipeline
    st.title("政府工作报告问答")
    st.caption("Ask about targets and results in the indexed government work reports; every figure is "
               "cited to its passage. 例如:仓山区2024年GDP目标")
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
            msg = ask(pipeline, asked, turns)
        except RagError as exc:
            show_error(exc)
            messages.append({"role": "assistant", "id": uuid.uuid4().hex, "error": error_text(exc)})
            return
        messages.append(msg)
        render_answer(msg, documents, settings)
