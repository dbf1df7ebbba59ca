"""What every page of the Streamlit UI shares: the cached pipeline, the page context, errors, progress.

The pipeline is cached per (index, top-k) with ``st.cache_resource`` and never mutated; a page gets
it through a ``Page`` context built by ``rag.ui.shell.main`` on every run (no module-level state, so
two browser sessions never see each other's settings).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import Settings, get_settings
from rag.errors import RagError

ANY = "(不限 any)"
AVATAR = {"user": ":material/person:", "assistant": ":material/description:"}


@dataclass(frozen=True)
class Page:
    """What a page needs: the settings and the shared pipeline of this run."""

    settings: Settings
    pipeline: Any  # rag.answer.pipeline.Pipeline (imported lazily: the build screen must start without it)


@st.cache_resource(show_spinner="加载生成模型 Loading generator…")
def _generator(index_dir: str) -> tuple[Any, str]:
    """The generator is shared by the pipelines of every top-k (a local model is loaded once)."""
    from rag.answer.generators import select_generator

    return select_generator(get_settings(index_dir=Path(index_dir)))


@st.cache_resource(show_spinner="加载索引 Loading index…")
def load_pipeline(index_dir: str) -> Any:
    """One pipeline per index, shared by every session: its gate lets one answer at a time use the model."""
    from rag.answer.pipeline import Pipeline
    from rag.search.retrieve import Retriever

    settings = get_settings(index_dir=Path(index_dir))
    generator, reason = _generator(index_dir)
    return Pipeline(settings, Retriever(settings), generator=generator, reason=reason)


def knowledge_base_changed() -> None:
    """Drop cached pipelines so the next run loads the new index generation."""
    load_pipeline.clear()


def error_text(exc: RagError) -> str:
    return f"{exc.message}\n\n→ {exc.hint}" if exc.hint else exc.message


def show_error(exc: RagError) -> None:
    st.error(error_text(exc), icon=":material/error:")


# ingest's stages as parts of one bar: (start, end) of the bar, and a bilingual name
STAGES = {"reading": (0.0, 0.15, "读取文件 reading"), "chunking": (0.15, 0.25, "切分段落 chunking"),
          "embedding": (0.25, 0.95, "计算向量 embedding"), "keyword index": (0.95, 1.0, "关键词索引 keyword index")}


def progress_callback(bar: Any) -> Any:
    """An ingest progress callback drawing ONE bar over all stages (it never jumps back)."""
    high = [0.0]

    def update(stage: str, done: int, total: int) -> None:
        lo, hi, name = STAGES.get(stage, (high[0], high[0], stage))
        frac = lo + (hi - lo) * (done / total if total else 0.0)
        high[0] = max(high[0], min(frac, 1.0))
        bar.progress(high[0], text=f"{name} {done}/{total}" if total else name)
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
