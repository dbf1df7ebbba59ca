"""Shared fixtures: one real index of the seed corpus per test session (real e5 vectors, real Chroma).

Ingesting the corpus with the real embedder takes ~1 minute on 2 cores, so it happens once per
session and tests that need an index share it read-only. Tests that mutate an index build their own
(``tmp_index``) — with the real embedder too, but on a few files only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import rag.facts  # noqa: F401  (registers the indicator table as a post-commit step of the index)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index of corpus/ (read-only for tests)."""
    from rag.config import get_settings
    from rag.index.run import ingest

    index_dir = tmp_path_factory.mktemp("seed-index")
    ingest([CORPUS], get_settings(index_dir=index_dir))
    return index_dir


@pytest.fixture(scope="session")
def seed_settings(seed_index: Path):  # type: ignore[no-untyped-def]
    """Settings pointing at the shared seed index, extractive generator."""
    from rag.config import get_settings

    return get_settings(index_dir=seed_index, generator="extractive")


@pytest.fixture(scope="session")
def seed_pipeline(seed_settings):  # type: ignore[no-untyped-def]
    """An extractive pipeline over the seed index."""
    from rag.answer.pipeline import Pipeline

    return Pipeline(seed_settings)


@pytest.fixture()
def tmp_index(tmp_path: Path, seed_index: Path) -> Path:
    """A private, writable copy of the seed index (copying is much faster than re-embedding)."""
    dest = tmp_path / "index"
    shutil.copytree(seed_index, dest)
    return dest
