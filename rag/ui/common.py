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
def load_pipeline(index_dir: str, top_k: int) -> Any:
    """One pipeline per (index, top-k); never mutated after it is returned."""
    from rag.answer.pipeline import Pipeline
    from rag.search.retrieve import Retriever

    settings = get_settings(index_dir=Path(index_dir), top_k=top_k)
    generator, reason = _generator(index_dir)
    pipeline = Pipeline(settings, Retriever(settings), generator=generator)
    pipeline.generator_reason = reason
    return pipeline


def knowledge_base_changed() -> None:
    """Drop cached pipelines so the next run loads the new index generation."""
    load_pipeline.clear()


def error_text(exc: RagError) -> str:
    return f"{exc.message}\n\n→ {exc.hint}" if exc.hint else exc.message


def show_error(exc: RagError) -> None:
    st.error(error_text(exc), icon=":material/error:")


def progress_callback(bar: Any) -> Any:
    def update(stage: str, done: int, total: int) -> None:
        frac = done / total if total else 0.0
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{stage} {done}/{total}" if total else stage)
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
