"""The table's answer in Chinese: figures verbatim with units, ``[n]`` markers, a markdown table for comparisons."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rag.facts.answer import FactAnswer, FactCell
from rag.facts.fact import KIND_ZH, MEASURE_ZH, Fact


def year_label(year: int | None, facts: Sequence[Fact] = ()) -> str:
    if year is not None:
        return f"{year}年"
    if any(f.year_source == "multi-year" for f in facts):
        return "(多年,年均)"
    return "(年份不详)"


def source_name(fact: Fact) -> str:
    return Path(fact.source).name or fact.source


def format_fact_answer(fa: FactAnswer) -> str:
    """Chinese answer: figures verbatim with units, [n] markers keyed to ``fa.chunk_ids``."""
    marker = {cid: i + 1 for i, cid in enumerate(fa.chunk_ids)}

    def cite(facts: Iterable[Fact]) -> str:
        ids = sorted({marker[f.chunk_id] for f in facts if f.chunk_id in marker})
        return "".join(f"[{i}]" for i in ids)

    def values(cell: FactCell) -> str:
        parts: list[str] = []
        for measure in ("level", "growth"):
            groups: dict[str, list[Fact]] = {}
            for f in cell.facts:
                if f.measure == measure:
                    groups.setdefault(f.display_value(), []).append(f)
            parts.extend(text + cite(fs) for text, fs in groups.items())
        return ",".join(parts)

    def inferred(cell: FactCell) -> str:
        srcs = sorted({source_name(f) for f in cell.facts if f.region_inferred})
        return f"(其中《{'》《'.join(srcs)}》的地区为推断)" if srcs else ""

    lines: list[str] = []
    if fa.comparison and fa.cells:
        lines.append("| 地区 | 年份 | 指标 | 类型 | 数值 | 来源 |")
        lines.append("|---|---|---|---|---|---|")
        for c in fa.cells:
            lines.append(f"| {c.region} | {year_label(c.year, c.facts)} | {c.indicator} | {KIND_ZH[c.kind]} | "
                         f"{values(c)} | {'、'.join(sorted({source_name(f) for f in c.facts}))} |")
    else:
        for c in fa.cells:
            lines.append(f"{c.region}{year_label(c.year, c.facts)}{c.indicator}({KIND_ZH[c.kind]}):"
                         f"{values(c)}。{inferred(c)}")
    for x in fa.conflicts:
        stated = ";".join(f"《{source_name(f)}》为{f.display_value()}{cite([f])}" for f in x.facts)
        lines.append(f"注意:{x.region}{year_label(x.year, x.facts)}{x.indicator}{MEASURE_ZH[x.measure]}"
                     f"({KIND_ZH[x.kind]})各来源不一致——{stated}。")
    kind_label = {"target": "目标", "actual": "实际/预计"}.get(fa.intent, "")
    for m in fa.missing:
        what = f"{m.region}{year_label(m.year) if m.year else ''}{m.indicator}{kind_label}"
        by_year: dict[str, list[str]] = {}
        for y, k in m.available:
            by_year.setdefault(year_label(y) if y else "未标年份", []).append(KIND_ZH[k])
        have = "、".join(f"{y}({'/'.join(ks)})" for y, ks in by_year.items())
        lines.append(f"未找到{what}的数据" + (f";指标表中{m.region}{m.indicator}有{have}的数据。" if have
                                              else f";指标表中没有{m.region}{m.indicator}的数据。"))
    return "\n".join(lines)
