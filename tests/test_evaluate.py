"""Grading rules, question-set validity, and the harness (run/JSON/interrupt/baseline/report).

Grading tests use hand-made ``Answer`` objects: grading is pure logic over an answer and its
citations. The last test runs the real ``rag eval`` on evals/ci_questions.jsonl.
"""

import argparse
import json
import re

import pytest

from rag.config import REPO_ROOT, get_settings
from rag.eval.cases import Case, EvalFileError, load_cases, parse_case, select_cases
from rag.eval.cli import _execute, format_row
from rag.eval.grade import asserts_absence, grade
from rag.eval.run import build_result, run_cases
from rag.testing import unavailable
from rag.textnorm import fold
from rag.types import Answer, Chunk, Citation, ScoredChunk

EVALS = REPO_ROOT / "evals"
SHARED = get_settings().shared_dir / "data"
CONTRACT_SUMMARY = {"n", "passed", "accuracy", "answerable_accuracy", "refusal_accuracy", "grounded_rate",
                    "p50_ms", "p95_ms", "generator", "index", "git_sha"}
CONTRACT_CASE = {"id", "passed", "answer", "refused", "citations", "failures", "ms"}


# ---------------------------------------------------------------------------------- helpers
def chunk(text: str, source: str = "corpus/2024_仓山区政府工作报告_新闻摘要.txt", cid: str = "c1") -> Chunk:
    return Chunk(chunk_id=cid, doc_id="d", source=source, title="t", text=text, start=0, end=len(text),
                 section="s", header="h", region="仓山区", year=2024, period_year=2024)


def answer(text: str, cited: list[str] | tuple[str, ...] = (), *, refused: bool = False,
           retrieved: list[Chunk] | None = None, source: str = "corpus/2024_仓山区政府工作报告_新闻摘要.txt") -> Answer:
    cits = tuple(Citation(id=i, chunk_id=f"c{i}", source=source, title="t", region="仓山区", year=2024,
                          section="s", text=t, start=0, end=len(t)) for i, t in enumerate(cited, 1))
    passages = retrieved if retrieved is not None else [chunk(t, source, f"c{i}") for i, t in enumerate(cited, 1)]
    return Answer(question="q", answer=text, refused=refused, citations=cits, generator="test",
                  timings_ms={"retrieve": 1.0, "generate": 2.0, "total": 3.0},
                  passages=tuple(ScoredChunk(c, 1.0 / i) for i, c in enumerate(passages, 1)))


def case(expect=(), answerable=True, source=(), cid="t1", kind="") -> Case:
    raw = {"id": cid, "question": "q", "expect": list(expect), "answerable": answerable}
    return Case(cid, "q", (), tuple(expect), answerable, kind or ("fact" if answerable else "refuse"),
                tuple([source] if isinstance(source, str) else source), raw)


def codes(g) -> list[str]:
    return [f.code for f in g.failures]


TARGETS = "2024年主要预期目标\n- 地区生产总值增长**5.5%**;\n- 固定资产投资增长**3%**;"


# ---------------------------------------------------------------------------------- grading
def test_correct_grounded_answer_passes_even_in_full_width():
    g = grade(case([r"5\.5\s*%"]), answer("仓山区2024年地区生产总值预期增长５．５％[1]。", [TARGETS]), top_k=5)
    assert g.passed and g.grounded and not g.failures


def test_wrong_figure_is_named():
    g = grade(case([r"5\.5\s*%"]), answer("预期增长3%[1]。", [TARGETS]), top_k=5)
    assert codes(g) == ["wrong_figure"]
    assert "3%" in str(g.failures[0])


def test_missing_expected_when_answer_states_no_figure():
    g = grade(case([r"5\.5\s*%"]), answer("报告提出要稳中求进。", [TARGETS]), top_k=5)
    assert codes(g) == ["missing_expected"]


def test_expected_figure_must_stand_in_cited_passages():
    g = grade(case([r"5\.5\s*%"]), answer("预期增长5.5%[1]。", ["固定资产投资增长**3%**;"]), top_k=5)
    assert "not_grounded" in codes(g) and "ungrounded" in codes(g)
    assert not g.passed and g.grounded is False
    assert g.ungrounded == ("5.5%",)


