"""The answerability signal (rag/answer/relevance.py): refusal decided by evidence, before any model.

Pure logic for the question's constraints, answer type and weighted coverage; real seed passages for
each class of "the passages do not answer this" (a year or ordinal they do not hold, a date asked where
the topic's sentences give none, a topic only mentioned) and for what must stay answered, both with
given passages (the RGB path) and through the real retrieval chain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.given import adhoc_chunk
from rag.answer.relevance import asked_type, assess, clauses, constraints, covered, terms
from rag.search.query import ParsedQuestion, parse_question
from rag.types import ScoredChunk

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CANGSHAN = (CORPUS / "2024_仓山区政府工作报告_新闻摘要.txt").read_text(encoding="utf-8")


def _q(text: str) -> ParsedQuestion:
    """A question as the given-passages path reads it: no region or year filter."""
    return ParsedQuestion(**{**parse_question(text, ()).__dict__, "regions": (), "years": ()})


def _paragraph(marker: str) -> str:
    """The corpus paragraph (line) holding ``marker``."""
    return next(line for line in CANGSHAN.splitlines() if marker in line)


def _given(*texts: str) -> list[ScoredChunk]:
    return [ScoredChunk(adhoc_chunk(i, t), 1.0) for i, t in enumerate(texts)]


@pytest.mark.parametrize(("text", "marks"), [
    ("2022年第七届立法会选举在哪天举行", ("2022", "第七届")),
    ("地铁19号线一期有多少个车站", ("19号",)),
    ("《三体》动画是谁制作的", ("三体",)),
    ("仓山区GDP目标是多少", ()),
])
def test_constraints_are_years_ordinals_and_quoted_names(text: str, marks: tuple[str, ...]) -> None:
    assert constraints(_q(text)) == marks


@pytest.mark.parametrize(("text", "kind"), [
    ("发布会是什么时候", "date"), ("哪一年开始施行", "date"), ("When did it open?", "date"),
    ("死亡人数", "quantity"), ("新增多少中小学学位", "quantity"), ("How many seats?", "quantity"),
    ("电影的导演是谁", ""), ("在哪里举办", ""),
])
def test_asked_answer_type(text: str, kind: str) -> None:
    assert asked_type(text) == kind


def test_an_indicator_counts_under_any_of_its_names_and_question_words_do_not_count() -> None:
    ts = terms(_q("2024年GDP增长目标是多少?"))
    assert covered(ts, "地区生产总值增长5.5%左右") == pytest.approx(covered(ts, "gdp增长5.5%左右"))
    assert covered(ts, "地区生产总值增长5.5%左右") > 0.6
    assert not any(f in ("多少", "是", "2024") for t in ts for f in t.forms)


def test_each_clause_has_its_own_terms_and_stated_figures_are_not_terms() -> None:
    q = _q("台江区实际利用外资增长了多少?请给出报告原文依据")
    parts = clauses(q)
    assert len(parts) == 2 and any(f == "实际利用外资" for t in parts[0] for f in t.forms)
    assert not any(f.startswith("10") for t in terms(_q("GDP目标是10%对吗")) for f in t.forms)


def test_a_word_segmented_differently_still_counts_in_part() -> None:
    ts = terms(_q("知识产权金融服务驿站"))
    assert 0.9 < covered(ts, "成立全省首家知识产权金融服务驿站") <= 1.0
    assert 0 < covered(ts, "知识产权保护") < 0.5


# ------------------------------------------------ given passages: real seed paragraphs
def test_a_passage_that_states_the_answer_is_answerable() -> None:
    # given passages carry no metadata: a region the question names counts as a content word, so it is left out here
    passage = _paragraph("810个")
    verdict = assess(_q("帮助企业协调解决了多少个问题?"), _given(passage, _paragraph("5.5%")))
    assert verdict.answerable and verdict.best is not None and verdict.best.passage == 0


def test_a_year_the_passages_do_not_hold_is_refused_by_name() -> None:
    passage = _paragraph("第十八届")  # the 2023 session, opening 12月24日; no other year stands in it
    verdict = assess(_q("2019年仓山区人民代表大会会议在哪里开幕?"), _given(passage))
    assert not verdict.answerable and "2019" in verdict.reason
    assert assess(_q("仓山区第十八届人民代表大会第三次会议在哪里开幕?"), _given(passage)).answerable


def test_an_ordinal_the_passages_do_not_hold_is_refused() -> None:
    verdict = assess(_q("仓山区第十九届人民代表大会第一次会议在哪里开幕?"), _given(_paragraph("第十八届")))
    assert not verdict.answerable and "第十九届" in verdict.reason


def test_a_date_asked_where_the_topic_has_none_is_refused() -> None:
    passage = _paragraph("知识产权金融服务驿站")  # says the station was set up, not when
    verdict = assess(_q("全省首家知识产权金融服务驿站是什么时候成立的?"), _given(passage))
    assert not verdict.answerable and "日期" in verdict.reason
    assert assess(_q("成立了全省首家什么服务驿站?"), _given(passage)).answerable


def test_a_topic_the_passages_do_not_discuss_is_refused() -> None:
    verdict = assess(_q("仓山区2024年新建多少个5G基站?"), _given(_paragraph("810个"), _paragraph("5.5%")))
    assert not verdict.answerable


def test_given_passages_refuse_before_any_model(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = seed_pipeline.answer_from_passages("全省首家知识产权金融服务驿站是什么时候成立的?",
                                                [_paragraph("知识产权金融服务驿站"), _paragraph("5.5%")])
    assert answer.refused and answer.refusal_reason and answer.answer.startswith("无法回答")
    kept = seed_pipeline.answer_from_passages("帮助企业协调解决了多少个问题?", [_paragraph("810个")])
    assert not kept.refused and "810" in kept.answer


# ------------------------------------------------ the product chain: retrieval, then the same check
@pytest.mark.parametrize("question", [
    "仓山区2024年GDP增长目标是多少?",
    "仓山区2024年要新增多少中小学学位?",  # 「提供学位3300个」: the thing counted, with its figure
    "仓山区2023年帮助企业协调解决了多少个问题?",  # 2023 is reviewed in the 2024 report
    "忽略价格因素,仓山区2024年地区生产总值预期增长多少?",  # a request beside the question is a clause of its own
    "仓山区2024年GDP目标是10%对吗?",  # a figure the question states is a claim, not a topic word
    "台江区2022年计划新增城镇就业多少人?系统地说明一下",
])
def test_answerable_questions_stay_answered(seed_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = seed_pipeline.run(question, generate=False)
    assert not answer.refused, answer.answer


def test_retrieved_passages_that_do_not_answer_are_refused(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = seed_pipeline.run("仓山区第十九届人民代表大会第一次会议在哪里开幕?", generate=False)
    assert answer.refused and answer.refusal_reason


def test_a_quoted_plan_name_in_the_section_heading_counts() -> None:
    """「“十五五”时期…」: a section's name scopes its sentences, so the mark need not stand in the window."""
    from dataclasses import replace

    from rag.answer.relevance import RETRIEVED

    text = "综合考虑实现2035年远景目标和现实支撑条件，提出地区生产总值年均增长5%—5.5%。"
    q = parse_question("湖南省“十五五”时期地区生产总值年均增长目标是多少?", ("湖南省",))  # as retrieval reads it
    bare = _given(text)
    verdict = assess(q, bare, RETRIEVED)
    assert not verdict.answerable and "十五五" in verdict.reason
    headed = [ScoredChunk(replace(bare[0].chunk, section="“十五五”时期经济社会发展的主要目标"), 1.0)]
    assert assess(q, headed, RETRIEVED).answerable
