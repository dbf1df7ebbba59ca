"""Evaluation harness: run a question set through the pipeline, grade every answer, summarise.

The rules are those of docs/eval-contract.md (shared/docs/eval-contract.md):

- every ``expect`` regex must match the folded answer (``rag.textnorm.fold``);
- an answerable case must not be refused and must be grounded: each ``expect`` pattern holding a
  digit must also match the folded text of the passages the answer cites;
- an unanswerable case passes only when ``Answer.refused`` is True (the structured flag, not a
  phrase);
- any figure in any answer that stands in none of its cited passages makes the case fail as
  ``ungrounded``: the same rule as the runtime number check (``rag.textnorm.ungrounded_figures``):
  numbers with a unit, and unit-less numbers other than list numbering, ordinals and dates;
  redacted values (XX亿元) are never figures;
- a case naming a ``source`` (substring of the expected corpus file name, or a list of them) fails
  as ``retrieval_miss`` when it is answerable and no passage in the top-k comes from that source.

Failure codes: error, wrongly_refused, should_have_refused, wrong_figure, missing_expected,
not_grounded, ungrounded, retrieval_miss. In the JSON each failure is a string ``"code: detail"``
and ``failure_codes`` lists the codes alone.

Runs are resumable evidence, not all-or-nothing: with ``--json OUT`` every finished case is
appended to ``OUT.partial.jsonl`` at once, and Ctrl-C (or SIGTERM) still writes ``OUT`` with
``"interrupted": true`` over the finished cases. Example::

    rag eval evals/ci_questions.jsonl --json artifacts/ci.json --report artifacts/ci.html
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rag.config import REPO_ROOT, Settings
from rag.errors import IndexMissingError, RagError
from rag.eval.metrics import Outcome, diff_runs, summarize
from rag.textnorm import Figure, figures, fold, ungrounded_figures
from rag.types import Answer

FAILURE_CODES = (
    "error", "wrongly_refused", "should_have_refused", "wrong_figure", "missing_expected",
    "not_grounded", "ungrounded", "retrieval_miss",
)


class EvalFileError(RagError):
    """A question set or baseline file cannot be used."""


# ----------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One evaluation case; ``raw`` keeps every field of the JSONL line (unknown ones included)."""

    id: str
    question: str  # the graded (last) user turn
    turns: tuple[str, ...]  # earlier user turns
    expect: tuple[str, ...]
    answerable: bool
    kind: str
    source: tuple[str, ...]  # substrings of the expected source file name (any may match)
    raw: Mapping[str, Any]


def parse_case(obj: Any, where: str) -> Case:
    """Validate one JSON object as a case; EvalFileError says what is wrong and where."""
    if not isinstance(obj, dict):
        raise EvalFileError(f"{where}: a case must be a JSON object", "one object per line")
    if "id" not in obj:
        raise EvalFileError(f"{where}: missing 'id'", 'add e.g. "id": "s01"')
    cid = str(obj["id"])
    turns_raw, question_raw = obj.get("turns"), obj.get("question")
    if turns_raw is not None and question_raw is not None:
        raise EvalFileError(f"{where} ({cid}): give 'question' or 'turns', not both",
                            "'turns' holds the whole conversation; its last turn is graded")
    if turns_raw is not None:
        if (not isinstance(turns_raw, list) or not turns_raw
                or not all(isinstance(t, str) and t.strip() for t in turns_raw)):
            raise EvalFileError(f"{where} ({cid}): 'turns' must be a non-empty list of strings")
        question, turns = turns_raw[-1], tuple(turns_raw[:-1])
    elif isinstance(question_raw, str) and question_raw.strip():
        question, turns = question_raw, ()
    else:
        raise EvalFileError(f"{where} ({cid}): missing 'question' (or 'turns')")
    expect = obj.get("expect", [])
    if not isinstance(expect, list) or not all(isinstance(p, str) for p in expect):
        raise EvalFileError(f"{where} ({cid}): 'expect' must be a list of regex strings")
    for p in expect:
        try:
            re.compile(p)
        except re.error as exc:
            raise EvalFileError(f"{where} ({cid}): bad regex {p!r}: {exc}",
                                "escape dots and backslashes: \"5\\\\.5\\\\s*%\"") from exc
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise EvalFileError(f"{where} ({cid}): 'answerable' must be true or false")
    source = obj.get("source") or ()
    if isinstance(source, str):
        source = (source,)
    if not isinstance(source, list | tuple) or not all(isinstance(s, str) for s in source):
        raise EvalFileError(f"{where} ({cid}): 'source' must be a string or a list of strings")
    kind = str(obj.get("kind") or ("answerable" if answerable else "refuse"))
    return Case(cid, question, turns, tuple(expect), answerable, kind, tuple(source), dict(obj))