def test_extra_figure_outside_citations_fails_as_ungrounded():
    g = grade(case([r"5\.5\s*%"]), answer("增长5.5%[1],比上年高12个百分点。", [TARGETS]), top_k=5)
    assert codes(g) == ["ungrounded"]
    assert "12个百分点" in str(g.failures[0])


def test_answer_without_citations_is_not_grounded():
    g = grade(case([r"5\.5\s*%"]), answer("增长5.5%。", []), top_k=5)
    assert "not_grounded" in codes(g)


@pytest.mark.parametrize("stated, passage, ok", [
    ("1065亿", "全年地区生产总值1065亿元", True),        # unit abbreviated
    ("1065亿元", "全年地区生产总值1065亿", False),       # an answer may drop the end of a unit, not add to it
    ("1065亿元", "粮食1065亿斤", False),                # (the runtime check applies the same rule)
    ("4.0个", "确保每千人托位数达4.0个", True),
    ("16%", "社会消费品零售总额296.9亿元,增长16%", True),
    ("16%", "新增16个项目", False),                     # same number, other unit
    ("5%", "增长15%", False),                           # no partial-number match
    ("5.5%", "增长5.5个百分点", False),
    ("74772亿元", "1 9 9 7 年国内生产总值达到7 4 7 7 2 亿元", True),  # spaced-out digits
    ("43800亿元", "国内生产总值达到４３８００亿元", True),      # full-width digits
])
def test_figure_grounding_units_and_formats(stated, passage, ok):
    g = grade(case([]), answer(f"答案是{stated}[1]。", [passage]), top_k=5)
    assert ("ungrounded" not in codes(g)) is ok


def test_years_dates_and_citation_markers_are_not_figures():
    g = grade(case([]), answer("2024年12月24日的报告[1][2]指出第3位。", ["无关文字", "无关"]), top_k=5)
    assert g.passed


def test_unanswerable_refused_passes_and_may_point_at_cited_figures():
    c = case([], answerable=False)
    assert grade(c, answer("资料中没有晋安区的数据。", [], refused=True), top_k=5).passed
    pointing = answer("报告没有2025年的目标;2024年目标为增长5.5%[1]。", [TARGETS], refused=True)
    assert grade(c, pointing, top_k=5).passed


def test_unanswerable_answered_fails_and_uncited_figure_in_refusal_fails():
    c = case([], answerable=False)
    assert codes(grade(c, answer("增长5.5%[1]。", [TARGETS]), top_k=5)) == ["should_have_refused"]
    g = grade(c, answer("没有该数据,估计约为6%。", [TARGETS], refused=True), top_k=5)
    assert codes(g) == ["ungrounded"]


def test_redacted_value_is_not_a_figure():
    c = case([], answerable=False)
    redacted = "帮助19家企业获得授信资金XX亿元。"
    g = grade(c, answer("该金额在报告中被隐去(XX亿元)[1]。", [redacted], refused=True), top_k=5)
    assert g.passed


def test_answerable_refused_is_wrongly_refused():
    a = answer("资料不足。", [TARGETS], refused=True)
    a = Answer(**{**a.__dict__, "refusal_reason": "no passage"})
    g = grade(case([r"5\.5\s*%"]), a, top_k=5)
    assert codes(g) == ["wrongly_refused"] and "no passage" in str(g.failures[0])


