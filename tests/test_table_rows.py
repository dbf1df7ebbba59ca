"""Table answers: 「各省区市」-style words ask for every region, and each row shows the asked figure's own part."""

from __future__ import annotations

import pytest

from rag.answer.answerers.table import _answers_row, is_table, row_part
from rag.search.query import find_regions, parse_question

KNOWN = ["北京市", "新疆维吾尔自治区", "仓山区", "国务院", "贵州省"]


@pytest.mark.parametrize("text", ["各省区市2026年规模以上工业增加值增长目标分别是多少?", "全国各省2025年粮食产量",
                                  "各自治区2026年目标", "各地市2026年目标", "21个省市重点项目完成投资", "列出各省份2025年GDP增速"])
def test_quantified_level_words_are_no_region(text: str) -> None:
    assert find_regions(text, KNOWN)[1] == []


@pytest.mark.parametrize("text", ["鼓山区2024年GDP增长目标是多少?", "宝山区2024年GDP目标", "浦东新区2024年GDP目标"])
def test_unknown_real_names_are_still_unknown_regions(text: str) -> None:
    assert find_regions(text, KNOWN)[1]


def test_a_table_question_with_all_regions_is_a_table() -> None:
    q = parse_question("各省区市2026年规模以上工业增加值增长目标分别是多少?", KNOWN)
    assert is_table(q) and not q.unknown_regions


def test_row_part_is_the_asked_figure_not_the_target_list() -> None:
    q = parse_question("2026年各省一般公共预算收入增长目标是多少?", KNOWN)
    clause = ("今年经济社会发展主要预期目标是：地区生产总值增长5%左右，一般公共预算收入增长4%左右，"
              "城镇调查失业率控制在5%以内，居民消费价格涨幅2%左右")
    assert row_part(q, clause) == "一般公共预算收入增长4%左右"


def test_row_part_keeps_the_subject_of_a_bare_growth_figure() -> None:
    q = parse_question("各省2025年地区生产总值增长多少?", KNOWN)
    clause = "过去一年，全省经济运行稳中有进，全省地区生产总值达到5.53万亿元，增长4.8%，稳居全国前十强"
    part = row_part(q, clause)
    assert "4.8%" in part and "地区生产总值" in part and "前十强" not in part


def test_a_row_about_another_indicator_or_five_years_is_rejected() -> None:
    q = parse_question("贵州省2026年规模以上工业增加值增长目标是多少?", KNOWN)
    assert _answers_row(q, "规模以上工业增加值增长7.5%左右")
    assert not _answers_row(q, "数字经济核心产业增加值增长10%")
    gdp = parse_question("贵州省2025年地区生产总值实际增长多少?", KNOWN)
    assert not _answers_row(gdp, "“十四五”时期地区生产总值年均增长5.5%")
    assert _answers_row(gdp, "全年地区生产总值增长4.9%")
