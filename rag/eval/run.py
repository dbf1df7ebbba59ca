"""Running a question set: every case through ``Pipeline.run``, graded, one JSON record per case.

``run_cases`` asks and grades in order (an exception in one case is graded as ``error`` and the
run goes on); ``build_result`` adds the summary (``rag.eval.metrics``) and the run's metadata.
The command line (``rag eval``) is ``rag.eval.cli``; cases are read by ``rag.eval.cases`` and
graded by ``rag.eval.grade``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from rag.config import REPO_ROOT, Settings
from rag.eval.cases import Case, EvalFileError
from rag.eval.grade import Grade, grade, grade_error
from rag.eval.metrics import Outcome, summarize
from rag.types import Answer


class AskPipeline(Protocol):
    """What the harness needs from ``rag.answer.pipeline.Pipeline``."""

    def ask(self, question: str, turns: Sequence[str] = ()) -> Answer:
        """Answer ``question`` after the earlier user ``turns``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Run metadata: generator, embedder, chunking, top_k, prompt_hash, index."""
        ...


def case_record(case: Case, answer: Answer | None, g: Grade, ms: float, *, top_k: int) -> dict[str, Any]:
    """The JSON object of one graded case: the case's own fields, then the run's."""
    rec: dict[str, Any] = dict(case.raw)
    rec.update({
        "id": case.id,
        "kind": case.kind,
        "answerable": case.answerable,
        "passed": g.passed,
        "answer": answer.answer if answer else "",
        "refused": answer.refused if answer else False,
        "refusal_reason": answer.refusal_reason if answer else "",
        "citations": [c.to_dict() for c in answer.citations] if answer else [],
        "failures": [str(f) for f in g.failures],
        "failure_codes": [f.code for f in g.failures],
        "ms": round(ms, 1),
        "timings_ms": {k: round(float(v), 1) for k, v in answer.timings_ms.items()} if answer else {},
        "generator": answer.generator if answer else "",
        "standalone_question": answer.standalone_question if answer else "",
        "notices": list(answer.notices) if answer else [],
        "grounded": g.grounded,
        "ungrounded": list(g.ungrounded),
        "retrieval_rank": g.rank,
        "retrieved": [{"rank": i, "source": sc.chunk.source, "chunk_id": sc.chunk.chunk_id,
                       "score": round(float(sc.score), 4)}
                      for i, sc in enumerate(answer.passages[:top_k], 1)] if answer else [],
    })
    return rec


def run_cases(pipeline: AskPipeline, cases: Sequence[Case], *, top_k: int,
              on_record: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Ask and grade every case in order; an exception in one case is graded as ``error``.

    KeyboardInterrupt propagates: records already passed to ``on_record`` are the finished work.
    """
    records: list[dict[str, Any]] = []
    for case in cases:
        t0 = time.perf_counter()
        answer: Answer | None = None
        try:
            answer = pipeline.ask(case.question, case.turns)
            ms = (time.perf_counter() - t0) * 1000
            g = grade(case, answer, top_k=top_k)
        except Exception as exc:  # graded, reported, and the run goes on
            ms = (time.perf_counter() - t0) * 1000
            g = grade_error(exc)
        rec = case_record(case, answer, g, ms, top_k=top_k)
        records.append(rec)
        if on_record:
            on_record(rec)
    return records


def outcome(rec: Mapping[str, Any]) -> Outcome:
    """The metric view of a case record."""
    return Outcome(
        passed=bool(rec.get("passed")),
        answerable=bool(rec.get("answerable", True)),
        refused=bool(rec.get("refused")),
        grounded=rec.get("grounded"),
        kind=str(rec.get("kind") or ""),
        ms=float(rec.get("ms") or 0.0),
        stage_ms={k: float(v) for k, v in (rec.get("timings_ms") or {}).items()},
        rank=rec.get("retrieval_rank"),
        has_source=bool(rec.get("source")),
        error="error" in (rec.get("failure_codes") or []),
    )


def git_info(root: Path = REPO_ROOT) -> tuple[str, bool]:
    """(HEAD sha, working tree dirty?); ("unknown", False) outside a git checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return sha, dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


def run_meta(settings: Settings | None, describe: Mapping[str, Any]) -> dict[str, Any]:
    """Run metadata for the summary: what ran, on which index, at which commit."""
    sha, dirty = git_info()
    index = describe.get("index")
    meta: dict[str, Any] = {
        "generator": describe.get("generator", settings.generator if settings else ""),
        "generator_reason": describe.get("generator_reason", ""),
        "index": index if isinstance(index, str) else str(settings.index_dir) if settings else "",
        "git_sha": sha,
        "git_dirty": dirty,
        "embedder": describe.get("embedder"),
        "chunking": describe.get("chunking"),
        "top_k": describe.get("top_k", settings.top_k if settings else None),
        "prompt_hash": describe.get("prompt_hash"),
    }
    if index is not None and not isinstance(index, str):
        meta["index_meta"] = index
    return meta


def build_result(records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], *, k: int,
                 interrupted: bool = False, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result JSON: contract summary keys first, then additions; cases as recorded."""
    stats = summarize([outcome(r) for r in records], k=k)
    contract = ("n", "passed", "accuracy", "answerable_accuracy", "refusal_accuracy", "grounded_rate",
                "p50_ms", "p95_ms")
    summary: dict[str, Any] = {key: stats[key] for key in contract}
    summary.update({key: meta.get(key) for key in ("generator", "index", "git_sha")})
    summary.update({key: v for key, v in stats.items() if key not in summary})
    summary.update({key: v for key, v in meta.items() if key not in summary})
    summary["generators_used"] = dict(Counter(str(r.get("generator") or "") for r in records if r.get("generator")))
    summary["ungrounded_cases"] = sum(1 for r in records if r.get("ungrounded"))
    summary["interrupted"] = interrupted
    if extra:
        summary.update(extra)
    return {"summary": summary, "cases": list(records), "interrupted": interrupted}


def load_result(path: Path) -> dict[str, Any]:
    """Read a result JSON written by ``rag eval --json`` (used as a baseline)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalFileError(f"cannot read result JSON {path}: {exc}", "pass a file written by rag eval --json") from exc
    if not isinstance(data, dict) or "summary" not in data or "cases" not in data:
        raise EvalFileError(f"{path} is not a rag eval result", "it needs 'summary' and 'cases'")
    return data
