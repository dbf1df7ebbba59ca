"""The indicators people ask about, with their Chinese wordings and English names.

One table serves question parsing (「GDP」→ 地区生产总值, "retail sales" → 社会消费品零售总额), query
expansion for keyword search, the extractive answerer and the indicator table (``rag.facts.table``).
Order matters where one name contains another: longer, more specific names come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    """A canonical indicator and the ways reports and users name it."""

    name: str  # canonical Chinese name
    aliases: tuple[str, ...]  # other Chinese wordings found in reports or questions
    english: tuple[str, ...]  # lower-case English phrases


INDICATORS: tuple[Indicator, ...] = (
    Indicator("地方一般公共预算收入", ("地方一般公共预算收入", "地方财政收入", "地方公共财政预算收入"),
              ("local general public budget revenue", "local fiscal revenue", "local budget revenue")),
    Indicator("一般公共预算总收入", ("一般公共预算总收入", "公共财政预算收入", "财政总收入", "一般公共预算收入", "财政收入"),
              ("general public budget revenue", "total fiscal revenue", "fiscal revenue", "budget revenue")),
    Indicator("地区生产总值", ("地区生产总值", "国内生产总值", "生产总值", "GDP", "经济总量", "经济增长"),
              ("gdp", "gross domestic product", "gross regional product", "economic growth", "economy")),
    Indicator("固定资产投资", ("固定资产投资", "全社会固定资产投资", "固投"),
              ("fixed asset investment", "fixed-asset investment", "fixed assets investment", "investment in fixed assets")),
    Indicator("社会消费品零售总额", ("社会消费品零售总额", "社零总额", "社零", "消费品零售总额"),
              ("retail sales", "total retail sales", "consumer goods")),
    Indicator("进出口总额", ("进出口总额", "外贸进出口", "进出口", "外贸"),
              ("import and export", "imports and exports", "foreign trade", "total trade", "trade volume")),
    Indicator("实际利用外资", ("实际利用外资", "利用外资", "外资"),
              ("foreign direct investment", "foreign investment", "fdi", "utilized foreign capital", "foreign capital")),
    Indicator("城镇居民人均可支配收入", ("城镇居民人均可支配收入",), ("urban disposable income", "urban residents' disposable income")),
    Indicator("居民人均可支配收入", ("居民人均可支配收入", "人均可支配收入", "可支配收入"),
              ("disposable income", "per capita disposable income", "income per capita")),
    Indicator("城镇新增就业", ("城镇新增就业", "新增城镇就业", "新增就业"), ("new urban jobs", "urban employment", "new jobs", "jobs", "employment")),
    Indicator("第三产业增加值", ("第三产业增加值",), ("tertiary industry", "service sector value added")),
    Indicator("规上工业增加值", ("规上工业增加值", "规模以上工业增加值"), ("industrial value added", "industrial output")),
    Indicator("居民消费价格", ("居民消费价格", "CPI", "物价涨幅"), ("cpi", "consumer price", "inflation")),
    Indicator("城镇调查失业率", ("城镇调查失业率", "调查失业率", "失业率"), ("unemployment rate", "unemployment")),
    Indicator("粮食产量", ("粮食产量",), ("grain output", "grain production")),
)

TARGET_WORDS = ("目标", "预期", "力争", "计划", "要达到", "要实施", "确保", "打算", "预计增长", "将", "安排", "拟")
ACTUAL_WORDS = ("完成", "实现", "预计", "增长了", "达到了", "是多少", "多少", "实际", "成效", "取得")
EN_TARGET = ("target", "goal", "plan", "aim", "expected", "will")
EN_ACTUAL = ("actual", "achieved", "was", "were", "did", "grew", "reached", "how much", "how many")


def find_indicators(text: str) -> list[Indicator]:
    """Indicators named in ``text`` (Chinese or English), most specific first, without overlaps."""
    lower = text.lower()
    found: list[Indicator] = []
    taken: list[tuple[int, int]] = []
    for ind in INDICATORS:
        for alias in ind.aliases:
            pattern = re.escape(alias.lower())
            for m in re.finditer(pattern, lower):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                if ind not in found:
                    found.append(ind)
        for phrase in ind.english:
            if re.search(rf"\b{re.escape(phrase)}\b", lower) and ind not in found:
                found.append(ind)
    return found


def indicator_by_name(name: str) -> Indicator | None:
    """Look up an indicator by canonical name or alias."""
    for ind in INDICATORS:
        if name == ind.name or name in ind.aliases:
            return ind
    return None
