"""Parts of a report clause: what each figure's part speaks of.

Paired phrases spelled out (「城镇和农村居民人均可支配收入」 → 城镇居民…, 农村居民…), a target list's opening cue,
and whether every figure of a clause stands in a part about a multi-year span (「年均」「“十四五”」).
"""

from __future__ import annotations

import re

from rag.textnorm import Figure

PAIRED_RE = re.compile(r"([\u4e00-\u9fff]{2})(?:和|与|及|、)([\u4e00-\u9fff]{2})([\u4e00-\u9fff]{2,14})")


def distributed(text: str) -> str:
    """``text`` plus each paired phrase spelled out (「城镇和农村居民人均可支配收入」 → 城镇居民人均可支配收入, 农村…)."""
    extra = [w for m in PAIRED_RE.finditer(text) for w in (m.group(1) + m.group(3), m.group(2) + m.group(3))]
    return text + ("，" + "，".join(extra) if extra else "")


TARGET_LIST_RE = re.compile(r"预期目标|主要目标|目标是|目标为|力争")  # 「…主要预期目标是：」 (not 「倍增计划」, a programme)
SPAN_RE = re.compile(r"年均|累计|五年|“十[一二三四五]五”")


def multi_year_only(clause: str, real: list[Figure]) -> bool:
    """Whether every figure of ``real`` stands in a part (between commas, with the part before) about a span.

    「地区生产总值跨过3万亿元、年均增长5.2％」 is; a long review sentence with 「地区生产总值增长5.1％」 in one part
    and 「累计降幅完成“十四五”任务」 in another is not. No figures: whether the clause names a span.
    """
    if not real:
        return bool(SPAN_RE.search(clause))
    parts = [(m.start(), m.end()) for m in re.finditer(r"[^，,；;。]+", clause)]

    def window(f: Figure) -> str:
        k = next((i for i, (a, b) in enumerate(parts) if a <= f.start < b), 0)
        return clause[parts[max(k - 1, 0)][0]:parts[k][1]] if parts else clause

    return all(SPAN_RE.search(window(f)) for f in real)