def load_cases(path: Path | str) -> list[Case]:
    """Read a JSONL question set (blank lines skipped); ids must be unique."""
    p = Path(path)
    if not p.is_file():
        raise EvalFileError(f"question set not found: {p}", "pass a .jsonl file, e.g. evals/ci_questions.jsonl")
    cases: list[Case] = []
    seen: set[str] = set()
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{p}:{n}: not valid JSON ({exc.msg})", "one JSON object per line") from exc
        case = parse_case(obj, f"{p}:{n}")
        if case.id in seen:
            raise EvalFileError(f"{p}:{n}: duplicate id {case.id!r}", "ids must be unique in a file")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise EvalFileError(f"{p}: no cases", "one JSON object per line")
    return cases


# --------------------------------------------------------------------------------------- grading
@dataclass(frozen=True)
class Failure:
    """Why a case failed: a short code and a human-readable detail."""

    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer."""

    passed: bool
    failures: tuple[Failure, ...]
    grounded: bool | None  # None: nothing to judge (refused answer, or error)
    ungrounded: tuple[str, ...] = ()  # figures stated but not in the cited passages
    rank: int | None = None  # 1-based rank of the first retrieved passage from ``case.source``


def _has_digit(pattern: str) -> bool:
    """A pattern asserting a figure (a pure negative lookahead, 「^(?!…99%)」, asserts an absence: nothing to ground)."""
    return bool(re.search(r"\d", pattern)) and not re.fullmatch(r"\^\(\?!.*\)", pattern)


def unit_figures(text: str) -> list[Figure]:
    """Numbers that carry a unit (redacted values excluded): what an answer states, for messages."""
    return [f for f in figures(text, include_redacted=False) if f.unit]


def retrieval_rank(case: Case, answer: Answer) -> int | None:
    """1-based rank of the first retrieved passage whose source contains ``case.source``."""
    for i, sc in enumerate(answer.passages, 1):
        if any(s and s in sc.chunk.source for s in case.source):
            return i
    return None


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def grade(case: Case, answer: Answer, *, top_k: int) -> Grade:
    """Grade one answer against its case (see the module docstring for the rules)."""
    failures: list[Failure] = []
    text = fold(answer.answer)
    cited = [fold(c.text) for c in answer.citations]
    cited_joined = "\n".join(cited)
    stated = unit_figures(answer.answer)
    loose = tuple(dict.fromkeys(f.text for f in ungrounded_figures(answer.answer, cited)))
    rank = retrieval_rank(case, answer) if case.source else None
    grounded: bool | None = None

    if case.answerable:
        if answer.refused:
            why = answer.refusal_reason or _short(answer.answer)
            failures.append(Failure("wrongly_refused", why))
        else:
            for p in case.expect:
                if re.search(p, text):
                    continue
                if _has_digit(p) and stated:
                    failures.append(Failure("wrong_figure", f"/{p}/ not in answer; it states "
                                                            + ", ".join(f.text for f in stated[:5])))
                else:
                    failures.append(Failure("missing_expected", f"/{p}/ not in answer: {_short(answer.answer)}"))
            unsupported = [p for p in case.expect if _has_digit(p) and re.search(p, text)
                           and not re.search(p, cited_joined)]
            for p in unsupported:
                where = f"{len(answer.citations)} cited passage(s)" if answer.citations else "no citations"
                failures.append(Failure("not_grounded", f"/{p}/ matches the answer but not its {where}"))
            grounded = not loose and not unsupported
        if case.source and (rank is None or rank > top_k):
            where = "not retrieved" if rank is None else f"first at rank {rank}"
            failures.append(Failure("retrieval_miss", f"{'|'.join(case.source)} {where} (k={top_k})"))
    else:
        if not answer.refused:
            failures.append(Failure("should_have_refused", _short(answer.answer)))
            grounded = not loose
        for p in case.expect:  # optional extra patterns a refusal must hold
            if not re.search(p, text):
                failures.append(Failure("missing_expected", f"/{p}/ not in answer: {_short(answer.answer)}"))
    if loose:
        failures.append(Failure("ungrounded", "not in cited passages: " + ", ".join(loose[:8])))
    return Grade(not failures, tuple(failures), grounded, loose, rank)


def grade_error(exc: BaseException) -> Grade:
    """The verdict when the pipeline raised instead of answering."""
    return Grade(False, (Failure("error", f"{type(exc).__name__}: {_short(str(exc), 200)}"),), None)


# ---------------------------------------------------------------------------------------- running
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


# --------------------------------------------------------------------------------------- printing
def format_row(rec: Mapping[str, Any], id_width: int = 8) -> str:
    """One line of the per-case table."""
    status = "pass" if rec.get("passed") else "FAIL"
    reason = ""
    if rec.get("failures"):
        codes = ",".join(dict.fromkeys(rec.get("failure_codes") or []))
        first = str(rec["failures"][0]).split(": ", 1)
        reason = codes + (f" — {first[1]}" if len(first) > 1 else "")
    return f"{str(rec.get('id')):<{id_width}} {str(rec.get('kind') or ''):<14} {status:<4} " \
           f"{float(rec.get('ms') or 0):>8.0f}  {_short(reason, 110)}"


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}%"


def _signed(x: Any) -> str:
    return "—" if x is None else f"{x:+g}"


def format_summary(result: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    """The summary printed after the table (and the baseline comparison when given)."""
    s = result["summary"]
    ci = s.get("ci95") or {}

    def with_ci(key: str) -> str:
        iv = ci.get(key)
        return _pct(s.get(key)) + (f" [{_pct(iv[0])}–{_pct(iv[1])}]" if iv else "")

    lines = [
        f"n={s['n']} passed={s['passed']}  accuracy {with_ci('accuracy')}"
        + ("  (INTERRUPTED)" if s.get("interrupted") else ""),
        f"answerable {with_ci('answerable_accuracy')}  refusal {with_ci('refusal_accuracy')}  "
        f"grounded {with_ci('grounded_rate')}",
        f"hit@{s.get('k')} {_pct(s.get('hit_at_k'))}  MRR {s.get('mrr') if s.get('mrr') is not None else '—'}"
        f"  (over {s.get('n_with_source', 0)} cases with a source)",
        f"latency p50 {s.get('p50_ms')} ms  p95 {s.get('p95_ms')} ms  "
        + "  ".join(f"{st}: {v['p50']}/{v['p95']}" for st, v in (s.get("latency_ms") or {}).items()
                    if st != "total"),
        "per kind: " + "  ".join(f"{k} {v['passed']}/{v['n']}" for k, v in (s.get("per_kind") or {}).items()),
        f"generator {s.get('generator')}  index {s.get('index')}  git {str(s.get('git_sha'))[:12]}"
        f"{' (dirty)' if s.get('git_dirty') else ''}  prompt {s.get('prompt_hash')}",
    ]
    if comparison:
        lines.append(f"vs baseline {str(comparison['baseline'].get('git_sha'))[:12]} "
                     f"({comparison['baseline'].get('started_at')}):")
        if not comparison.get("same_cases", True):
            com = comparison["common"]
            lines.append(f"  note: the case sets differ; on the {com['n']} shared cases "
                         f"{com['baseline_passed']} → {com['current_passed']} passed")
        lines.append("  " + "  ".join(f"{k} {_signed(d['delta'])}" for k, d in comparison["deltas"].items()))
        lines.append(f"  pass→fail: {', '.join(comparison['pass_to_fail']) or 'none'}")
        lines.append(f"  fail→pass: {', '.join(comparison['fail_to_pass']) or 'none'}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- CLI
def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rag eval`` on an argparse subparsers object (sets ``func=run_eval_command``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval", help="run a question set through the pipeline and grade it",
        description="Run every case of FILE.jsonl through the same pipeline as `rag ask`, print a "
                    "per-case table and a summary. Exit 0 even when cases fail; 1 below --min-accuracy; "
                    "2 when it cannot run; 130 when interrupted.")
    _add_eval_arguments(p)
    p.set_defaults(func=run_eval_command)
    return p


def _add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="question set, JSON Lines (see docs/eval-contract.md)")
    p.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="write the result JSON here")
    p.add_argument("--baseline", type=Path, metavar="PREV.json", help="compare with an earlier result JSON")
    p.add_argument("--min-accuracy", type=float, metavar="X", help="exit 1 when accuracy is below X (0–1)")
    p.add_argument("--generator", choices=["auto", "local", "openai", "extractive"], help="override RAG_GENERATOR")
    p.add_argument("--index", type=Path, metavar="DIR", help="index directory (default: settings)")
    p.add_argument("--report", type=Path, metavar="OUT.md|OUT.html", help="write a Markdown or HTML report")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases (after --kinds)")
    p.add_argument("--kinds", metavar="a,b", help="only cases of these kinds")


def load_result(path: Path) -> dict[str, Any]:
    """Read a result JSON written by ``rag eval --json`` (used as a baseline)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalFileError(f"cannot read result JSON {path}: {exc}", "pass a file written by rag eval --json") from exc
    if not isinstance(data, dict) or "summary" not in data or "cases" not in data:
        raise EvalFileError(f"{path} is not a rag eval result", "it needs 'summary' and 'cases'")
    return data


