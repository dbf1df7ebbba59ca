import numpy as np
import pytest

from rag.eval.metrics import (
    Outcome,
    bootstrap_ci,
    diff_runs,
    first_rank,
    hit_at_k,
    latency,
    mrr,
    per_kind,
    percentile,
    rate,
    summarize,
)


def test_rate_counts_true_and_is_none_when_empty():
    assert rate([True, False, True, True]) == 0.75
    assert rate([]) is None


@pytest.mark.parametrize("values", [[3.0], [1, 2], [5, 1, 4, 2, 3], list(range(17)), [0.5, 9.1, 3.3, 3.3]])
@pytest.mark.parametrize("q", [0, 25, 50, 95, 100])
def test_percentile_matches_numpy_linear(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_empty_is_none():
    assert percentile([], 50) is None


def test_first_rank_is_one_based_and_any_substring_matches():
    srcs = ["corpus/2022_台江区.txt", "corpus/2024_XX区_脱敏版.txt", "corpus/2024_仓山区_新闻摘要.txt"]
    assert first_rank(srcs, ["仓山区"]) == 3
    assert first_rank(srcs, ["仓山区", "脱敏版"]) == 2
    assert first_rank(srcs, ["解放区"]) is None
    assert first_rank(srcs, [""]) is None  # an empty substring must not match everything


def test_hit_at_k_and_mrr():
    ranks = [1, 3, None, 6]
    assert hit_at_k(ranks, 5) == 0.5
    assert hit_at_k(ranks, 1) == 0.25
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 6) / 4)
    assert hit_at_k([], 5) is None and mrr([]) is None


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    flags = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
    a = bootstrap_ci(flags, seed=7)
    assert a == bootstrap_ci(flags, seed=7)
    assert a is not None
    lo, hi = a
    assert 0.0 <= lo < 0.7 < hi <= 1.0
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)
    assert bootstrap_ci([]) is None


def test_bootstrap_ci_narrows_with_more_data():
    small = bootstrap_ci([1, 0] * 5, seed=0)
    large = bootstrap_ci([1, 0] * 200, seed=0)
    assert small and large
    assert (large[1] - large[0]) < (small[1] - small[0])


def test_latency_per_stage_skips_errors():
    outs = [Outcome(True, True, ms=100, stage_ms={"retrieve": 10, "generate": 80, "total": 95}),
            Outcome(True, True, ms=300, stage_ms={"retrieve": 30, "generate": 260}),
            Outcome(False, True, ms=9999, stage_ms={"retrieve": 1}, error=True)]
    lat = latency(outs)
    assert lat["total"] == {"p50": 200.0, "p95": 290.0, "n": 2}
    assert lat["retrieve"]["p50"] == 20.0
    assert "total" in lat and lat["generate"]["n"] == 2


def test_per_kind_groups_and_sorts():
    outs = [Outcome(True, True, kind="target"), Outcome(False, True, kind="fact"),
            Outcome(True, True, kind="fact"), Outcome(True, False, kind="")]
    pk = per_kind(outs)
    assert list(pk) == ["(none)", "fact", "target"]
    assert pk["fact"] == {"n": 2, "passed": 1, "accuracy": 0.5}


def test_summarize_separates_answerable_refusal_grounding_and_retrieval():
    outs = [
        Outcome(True, True, grounded=True, kind="fact", ms=10, rank=1, has_source=True),
        Outcome(False, True, grounded=False, kind="fact", ms=20, rank=None, has_source=True),
        Outcome(False, True, refused=True, kind="fact", ms=30, rank=7, has_source=True),
        Outcome(True, False, refused=True, kind="refuse", ms=40),
        Outcome(False, False, refused=False, grounded=True, kind="refuse", ms=50),
        Outcome(False, True, kind="fact", ms=0, error=True, has_source=True),
    ]
    s = summarize(outs, k=5)
    assert (s["n"], s["passed"]) == (6, 2)
    assert s["accuracy"] == round(2 / 6, 4)
    assert s["answerable_accuracy"] == 0.25
    assert s["refusal_accuracy"] == 0.5
    # judged: non-refused, non-error answers with a grounding verdict → cases 1, 2, 5
    assert s["n_grounding_judged"] == 3 and s["grounded_rate"] == round(2 / 3, 4)
    # retrieval over cases with a source and no error: ranks 1, None, 7
    assert s["n_with_source"] == 3
    assert s["hit_at_k"] == round(1 / 3, 4)
    assert s["mrr"] == round((1 + 0 + 1 / 7) / 3, 4)
    assert s["n_errors"] == 1
    assert set(s["ci95"]) >= {"accuracy", "answerable_accuracy", "refusal_accuracy", "grounded_rate", "hit_at_k"}
    lo, hi = s["ci95"]["accuracy"]
    assert lo <= s["accuracy"] <= hi


def test_summarize_rates_are_none_without_cases_of_that_sort():
    s = summarize([Outcome(True, True, grounded=True)], k=3)
    assert s["refusal_accuracy"] is None and s["ci95"]["refusal_accuracy"] is None
    assert s["hit_at_k"] is None


def test_diff_runs_reports_flips_and_deltas():
    base = {"summary": {"accuracy": 0.5, "passed": 1, "n": 2, "git_sha": "abc", "p50_ms": 10},
            "cases": [{"id": "a", "passed": True}, {"id": "b", "passed": False}, {"id": "old", "passed": True}]}
    cur = {"summary": {"accuracy": 0.5, "passed": 1, "n": 2, "p50_ms": 15},
           "cases": [{"id": "a", "passed": False}, {"id": "b", "passed": True}, {"id": "new", "passed": True}]}
    d = diff_runs(cur, base)
    assert d["pass_to_fail"] == ["a"] and d["fail_to_pass"] == ["b"]
    assert d["only_current"] == ["new"] and d["only_baseline"] == ["old"]
    assert d["deltas"]["accuracy"]["delta"] == 0
    assert d["deltas"]["p50_ms"] == {"baseline": 10, "current": 15, "delta": 5}
    assert d["baseline"]["git_sha"] == "abc"
    assert d["same_cases"] is False
    assert d["common"] == {"n": 2, "baseline_passed": 1, "current_passed": 1}
