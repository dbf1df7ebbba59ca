"""RGB benchmark (Chinese part) through our answer chain, with the passages given (no retrieval).

Chen et al., "Benchmarking Large Language Models in Retrieval-Augmented Generation" (AAAI 2024).
The data is CC BY-NC-SA 4.0: it is read at run time from ``--data`` (default
``<shared_dir>/data/rgb``: ``RAG_SHARED_DIR``, else ``../shared`` beside the repository) and NEVER copied into this repository; the output JSON holds ids, labels
and metrics only, unless ``--keep-text`` is given (then keep it out of git: default output is
under artifacts/, which is ignored).

Tasks and how they are scored (following the paper's ``evalue.py`` where it defines things):

- ``noise`` (zh_refine): per noise ratio r (default 0, 0.4, 0.8) build 5 passages like the paper:
  ``neg = ceil(5 * r)`` first negative passages + ``5 - neg`` first positive passages (clamped to
  what the item has), shuffled with a seeded RNG. Accuracy = the paper's ``checkanswer``: every
  element of ``answer`` must be contained in the answer text (an element that is a list counts
  when any alternative is contained), case-insensitive. A refused answer counts as wrong (the
  paper's ``信息不足`` label -1).
- ``negative`` (zh_refine, noise ratio 1: only negative passages): rejection rate = share of
  answers with the structured ``refused`` flag set (the paper matched the phrase 信息不足, or
  asked a model; we use our flag, which is what the product shows).
- ``counterfactual`` (zh_fact): passages = up to 5 ``positive_wrong`` passages (they state
  ``fakeanswer`` instead of ``answer``). Reported:
  ``error_detection`` = refused, or the answer flags the passages as wrong (phrases in
  ``ERROR_PHRASES``: 事实性错误, 有误, 错误, 不准确, 不正确, 矛盾, 不一致, 存疑, factual error);
  ``misled`` = not refused and the fake answer is stated; ``not_misled`` = 1 − misled;
  ``correct`` = the true answer is stated (occurrences of the fake answer removed first, since
  e.g. "70" is inside "170").
- ``integration`` (zh_int, optional): passages built as in the paper (first passage of each
  answer part, then further ones), negatives fill up to 5; accuracy as for ``noise``.

Example (quick run)::

    .venv/bin/python evals/rgb.py --limit 20 --json artifacts/rgb.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import get_settings  # noqa: E402  (after the path fix above)

DEFAULT_DATA = get_settings().shared_dir / "data" / "rgb"  # RAG_SHARED_DIR (default: ../shared beside the repo)
PASSAGE_NUM = 5
ERROR_PHRASES = ("事实性错误", "有误", "错误", "不准确", "不正确", "矛盾", "不一致", "存疑", "factual error")
# Published ChatGPT results on the Chinese part (shared/data/README.md)
PUBLISHED = {
    "noise": {0.0: 95.67, 0.2: 94.67, 0.4: 91.00, 0.6: 87.67, 0.8: 70.67},
    "negative": 43.33,  # judged by a model; 5.33 by exact match of the refusal phrase
    "negative_exact": 5.33,
    "integration": {0.0: 63.0, 0.2: 58.0, 0.4: 47.0},
    "counterfactual_ed": 3.0,
}

Answerer = Callable[[str, Sequence[str]], Any]  # (question, passages) -> rag.types.Answer


# ------------------------------------------------------------------------------- pure helpers
def load_items(path: Path) -> list[dict[str, Any]]:
    """Read one RGB file (JSON Lines)."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def noise_passages(item: dict[str, Any], noise_rate: float, rng: random.Random,
                   passage_num: int = PASSAGE_NUM) -> list[str]:
    """Passages for noise robustness / negative rejection, as the paper's ``processdata``."""
    pos, neg = item.get("positive", []), item.get("negative", [])
    # round() first: the paper's ceil(5 * 0.6) gives 4 (float 3.0000000000000004); we mean 3
    neg_num = math.ceil(round(passage_num * noise_rate, 9))
    pos_num = passage_num - neg_num
    if noise_rate >= 1:
        neg_num, pos_num = passage_num, 0
    elif neg_num > len(neg):
        neg_num = len(neg)
        pos_num = passage_num - neg_num
    elif pos_num > len(pos):
        pos_num = len(pos)
        neg_num = passage_num - pos_num
    docs = list(pos[:pos_num]) + list(neg[:neg_num])
    rng.shuffle(docs)
    return docs


def fact_passages(item: dict[str, Any], rng: random.Random, passage_num: int = PASSAGE_NUM) -> list[str]:
    """Counterfactual passages: a seeded sample of up to ``passage_num`` positive_wrong passages."""
    wrong = item.get("positive_wrong", [])
    chosen = rng.sample(range(len(wrong)), min(len(wrong), passage_num))
    docs = [wrong[i] for i in chosen]
    rng.shuffle(docs)
    return docs