def test_retrieval_miss_uses_source_substring_and_top_k():
    other = [chunk("台江区…", "corpus/2022_台江区政府工作报告_网页版.txt", f"x{i}") for i in range(6)]
    right = chunk(TARGETS, "corpus/2024_仓山区政府工作报告_新闻摘要.txt", "ok")
    c = case([r"5\.5\s*%"], source="仓山区")
    good = answer("增长5.5%[1]", [TARGETS], retrieved=[other[0], right])
    g = grade(c, good, top_k=5)
    assert g.passed and g.rank == 2
    late = answer("增长5.5%[1]", [TARGETS], retrieved=[*other, right], source=other[0].source)
    g = grade(c, late, top_k=5)
    assert codes(g) == ["retrieval_miss"] and g.rank == 7
    miss = answer("增长5.5%[1]", [TARGETS], retrieved=other, source=other[0].source)
    assert codes(grade(c, miss, top_k=5)) == ["retrieval_miss"]
    # a table row / compute operand searched on its own: the passage it cites comes after the top-k
    row = answer("增长5.5%[1]", [TARGETS], retrieved=[*other, right])
    g = grade(c, row, top_k=5)
    assert g.passed and g.rank == 7
    either = case([r"5\.5\s*%"], source=["解放区", "仓山区"])
    assert grade(either, good, top_k=5).passed


def test_all_expect_patterns_must_match():
    c = case([r"(?<![\d.])2\.5\s*%", r"5\.5\s*%"])
    passage = "全年地区生产总值1065亿元,增长2.5%;" + TARGETS
    assert grade(c, answer("2023年增长2.5%,2024年目标5.5%[1]", [passage]), top_k=5).passed
    assert codes(grade(c, answer("2024年目标5.5%[1]", [passage]), top_k=5)) == ["wrong_figure"]


# --------------------------------------------------------------------------------- case files
def test_parse_case_turns_and_defaults():
    c = parse_case({"id": 7, "turns": ["台江区2021年社零?", "增长了多少?"], "expect": []}, "x")
    assert (c.id, c.question, c.turns, c.answerable, c.kind) == ("7", "增长了多少?", ("台江区2021年社零?",), True, "answerable")


@pytest.mark.parametrize("line, msg", [
    ("{not json", "not valid JSON"),
    ('{"question": "q"}', "missing 'id'"),
    ('{"id": "a"}', "missing 'question'"),
    ('{"id": "a", "question": "q", "turns": ["q"]}', "not both"),
    ('{"id": "a", "question": "q", "expect": ["5\\\\.5("]}', "bad regex"),
    ('{"id": "a", "question": "q", "answerable": "no"}', "true or false"),
    ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}', "duplicate id"),
])
def test_load_cases_rejects_bad_files(tmp_path, line, msg):
    f = tmp_path / "bad.jsonl"
    f.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(EvalFileError, match=re.escape(msg)):
        load_cases(f)


def test_select_cases_by_kind_then_limit():
    cs = [case(cid=f"c{i}", kind=k) for i, k in enumerate(["fact", "target", "fact", "refuse", "fact"])]
    assert [c.id for c in select_cases(cs, "fact,refuse", 3)] == ["c0", "c2", "c3"]


QUESTION_SETS = sorted(EVALS.glob("*_questions.jsonl"))
CORPORA = {"national_questions.jsonl": SHARED / "national_reports",
           "provincial_questions.jsonl": SHARED / "provincial_2026",
           "reader_questions.jsonl": (REPO_ROOT / "corpus", SHARED / "national_reports", SHARED / "provincial_2026"),
           "reader2_questions.jsonl": (REPO_ROOT / "corpus", SHARED / "national_reports", SHARED / "provincial_2026"),
           "reader_en_questions.jsonl": (REPO_ROOT / "corpus", SHARED / "national_reports", SHARED / "provincial_2026"),
           "reader_calc_questions.jsonl": (REPO_ROOT / "corpus", SHARED / "national_reports", SHARED / "provincial_2026"),
           "reader3_questions.jsonl": (REPO_ROOT / "corpus", SHARED / "national_reports", SHARED / "provincial_2026")}


