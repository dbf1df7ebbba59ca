"""Failure classes found by the blind compute set (evals/reader_calc_questions.jsonl), each fixed at its mechanism.

Operands: each year side in its own words, a report year beside a plain year, a fall as a negative
rate, shares, 「分别」 pairs, levels before changes; refusals when an operand or a region is missing;
figures cut from their unit by a line break or a chunk boundary. Real seed passages with the real
embedder where an answer is built; pure logic otherwise.
"""

from __future__ import annotations

import re

import pytest

from rag.answer.answerers.arith import Quantity, difference, share, verified_results
from rag.answer.answerers.compute import _misfit, _part_free_figure, _respective, formula_for, is_compute
from rag.answer.answerers.operands import operands
from rag.answer.answerers.sentences import sentences
from rag.answer.clause_parts import multi_year_only
from rag.answer.extractive import score_clauses
from rag.regions import NATIONAL
from rag.search.query import parse_question
from rag.search.retrieve import _extends, _grams
from rag.textnorm import figures, ungrounded_figures
from rag.types import Chunk, ScoredChunk

KNOWN = ["仓山区", "台江区", "解放区", "山东省", "浙江省", "福建省", "国务院"]


def test_a_fall_is_a_negative_operand_and_its_formula_verifies() -> None:
    f = difference(Quantity(4.4, "%"), Quantity(-3.3, "%"))
    assert f.text == "4.4% − (−3.3%) = 7.7个百分点"
    assert verified_results(f.text + "[1]") == ["7.7个百分点"]
    assert verified_results("4.4% − 3.3% = 7.7个百分点") == []  # the sign is part of what is checked


def test_a_share_is_a_percentage_of_the_whole() -> None:
    f = share(Quantity(5853.9, "亿元"), Quantity(6.7665, "万亿元"))
    assert f.text.endswith("= 8.65%") and verified_results(f.text) == ["8.65%"]
    q = parse_question("仓山区2023年社会消费品零售总额占地区生产总值的比例是多少?", KNOWN)
    assert is_compute(q)
    assert [label for label, _ in operands(q)] == ["社会消费品零售总额", "地区生产总值"]


@pytest.mark.parametrize(("text", "compute"), [
    ("山东省2025年进出口比消费多涨了几个点", True),  # colloquial: 多涨了几
    ("2025年地方政府专项债券比2024年多安排多少?", True),  # a verb between the comparison and 多少
    ("仓山23年GDP总共多少钱", False),  # one thing 「总共」: a lookup, not a sum
    ("仓山区2024年GDP目标比上年高多少?", False),  # the report states the change itself
    ("解放区2023年全年优良天数占比是多少?", False),  # 「占比」 is one word: a share stated, not A占B
    ("山东省和浙江省2026年的经济增长目标相差多少?", True),
])
def test_what_is_a_computation(text: str, compute: bool) -> None:
    assert is_compute(parse_question(text, KNOWN)) is compute


def test_each_year_side_is_asked_in_its_own_words() -> None:
    subs = operands(parse_question("2025年的赤字率比2018年高多少个百分点?", KNOWN))
    assert [(s.years, s.text) for _, s in subs] == [((2025,), "2025年的赤字率"), ((2018,), "2018年赤字率")]
    subs = operands(parse_question("仓山区2024年城镇失业人员再就业目标比2023年实际少多少人?", KNOWN))
    assert subs[1][1].text == "仓山区2023年实际城镇失业人员再就业" and subs[1][1].intent == "actual"


def test_each_region_side_is_asked_in_its_own_words() -> None:
    subs = operands(parse_question("浙江省2025年GDP增速比福建省高多少?", KNOWN))
    assert [(s.regions, s.text) for _, s in subs] == [(("浙江省",), "浙江省2025年GDP增速"), (("福建省",), "福建省2025年GDP增速")]
    subs = operands(parse_question("山东省和福建省2026年城镇新增就业目标加起来是多少?", KNOWN))
    assert [s.text for _, s in subs] == ["山东省2026年城镇新增就业目标", "福建省2026年城镇新增就业目标"]


def test_years_listed_before_a_report_are_report_years() -> None:
    q = parse_question("2018年和2019年政府工作报告安排的赤字率分别是多少?", KNOWN)
    assert q.report_years == (2018, 2019) and q.years == (2018, 2019)