def integration_passages(item: dict[str, Any], noise_rate: float, rng: random.Random,
                         passage_num: int = PASSAGE_NUM) -> list[str]:
    """Information-integration passages, as the paper: one per answer part first, then more."""
    groups = [list(g) if isinstance(g, list) else [g] for g in item.get("positive", [])]
    for g in groups:
        rng.shuffle(g)
    pos_num = passage_num - math.ceil(round(passage_num * noise_rate, 9))
    docs = [g[0] for g in groups if g][:pos_num]
    depth = 1
    while len(docs) < pos_num and any(len(g) > depth for g in groups):
        for g in groups:
            if len(g) > depth and len(docs) < pos_num:
                docs.append(g[depth])
        depth += 1
    docs += list(item.get("negative", []))[: max(passage_num - len(docs), 0)]
    rng.shuffle(docs)
    return docs


def check_answer(prediction: str, ground_truth: Any) -> list[int]:
    """The paper's ``checkanswer``: one 0/1 label per answer element (lists = alternatives)."""
    pred = prediction.lower()
    truths = ground_truth if isinstance(ground_truth, list) else [ground_truth]
    labels = []
    for t in truths:
        if isinstance(t, list):
            labels.append(int(any(str(a).lower() in pred for a in t)))
        else:
            labels.append(int(str(t).lower() in pred))
    return labels


def is_correct(labels: Sequence[int]) -> bool:
    """Correct when no element is missing and at least one was found (paper's rule)."""
    return 0 not in labels and 1 in labels


def flags_error(text: str) -> bool:
    """True when the answer says the passages are wrong or contradictory."""
    low = text.lower()
    return any(p in low for p in ERROR_PHRASES)


def states(answer_text: str, value: Any, *, remove: str = "") -> bool:
    """True when ``value`` (str or list of alternatives) is contained, after removing ``remove``."""
    text = answer_text.lower()
    if remove:
        text = text.replace(remove.lower(), " ")
    values = value if isinstance(value, list) else [value]
    return any(str(v).lower() in text for v in values if str(v))


def rate(xs: Sequence[bool]) -> float | None:
    """Percentage of True values (None when empty)."""
    return round(100.0 * sum(xs) / len(xs), 2) if xs else None


# ---------------------------------------------------------------------------------- running
def _ask(answer: Answerer, query: str, docs: Sequence[str]) -> tuple[str, bool, float, str]:
    t0 = time.perf_counter()
    try:
        a = answer(query, docs)
        return a.answer, bool(a.refused), (time.perf_counter() - t0) * 1000, ""
    except Exception as exc:  # an error is a wrong answer, reported
        return "", False, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"


def plan(data: Path, tasks: Sequence[str], noise_rates: Sequence[float], limit: int | None,
         seed: int, skip: int = 0) -> list[dict[str, Any]]:
    """Every (task, item) to run, passages built and seeded; RGB text stays in memory only.

    ``skip`` leaves out the first items of each file (calibration runs on items outside the reported ones).
    """
    jobs: list[dict[str, Any]] = []

    def items(name: str) -> list[dict[str, Any]]:
        rows = load_items(data / name)[skip:]
        return rows[:limit] if limit else rows

    if "noise" in tasks or "negative" in tasks:
        refine = items("zh_refine.json")
        for r in noise_rates if "noise" in tasks else ():
            for it in refine:
                rng = random.Random(f"{seed}:noise:{it['id']}:{r}")
                jobs.append({"task": f"noise_{r:g}", "id": it["id"], "query": it["query"],
                             "answer": it["answer"], "docs": noise_passages(it, r, rng)})
        if "negative" in tasks:
            for it in refine:
                rng = random.Random(f"{seed}:negative:{it['id']}")
                jobs.append({"task": "negative", "id": it["id"], "query": it["query"],
                             "answer": it["answer"], "docs": noise_passages(it, 1.0, rng)})
    if "counterfactual" in tasks:
        for it in items("zh_fact.json"):
            rng = random.Random(f"{seed}:fact:{it['id']}")
            jobs.append({"task": "counterfactual", "id": it["id"], "query": it["query"], "answer": it["answer"],
                         "fake": it.get("fakeanswer", ""), "docs": fact_passages(it, rng)})
    if "integration" in tasks:
        for it in items("zh_int.json"):
            rng = random.Random(f"{seed}:int:{it['id']}")
            jobs.append({"task": "integration_0", "id": it["id"], "query": it["query"],
                         "answer": it["answer"], "docs": integration_passages(it, 0.0, rng)})
    return jobs


