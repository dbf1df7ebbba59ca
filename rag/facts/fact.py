"""A fact of the indicator table: one figure of one indicator, where it stands and what it means.

The vocabulary every part of ``rag.facts`` shares: the kinds (target, actual, forecast), the
measures (level, growth) and the units that fit each indicator.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.textnorm import PERCENT_UNITS

KINDS = ("target", "actual", "forecast")
KIND_ZH = {"target": "目标", "actual": "实际", "forecast": "预计"}
MEASURE_ZH = {"level": "总量", "growth": "增速"}

MONEY_UNITS = frozenset({"万亿元", "亿元", "万元", "千元", "元", "万亿美元", "亿美元", "万美元", "美元"})
PEOPLE_UNITS = frozenset({"万人", "人"})
GRAIN_UNITS = frozenset({"万亿斤", "亿斤", "万斤", "亿公斤", "万吨"})
RATE_INDICATORS = frozenset({"居民消费价格", "城镇调查失业率"})  # their level is a percentage
PEOPLE_INDICATORS = frozenset({"城镇新增就业"})

BEFORE_QUALIFIERS = ("力争", "同比", "比上年", "突破", "超过", "年均", "累计", "上半年", "约")
AFTER_QUALIFIERS = ("左右", "以上", "以内", "以下")
_SHOWN_BEFORE = ("力争", "突破", "超过", "年均", "约")


@dataclass(frozen=True)
class Fact:
    """One figure of one indicator, with where it stands and what it means."""

    region: str | None
    year: int | None  # the year the figure refers to (None: unknown or several years)
    indicator: str  # canonical name (rag.lexicon)
    wording: str  # the indicator as worded in the source
    measure: str  # level | growth
    value: float | None  # None when redacted
    unit: str
    value_text: str  # the figure verbatim from Document.text, e.g. 「677.77亿元」, 「XX亿元」
    kind: str  # target | actual | forecast
    qualifiers: tuple[str, ...] = ()
    redacted: bool = False
    region_inferred: bool = False
    year_source: str = "section"  # clause | section | report | multi-year | unknown
    report_year: int | None = None
    doc_id: str = ""
    source: str = ""
    doc_kind: str = ""
    chunk_id: str = ""
    section: str = ""
    start: int = 0  # span of the mention (indicator … figure) in Document.text
    end: int = 0
    clause: str = ""  # the part (between ；) the figure stands in, verbatim

    def display_value(self) -> str:
        """The figure as the source states it, with qualifiers, e.g. 「增长5.5%左右」."""
        text = self.value_text
        if self.redacted:
            return f"{text}(原文已脱敏,数值未知)"
        if self.measure == "growth":
            text = ("下降" if "下降" in self.qualifiers else "增长") + text
        after = "".join(q for q in self.qualifiers if q in AFTER_QUALIFIERS)
        before = "".join(q for q in self.qualifiers if q in _SHOWN_BEFORE)
        return before + text + after


def unit_fits(indicator: str, measure: str, unit: str) -> bool:
    """Whether ``unit`` suits a ``measure`` (level/growth) of ``indicator`` (money, people, %, grain)."""
    if measure == "growth":
        return unit in PERCENT_UNITS
    if indicator in RATE_INDICATORS:
        return unit in PERCENT_UNITS
    if indicator in PEOPLE_INDICATORS:
        return unit in PEOPLE_UNITS
    if indicator == "粮食产量":
        return unit in GRAIN_UNITS
    return unit in MONEY_UNITS
