"""The indicators page: the extracted indicator table with filters and a per-indicator chart.

The chart shows annual figures only (multi-year sums and averages are in the table, not beside
annual targets), one series per region (an inferred region is the same region), colours fixed per
kind whatever the filters, and only figures with a known region and year.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import streamlit as st

from rag.errors import RagError
from rag.ui.common import Page, show_error

ALL = "全部 all"
KIND_COLOURS = {"目标": "#b3261e", "实际": "#1f6feb", "预计": "#8a8a8a"}  # one colour per kind, always


def fact_rows(facts: list[Any]) -> Any:
    import pandas as pd

    from rag.facts import KIND_ZH, MEASURE_ZH

    return pd.DataFrame([{
        "地区 region": f.region or "未知 unknown",
        "推断 inferred": bool(f.region and f.region_inferred),
        "年份 year": str(f.year) if f.year else ("多年 multi-year" if f.year_source == "multi-year" else "—"),
        "指标 indicator": f.indicator, "口径 measure": MEASURE_ZH.get(f.measure, f.measure),
        "数值 value": f.display_value(), "value": f.value, "单位 unit": f.unit,
        "类型 kind": KIND_ZH.get(f.kind, f.kind), "原文 clause": f.clause, "来源 source": f.source,
        "章节 section": f.section, "_year": f.year, "_region": f.region,
    } for f in facts])


def indicator_chart(shown: Any) -> None:
    import altair as alt

    st.subheader("按指标对比 Per indicator")
    plottable = shown.dropna(subset=["value", "_year", "_region"])
    groups = plottable.groupby(["指标 indicator", "口径 measure", "单位 unit"]).size().sort_values(ascending=False)
    if groups.empty:
        st.caption("没有可画图的年度数值 No annual figures with a known region and year to chart.")
        return
    options = [f"{i} · {m} ({u})" for i, m, u in groups.index]
    pick = st.selectbox("指标 Indicator", options)
    ind, measure, unit = groups.index[options.index(pick)]
    sel = plottable[(plottable["指标 indicator"] == ind) & (plottable["口径 measure"] == measure)
                    & (plottable["单位 unit"] == unit)]
    left_out = len(shown[(shown["指标 indicator"] == ind) & (shown["口径 measure"] == measure)]) - len(sel)
    data = sel.assign(region=sel["_region"], year=sel["_year"].astype(int).astype(str), kind=sel["类型 kind"])
    data = data.groupby(["region", "year", "kind"], as_index=False)["value"].first()
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("year:N", title="年份 year"),
        xOffset="kind:N",
        y=alt.Y("value:Q", title=unit),
        color=alt.Color("kind:N", title="类型 kind",
                        scale=alt.Scale(domain=list(KIND_COLOURS), range=list(KIND_COLOURS.values()))),
        column=alt.Column("region:N", title="地区 region"),
        tooltip=["region", "year", "kind", "value"],
    ).properties(width=140)
    st.altair_chart(chart)
    if left_out > 0:
        st.caption(f"另有 {left_out} 条多年/年份或地区未知的数值只在表中 "
                   f"{left_out} more figures (multi-year, or unknown year/region) are in the table only.")


def facts_page(page: Page) -> None:
    settings = page.settings
    st.title("指标 Indicators")
    st.caption("从报告原文自动抽取的指标表(目标 / 实际 / 预计),每行都指向原文;数值以原文为准。"
               " Figures extracted from the reports; check the clause before quoting.")
    from rag.facts import KIND_ZH, query_facts

    try:
        facts = query_facts(settings)
    except RagError as exc:
        show_error(exc)
        return
    except (OSError, sqlite3.Error) as exc:
        st.error(f"指标表无法读取 cannot read the indicator table: {exc}", icon=":material/error:")
        return
    if not facts:
        st.info("指标表为空 — no indicator figures were found in the indexed reports.")
        return
    df = fact_rows(facts)
    cols = st.columns(4)
    filters = {
        "地区 region": cols[0].multiselect("地区 Region", sorted(df["地区 region"].unique()), placeholder=ALL),
        "年份 year": cols[1].multiselect("年份 Year", sorted(df["年份 year"].unique(), reverse=True), placeholder=ALL),
        "指标 indicator": cols[2].multiselect("指标 Indicator", sorted(df["指标 indicator"].unique()), placeholder=ALL),
        "类型 kind": cols[3].multiselect("类型 Kind", list(KIND_ZH.values()), placeholder=ALL),
    }
    shown = df
    for col, wanted in filters.items():
        if wanted:
            shown = shown[shown[col].isin(wanted)]
    st.caption(f"{len(shown)} / {len(df)} 条 rows")
    st.dataframe(shown.drop(columns=["value", "_year", "_region"]), hide_index=True, width="stretch")
    indicator_chart(shown)