@pytest.mark.parametrize("path", QUESTION_SETS, ids=lambda p: p.name)
def test_question_sets_load_and_expectations_stand_in_their_sources(path):
    """Hand-written gold answers are checked against the texts they were read from."""
    cases = load_cases(path)
    folders = CORPORA.get(path.name, REPO_ROOT / "corpus")
    for corpus in folders if isinstance(folders, tuple) else (folders,):
        if not corpus.is_dir():
            unavailable(f"{corpus} not available (set RAG_SHARED_DIR)")
    texts = {p.name: fold(p.read_text(encoding="utf-8"))
             for corpus in (folders if isinstance(folders, tuple) else (folders,)) for p in corpus.glob("*.txt")}
    everything = "\n".join(texts.values())
    for c in cases:
        if c.source:
            chosen = [t for name, t in texts.items() if any(s in name for s in c.source)]
            assert chosen, f"{c.id}: no file matches source {c.source}"
        else:
            chosen = [everything]
        if not c.answerable:
            assert not c.expect, f"{c.id}: refusal cases carry no patterns here"
            continue
        assert c.expect, f"{c.id}: an answerable case needs at least one pattern"
        for p in c.expect:
            if p in c.raw.get("computed", ()):  # the result of a formula over source figures (compute cases)
                continue
            if p in c.raw.get("wording", ()):  # about the answer's language (English answers), not source text
                continue
            if asserts_absence(p):  # 「^(?!…)」: what the answer must not say (a planted figure) is no source text
                continue
            assert any(re.search(p, t) for t in chosen), f"{c.id}: /{p}/ not in {c.source or 'corpus'}"


def test_seed_set_size_and_mix():
    cases = load_cases(EVALS / "seed_questions.jsonl")
    kinds = {c.kind for c in cases}
    assert len(cases) >= 60
    assert {"fact", "target", "compare", "followup", "english", "refuse", "redacted"} <= kinds
    ci = load_cases(EVALS / "ci_questions.jsonl")
    seed = {c.id: c.raw for c in cases}
    assert all(seed[c.id] == c.raw for c in ci), "the CI set is a verbatim subset of the seed set"


# ----------------------------------------------------------------------------------- harness
class ScriptedPipeline:
    """Replies from a table keyed by question; raises for unknown questions (graded as error)."""

    def __init__(self, replies, interrupt_on=None):
        self.replies, self.interrupt_on, self.asked = replies, interrupt_on, []

    def ask(self, question, turns=()):
        self.asked.append((question, tuple(turns)))
        if question == self.interrupt_on:
            raise KeyboardInterrupt
        return self.replies[question]

    def describe(self):
        return {"generator": "test", "top_k": 5}


