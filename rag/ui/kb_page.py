"""The knowledge-base page: the document table, uploads, delete and re-index (actions in rag.ui.kb)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rag.errors import RagError
from rag.ui.common import Page, admin_ok, knowledge_base_changed, progress_callback, show_error
from rag.ui.format import escape_md


def kb_page(page: Page) -> None:
    from rag.ui.kb import (
        UPLOAD_TYPES,
        delete_documents,
        document_rows,
        report_rows,
        save_uploads,
        upload_results,
    )

    settings = page.settings
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
