"""An answer as shown in the chat: text with linked citations, notices, source cards, copy and feedback."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import Settings
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
    match_words,
    md_lines,
    new_spans,
    source_links,
)


def feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore(Path(settings.index_dir) / "feedback.sqlite")


def on_feedback(key: str, msg: dict[str, Any], settings: Settings) -> None:
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


GENERATOR_WORDS = {"extractive": "原文摘录 quoted from the reports", "local": "本地模型 local model",
                   "openai": "在线模型 remote model"}


def render_sources(passages: Sequence[ScoredChunk], cited: set[int] | None,
                   keys: set[Any], anchor: str, documents: dict[str, Any]) -> None:
    """Numbered source cards: passage with the answer's figures marked, and the whole document.

    ``cited`` is None while the answer is not final yet (nothing is marked as cited then). Chunks
    overlap by design: a card shows only what the cards before it did not (and says so).
    """
    if not passages:
        return
    label = f"检索到的段落 Retrieved passages ({len(passages)})"
    if cited is not None:
        label += " — 已引用 cited: " + (", ".join(f"[{n}]" for n in sorted(cited)) or "无 none")
    st.caption(label)
    cited = cited or set()
    shown = new_spans([(sc.chunk.doc_id, sc.chunk.start, sc.chunk.end) for sc in passages])
    for n, (sc, (start, end, over)) in enumerate(zip(passages, shown, strict=True), 1):
        c = sc.chunk
        text = c.text[start - c.start:end - c.start] if (start, end) != (c.start, c.end) else c.text
        st.markdown(f'<div id="{anchor}-{n}"></div>', unsafe_allow_html=True)
        with st.expander(card_label(n, c.title, c.region, c.year, c.section, n in cited, text),
                         expanded=n in cited, icon=":material/task_alt:" if n in cited else ":material/article:"):
            inferred = " · 地区为推断 region inferred" if c.region_inferred else ""
            st.caption(escape_md(f"《{c.title}》 · {c.section or '—'}{inferred} · {match_words(sc.ranks)}"))
            if over is not None:
                note = "与上面的段落重叠" if (start, end) == (c.start, c.end) else "与上面的段落重叠的部分已略去"
                st.caption(f"{note} overlaps passage [{over}]")
            st.markdown(highlight_figures(text, keys, multiline=True), unsafe_allow_html=True)
            doc = documents.get(c.doc_id)
            if doc is not None and st.toggle("查看全文 Full document", key=f"full-{anchor}-{n}"):
                st.iframe(full_text_html(doc.text, c.start, c.end, keys, doc.title), height=420)


def render_answer(msg: dict[str, Any], documents: dict[str, Any], settings: Settings, *, live: bool = False) -> None:
    """An answer: text with linked citations, notices, sources, and (once final) copy and feedback.

    Notices about the model's text (declined, unchecked figure, stopped) are not shown as warnings
    when the quoted answer stands: one line says it stands, the details sit with the unused text.
    """
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
    before = msg.get("draft_notices")
    model_notes = [n for n in answer.notices if before is not None and n not in before]
    stands = not answer.refused and answer.generator == "extractive" and bool(model_notes)
    for notice in answer.notices:
        if not (stands and notice in model_notes):
            st.warning(escape_md(notice), icon=":material/warning:")
    streamed = msg.get("streamed")
    if stands:
        st.info("答案不变:以上是报告原文摘录,已核对;模型的改写未采用。"
                " The answer above stands (quoted from the reports); the model's rewording was not used.",
                icon=":material/verified:")
    if (streamed or stands) and answer.generator == "extractive":
        with st.expander("未采用的生成文本 The model's unused text"):
            for note in model_notes:
                st.caption(escape_md(note))
            if streamed:
                st.text(streamed)
    meta = [] if answer.refused else [GENERATOR_WORDS.get(answer.generator, answer.generator)]
    seconds = msg.get("seconds") or answer.timings_ms.get("total", 0) / 1000
    meta.append(f"{seconds:.1f} s")
    if answer.standalone_question and answer.standalone_question != answer.question:
        meta.insert(0, f"理解为 understood as: {answer.standalone_question}")
    if live:
        meta.insert(0, "先给出摘录答案 quick answer first")
    st.caption(escape_md(" · ".join(meta)))
    render_sources(answer.passages, cited, answer_keys(answer.answer) if not answer.refused else set(),
                   anchor, documents)
    if live:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        key = f"fb-{msg['id']}"
        st.feedback("thumbs", key=key, on_change=on_feedback, args=(key, msg, settings))
        with st.popover("复制 Copy", icon=":material/content_copy:", help="复制答案和来源 Copy the answer with its sources"):
            st.code(copy_text(answer), language=None, wrap_lines=True)