def _write_cases(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return load_cases(path)


ROWS = [
    {"id": "a", "question": "目标?", "expect": [r"5\.5\s*%"], "answerable": True, "kind": "target", "note": "kept"},
    {"id": "b", "turns": ["解放区?", "2024年呢?"], "expect": [], "answerable": False, "kind": "refuse"},
    {"id": "c", "question": "boom", "expect": ["1"], "answerable": True, "kind": "fact"},
]
REPLIES = {"目标?": answer("增长5.5%[1]", [TARGETS]), "2024年呢?": answer("没有。", [], refused=True)}


def _args(tmp_path, **kw):
    base = {"json_out": tmp_path / "out.json", "report": None, "min_accuracy": None}
    return argparse.Namespace(**{**base, **kw})


def test_run_cases_grades_errors_and_passes_turns():
    cases = [case([r"5\.5\s*%"], cid="a"), case(cid="c")]
    p = ScriptedPipeline({"q": answer("增长5.5%[1]", [TARGETS])})
    recs = run_cases(p, [cases[0]], top_k=5)
    assert recs[0]["passed"]
    c = Case("x", "boom", ("earlier",), (), True, "fact", (), {"id": "x"})
    rec = run_cases(p, [c], top_k=5)[0]
    assert rec["failure_codes"] == ["error"] and not rec["passed"]
    assert p.asked[-1] == ("boom", ("earlier",))


def test_execute_writes_contract_json_table_and_reports(tmp_path, capsys):
    cases = _write_cases(tmp_path / "q.jsonl", ROWS)
    meta = {"generator": "test", "index": "idx", "git_sha": "abc", "top_k": 5, "prompt_hash": "p1"}
    code = _execute(ScriptedPipeline(REPLIES), cases, _args(tmp_path, report=tmp_path / "r.html"),
                    meta=meta, k=5, extra={"file": "q.jsonl"}, baseline=None)
    assert code == 0  # failing cases do not fail the command
    out = capsys.readouterr().out
    assert re.search(r"^a\s+target\s+pass", out, re.M) and re.search(r"^c\s+fact\s+FAIL.*error", out, re.M)
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert CONTRACT_SUMMARY <= set(data["summary"])
    assert data["summary"]["n"] == 3 and data["summary"]["passed"] == 2
    assert data["summary"]["interrupted"] is False and data["interrupted"] is False
    for rec in data["cases"]:
        assert CONTRACT_CASE <= set(rec)
        assert all(isinstance(f, str) for f in rec["failures"])
    assert data["cases"][0]["note"] == "kept" and data["cases"][1]["turns"] == ["解放区?", "2024年呢?"]
    assert not (tmp_path / "out.json.partial.jsonl").exists()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<svg" in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_execute_interrupted_keeps_finished_cases(tmp_path):
    cases = _write_cases(tmp_path / "q.jsonl", ROWS)
    p = ScriptedPipeline(REPLIES, interrupt_on="2024年呢?")
    code = _execute(p, cases, _args(tmp_path), meta={"top_k": 5}, k=5, extra={}, baseline=None)
    assert code == 130
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["interrupted"] is True and data["summary"]["interrupted"] is True
    assert [c["id"] for c in data["cases"]] == ["a"] and data["summary"]["n_planned"] == 3


def test_partial_jsonl_is_written_per_case(tmp_path):
    cases = _write_cases(tmp_path / "q.jsonl", ROWS)
    seen = []

    class Peeking(ScriptedPipeline):
        def ask(self, question, turns=()):
            partial = tmp_path / "out.json.partial.jsonl"
            seen.append(len(partial.read_text(encoding="utf-8").splitlines()))
            return super().ask(question, turns)

    _execute(Peeking(REPLIES), cases, _args(tmp_path), meta={}, k=5, extra={}, baseline=None)
    assert seen == [0, 1, 2]


def test_min_accuracy_and_baseline_flips(tmp_path, capsys):
    cases = _write_cases(tmp_path / "q.jsonl", ROWS)
    base = build_result([{"id": "a", "passed": False}, {"id": "b", "passed": True}, {"id": "c", "passed": True}],
                        {"git_sha": "old"}, k=5)
    code = _execute(ScriptedPipeline(REPLIES), cases, _args(tmp_path, min_accuracy=0.9, report=tmp_path / "r.md"),
                    meta={}, k=5, extra={}, baseline=base)
    assert code == 1
    out = capsys.readouterr().out
    assert "pass→fail: c" in out and "fail→pass: a" in out
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["baseline_comparison"]["pass_to_fail"] == ["c"]
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "pass → fail: c" in md and "| accuracy |" in md


def test_format_row_shows_codes_and_detail():
    row = format_row({"id": "s01", "kind": "fact", "passed": False, "ms": 12.3,
                      "failures": ["wrong_figure: /5/ not in answer"], "failure_codes": ["wrong_figure"]})
    assert "FAIL" in row and "wrong_figure — /5/ not in answer" in row


# ------------------------------------------------------------------------------ real CLI smoke
def test_cli_eval_ci_questions_for_real(tmp_path, seed_index):
    from rag.cli import main

    out = tmp_path / "ci.json"
    code = main(["eval", str(EVALS / "ci_questions.jsonl"), "--index", str(seed_index), "--json", str(out),
                 "--generator", "extractive", "--report", str(tmp_path / "ci.html")])
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert CONTRACT_SUMMARY <= set(data["summary"])
    assert data["summary"]["n"] == len(load_cases(EVALS / "ci_questions.jsonl"))
    assert data["summary"]["generator"] == "extractive"
    assert not any("error" in c["failure_codes"] for c in data["cases"]), [c["failures"] for c in data["cases"]]
    assert (tmp_path / "ci.html").exists()
    assert main(["eval", str(EVALS / "ci_questions.jsonl"), "--index", str(tmp_path / "missing")]) == 2
