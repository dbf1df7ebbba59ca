"""Faults with real file systems and real processes: each gives a clear message and the last good index answers.

- disk full during ingest: a tmpfs just larger than the index (``ulimit -f`` in the ingest subprocess where
  mounting is not allowed);
- the index directory read-only: a tmpfs remounted read-only (queries answer, ingest and repair refuse);
- ``facts.sqlite`` / ``manifest.sqlite`` overwritten with garbage: ``rag doctor`` finds it, ``--repair``
  rebuilds (the manifest from the corpus, reusing the stored vectors);
- a Chroma server (``chroma run``) killed and restarted while questions are being asked;
- the GGUF file replaced under a running pipeline (slow: the local model).

Indexes are small (hash embedder, two real reports) so every fault is injected into a fresh copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_fixtures import CANGSHAN, TAIJIANG, hash_settings, write_reports
from servers import free_port, stop_process

import rag.facts  # noqa: F401  (registers the indicator-table rebuild)
from rag.answer.pipeline import Pipeline
from rag.index.doctor import diagnose, repair
from rag.index.run import ingest
from rag.testing import unavailable
from rag.textnorm import fold

REPO = Path(__file__).resolve().parent.parent
QUESTION = "仓山区2024年GDP目标"
HASH_ENV = {"RAG_EMBED_BACKEND": "hash", "RAG_GENERATOR": "extractive", "RAG_CHROMA_URL": "", "RAG_MODEL_PATH": ""}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    corpus = write_reports(root / "corpus", [CANGSHAN, TAIJIANG])
    ingest([corpus], hash_settings(root / "index"))
    (root / "more").mkdir()
    for f in sorted((REPO / "corpus").glob("*.txt")):  # enough new text to overflow 2 MB
        if f.name not in (CANGSHAN, TAIJIANG):
            shutil.copy(f, root / "more" / f.name)
    return root


def _answers(index: Path) -> str:
    answer = Pipeline(hash_settings(index)).run(QUESTION, generate=False)
    assert not answer.refused and "5.5%" in fold(answer.answer), answer.answer
    return " ".join(answer.notices)


def _rag(*args: str, env: dict[str, str] | None = None, limit_kb: int = 0) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "rag.cli", *args]
    if limit_kb:  # ulimit -f: writes past the limit fail with EFBIG (SIGXFSZ ignored)
        cmd = ["bash", "-c", f"trap '' XFSZ; ulimit -f {limit_kb}; exec \"$@\"", "bash", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, **HASH_ENV, **(env or {})})


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[bool]:
    path.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                        capture_output=True).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_disk_full_during_ingest(small: Path, tmp_path: Path) -> None:
    used_kb = sum(f.stat().st_size for f in (small / "index").rglob("*") if f.is_file()) // 1024
    with _tmpfs(tmp_path / "fs", f"{used_kb + 256}k") as mounted:  # room for the old index, not the new one
        index = (tmp_path / "fs" if mounted else tmp_path) / "index"
        shutil.copytree(small / "index", index)
        before = diagnose(hash_settings(index), vectors=False)
        run = _rag("ingest", str(small / "corpus"), str(small / "more"), "--index", str(index), "--quiet",
                   limit_kb=0 if mounted else used_kb // 2)
        assert run.returncode == 2, run.stderr[-2000:]
        assert "full" in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert "keeps answering" in run.stderr
        _answers(index)  # the previous generation answers (keyword search if the vectors cannot open)
        after = diagnose(hash_settings(index), vectors=False)
        assert after.check("manifest") == before.check("manifest")  # same chunks as before the ingest
        if mounted:  # free space, repair leftovers, ingest again: everything is indexed
            subprocess.run(["mount", "-o", "remount,size=64m", str(tmp_path / "fs")], check=True)
            fixed = repair(hash_settings(index))
            assert fixed.ok, fixed.checks
            run = _rag("ingest", str(small / "corpus"), str(small / "more"), "--index", str(index), "--quiet")
            assert run.returncode == 0, run.stderr[-2000:]
            assert "向量检索暂不可用" not in _answers(index)


def test_read_only_index_answers_and_refuses_writes(small: Path, tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "8m") as mounted:
        if not mounted:
            pytest.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN); root ignores chmod")
        index = tmp_path / "ro" / "index"
        shutil.copytree(small / "index", index)
        subprocess.run(["mount", "-o", "remount,ro", str(tmp_path / "ro")], check=True)
        notices = _answers(index)
        assert "关键词" in notices  # the vectors cannot open read-only: said, keyword search answers
        run = _rag("ingest", str(small / "corpus"), "--index", str(index), "--quiet")
        assert run.returncode == 2 and "read-only" in run.stderr and "Traceback" not in run.stderr, run.stderr
        report = diagnose(hash_settings(index))
        assert not report.check("directory").ok and report.check("manifest").ok  # type: ignore[union-attr]
        run = _rag("doctor", "--index", str(index), "--repair")
        assert run.returncode == 2 and "read-only" in run.stderr, run.stderr


def _garble(path: Path, offset: int = 4096, length: int = 8192) -> None:
    data = bytearray(path.read_bytes())
    data[offset: offset + length] = os.urandom(min(length, max(0, len(data) - offset)))
    path.write_bytes(bytes(data))


def test_corrupt_facts_table(small: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(small / "index", index)
    _garble(index / "facts.sqlite", 0, 4096)
    _answers(index)  # the passages answer without the table
    run = _rag("doctor", "--index", str(index))
    assert run.returncode == 1 and "facts" in run.stdout and "BAD" in run.stdout, run.stdout
    run = _rag("doctor", "--index", str(index), "--repair")
    assert "facts table rebuilt" in run.stdout, run.stdout + run.stderr
    assert diagnose(hash_settings(index)).ok


def test_corrupt_manifest(small: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(small / "index", index)
    _garble(index / "manifest.sqlite")
    run = _rag("ask", QUESTION, "--index", str(index))
    assert run.returncode == 2 and "damaged" in run.stderr and "rag doctor --repair" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    run = _rag("doctor", "--index", str(index), "--repair", "--corpus", str(small / "corpus"))
    assert "re-ingested 2 files" in run.stdout and "(0 embedded)" in run.stdout, run.stdout + run.stderr
    assert diagnose(hash_settings(index)).ok
    _answers(index)


def test_doctor_rebuilds_keyword_index_and_collects_garbage(small: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(small / "index", index)
    live = next(index.glob("bm25-*"))
    shutil.rmtree(live)
    (index / "bm25-0").mkdir()
    report = diagnose(hash_settings(index))
    assert not report.check("keyword").ok and not report.check("garbage").ok  # type: ignore[union-attr]
    fixed = repair(hash_settings(index), report)
    assert fixed.ok, fixed.checks
    assert any("keyword index rebuilt" in r for r in fixed.repaired)
    _answers(index)


# ------------------------------------------------------------------------------- Chroma server restarted
def _chroma(data: Path, port: int) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).parent / "chroma"
    if not cli.exists():
        unavailable("the chroma CLI is not installed")
    log = (data / f"server-{time.time_ns()}.log").open("wb")
    proc = subprocess.Popen([str(cli), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    stop_process(proc)
    pytest.fail("chroma run did not start")


def test_chroma_server_restarted_mid_query(small: Path, tmp_path: Path) -> None:
    port = free_port()
    server = _chroma(tmp_path, port)
    try:
        settings = hash_settings(tmp_path / "index", chroma_url=f"http://127.0.0.1:{port}")
        ingest([small / "corpus"], settings)
        pipe = Pipeline(settings)
        assert "5.5%" in fold(pipe.run(QUESTION, generate=False).answer)
        results: list[tuple[float, bool, str]] = []
        stop = threading.Event()

        def ask() -> None:
            while not stop.is_set():
                try:
                    a = pipe.run(QUESTION, generate=False)
                    results.append((time.monotonic(), "5.5%" in fold(a.answer), " ".join(a.notices)))
                except Exception as exc:  # noqa: BLE001 - any escape is the failure being tested
                    results.append((time.monotonic(), False, f"raised {exc!r}"))

        worker = threading.Thread(target=ask)
        worker.start()
        time.sleep(1.0)
        stop_process(server, timeout=5)  # killed mid-stream of questions
        time.sleep(2.0)
        down = len(results)
        server = _chroma(tmp_path, port)  # same data directory, same port
        time.sleep(2.0)
        stop.set()
        worker.join(30)
        assert results and all(ok for _, ok, _ in results), [r for r in results if not r[1]][:3]
        assert any("向量检索暂不可用" in n for _, _, n in results[:down]), "the outage was not said"
        assert "向量检索暂不可用" not in results[-1][2], results[-1]  # back to hybrid after the restart
    finally:
        stop_process(server)


# ------------------------------------------------------------------------------- model file replaced
@pytest.mark.slow
def test_model_file_replaced_while_running(small: Path, tmp_path: Path) -> None:
    from rag.answer.models import local_model_status
    from rag.config import get_settings

    pytest.importorskip("llama_cpp")
    ok, why = local_model_status(get_settings())
    if not ok:
        unavailable(f"local model not installed: {why}")
    from rag.answer.models import MODEL

    model = tmp_path / "model.gguf"
    shutil.copyfile(Path(get_settings().model_dir) / MODEL.filename, model)
    pipe = Pipeline(hash_settings(small / "index", generator="local", model_path=model))
    first = pipe.run(QUESTION)
    assert "5.5%" in fold(first.answer)
    garbage = tmp_path / "new.gguf"
    garbage.write_bytes(b"GGUF" + os.urandom(1 << 20))
    os.replace(garbage, model)  # an upgrade script swapping the file under the running app
    second = pipe.run(QUESTION)
    assert "5.5%" in fold(second.answer), second  # the loaded model (or the extractive answer) still answers
    fresh = Pipeline(hash_settings(small / "index", generator="local", model_path=model)).run(QUESTION)
    assert "5.5%" in fold(fresh.answer) and fresh.generator == "extractive" and fresh.notices, fresh