def score(job: dict[str, Any], text: str, refused: bool) -> dict[str, Any]:
    """Labels of one answer for its task."""
    if job["task"] == "negative":
        return {"refused": refused}
    if job["task"] == "counterfactual":
        fake = str(job.get("fake") or "")
        truth = job["answer"]
        return {
            "refused": refused,
            "flagged": flags_error(text),
            "error_detected": refused or flags_error(text),
            "misled": (not refused) and bool(fake) and states(text, fake),
            "correct": (not refused) and states(text, truth, remove=fake if fake and str(truth) in fake else ""),
        }
    labels = [-1] if refused else check_answer(text, job["answer"])
    return {"refused": refused, "labels": labels, "correct": (not refused) and is_correct(labels)}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metrics per task (percentages) with the published ChatGPT figure next to ours."""
    out: dict[str, dict[str, Any]] = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        rs = [r for r in rows if r["task"] == task]
        m: dict[str, Any] = {"n": len(rs), "errors": sum(1 for r in rs if r.get("error")),
                             "p50_ms": round(sorted(r["ms"] for r in rs)[len(rs) // 2], 1)}
        if task == "negative":
            m["rejection_rate"] = rate([r["refused"] for r in rs])
            m["published_chatgpt"] = PUBLISHED["negative"]
            m["published_chatgpt_exact"] = PUBLISHED["negative_exact"]
        elif task == "counterfactual":
            for key in ("error_detected", "flagged", "refused", "misled", "correct"):
                m[f"{key}_rate"] = rate([r[key] for r in rs])
            m["not_misled_rate"] = None if m["misled_rate"] is None else round(100 - m["misled_rate"], 2)
            m["published_chatgpt_ed"] = PUBLISHED["counterfactual_ed"]
        else:
            m["accuracy"] = rate([r["correct"] for r in rs])
            m["refused_rate"] = rate([r["refused"] for r in rs])
            ratio = float(task.split("_")[1])
            table = PUBLISHED["integration"] if task.startswith("integration") else PUBLISHED["noise"]
            m["published_chatgpt"] = table.get(ratio) if isinstance(table, dict) else None
        out[task] = m
    return out


def format_comparison(metrics: dict[str, dict[str, Any]]) -> str:
    """A small table: our figure vs the published ChatGPT figure."""
    lines = [f"{'task':<16}{'n':>5}  {'ours':>8}  {'ChatGPT':>8}  note"]
    for task, m in metrics.items():
        if task == "negative":
            lines.append(f"{task:<16}{m['n']:>5}  {m['rejection_rate']!s:>8}  {m['published_chatgpt']!s:>8}  "
                         f"rejection % (ours: refused flag; ChatGPT exact-phrase {m['published_chatgpt_exact']})")
        elif task == "counterfactual":
            lines.append(f"{task:<16}{m['n']:>5}  {m['error_detected_rate']!s:>8}  {m['published_chatgpt_ed']!s:>8}  "
                         f"error detection % (misled {m['misled_rate']}, correct {m['correct_rate']}, "
                         f"refused {m['refused_rate']})")
        else:
            lines.append(f"{task:<16}{m['n']:>5}  {m['accuracy']!s:>8}  {m['published_chatgpt']!s:>8}  "
                         f"accuracy % (refused {m['refused_rate']})")
    return "\n".join(lines)


def run(jobs: Sequence[dict[str, Any]], answer: Answerer, *, keep_text: bool = False,
        progress: bool = True, on_row: Callable[[list[dict[str, Any]]], object] | None = None,
        ) -> tuple[list[dict[str, Any]], bool]:
    """Answer every job; returns (rows, interrupted). Ctrl-C keeps the finished rows.

    ``on_row`` gets the rows so far after each answer (the command line rewrites its JSON, so a run
    stopped or killed midway still leaves its finished items and metrics on disk).
    """
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    try:
        for job in tqdm(jobs, file=sys.stderr, unit="q", disable=None if progress else True, dynamic_ncols=True):
            text, refused, ms, error = _ask(answer, job["query"], job["docs"])
            row = {"task": job["task"], "id": job["id"], "ms": round(ms, 1), "error": error,
                   **score(job, text, refused)}
            if keep_text:
                row.update({"query": job["query"], "prediction": text})
            rows.append(row)
            if on_row is not None:
                on_row(rows)
    except KeyboardInterrupt:
        print(f"\ninterrupted after {len(rows)}/{len(jobs)}; keeping finished results", file=sys.stderr)
        return rows, True
    return rows, False


def rescreen(jobs: Sequence[dict[str, Any]], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of an earlier run with today's relevance check applied (no model run).

    Valid only when the earlier run used the same prompt and model (greedy decoding: the model's
    answer to an item the check lets through is the one it gave then): an item the check now refuses
    is refused; every other item keeps its earlier labels. The output says it is derived.
    """
    from rag.answer.given import adhoc_chunk
    from rag.answer.relevance import assess
    from rag.search.query import ParsedQuestion, parse_question
    from rag.types import ScoredChunk

    before = {(r["task"], r["id"]): r for r in previous["items"]}
    rows: list[dict[str, Any]] = []
    for job in jobs:
        old = before.get((job["task"], job["id"]))
        if old is None:
            continue
        parsed = parse_question(job["query"], ())
        parsed = ParsedQuestion(**{**parsed.__dict__, "regions": (), "unknown_regions": (), "years": ()})
        chunks = [ScoredChunk(adhoc_chunk(i, t), 1.0) for i, t in enumerate(job["docs"])]
        if assess(parsed, chunks).answerable:
            rows.append({**old, "rescreened": False})
        else:
            rows.append({**old, **score(job, "", True), "rescreened": True})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding zh_refine.json, zh_fact.json …")
    ap.add_argument("--tasks", default="noise,negative,counterfactual",
                    help="comma list of noise,negative,counterfactual,integration")
    ap.add_argument("--noise", default="0,0.4,0.8", help="noise ratios for the noise task")
    ap.add_argument("--limit", type=int, help="only the first N items of each file")
    ap.add_argument("--skip", type=int, default=0,
                    help="leave out the first N items (e.g. --skip 100: calibrate outside the reported items)")
    ap.add_argument("--seed", type=int, default=2333)
    ap.add_argument("--generator", choices=["auto", "local", "openai", "extractive"])
    ap.add_argument("--index", type=Path, help="index directory (only if the pipeline needs one)")
    ap.add_argument("--json", dest="json_out", type=Path, default=Path("artifacts/rgb.json"))
    ap.add_argument("--rescreen", type=Path, metavar="PREV.json",
                    help="no model run: an earlier run's labels with today's relevance check applied (same prompt+model)")
    ap.add_argument("--keep-text", action="store_true", help="store queries and answers (RGB-derived: never commit)")
    args = ap.parse_args(argv)

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - {"noise", "negative", "counterfactual", "integration"}
    if unknown or not args.data.is_dir():
        print(f"error: unknown tasks {sorted(unknown)}" if unknown else f"error: no RGB data at {args.data}",
              file=sys.stderr)
        return 2
    jobs = plan(args.data, tasks, [float(x) for x in args.noise.split(",") if x.strip()], args.limit, args.seed,
                args.skip)

    if args.rescreen:
        previous = json.loads(args.rescreen.read_text(encoding="utf-8"))
        rows = rescreen(jobs, previous)
        metrics = summarize(rows)
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        meta = {**previous["meta"], "rescreened_from": str(args.rescreen), "n_done": len(rows),
                "rescreened_at": datetime.now(UTC).isoformat(timespec="seconds")}
        args.json_out.write_text(json.dumps({"meta": meta, "metrics": metrics, "items": rows}, ensure_ascii=False,
                                            indent=1), encoding="utf-8")
        print(format_comparison(metrics))
        return 0

    from rag.config import get_settings
    from rag.errors import RagError

    settings = get_settings().with_index(args.index)
    if args.generator:
        settings = settings.model_copy(update={"generator": args.generator})
    try:
        from rag.answer.pipeline import Pipeline

        pipeline = Pipeline(settings)
        describe = dict(pipeline.describe())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = datetime.now(UTC).isoformat(timespec="seconds")
    from rag.eval.run import git_info

    sha, dirty = git_info()
    args.json_out.parent.mkdir(parents=True, exist_ok=True)

    def write(rows: list[dict[str, Any]], interrupted: bool, done: bool) -> dict[str, dict[str, Any]]:
        metrics = summarize(rows)
        result = {
            "meta": {"started_at": started, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "git_sha": sha, "git_dirty": dirty, "tasks": tasks, "noise": args.noise, "limit": args.limit, "skip": args.skip,
                     "seed": args.seed, "passage_num": PASSAGE_NUM, "data": str(args.data), "done": done,
                     "interrupted": interrupted, "n_planned": len(jobs), "n_done": len(rows), "pipeline": describe},
            "metrics": metrics,
            "items": rows,
        }
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        return metrics

    rows, interrupted = run(jobs, pipeline.answer_from_passages, keep_text=args.keep_text,
                            on_row=lambda rs: write(rs, False, False))
    metrics = write(rows, interrupted, not interrupted)
    print(format_comparison(metrics))
    print(f"wrote {args.json_out}", file=sys.stderr)
    return 130 if interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