def select_cases(cases: Sequence[Case], kinds: str | None, limit: int | None) -> list[Case]:
    """Filter by ``--kinds`` then cut to ``--limit``."""
    chosen = list(cases)
    if kinds:
        wanted = {k.strip() for k in kinds.split(",") if k.strip()}
        chosen = [c for c in chosen if c.kind in wanted]
    if limit is not None:
        chosen = chosen[: max(limit, 0)]
    return chosen


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_eval_command(args: argparse.Namespace) -> int:
    """``rag eval``: returns the process exit code."""
    try:
        return _run_eval(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run_eval(args: argparse.Namespace) -> int:
    from rag.config import get_settings

    cases = select_cases(load_cases(args.file), args.kinds, args.limit)
    if not cases:
        raise EvalFileError(f"no cases left in {args.file} after --kinds/--limit")
    baseline = load_result(args.baseline) if args.baseline else None
    settings = get_settings().with_index(args.index)
    if args.generator:
        settings = settings.model_copy(update={"generator": args.generator})
    _require_index(settings)
    try:
        from rag.answer.pipeline import Pipeline
    except ImportError as exc:
        raise RagError(f"the pipeline is not available: {exc}", "install the project: pip install -e .") from exc

    started = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"loading pipeline (index {settings.index_dir}) …", file=sys.stderr)
    pipeline = Pipeline(settings)
    try:
        describe = dict(pipeline.describe())
    except Exception as exc:  # metadata is nice to have, never a reason not to run
        print(f"warning: describe() failed: {exc}", file=sys.stderr)
        describe = {}
    meta = run_meta(settings, describe)
    k = int(meta.get("top_k") or settings.top_k)
    extra = {"file": str(args.file), "started_at": started, "filters": {"kinds": args.kinds, "limit": args.limit}}
    return _execute(pipeline, cases, args, meta=meta, k=k, extra=extra, baseline=baseline)