def test_a_lower_gap_is_positive_and_a_ratio_named_rate_is_a_rate() -> None:
    q = parse_question("2019年的赤字率比2021年的赤字率低多少?", KNOWN)
    assert formula_for(q, [Quantity(2.8, "%"), Quantity(3.2, "%")]).text == "3.2% − 2.8% = 0.4个百分点"
    q = parse_question("2019年的赤字率比2021年的赤字率高多少?", KNOWN)  # said higher, is lower: the sign says so
    assert formula_for(q, [Quantity(2.8, "%"), Quantity(3.2, "%")]).result < 0


def test_a_figure_fits_when_its_own_part_names_the_thing_asked() -> None:
    sub = parse_question("河北省2025年粮食产量", ["河北省"])
    assert _misfit(sub, "粮食产量838.6亿斤", "838.6亿斤", "粮食产量", "、再") == 0
    assert _misfit(sub, "粮食产量稳定在800亿斤以上", "800亿斤", "稳定在", "以上") >= 10  # a bound, a result asked
    gdp = parse_question("广东省2025年地区生产总值增速", ["广东省"])
    assert _misfit(gdp, "工业企业用电成本下降6.8%", "6.8%", "成本下降", "，社会") == 100
    # a clause that also mentions a five-year span keeps its one-year parts
    assert _part_free_figure("地区生产总值增长5%-5.5%，碳排放双控达到国家下达“十五五”目标任务的序时进度")
    assert not _part_free_figure("“十四五”时期地区生产总值年均增长5.9%")


def test_a_report_year_beside_a_plain_year_gives_two_operands() -> None:
    q = parse_question("2025年政府工作报告安排的地方政府专项债券是2022年的多少倍?", KNOWN)
    assert is_compute(q)
    (_, first), (_, second) = operands(q)
    assert first.report_years == (2025,) and first.years == (2025,)
    assert second.report_years == () and second.years == (2022,)


def test_respective_figures_pair_with_their_items() -> None:
    clause = "城镇和农村居民人均可支配收入分别增长4.3%、5.5%"
    figs = figures(clause)
    assert _respective("浙江省2025年农村居民人均可支配收入增速", clause, figs) == (figs[1].start, figs[1].end)
    assert _respective("浙江省2025年城镇居民人均可支配收入增速", clause, figs) == (figs[0].start, figs[0].end)
    assert _respective("浙江省2025年居民消费价格", clause, figs) is None


def test_a_figure_cut_from_its_unit_by_a_line_break_is_one_sentence_and_grounded() -> None:
    text = "国内生产总值达到74.4\n\u200b\n万亿元，增长6.7%。"
    assert len(sentences(text)) == 1
    assert ungrounded_figures("国内生产总值达到74.4万亿元", [text]) == []


def test_an_overlapping_chunk_that_goes_on_replaces_the_cut_one() -> None:
    cut = "经济运行缓中趋稳、稳中向好。国内生产总值达到74.4\n\u200b"
    whole = cut + "\n万亿元，增长6.7%，名列世界前茅。"
    assert _extends(_grams(whole), _grams(cut)) and not _extends(_grams(cut), _grams(whole))


@pytest.mark.parametrize(("question", "result"), [
    ("仓山区2023年一般公共预算总收入比地方一般公共预算收入多多少?", r"41\.2亿元 − 26\.2亿元 = 15\.0亿元"),  # levels, not rates
    ("仓山区2023年社会消费品零售总额占地区生产总值的比例是多少?", r"575\.2亿元 ÷ 1065亿元 = 54\.01%"),
    ("仓山区2024年城镇失业人员再就业目标比2023年实际少多少人?", r"4500人 − 6411人|6411人 − 4500人"),
])
def test_compute_answers_on_seed_passages(seed_pipeline, question: str, result: str) -> None:  # type: ignore[no-untyped-def]
    ans = seed_pipeline.ask(question)
    assert not ans.refused and re.search(result, ans.answer), ans.answer
    assert re.search(r"\[\d+\]", ans.answer.splitlines()[-1])  # the formula line is cited


