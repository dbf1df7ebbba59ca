"""Small pure metrics for evaluation runs: rates, retrieval ranks, latency percentiles, bootstrap CIs.

Everything here works on plain values (booleans, ranks, milliseconds), so each function is easy to
test by hand. ``summarize`` turns a list of ``Outcome`` records into the summary numbers of the
evaluation contract (docs/eval-contract.md); ``diff_runs`` compares two result JSONs.

Rates are ``None`` when nothing was counted (no refusal cases → refusal_accuracy is None), never
a made-up 0 or 1. With the few dozen cases of a question set, a 95% bootstrap interval says how
much an accuracy could move by chance::

    >>> bootstrap_ci([1, 1, 0, 1], seed=0)  # doctest: +SKIP
    (0.25, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RATE_KEYS = ("accuracy", "answerable_accuracy", "refusal_accuracy", "grounded_rate", "hit_at_k", "mrr")


@dataclass(frozen=True)
class Outcome:
    """What ``summarize`` needs to know about one graded case."""

    passed: bool
    answerable: bool
    refused: bool = False
    grounded: bool | None = None  # None: nothing to judge (refused, or the run failed)
    kind: str = ""
    ms: float = 0.0
    stage_ms: Mapping[str, float] = field(default_factory=dict)
    rank: int | None = None  # 1-based rank of the first passage from the expected source
    has_source: bool = False  # the case names an expected source (counts for hit@k / MRR)
    error: bool = False


def rate(flags: Sequence[bool]) -> float | None:
    """Share of True values; None for an empty sequence."""
    return sum(1 for f in flags if f) / len(flags) if flags else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation (numpy's default); None if empty.

    >>> percentile([10, 20, 30, 40], 50)
    25.0
    """
    if not values:
        return None
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def first_rank(sources: Sequence[str], wanted: Sequence[str]) -> int | None:
    """1-based rank of the first source containing any of the ``wanted`` substrings, else None.

    >>> first_rank(["corpus/a.txt", "corpus/2022_台江区.txt"], ["台江区"])
    2
    """
    for i, src in enumerate(sources, 1):
        if any(w and w in src for w in wanted):
            return i
    return None


def hit_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of cases whose expected source is ranked within the top ``k``."""
    return rate([r is not None and r <= k for r in ranks])


def mrr(ranks: Sequence[int | None]) -> float | None:
    """Mean reciprocal rank (a miss counts 0)."""
    return sum(1.0 / r if r else 0.0 for r in ranks) / len(ranks) if ranks else None


def bootstrap_ci(
    values: Sequence[float], *, n_resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (0/1 flags or scores); seeded.

    None for an empty sequence. A constant sequence gives a zero-width interval.
    """
    if not values:
        return None
    import numpy as np  # heavy-ish, only needed here

    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(n_resamples, len(data)))
    means = data[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def latency(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float | None]]:
    """p50/p95 per stage ("total" = wall-clock ms per case measured by the harness)."""
    stages: dict[str, list[float]] = {"total": [o.ms for o in outcomes if not o.error]}
    for o in outcomes:
        if o.error:
            continue
        for stage, ms in o.stage_ms.items():
            if stage != "total":
                stages.setdefault(stage, []).append(float(ms))
    return {s: {"p50": _round(percentile(v, 50), 1), "p95": _round(percentile(v, 95), 1), "n": len(v)}
            for s, v in stages.items()}


def per_kind(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """Accuracy per ``kind`` (sorted by kind name)."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.kind or "(none)", []).append(o)
    return {
        k: {"n": len(g), "passed": sum(o.passed for o in g), "accuracy": _round(rate([o.passed for o in g]))}
        for k, g in sorted(groups.items())
    }


def summarize(outcomes: Sequence[Outcome], *, k: int, seed: int = 0) -> dict[str, Any]:
    """Summary metrics of a run (the numeric part of the contract's ``summary``).

    - accuracy: passed / n (errors count as failures)
    - answerable_accuracy / refusal_accuracy: the same over answerable / unanswerable cases
    - grounded_rate: share of non-refused, error-free answers whose figures all stand in the
      cited passages (and whose expected figures do too)
    - hit_at_k / mrr: over cases that name an expected ``source``
    - ci95: bootstrap interval for each rate
    """
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    judged = [o for o in outcomes if o.grounded is not None and not o.refused and not o.error]
    sourced = [o for o in outcomes if o.has_source and not o.error]
    ranks = [o.rank for o in sourced]
    flags: dict[str, list[float]] = {
        "accuracy": [float(o.passed) for o in outcomes],
        "answerable_accuracy": [float(o.passed) for o in answerable],
        "refusal_accuracy": [float(o.passed) for o in unanswerable],
        "grounded_rate": [float(bool(o.grounded)) for o in judged],
        "hit_at_k": [float(r is not None and r <= k) for r in ranks],
        "mrr": [1.0 / r if r else 0.0 for r in ranks],
    }
    lat = latency(outcomes)
    out: dict[str, Any] = {
        "n": len(outcomes),
        "passed": sum(o.passed for o in outcomes),
        "accuracy": _round(rate([o.passed for o in outcomes])),
        "answerable_accuracy": _round(rate([o.passed for o in answerable])),
        "refusal_accuracy": _round(rate([o.passed for o in unanswerable])),
        "grounded_rate": _round(rate([bool(o.grounded) for o in judged])),
        "p50_ms": lat["total"]["p50"],
        "p95_ms": lat["total"]["p95"],
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_errors": sum(o.error for o in outcomes),
        "n_grounding_judged": len(judged),
        "k": k,
        "n_with_source": len(sourced),
        "hit_at_k": _round(hit_at_k(ranks, k)),
        "mrr": _round(mrr(ranks)),
        "latency_ms": lat,
        "per_kind": per_kind(outcomes),
    }
    ci: dict[str, list[float] | None] = {}
    for key, vals in flags.items():
        interval = bootstrap_ci(vals, seed=seed)
        ci[key] = None if interval is None else [round(interval[0], 4), round(interval[1], 4)]
    out["ci95"] = ci
    return out


def diff_runs(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """Compare two result JSONs: metric deltas and cases that flipped between pass and fail."""
    cur_s, base_s = current.get("summary", {}), baseline.get("summary", {})
    deltas: dict[str, dict[str, float | None]] = {}
    for key in (*RATE_KEYS, "passed", "n", "p50_ms", "p95_ms"):
        a, b = base_s.get(key), cur_s.get(key)
        if isinstance(a, int | float) or isinstance(b, int | float):
            delta = round(b - a, 4) if isinstance(a, int | float) and isinstance(b, int | float) else None
            deltas[key] = {"baseline": a, "current": b, "delta": delta}
    cur = {c["id"]: bool(c.get("passed")) for c in current.get("cases", [])}
    base = {c["id"]: bool(c.get("passed")) for c in baseline.get("cases", [])}
    common = [i for i in cur if i in base]
    same_cases = set(cur) == set(base)
    return {
        "same_cases": same_cases,
        # over the cases both runs share: the fair comparison when the case sets differ
        "common": {"n": len(common), "baseline_passed": sum(base[i] for i in common),
                   "current_passed": sum(cur[i] for i in common)},
        "baseline": {k: base_s.get(k) for k in ("git_sha", "started_at", "generator", "file")},
        "deltas": deltas,
        "pass_to_fail": [i for i in common if base[i] and not cur[i]],
        "fail_to_pass": [i for i in common if not base[i] and cur[i]],
        "only_current": [i for i in cur if i not in base],
        "only_baseline": [i for i in base if i not in cur],
    }
