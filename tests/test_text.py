"""Cleaning, folding, figures, describing and chunking on awkward real snippets from the seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.chunking import chunk_document
from rag.ingest.clean import clean_text, is_chrome_line
from rag.ingest.describe import find_region
from rag.ingest.documents import build_document
from rag.textnorm import figure_grounded, figures, fold, fold_with_map, mask_figures, ungrounded_figures
from rag.types import LoadedFile

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.mark.parametrize("line", [
    "欢迎访问台江区人民政府门户网站",
    "加大字体 缩小字体 收藏 取消收藏 打印",
    "来源:台江区 发布时间: 2021-12-24 10:53 浏览量:",
    "2024年区政府工作报告-10篇(第3/21页)"[-8:],  # the bare page counter
    "下一篇:2024年县政府工作报告-9篇",
    "- 格式:docx",
    "- 文档页数:17",
    "下载", "全屏", "【字号：", "】",
])
def test_chrome_lines_are_recognised(line: str) -> None:
    assert is_chrome_line(line)


@pytest.mark.parametrize("line", [
    "地区生产总值增长5.5%;",
    "现在,我代表台江区人民政府,向大会报告政府工作,请予审议。",
    "完成街巷整治等172项综合提升工作。",
    "打印机采购项目完成招标。",
])
def test_content_lines_are_kept(line: str) -> None:
    assert not is_chrome_line(line)


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("- 地区生产总值增长**5.5%**;", "地区生产总值增长5.5%;"),
    ("- 实际利用外资**1.43亿美元**;", "实际利用外资1.43亿美元;"),
    ("2024年区政府工作报告-10篇(第3/21页)", "2024年区政府工作报告-10篇"),
    ("增长 2. 5 %", "增长 2.5%"),
    ("增长５．５％", "增长５．５％"),  # full-width kept for display; folded only for matching
])
def test_clean_line_level(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_fold_and_figures() -> None:
    assert fold("增长５．５％") == "增长5.5%"
    figs = figures("全年地区生产总值XX亿元,增长2.5%;城镇新增就业2.09万人;2023年12月24日")
    assert [(f.value, f.unit, f.redacted) for f in figs] == [(None, "亿元", True), (2.5, "%", False), (2.09, "万人", False)]
    assert [f.text for f in ungrounded_figures("增长5.5%[1],约1065亿元", ["地区生产总值增长**5.5%**"])] == ["1065亿元"]
    assert not ungrounded_figures("每千人托位数达4.0个[1]", ["确保每千人托位数达4.0个。"])
    assert ungrounded_figures("增长16个", ["社会消费品零售总额296.9亿元,增长16%"])  # unit matters


@pytest.mark.parametrize("text", ["1. 重点工作", "（2）推进", "2、加快", "3.1 总体要求", "排名第3", "2024年", "3月", "1-10月份"])
def test_numbering_and_dates_are_not_figures(text: str) -> None:
    assert figures(text) == []
    assert ungrounded_figures(text, ["无关的段落"]) == []


def test_figures_mid_sentence_still_count() -> None:
    assert [(f.value, f.unit) for f in figures("增长2、3个百分点,目标5.5")] == [(2.0, ""), (3.0, "个百分点"), (5.5, "")]
    assert [(f.value, f.unit) for f in figures("1270多万人,300余家")] == [(1270.0, "万人"), (300.0, "家")]
    rng = [f for f in figures("增长4.5%—5%", ranges=True)]
    assert [(f.value, f.unit, f.range) for f in rng] == [(4.5, "%", True)]
    assert [(f.value, f.unit) for f in figures("增长4.5%—5%")] == [(4.5, "%"), (5.0, "%")]


@pytest.mark.parametrize(("stated", "passage", "grounded"), [
    ("1065亿", "完成1065亿元", True),  # the statement leaves off 元
    ("1065亿元", "粮食1065亿斤", False),  # but does not add to the source's unit
    ("5.5", "增长5.5%", True),  # a unit-less figure: the value with any unit
    ("5.5%", "增长5.5个百分点", False),  # percentages never match another unit
    ("5.5个百分点", "提高5.5百分点", True),
    ("74772亿元", "国内生产总值7 4 7 7 2 亿元", True),  # spaced-out digits in an old report
    ("XX亿元", "无关", True),  # redacted values are not claims
])
def test_figure_grounded_rule(stated: str, passage: str, grounded: bool) -> None:
    fig = figures(stated)[0]
    assert figure_grounded(fig, [passage]) is grounded


def test_fold_with_map_and_masking() -> None:
    folded, index = fold_with_map("增长５．５％")
    assert folded == "增长5.5%" and index == [0, 1, 2, 3, 4, 5, 6]
    assert mask_figures("增长５．５％, 达1065亿元") == mask_figures("增长XX%, 达XX亿元")


@pytest.mark.parametrize(("text", "region"), [
    ("现在,我代表台江区人民政府,向大会报告政府工作", "台江区"),
    ("福州市仓山区第十八届人民代表大会第三次会议在福州海峡国际会展中心开幕", "仓山区"),
    ("解放区人民政府区长 千怀贵", "解放区"),
    ("**年是姑苏区政府成立后的起步之年", "姑苏区"),
    ("2026年福建省政府工作报告\n福建省人民政府省长 赵龙", "福建省"),
    ("国务院总理 李强", "国务院"),
    ("2024年XX区政府工作报告\n现在,我代表区人民政府向大会作政府工作报告", None),
])
def test_find_region(text: str, region: str | None) -> None:
    assert find_region(text)[0] == region


def _doc(name: str):  # type: ignore[no-untyped-def]
    path = next(CORPUS.glob(f"*{name}*"))
    return build_document(LoadedFile(str(path), path.read_text(encoding="utf-8"), "utf-8", ""))


def test_describe_seed_reports() -> None:
    tj = _doc("台江区")
    assert (tj.region, tj.year, tj.kind) == ("台江区", 2022, "政府工作报告")
    assert [(s.year, s.kind) for s in tj.sections if s.level == 1][:2] == [(2021, "review"), (2022, "plan")]
    cs = _doc("仓山区")
    assert (cs.region, cs.year, cs.kind) == ("仓山区", 2024, "新闻报道")
    assert any(s.title == "2024年主要预期目标" and s.kind == "targets" for s in cs.sections)
    xx = _doc("XX区")
    assert xx.region is None and xx.year == 2024  # never guessed silently (inference happens at index time)
    jf = _doc("解放区")
    assert (jf.region, jf.year) == ("解放区", 2024)
    mixed = _doc("汇编")
    assert mixed.kind == "汇编" and mixed.region is None
    assert any(s.region == "姑苏区" for s in mixed.segments)


@pytest.mark.parametrize("name", ["台江区", "仓山区", "XX区", "解放区", "汇编"])
def test_chunks_are_spans_with_headers(name: str) -> None:
    doc = _doc(name)
    chunks = chunk_document(doc, size=320, overlap=60)
    assert chunks
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    for c in chunks:
        assert c.text == doc.text[c.start:c.end]
        assert len(c.text) <= 320
        assert c.header and c.doc_id == doc.doc_id
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    text_positions = {i for i, ch in enumerate(doc.text) if not ch.isspace()}
    assert text_positions <= covered  # nothing lost between chunks


def test_chunks_speak_of_their_section_year() -> None:
    chunks = chunk_document(_doc("仓山区"))
    target = next(c for c in chunks if "地区生产总值增长5.5%" in c.text)
    review = next(c for c in chunks if "地区生产总值1065亿元" in c.text)
    assert target.period_year == 2024 and "预期目标" in target.section
    assert review.period_year == 2023


@pytest.mark.parametrize(("question", "regions", "unknown"), [
    ("2024年政府工作报告提出的国内生产总值增长目标是多少?", ["国务院"], []),  # national term, no region named
    ("我国2023年粮食产量是多少?", ["国务院"], []),
    ("仓山区2024年地区生产总值增长目标", ["仓山区"], []),
    ("仓山区单位国内生产总值能耗下降多少?", ["仓山区"], []),  # a named region wins over the term
    ("晋安区国内生产总值增长多少?", [], ["晋安区"]),  # an unknown region is still refused
    ("2024年地区生产总值增长目标是多少?", [], []),  # a local term leaves the region open
])
def test_national_terms_point_at_the_national_report(question: str, regions: list[str], unknown: list[str]) -> None:
    from rag.search.query import find_regions

    known = frozenset({"国务院", "仓山区", "台江区", "福建省"})
    assert find_regions(question, known) == (regions, unknown)
    # without a national report in the index nothing is assumed
    assert find_regions(question, known - {"国务院"})[0] == [r for r in regions if r != "国务院"]
