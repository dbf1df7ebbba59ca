"""Crash injection and concurrency: SIGKILL ``rag.index.run.ingest`` at seeded random points, query during ingest.

Kill loop (hash embedder, a private index of three real reports, so each ingest takes seconds):
the corpus is changed (two reports added, one edited, one deleted), then an ingest subprocess is
killed again and again — at stratified random times over a calibrated run, inside the embedding
stage (small embed batches, one upsert per 8 chunks) and right inside the commit / clean-up window. After every kill:

- ``check_index(strict=False)`` is clean (orphan vectors and stale BM25 folders are tolerated);
- the manifest holds exactly the files of the previous generation or of the new one, never a mix;
- a fresh extractive pipeline still answers 「仓山区2024年GDP目标」 with 5.5% and a citation holding it.

A last un-killed ingest must then leave ``check_index(strict=True)`` clean with exactly the chunks a
from-scratch ingest of the final corpus produces (nothing lost, nothing duplicated).

Concurrency: while an ingest subprocess adds a report to a copy of the real seed index (real
embedder), the test process keeps asking questions against the same index directory, both with a
pipeline opened before the ingest and with freshly opened ones. Every query must succeed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from invariants import check_index
from reliability_fixtures import (
    CANGSHAN,
    COMPILATION,
    JIEFANG,
    REDACTED,
    TAIJIANG,
    hash_settings,
    write_reports,
)

from rag.answer.pipeline import Pipeline
from rag.textnorm import fold

pytestmark = pytest.mark.slow

QUESTION = "仓山区2024年GDP目标"
SEED = 20261123
N_TIMED_KILLS = 6
N_EMBED_KILLS = 2
N_COMMIT_KILLS = 2

INGEST_SCRIPT = r"""
import sys, time
from pathlib import Path
from rag.config import get_settings
from rag.index.run import ingest

t0 = time.monotonic()
settings = get_settings(index_dir=Path(sys.argv[1]), embed_backend=sys.argv[3], embed_batch=int(sys.argv[4]),
                        generator="extractive", chroma_url="", model_path=None)

def progress(stage, done, total):
    print(f"{time.monotonic() - t0:.3f}\t{stage}\t{done}\t{total}", flush=True)

progress("start", 0, 0)
report = ingest([Path(sys.argv[2])], settings, progress=progress)
progress("done", report.chunks_total, report.chunks_embedded)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@dataclass
class Run:
    """One ingest subprocess: the progress lines it printed and how it ended."""

    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds since "start", stage)
    killed: bool = False
    finished: bool = False
    returncode: int | None = None
    stderr: str = ""

    @property
    def last_stage(self) -> str:
        return self.events[-1][1] if self.events else "(before start)"

    @property
    def duration(self) -> float:
        return self.events[-1][0] if self.events else 0.0


