"""The indicators page: the extracted indicator table with filters and a per-indicator chart."""

from __future__ import annotations

import streamlit as st

from rag.errors import RagError
from rag.ui.common import Page, show_error


def facts_page(page: Page) -> None:
    import sqlite3

    import pandas as pd

    settings = page.settings
    st.title("指标 Indicators")
    st.caption("从报告原文自动抽取的指标表(目标 / 实际 / 预计),每行都指向原文;数值以原文为准。"
               " Figures extracted from the reports; check the clause before quoting.")
    try:
        from rag.facts import KIND_ZH, MEASURE_ZH, query_facts
    except ImportError:
        st.info("指标表尚未构建 — the indicator table (rag/facts) is not available yet.")
        return
    try:
        facts = query_facts(settings)
    except RagError as exc:
        show_error(exc)
        return
    except (OSError, sqlite3.Error) as exc:
        st.error(f"指标表无法读取或构建 cannot read/build the indicator table: {exc}", icon=":material/error:")
        return
    if not facts:
        st.info("指标表为空 — no indicator figures were found in the indexed reports.")
        return
    df = pd.DataFrame([{
        "地区 region": (f.region or "未知") + ("(推断)" if f.region_inferred else ""),
        "年份 year": f.year, "指标 indicator": f.indicator, "口径 measure": MEASURE_ZH.get(f.measure, f.measure),
        "数值 value": f.display_value(), "value": f.value, "单位 unit": f.unit,
        "类型 kind": KIND_ZH.get(f.kind, f.kind), "原文 clause": f.clause, "来源 source": f.source,
        "章节 section": f.section,
    } for f in facts])
    cols = st.columns(4)
    filters = {
        "地区 region": cols[0].multiselect("地区 Region", sorted(df["地区 region"].unique())),
        "年份 year": cols[1].multiselect("年份 Year", sorted(df["年份 year"].dropna().unique().astype(int))),
        "指标 indicator": cols[2].multiselect("指标 Indicator", sorted(df["指标 indicator"].unique())),
        "类型 kind": cols[3].multiselect("类型 Kind", [KIND_ZH[k] for k in KIND_ZH]),
    }
    shown = df
    for col, wanted in filters.items():
        if wanted:
            shown = shown[shown[col].isin(wanted)]
    st.caption(f"{len(shown)} / {len(df)} 条 rows")
    st.dataframe(shown.drop(columns=["value"]), hide_index=True, width="stretch")

    st.subheader("按指标对比 Per indicator")
    groups = (shown.dropna(subset=["value"]).groupby(["指标 indicator", "口径 measure", "单位 unit"])
              .size().sort_values(ascending=False))
    if groups.empty:
        st.caption("没有可画图的数值 no numeric figures to chart.")
        return
    options = [f"{i} · {m} ({u})" for i, m, u in groups.index]
    pick = st.selectbox("指标 Indicator", options)
    ind, measure, unit = groups.index[options.index(pick)]
    sel = shown[(shown["指标 indicator"] == ind) & (shown["口径 measure"] == measure) & (shown["单位 unit"] == unit)]
    sel = sel.dropna(subset=["value"]).assign(
        label=lambda d: d["地区 region"] + " " + d["年份 year"].map(lambda y: f"{int(y)}" if pd.notna(y) else "?"))
    chart = sel.pivot_table(index="label", columns="类型 kind", values="value", aggfunc="first")
    st.bar_chart(chart, y_label=unit, stack=False)
