"""The knowledge-base page: the document table, uploads, delete (with confirmation) and re-index.

The actions live in rag.ui.kb (no Streamlit there); this module only draws them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import Settings
from rag.errors import RagError
from rag.ui.common import Page, admin_ok, knowledge_base_changed, progress_callback, show_error
from rag.ui.format import escape_md

RESULT_COLUMNS = {"file": st.column_config.TextColumn("文件 file", width="medium"),
                  "status": st.column_config.TextColumn("结果 status", width="small"),
                  "detail": st.column_config.TextColumn("说明 detail", width="large")}


def document_table(rows: list[dict[str, Any]]) -> None:
    table = [{"标题 title": r["title"], "地区 region": r["region"],
              "年份 year": str(r["year"]) if r["year"] else "—", "段落 passages": r["chunks"],
              "加入 added": r["added"] or "—", "文件 file": r["source"],
              "地区依据 region from": r["why"] if "推断" in r["region"] or r["region"] == "未知" else ""}
             for r in rows]
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"标题 title": st.column_config.TextColumn(width="medium"),
                                "地区依据 region from": st.column_config.TextColumn(width="large")})


@st.cache_data(show_spinner=False, max_entries=4)
def planted(index_dir: str, stamp: tuple[tuple[int, int], ...]) -> list[dict[str, str]]:
    """Chunks with text planted for an AI reader (cached per index state, see ``manifest_stamp``)."""
    from rag.ui.kb import planted_text_rows

    return planted_text_rows(Path(index_dir))


def manifest_stamp(index_dir: Path) -> tuple[tuple[int, int], ...]:
    """(mtime, size) of the manifest and its write-ahead log: an ingest changes one of them.

    The manifest is in WAL mode and the open retriever reads it, so a commit may stay in
    ``manifest.sqlite-wal`` without touching the main file.
    """
    files = [index_dir / "manifest.sqlite", index_dir / "manifest.sqlite-wal"]
    return tuple((st_.st_mtime_ns, st_.st_size) for f in files if f.exists() for st_ in [f.stat()])


def planted_warnings(index_dir: Path) -> None:
    rows = planted(str(index_dir), manifest_stamp(index_dir))
    if not rows:
        return
    with st.expander(f"疑似植入的指令 Planted instructions found in {len(rows)} passages",
                     icon=":material/gpp_maybe:"):
        st.caption("这些文字是写给 AI 的指令,不是报告内容:回答时已屏蔽,也不进入指标表。请检查这些文件。"
                   " Text addressed to an AI reader: blanked before answering and kept out of the indicator table."
                   " Check these files.")
        st.dataframe(rows, hide_index=True, width="stretch")


def show_result() -> None:
    """The outcome of the last import / delete / re-index, under its own heading."""
    result = st.session_state.get("kb_result")
    if not result:
        return
    st.markdown(f"**{result['title']}**")
    st.dataframe(result["rows"], hide_index=True, width="stretch", column_config=RESULT_COLUMNS)
    for row in result["rows"]:  # a long reason is never cut off
        if row["status"].startswith("已跳过") and row["detail"]:
            st.warning(escape_md(f"{row['file']}: {row['detail']}"), icon=":material/warning:")


def upload_section(settings: Settings, allowed: bool) -> None:
    from rag.index.run import ingest
    from rag.ui.kb import UPLOAD_TYPES, discard_unindexed, save_uploads, upload_results

    gen = st.session_state.setdefault("uploader_gen", 0)
    files = st.file_uploader(f"报告文件 Report files ({', '.join(UPLOAD_TYPES)}; ≤ {settings.upload_max_mb} MB)",
                             type=list(UPLOAD_TYPES), accept_multiple_files=True, key=f"up-{gen}",
                             max_upload_size=settings.upload_max_mb, disabled=not allowed)
    if not st.button("导入并索引 Import", disabled=not allowed or not files, type="primary"):
        return
    saved, rejected = save_uploads([(f.name, f.getvalue()) for f in files or []], settings)
    rows = list(rejected)
    if saved:
        bar = st.progress(0.0, text="索引中 indexing…")
        try:
            report = ingest(saved, settings, progress=progress_callback(bar))
            rows += upload_results(saved, report)
            gone = set(discard_unindexed(saved, report))
            for row in rows:
                if row["file"] in gone:
                    row["detail"] = (row["detail"] + " — " if row["detail"] else "") + "文件未保留 file not kept"
        except RagError as exc:
            show_error(exc)
        knowledge_base_changed()
    st.session_state["kb_result"] = {"title": "导入结果 Import result", "rows": rows}
    st.session_state["uploader_gen"] = gen + 1
    st.rerun()


def delete_section(settings: Settings, rows: list[dict[str, Any]], allowed: bool) -> None:
    from rag.ui.kb import delete_documents

    labels = {r["doc_id"]: f"{r['region']} {r['year'] or ''} · {r['title']} · {r['source']}" for r in rows}
    pending: list[str] | None = st.session_state.get("kb_confirm")
    chosen = st.multiselect("要删除的文档 Documents to delete", list(labels), format_func=lambda d: labels.get(d, d),
                            disabled=not allowed or pending is not None, select_all=False, key="kb_delete",
                            placeholder="选择文档 Choose documents",
                            help="从索引中移除;位于 uploads/ 的上传文件同时删除,corpus 中的其他文件保留在磁盘上"
                                 "(重新索引 corpus 会再次加入)。 Uploaded files are deleted too; other corpus "
                                 "files stay on disk.")
    if pending is None:
        if st.button("删除… Delete…", disabled=not allowed or not chosen, icon=":material/delete:"):
            st.session_state["kb_confirm"] = list(chosen)
            st.rerun()
        return
    names = "\n".join(f"- {escape_md(labels.get(d, d))}" for d in pending)
    st.warning(f"确定删除这 {len(pending)} 篇文档?Delete these {len(pending)} documents?\n\n{names}",
               icon=":material/delete_forever:")
    yes, no = st.columns(2)
    if yes.button("确认删除 Confirm delete", type="primary", icon=":material/delete_forever:"):
        removed, deleted = delete_documents(pending, settings)
        knowledge_base_changed()
        rows_out = ([{"file": s, "status": "已移除 removed", "detail": ""} for s in removed]
                    + [{"file": f, "status": "文件已删除 file deleted", "detail": "uploads/"} for f in deleted])
        st.session_state["kb_result"] = {"title": "删除结果 Deleted", "rows": rows_out}
        st.session_state.pop("kb_confirm", None)
        st.session_state.pop("kb_delete", None)
        st.rerun()
    if no.button("取消 Cancel"):
        st.session_state.pop("kb_confirm", None)
        st.rerun()


def kb_page(page: Page) -> None:
    from rag.ui.kb import document_rows, report_rows

    settings = page.settings
    st.title("知识库 Knowledge base")
    if not settings.admin_password:
        st.info("未设置管理员密码 (RAG_ADMIN_PASSWORD):任何能打开本页的人都可以上传、删除和重新索引。"
                " No admin password is set: anyone who can open this page can change the knowledge base.",
                icon=":material/lock_open:")
    rows = document_rows(Path(settings.index_dir))
    st.caption(f"{len(rows)} 篇文档 documents")
    document_table(rows)
    planted_warnings(Path(settings.index_dir))
    show_result()
    allowed = admin_ok(settings, "kb")

    st.subheader("上传 Upload")
    upload_section(settings, allowed)

    st.subheader("删除 Delete")
    delete_section(settings, rows, allowed)

    st.subheader("重新索引 Re-index")
    st.caption(escape_md(f"重新读取 {settings.corpus_dir}:新增和修改的文件入库,已不存在的文件移出。"
                         f" Re-reads {settings.corpus_dir}: new and changed files are added, missing ones removed."))
    if st.button(f"重新索引 Re-index {settings.corpus_dir.name}/", disabled=not allowed):
        from rag.index.run import ingest

        bar = st.progress(0.0, text="索引中 indexing…")
        try:
            report = ingest([Path(settings.corpus_dir)], settings, progress=progress_callback(bar))
        except RagError as exc:
            show_error(exc)
            return
        st.session_state["kb_result"] = {"title": "重新索引结果 Re-index result", "rows": report_rows(report)}
        knowledge_base_changed()
        st.rerun()
