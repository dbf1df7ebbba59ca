"""The sidebar: new conversation, top-k, the chat filters and what answers (generator, embedder)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.config import Settings
from rag.ui.chat import new_conversation
from rag.ui.common import ANY
from rag.ui.format import escape_md


def sidebar(settings: Settings) -> int:
    with st.sidebar:
        st.button("新对话 New conversation", icon=":material/add_comment:", on_click=new_conversation, width="stretch")
        k = st.slider("top-k 段落数", 1, 10, settings.top_k, key="top_k",
                      help="检索并显示的段落数 Number of passages retrieved")
    return int(k)


def chat_filters(pipeline: Any, slot: Any) -> None:
    """Region/year selectors in the sidebar slot main() keeps for the chat page."""
    with slot:
        st.markdown("**筛选 Filters**")
        regions = sorted(pipeline.retriever.regions())
        years = sorted({c.year for c in pipeline.retriever.chunks if c.year}, reverse=True)
        help_text = ("只在问题本身没有提到地区/年份时,才把所选地区/年份加在问题前面;"
                     "问题里写了地区或年份就以问题为准。")
        st.selectbox("地区 Region", [ANY, *regions], key="f_region", help=help_text)
        st.selectbox("年份 Year", [ANY, *map(str, years)], key="f_year", help=help_text)


def sidebar_info(pipeline: Any) -> Any:
    """Generator and embedder; returns the (empty) slot above them for the chat filters."""
    info = pipeline.describe()
    with st.sidebar:
        slot = st.container()
        st.divider()
        st.markdown(f"**生成 Generator:** `{info['generator']}`")
        st.caption(escape_md(str(info["generator_reason"])))
        st.markdown(f"**向量 Embedder:** `{info['embedder']}`")
        st.caption(f"索引 index generation {info['index_generation']} · {info['chunks']} chunks · "
                   f"{len(pipeline.retriever.documents)} docs · chunking {info['chunking']}")
    return slot