@pytest.mark.parametrize("question", [
    "仓山区2024年GDP增长目标比鼓楼区高多少?",  # a region the corpus lacks
    "台江区2022年GDP增长目标比2023年实际增速高多少?",  # no report reviews Taijiang's 2023
    "仓山区2027年GDP增长目标比2024年高多少?",  # a year no report holds
])
def test_a_missing_operand_refuses_instead_of_answering_one_side(seed_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    ans = seed_pipeline.ask(question)
    assert ans.refused, ans.answer


# ------------------------------------------------------------------ year semantics of lookups (national, provincial)
def _passage(text: str, i: int = 0, section: str = "一、2025年工作回顾") -> ScoredChunk:
    chunk = Chunk(f"c{i}", "d", "2026_甘肃省_政府工作报告.txt", "t", text, 0, len(text), section, "", "甘肃省", 2026, 2025)
    return ScoredChunk(chunk, 1.0 - i / 10)


def test_a_one_year_result_is_not_a_five_year_average_nor_next_years_target() -> None:
    # passage texts from the 2026 Gansu report; the five-year line and the target list rank first in retrieval
    q = parse_question("甘肃省2025年地区生产总值增长了多少?", ["甘肃省"])
    passages = [_passage("全省地区生产总值年均增长5%以上。", 0),
                _passage("经济社会发展的主要预期目标是：地区生产总值增长5.5%左右，实际工作中争取更好结果；", 1),
                _passage("全省地区生产总值达到13697.5亿元，较“十三五”末的9323.1亿元增加4374.4亿元，增长33.6%。", 2),
                _passage("加力落实宏观政策，扎实做好“四稳”工作，地区生产总值增长5.8%，增速居全国第2位；", 4)]
    assert "5.8%" in score_clauses(q, passages)[0].text


def test_growth_asked_is_answered_by_a_rate_not_a_level() -> None:
    q = parse_question("甘肃省2025年地区生产总值增长了多少?", ["甘肃省"])
    passages = [_passage("经济规模稳步壮大，地区生产总值迈上1万亿元台阶，达到13697.5亿元。", 0),
                _passage("地区生产总值增长5.8%，增速居全国第2位；", 1)]
    assert "5.8%" in score_clauses(q, passages)[0].text


def test_multi_year_parts_are_told_from_one_year_parts() -> None:
    real = lambda t: [f for f in figures(t) if f.unit]  # noqa: E731
    one = "多措并举稳就业、稳企业，地区生产总值增长5.1％，单位生产总值能耗累计降幅完成“十四五”任务"
    assert not multi_year_only(one, real(one))
    span = "地区生产总值跨过3万亿元、年均增长5.2％"
    assert multi_year_only(span, real(span))


def test_a_report_named_without_a_region_is_the_national_one() -> None:
    q = parse_question("2024年政府工作报告提出的GDP增长目标是多少?", ["仓山区", NATIONAL])
    assert q.regions == (NATIONAL,)
    assert parse_question("仓山区2024年政府工作报告提出的GDP增长目标是多少?", ["仓山区", NATIONAL]).regions == ("仓山区",)


# ---------------------------------------------------------------- relative years, intensities, year-labelled levels
@pytest.mark.parametrize(("text", "years"), [
    ("仓山区2024年GDP目标比上一年实际增速高出几个百分点?", (2023, 2024)),
    ("福建省2026年GDP增长目标比去年实际增速低多少?", (2025, 2026)),
    ("山东省2025年的进出口增速比上年增长目标高多少?", (2024, 2025)),
])
def test_the_previous_year_of_a_comparison_is_the_year_before_the_one_named(text: str, years: tuple[int, ...]) -> None:
    q = parse_question(text, KNOWN)
    assert is_compute(q)
    assert sorted(y for _, sub in operands(q) for y in sub.years) == list(years)


def test_a_growth_question_with_shang_nian_is_not_rewritten() -> None:
    q = parse_question("仓山区2023年地区生产总值比上年增长多少?", KNOWN)
    assert not is_compute(q)


def test_an_intensity_of_gdp_is_not_a_gdp_operand() -> None:
    sub = parse_question("福建省2026年地区生产总值增长目标是多少?", KNOWN)
    assert _misfit(sub, "单位地区生产总值二氧化碳排放下降3.8%", "3.8%", "排放下降", "") >= 100
    assert _misfit(sub, "地区生产总值增长5%以上", "5%", "总值增长", "以上") < 100


def test_a_level_labelled_with_its_year_in_a_later_report() -> None:
    from rag.answer.answerers.compute import _labelled

    part = "全省生产总值从2020年的3.68万亿元增长到2025年的4.93万亿元"
    assert _labelled(part, Quantity(3.68, "万亿元"), 2020)
    assert _labelled(part, Quantity(4.93, "万亿元"), 2025)
    assert not _labelled(part, Quantity(4.93, "万亿元"), 2020)
    assert not _labelled("一般公共预算收入从3826.5亿元增长到4398.6亿元", Quantity(3826.5, "亿元"), 2020)
