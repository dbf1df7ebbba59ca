"""Knowledge-base actions behind the UI page: list, upload, delete, re-index (no Streamlit here).

Uploads are written to ``<corpus_dir>/uploads`` under a sanitised, never-overwriting name
(``rag.ingest.loaders.safe_destination``) and ingested on their own; the per-file result comes from the
``IngestReport`` (indexed / unchanged / duplicate / skipped with its reason), so a corrupt file is
reported and never breaks the index::

    saved, rejected = save_uploads([("报告.txt", data)], settings)
    report = ingest(saved, settings)
    rows = rejected + upload_results(saved, report)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)
from rag.config import Settings
from rag.index.gc import remove_documents
from rag.index.manifest import Manifest
from rag.index.run import IngestReport
from rag.lexicon import region_label

UPLOAD_TYPES = ("txt", "md", "html", "htm", "docx", "pdf")
STATUS = {"indexed": "已索引 indexed", "unchanged": "未变化 unchanged", "duplicate": "重复 duplicate",
          "skipped": "已跳过 skipped", "removed": "已移除 removed"}


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept (inside the corpus, so a re-index keeps them)."""
    return Path(settings.corpus_dir) / "uploads"


def document_rows(index_dir: Path) -> list[dict[str, Any]]:
    """One row per indexed document for the knowledge-base table (newest first)."""
    if not (Path(index_dir) / "manifest.sqlite").exists():
        return []
    manifest = Manifest(Path(index_dir))
    try:
        docs = manifest.documents()
        added = manifest.document_added()
        counts: dict[str, int] = {}
        for _, doc_id, _ in manifest.chunk_keys():  # ids only: the token lists are not needed to count
            counts[doc_id] = counts.get(doc_id, 0) + 1
        files: dict[str, list[str]] = {}
        for row in manifest.files().values():
            if row["doc_id"]:
                files.setdefault(row["doc_id"], []).append(row["path"])
    finally:
        manifest.close()
    rows = []
    for doc_id, doc in docs.items():
        region = region_label(doc.region, doc.region_inferred, unknown="未知")
        rows.append({
            "doc_id": doc_id, "title": doc.title, "region": region, "year": doc.year,
            "chunks": counts.get(doc_id, 0),
            "added": datetime.fromtimestamp(added[doc_id]).strftime("%Y-%m-%d %H:%M") if added.get(doc_id) else "",
            "sha256": doc.sha256[:12], "source": doc.source, "files": sorted(files.get(doc_id, [])),
            "region_evidence": doc.region_evidence, "why": region_why(doc.region_evidence),
        })
    rows.sort(key=lambda r: (r["added"], r["source"]), reverse=True)
    return rows


def region_why(evidence: str, n: int = 60) -> str:
    """The region evidence, readable: its first clause, without the list of matched word shingles.

    >>> region_why("inferred: shares 712 distinctive passages with a.txt (仓山区), e.g. 一发展环境、一张蓝图")
    'inferred: shares 712 distinctive passages with a.txt (仓山区)'
    """
    text = " ".join(evidence.split(", e.g.")[0].split())
    return text if len(text) <= n else text[: n - 1] + "…"


def discard_unindexed(saved: Sequence[Path], report: IngestReport) -> list[str]:
    """Delete uploads ingest skipped (unreadable, empty, not a report) or found to duplicate another file.

    Kept in uploads/ they would stay invisible in the table, undeletable from the UI, and be read
    again by every re-index. Returns the names of the files deleted.
    """
    bad = [Path(s) for s, _ in report.skipped] + [Path(s) for s, _ in report.duplicates]
    gone: list[str] = []
    for path in saved:
        if any(_same(str(b), path) for b in bad) and path.is_file():
            path.unlink()
            gone.append(path.name)
    return gone


