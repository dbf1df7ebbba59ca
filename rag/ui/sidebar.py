"""The sidebar: new conversation, the chat filters, and (folded away) what answers the questions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.ui.chat import new_conversation
from rag.ui.common import ANY
from rag.ui.format import escape_md

FILTER_KEYS = ("f_region", "f_year")


def keep_filters() -> None:
    """Keep the filters when another page is shown (Streamlit drops the state of widgets not drawn)."""
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def sidebar() -> None:
    with st.sidebar:
        st.button("新对话 New conversation", icon=":material/add_comment:", on_click=new_conversation, width="stretch")


def chat_filters(pipeline: Any, slot: Any) -> None:
    """Region/year selectors in the sidebar slot main() keeps for the chat page."""
    with slot:
        st.markdown("**筛选 Filters**")
        regions = sorted(pipeline.retriever.regions())
        years = sorted(pipeline.retriever.years(), reverse=True)
        help_text = ("问题本身写了地区或年份时以问题为准;没写时用这里选的,并优先于前面对话里的地区/年份。"
                     " A region/year named in the question wins; otherwise these apply, over earlier turns.")
        st.selectbox("地区 Region", [ANY, *regions], key="f_region", help=help_text)
        st.selectbox("年份 Year", [ANY, *map(str, years)], key="f_year", help=help_text)


def sidebar_info(pipeline: Any) -> Any:
    """What answers (folded away); returns the (empty) slot above it for the chat filters."""
    info = pipeline.describe()
    with st.sidebar:
        slot = st.container()
        st.divider()
        with st.expander("关于 About", icon=":material/info:"):
            docs = len(pipeline.retriever.documents)
            st.caption(f"{docs} 篇报告 reports · {info['chunks']} 段落 passages")
            st.caption(escape_md(f"生成 generator: {info['generator']} — {info['generator_reason']}"))
            st.caption(escape_md(f"向量 embedder: {info['embedder']}"))
    return slot
