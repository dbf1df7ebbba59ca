"""The app around the pages: page config, the missing-index screen, navigation, sidebar."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from rag.config import Settings, get_settings
from rag.errors import RagError
from rag.ui.common import Page, admin_ok, knowledge_base_changed, load_pipeline, progress_callback, show_error

# at phone width: a title that fits one line, buttons that wrap instead of overflowing
PHONE_CSS = """<style>
@media (max-width: 640px) {
  h1 { font-size: 1.5rem !important; word-break: keep-all; }
  [data-testid="stMainBlockContainer"] { padding-left: .75rem; padding-right: .75rem; }
  .stButton button p { white-space: normal; }
}
</style>"""


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


def main() -> None:
    from rag.ui.chat import chat_page
    from rag.ui.eval_page import eval_page
    from rag.ui.facts_page import facts_page
    from rag.ui.kb_page import kb_page
    from rag.ui.sidebar import chat_filters, keep_filters, sidebar, sidebar_info

    st.set_page_config(page_title="政府工作报告问答 · Gov-report RAG", page_icon=":material/description:",
                       layout="wide", initial_sidebar_state="auto")
    st.html(PHONE_CSS)
    keep_filters()
    settings = get_settings()
    sidebar()
    try:
        from rag.index.manifest import require_index

        require_index(settings)
        pipeline = load_pipeline(str(settings.index_dir))
    except RagError as exc:
        from rag.errors import IndexMissingError

        if isinstance(exc, IndexMissingError):
            build_index_screen(settings, exc)
        else:
            show_error(exc)
        st.stop()
    page = Page(settings, pipeline)

    def chat() -> None:
        chat_filters(pipeline, slot)
        chat_page(page)

    pages = [
        st.Page(chat, title="问答 Chat", icon=":material/forum:", url_path="chat", default=True),
        st.Page(lambda: kb_page(page), title="知识库 Knowledge base", icon=":material/library_books:",
                url_path="kb"),
        st.Page(lambda: eval_page(page), title="评测 Evaluation", icon=":material/fact_check:", url_path="eval"),
        st.Page(lambda: facts_page(page), title="指标 Indicators", icon=":material/monitoring:",
                url_path="indicators"),
    ]
    current = st.navigation(pages)
    slot = sidebar_info(pipeline)
    current.run()