def save_uploads(files: Sequence[tuple[str, bytes]], settings: Settings) -> tuple[list[Path], list[dict[str, str]]]:
    """Write uploads into the uploads folder; too-large or unsupported files are rejected with a reason."""
    from rag.errors import RagError
    from rag.ingest.loaders import safe_destination

    cap = settings.upload_max_mb * 2**20
    saved: list[Path] = []
    rejected: list[dict[str, str]] = []
    for name, data in files:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in UPLOAD_TYPES:
            rejected.append(_row(name, "skipped", f"unsupported type .{ext} (allowed: {', '.join(UPLOAD_TYPES)})"))
            continue
        if len(data) > cap:
            rejected.append(_row(name, "skipped", f"file is {len(data) / 2**20:.1f} MB, the limit is "
                                                  f"{settings.upload_max_mb} MB (RAG_UPLOAD_MAX_MB)"))
            continue
        if not data:
            rejected.append(_row(name, "skipped", "empty file"))
            continue
        folder = uploads_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            dest = safe_destination(folder, name, content=data)
            if not dest.exists():  # an identical earlier upload is re-used, never overwritten
                with dest.open("xb") as fh:
                    fh.write(data)
        except (RagError, FileExistsError) as exc:
            rejected.append(_row(name, "skipped", getattr(exc, "message", None) or f"could not save: {exc}"))
            continue
        saved.append(dest)
    return saved, rejected


def _row(file: str, status: str, detail: str = "") -> dict[str, str]:
    return {"file": file, "status": STATUS.get(status, status), "detail": detail}


def _same(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def upload_results(saved: Sequence[Path], report: IngestReport) -> list[dict[str, str]]:
    """The per-file outcome of ingesting ``saved`` (one row per file, in upload order)."""
    rows = []
    for path in saved:
        row = _row(path.name, "skipped", "not seen by ingest")
        if any(_same(s, path) for s in report.indexed):
            row = _row(path.name, "indexed")
        elif any(_same(s, path) for s in report.unchanged):
            row = _row(path.name, "unchanged", "same content already indexed")
        for src, other in report.duplicates:
            if _same(src, path):
                row = _row(path.name, "duplicate", f"same content as {other}")
        for src, reason in report.skipped:
            if _same(src, path):  # the row names the file: the reason need not repeat its full path
                row = _row(path.name, "skipped", reason.removeprefix(f"{src}: ").removeprefix(f"{path}: "))
        for src, region, evidence in report.inferred:
            if _same(src, path):
                row["detail"] = (row["detail"] + "; " if row["detail"] else "") + f"地区推断为{region}: {evidence}"
        rows.append(row)
    return rows


def report_rows(report: IngestReport) -> list[dict[str, str]]:
    """Every file an ingest touched (for a re-index of the whole corpus)."""
    rows = [_row(s, "indexed") for s in report.indexed]
    rows += [_row(s, "duplicate", f"same content as {o}") for s, o in report.duplicates]
    rows += [_row(s, "skipped", r) for s, r in report.skipped]
    rows += [_row(s, "removed", "file no longer in the corpus") for s in report.removed]
    rows += [_row(s, "unchanged") for s in report.unchanged]
    return rows


def delete_documents(doc_ids: Sequence[str], settings: Settings) -> tuple[list[str], list[str]]:
    """Forget documents; delete their files too when they are uploads. Returns (removed, deleted files).

    Files elsewhere in the corpus stay on disk (a re-index of the corpus would add them back).
    """
    manifest = Manifest(Path(settings.index_dir))
    try:
        paths = [Path(r["path"]) for r in manifest.files().values() if r["doc_id"] in set(doc_ids)]
    finally:
        manifest.close()
    removed = remove_documents(doc_ids, settings)
    uploads = uploads_dir(settings).resolve()
    deleted: list[str] = []
    for p in paths:
        if uploads in p.resolve().parents and p.is_file():
            p.unlink()
            deleted.append(p.name)
    return removed, deleted


def planted_text_rows(index_dir: Path) -> list[dict[str, str]]:
    """Chunks carrying text planted for an AI reader (rag.ingest.untrusted), for a warning list on the page.

    Such text is blanked before answering, kept out of the model's context and the indicator table;
    the list tells the maintainer which documents to check.
    """
    from rag.ingest.untrusted import scan_chunks

    if not (Path(index_dir) / "manifest.sqlite").exists():
        return []
    manifest = Manifest(Path(index_dir))
    try:
        warnings = scan_chunks(manifest.chunks())
    finally:
        manifest.close()
    return [{"文件 file": w.source, "类型 kind": "、".join(w.kinds), "内容 excerpt": w.excerpt, "chunk": w.chunk_id[:12]}
            for w in warnings]