def run_ingest(index_dir: Path, corpus: Path, *, backend: str = "hash", batch: int = 1, kill_after: float | None = None,
               kill_on: str | None = None, delay: float = 0.0, cwd: Path | None = None) -> Run:
    """Run an ingest subprocess; SIGKILL it ``kill_after`` s after it started working, or ``delay`` s
    after it printed a progress line starting with ``kill_on``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, str(index_dir), str(corpus), backend, str(batch)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd or index_dir.parent,
    )
    run = Run()
    started, trigger = threading.Event(), threading.Event()
    err: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            t, stage, done, total = line.rstrip("\n").split("\t")
            label = f"{stage} {done}/{total}"
            run.events.append((float(t), label))
            if stage == "start":
                started.set()
            if stage == "done":
                run.finished = True
            if kill_on and label.startswith(kill_on):
                trigger.set()

    def read_err() -> None:
        assert proc.stderr is not None
        err.append(proc.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    if kill_after is not None or kill_on is not None:
        gate = started if kill_after is not None else trigger
        while not gate.wait(0.01):
            if proc.poll() is not None:
                break
        if proc.poll() is None:
            time.sleep(kill_after if kill_after is not None else delay)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                run.killed = True
    run.returncode = proc.wait(timeout=300)
    for r in readers:
        r.join(timeout=10)
    run.stderr = "".join(err)
    if not run.killed:
        assert run.returncode == 0 and run.finished, f"ingest failed ({run.returncode}):\n{run.stderr[-3000:]}"
    return run


def manifest_state(index_dir: Path) -> tuple[str, frozenset[tuple[str, str]]]:
    """(generation, {(file name, sha256)}) of the live manifest."""
    db = sqlite3.connect(str(index_dir / "manifest.sqlite"), timeout=30)
    try:
        row = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        files = frozenset((Path(p).name, sha) for p, sha in db.execute("SELECT path, sha256 FROM files"))
    finally:
        db.close()
    return (row[0] if row else ""), files


def chunk_ids(index_dir: Path) -> set[str]:
    """Chunk ids of the live manifest."""
    db = sqlite3.connect(str(index_dir / "manifest.sqlite"), timeout=30)
    try:
        return {r[0] for r in db.execute("SELECT chunk_id FROM chunks")}
    finally:
        db.close()


def corpus_state(corpus: Path) -> frozenset[tuple[str, str]]:
    """{(file name, sha256)} of the corpus folder."""
    import hashlib

    return frozenset((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in corpus.iterdir() if p.is_file())


def answers_gdp_target(index_dir: Path) -> str:
    """'' when a fresh extractive pipeline answers the seed question with 5.5% and a citation holding it."""
    answer = Pipeline(hash_settings(index_dir)).ask(QUESTION)
    if answer.refused or "5.5%" not in fold(answer.answer):
        return f"answer without 5.5%: {answer.answer[:120]!r} ({answer.refusal_reason})"
    if not any("5.5%" in fold(c.text) for c in answer.citations):
        return "5.5% not in any cited passage"
    return ""


def _mutate(corpus: Path, version: int) -> None:
    """A new corpus version: reports added and deleted, one edited (``version`` makes each edit new)."""
    (corpus / REDACTED).unlink(missing_ok=True)
    write_reports(corpus, [TAIJIANG])
    text = (Path(__file__).resolve().parent.parent / "corpus" / COMPILATION).read_text(encoding="utf-8")
    (corpus / COMPILATION).write_text(f"（第{version}版）\n" + text.replace("。", "。\n", version % 3), encoding="utf-8")
    jf = corpus / JIEFANG
    jf.write_text(jf.read_text(encoding="utf-8") + f"\n附:第{version}次修订,补充说明若干文字。\n", encoding="utf-8")


def test_sigkill_during_ingest_keeps_previous_index(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    corpus = write_reports(tmp_path / "corpus", [CANGSHAN, JIEFANG, REDACTED])
    base = tmp_path / "base"
    run_ingest(base, corpus)
    assert check_index(base, hash_settings(base)) == []

    # calibration: an un-killed ingest of the changed corpus on a scratch copy
    version = 1
    _mutate(corpus, version)
    scratch = tmp_path / "scratch"
    shutil.copytree(base, scratch)
    calib = run_ingest(scratch, corpus)
    total = calib.duration
    assert total > 0

    work = tmp_path / "work"
    shutil.copytree(base, work)
    schedule = [("time", total * (i + rng.random()) / N_TIMED_KILLS) for i in range(N_TIMED_KILLS)]
    schedule += [("embedding", rng.uniform(0.0, 0.3)) for _ in range(N_EMBED_KILLS)]
    schedule += [("commit", rng.uniform(0.0, 0.06)) for _ in range(N_COMMIT_KILLS)]
    rng.shuffle(schedule)

    results: list[str] = []
    survived = 0
    for kind, at in schedule:
        before, wanted = manifest_state(work)[1], corpus_state(corpus)
        gen_before = manifest_state(work)[0]
        if kind == "time":
            run = run_ingest(work, corpus, kill_after=at)
        elif kind == "embedding":
            run = run_ingest(work, corpus, kill_on="embedding 8/", delay=at)
        else:
            run = run_ingest(work, corpus, kill_on="keyword index 1/1", delay=at)
        gen_after, files_after = manifest_state(work)
        problems = check_index(work, hash_settings(work), strict=False)
        if files_after not in (before, wanted):
            problems.append("manifest files are neither the previous nor the new generation")
        if gen_after not in (gen_before, str(int(gen_before or 0) + 1)):
            problems.append(f"generation jumped {gen_before} → {gen_after}")
        bad_answer = answers_gdp_target(work)
        if bad_answer:
            problems.append(bad_answer)
        mid_ingest = run.killed and not run.finished
        outcome = "killed" if mid_ingest else "finished before the kill"
        results.append(f"{kind} {at:.2f}s: {outcome} after «{run.last_stage}», generation {gen_before}→{gen_after}"
                       + (f" PROBLEMS: {problems}" if problems else ""))
        survived += mid_ingest and not problems
        if gen_after != gen_before:  # the new generation went live: change the corpus again
            version += 1
            _mutate(corpus, version)

    final = run_ingest(work, corpus)
    assert final.finished
    strict = check_index(work, hash_settings(work), strict=True)
    reference = tmp_path / "reference"
    run_ingest(reference, corpus)  # from scratch, same final corpus
    kills = sum("killed after" in r for r in results)
    summary = "\n".join(results) + f"\n{survived}/{kills} kill runs survived with the invariant holding"
    print(summary)
    assert kills >= N_TIMED_KILLS, summary  # the schedule really killed ingests
    assert all("PROBLEMS" not in r for r in results), summary
    assert strict == [], strict
    assert manifest_state(work)[1] == corpus_state(corpus)
    assert chunk_ids(work) == chunk_ids(reference), "incremental ingest after crashes ≠ from-scratch ingest"
    assert answers_gdp_target(work) == ""
    taijiang = Pipeline(hash_settings(work)).ask("台江区2021年社会消费品零售总额是多少?")
    assert not taijiang.refused and "296.9亿元" in fold(taijiang.answer)  # an added report is searchable


def test_queries_keep_working_during_ingest(tmp_index: Path, tmp_path: Path) -> None:
    """Real seed index (real embedder): a report is added while questions keep being asked."""
    from rag.config import get_settings

    settings = get_settings(index_dir=tmp_index, generator="extractive", chroma_url="", model_path=None)
    old = Pipeline(settings)
    assert "5.5%" in fold(old.ask(QUESTION).answer)
    gen_before = manifest_state(tmp_index)[0]

    new = tmp_path / "uploads"
    new.mkdir()
    src = (Path(__file__).resolve().parent.parent / "corpus" / TAIJIANG).read_text(encoding="utf-8")
    (new / "2022_鼓岭区政府工作报告.txt").write_text(src[:4000].replace("台江", "鼓岭"), encoding="utf-8")

    box: dict[str, Run] = {}
    worker = threading.Thread(target=lambda: box.setdefault("run", run_ingest(tmp_index, new, backend="e5-onnx",
                                                                              batch=16, cwd=tmp_path)))
    worker.start()
    served, failures, fresh = 0, [], 0
    questions = [QUESTION, "台江区2021年社会消费品零售总额是多少?", "解放区2023年固定资产投资同比增长多少?"]
    while worker.is_alive():
        for i, q in enumerate(questions):
            try:
                pipe = old
                if (served + i) % 4 == 3:  # as the UI does after an upload: reopen the index
                    pipe, fresh = Pipeline(settings), fresh + 1
                answer = pipe.ask(q)
                if answer.refused or not answer.citations:
                    failures.append(f"{q}: refused/uncited: {answer.answer[:80]}")
            except Exception as exc:  # every failure is a finding, not a crash of the test
                failures.append(f"{q}: {type(exc).__name__}: {exc}"[:300])
            served += 1
    worker.join()
    run = box["run"]
    print(f"{served} queries served during the ingest ({fresh} on freshly opened pipelines), "
          f"{len(failures)} failed; ingest took {run.duration:.1f}s")
    assert run.finished and manifest_state(tmp_index)[0] != gen_before
    assert served >= 3, "the ingest finished before any query ran"
    assert failures == []
    assert check_index(tmp_index, settings, strict=True) == []
    after = Pipeline(settings).ask("鼓岭区2021年社会消费品零售总额是多少?")
    assert not after.refused and "296.9亿元" in fold(after.answer)
