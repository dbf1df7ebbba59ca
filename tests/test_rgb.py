"""RGB runner helpers on synthetic items (the RGB data itself never enters the repository)."""

import importlib.util
import random
from types import SimpleNamespace

import pytest

from rag.config import REPO_ROOT

_spec = importlib.util.spec_from_file_location("rgb", REPO_ROOT / "evals" / "rgb.py")
assert _spec and _spec.loader
rgb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rgb)

ITEM = {"id": 1, "query": "q", "answer": ["12人"],
        "positive": [f"P{i}" for i in range(6)], "negative": [f"N{i}" for i in range(9)]}


@pytest.mark.parametrize("ratio, n_pos, n_neg", [(0, 5, 0), (0.2, 4, 1), (0.4, 3, 2), (0.6, 2, 3), (0.8, 1, 4), (1.0, 0, 5)])
def test_noise_passages_mix_like_the_paper(ratio, n_pos, n_neg):
    docs = rgb.noise_passages(ITEM, ratio, random.Random(0))
    assert len(docs) == 5
    assert sum(d.startswith("P") for d in docs) == n_pos and sum(d.startswith("N") for d in docs) == n_neg
    assert {d for d in docs if d.startswith("P")} == {f"P{i}" for i in range(n_pos)}  # first ones, as the paper


def test_noise_passages_clamp_to_what_the_item_has_and_are_seeded():
    few = {**ITEM, "positive": ["P0", "P1"]}
    docs = rgb.noise_passages(few, 0.0, random.Random(0))
    assert sorted(docs) == ["N0", "N1", "N2", "P0", "P1"]
    assert rgb.noise_passages(ITEM, 0.4, random.Random("s")) == rgb.noise_passages(ITEM, 0.4, random.Random("s"))


def test_fact_and_integration_passages():
    fact = {"positive_wrong": [f"W{i}" for i in range(7)], "positive": [], "negative": []}
    docs = rgb.fact_passages(fact, random.Random(1))
    assert len(docs) == 5 and all(d.startswith("W") for d in docs)
    item = {"positive": [["A0", "A1", "A2"], ["B0"]], "negative": ["N0", "N1", "N2", "N3"]}
    docs = rgb.integration_passages(item, 0.0, random.Random(2))
    assert len(docs) == 5
    assert sum(d.startswith("A") for d in docs) == 3 and "B0" in docs and sum(d.startswith("N") for d in docs) == 1


def test_check_answer_follows_the_paper():
    assert rgb.check_answer("死亡12人", ["12人"]) == [1]
    assert rgb.check_answer("东盟和中国", ["东盟", "中国", "日本"]) == [1, 1, 0]
    assert rgb.check_answer("在南宁举行", [["南宁", "Nanning"], "举行"]) == [1, 1]
    assert rgb.check_answer("ABC", "abc") == [1]
    assert rgb.is_correct([1, 1]) and not rgb.is_correct([1, 0]) and not rgb.is_correct([-1])


def test_score_counterfactual_does_not_credit_the_true_answer_inside_the_fake():
    job = {"task": "counterfactual", "answer": "70", "fake": "170"}
    misled = rgb.score(job, "共有170个议席", refused=False)
    assert misled["misled"] and not misled["correct"] and not misled["error_detected"]
    right = rgb.score(job, "资料有误,实际为70个议席", refused=False)
    assert right["correct"] and right["flagged"] and right["error_detected"] and not right["misled"]
    assert rgb.score(job, "无法回答", refused=True)["error_detected"]


def test_refused_noise_answer_counts_wrong_and_summary_has_published_figures():
    job = {"task": "noise_0.4", "answer": ["12人"]}
    assert rgb.score(job, "12人", refused=True)["correct"] is False
    rows = [{"task": "noise_0.4", "ms": 5, "error": "", **rgb.score(job, "12人", False)},
            {"task": "noise_0.4", "ms": 7, "error": "", **rgb.score(job, "不知道", False)},
            {"task": "negative", "ms": 3, "error": "", "refused": True}]
    m = rgb.summarize(rows)
    assert m["noise_0.4"]["accuracy"] == 50.0 and m["noise_0.4"]["published_chatgpt"] == 91.0
    assert m["negative"]["rejection_rate"] == 100.0
    assert "noise_0.4" in rgb.format_comparison(m)


def test_run_with_an_answerer_and_interrupt():
    jobs = [{"task": "negative", "id": i, "query": f"q{i}", "answer": ["x"], "docs": ["N"]} for i in range(3)]

    def answerer(q, docs):
        if q == "q2":
            raise KeyboardInterrupt
        if q == "q1":
            raise RuntimeError("model down")
        return SimpleNamespace(answer="资料不足", refused=True)

    rows, interrupted = rgb.run(jobs, answerer, progress=False)
    assert interrupted and len(rows) == 2
    assert rows[0]["refused"] and rows[1]["error"].startswith("RuntimeError")


def test_run_reports_rows_as_they_finish() -> None:
    """The command line rewrites its JSON after every item, so a stopped run keeps what it finished."""
    jobs = [{"task": "negative", "id": i, "query": "q", "answer": ["x"], "docs": ["d"]} for i in range(3)]
    seen: list[int] = []
    rows, interrupted = rgb.run(jobs, lambda q, d: SimpleNamespace(answer="资料中没有相关信息", refused=True),
                                progress=False, on_row=lambda rs: seen.append(len(rs)))
    assert seen == [1, 2, 3] and not interrupted and all(r["refused"] for r in rows)
    assert rgb.summarize(rows)["negative"]["rejection_rate"] == 100.0