def _require_index(settings: Settings) -> None:
    """Fail before loading models when there is no index (exit 2, per the contract)."""
    try:
        from rag.index.run import require_index
    except ImportError:  # index module not importable: check the directory ourselves
        if not Path(settings.index_dir).exists():
            raise IndexMissingError(f"no index at {settings.index_dir}",
                                    f"build it first: rag ingest corpus --index {settings.index_dir}") from None
        return
    require_index(settings)


def _execute(pipeline: AskPipeline, cases: Sequence[Case], args: argparse.Namespace, *, meta: Mapping[str, Any],
             k: int, extra: dict[str, Any], baseline: Mapping[str, Any] | None) -> int:
    """Run, print, write; separated from pipeline construction so tests can pass any AskPipeline."""
    from tqdm import tqdm

    json_out: Path | None = args.json_out
    partial = json_out.with_name(json_out.name + ".partial.jsonl") if json_out else None
    if partial:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("", encoding="utf-8")
    id_width = max(8, *(len(c.id) for c in cases))
    bar = tqdm(total=len(cases), file=sys.stderr, unit="case", dynamic_ncols=True, leave=False, disable=None)
    tqdm.write(f"{'id':<{id_width}} {'kind':<14} {'res':<4} {'ms':>8}  reason", file=sys.stdout)
    done: list[dict[str, Any]] = []

    def on_record(rec: dict[str, Any]) -> None:
        done.append(rec)
        if partial:
            with partial.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        tqdm.write(format_row(rec, id_width), file=sys.stdout)
        bar.update(1)
        bar.set_postfix(passed=sum(1 for r in done if r.get("passed")))

    completed = False
    old_handler = None
    try:
        old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not in the main thread
        pass
    try:
        run_cases(pipeline, cases, top_k=k, on_record=on_record)
        completed = True
    except KeyboardInterrupt:
        print(f"\ninterrupted after {len(done)}/{len(cases)} cases; keeping finished results", file=sys.stderr)
    finally:
        bar.close()
        interrupted = not completed  # Ctrl-C, SIGTERM, or a crash outside the per-case guard
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
        extra = {**extra, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "n_planned": len(cases)}
        result = build_result(done, meta, k=k, interrupted=interrupted, extra=extra)
        comparison = diff_runs(result, baseline) if baseline else None
        if comparison:
            result["baseline_comparison"] = comparison
        if json_out:
            _write_json(json_out, result)
            if partial and partial.exists():
                partial.unlink()
    print(format_summary(result, comparison))
    if json_out:
        print(f"wrote {json_out}", file=sys.stderr)
    if args.report:
        from rag.eval.report import write_report

        write_report(args.report, result, comparison)
        print(f"wrote {args.report}", file=sys.stderr)
    if interrupted:
        return 130
    acc = result["summary"]["accuracy"] or 0.0
    if args.min_accuracy is not None and acc < args.min_accuracy:
        print(f"accuracy {acc:.3f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rag.eval.run FILE …`` (same options as ``rag eval``)."""
    parser = argparse.ArgumentParser(prog="rag eval")
    _add_eval_arguments(parser)
    return run_eval_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
