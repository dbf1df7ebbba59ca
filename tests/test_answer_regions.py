"""The gazetteer (rag/regions.py) and report descriptions built on it, on real title forms."""

from __future__ import annotations

import pytest

from rag.config import get_settings
from rag.ingest.clean import clean_text
from rag.ingest.describe import describe, find_region
from rag.regions import gazetteer, short_name

SHARED = get_settings().shared_dir / "data"  # RAG_SHARED_DIR, else shared/ beside the checkout


def test_gazetteer_covers_every_level_and_renamed_districts() -> None:
    g = gazetteer()
    assert len(g.places) > 3000
    levels = {p.level for p in g.lookup("河南省")} | {p.level for p in g.lookup("福州市")} | {
        p.level for p in g.lookup("仓山区")}
    assert levels == {"province", "city", "county"}
    for name in ("浦东新区", "宝山区", "长乐区", "晋安区", "广西壮族自治区", "延边朝鲜族自治州"):
        assert g.is_place(name), name
    assert {p.city for p in g.lookup("鼓楼区")} >= {"福州市", "南京市"}  # one name, several places
    assert [p.city for p in g.lookup("长乐区")] == ["福州市"]  # 长乐市 → 长乐区 (2017)
    assert g.by_pinyin["changle"] and g.by_pinyin["pudong"]


@pytest.mark.parametrize(("name", "short"), [
    ("仓山区", "仓山"), ("福建省", "福建"), ("广西壮族自治区", "广西"), ("新疆维吾尔自治区", "新疆"),
    ("延边朝鲜族自治州", "延边"), ("浦东新区", "浦东"), ("沙县", "沙县"),
])
def test_short_names(name: str, short: str) -> None:
    assert short_name(name) == short


@pytest.mark.parametrize("text", ["今年GDP增长目标区间为5%-5.5%", "稳住市场预期", "县域经济", "区域协调发展", "市民满意度"])
def test_ordinary_words_are_not_places(text: str) -> None:
    assert gazetteer().mentions(text) == []


@pytest.mark.parametrize(("head", "region"), [
    ("长乐区2024年政府工作报告\n各位代表:", "长乐区"),
    ("河南省2024年政府工作报告\n各位代表:", "河南省"),
    ("福州市长乐区2024年政府工作报告\n各位代表:", "长乐区"),
    ("2024年福州市长乐区政府工作报告", "长乐区"),
    ("长乐区人民政府2024年政府工作报告", "长乐区"),
    ("政府工作报告\n——2024年1月10日在福州市长乐区第二届人民代表大会第四次会议上\n区长 张三", "长乐区"),
    ("政府工作报告\n(2024年1月10日在上海市浦东新区第七届人民代表大会第四次会议上)", "浦东新区"),
    ("上海市宝山区人民政府\n2024年政府工作报告", "宝山区"),
    ("宝山区2024年度政府工作报告", "宝山区"),
    ("2026年广西壮族自治区政府工作报告\n——2026年2月2日在广西壮族自治区第十四届人民代表大会", "广西壮族自治区"),
    ("陕西省2026年政府工作报告", "陕西省"),
    ("2024年政府工作报告\n来源:台江区 发布时间\n福州市台江区人民政府区长 刘广辉", "台江区"),
    ("欢迎访问鼓岭区人民政府门户网站\n2022年政府工作报告\n福州市鼓岭区人民政府区长 刘广辉", "鼓岭区"),  # not in the gazetteer
])
def test_report_region_whatever_the_order(head: str, region: str) -> None:
    assert find_region(head + "\n现在,我代表区人民政府,向大会报告工作。")[0] == region


def test_redacted_author_stays_unknown() -> None:
    assert find_region("福州市XX区2024年政府工作报告\n各位代表:")[0] is None
    assert find_region("2024年区政府工作报告\n各位代表:")[0] is None


def test_every_provincial_report_gets_its_province() -> None:
    folder = SHARED / "provincial_2026"
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 31, "the shared provincial reports are part of the test data"
    for f in files:
        desc = describe(clean_text(f.read_text(encoding="utf-8")), f.name)
        assert desc.region == f.stem.split("_")[1] and desc.year == 2026, (f.name, desc.region, desc.year)


def test_national_reports_are_the_state_council() -> None:
    files = sorted((SHARED / "national_reports").glob("*年*.txt"))
    assert len(files) >= 50
    for f in files[::5]:
        assert describe(clean_text(f.read_text(encoding="utf-8")), f.name).region == "国务院", f.name


@pytest.mark.parametrize(("question", "unknown"), [
    ("鼓山区2024年GDP增长目标是多少?", "鼓山区"),  # not in the gazetteer, but 鼓 + 山区 is a name, not 「山区」
    ("宝山区2024年GDP目标", "宝山区"),
    ("浦东新区2024年GDP目标", "浦东新区"),
    ("河南省2026年GDP目标", "河南省"),
    ("Changle Qu 2024 GDP target", "Changle Qu"),
])
def test_regions_the_index_lacks_are_named(question: str, unknown: str) -> None:
    from rag.search.query import parse_question

    parsed = parse_question(question, ["仓山区", "台江区", "解放区", "姑苏区"])
    assert parsed.regions == () and unknown in parsed.unknown_regions


@pytest.mark.parametrize("question", ["仓山区2024年GDP目标区间是多少", "福州市仓山区2024年GDP目标", "仓山城区的市场情况",
                                      "全区2024年GDP目标"])
def test_ordinary_words_and_parents_are_not_unknown_regions(question: str) -> None:
    from rag.search.query import parse_question

    assert parse_question(question, ["仓山区", "台江区"]).unknown_regions == ()
