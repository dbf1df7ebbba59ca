"""What a mention of an indicator covers: the region's own figure, another place's, or one item of a list.

- ``elsewhere``: 「泸州经济总量」, 「成都平原经济区经济总量」 name a part of the region (a city from the
  gazetteer, an economic zone); a clause that starts with the indicator takes its subject from the
  previous clause (「成渝地区双城经济圈建设走深走实，经济总量超9万亿元」).
- ``respectively``: 「规上工业增加值、规上服务业营收分别增长6.5%和7%」: the items listed before 分别 take the
  figures after it in order; an item with words before its indicator (「对中亚五国、东盟进出口」) is a part of
  the indicator, not the indicator.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.facts.fact import unit_fits
from rag.lexicon import GROWTH_RE, Indicator
from rag.textnorm import PERCENT_UNITS, Figure
from rag.types import Document

BLOCKER = Indicator("<excluded>", (), ())  # a mention that names another indicator or another place
# a part of the region (a city, an economic zone) is named just before its own GDP
_SUBREGION_RE = re.compile(r"经济区|经济圈|经济带|都市圈|城市群|湾区|片区|示范区|县域")
# 「规上工业增加值、规上服务业营收分别增长6.5%和7%」: the listed items take the figures in order
_RESPECTIVELY_RE = re.compile(r"分别(?:增长|增速|增幅|下降|提高|达到?|超过|为|是)?")
_ITEM_SEP_RE = re.compile(r"[、和与及]")


def respectively(mentions: list[tuple[int, int, Indicator]], figs: list[Figure], folded: str, c_start: int,
                 c_end: int, emit: Callable[[tuple[Indicator, int, int], Figure, str, int], None]) -> bool:
    """「A、B分别增长x和y」: the i-th listed item takes the i-th figure; True when the clause was read so."""
    m = _RESPECTIVELY_RE.search(folded, c_start, c_end)
    if not m or not any(s < m.start() and ind is not BLOCKER for s, _, ind in mentions):
        return False
    listed = [f for f in figs if f.start >= m.end()]
    listed = [f for i, f in enumerate(listed)
              if i == 0 and f.start - m.end() <= 2 or i > 0 and re.fullmatch(r"\s*[、和及与]\s*", folded[listed[i - 1].end: f.start])]
    if len(listed) < 2:
        return False
    items: list[tuple[int, int]] = []
    s = c_start
    for sep in _ITEM_SEP_RE.finditer(folded, c_start, m.start()):
        items.append((s, sep.start()))
        s = sep.end()
    items.append((s, m.start()))
    for (i_start, i_end), fig in zip(items, listed, strict=False):
        named = [x for x in mentions if i_start <= x[0] < i_end]
        if len(named) != 1 or named[0][2] is BLOCKER:
            continue
        if folded[i_start: named[0][0]].strip() not in ("", "全省", "全市", "全区", "全县", "全国"):
            continue  # 「对中亚五国、东盟进出口分别增长…」: a part of the indicator
        n_start, n_end, ind = named[0]
        measure = "growth" if (GROWTH_RE.search(m.group(0)) and fig.unit in PERCENT_UNITS) else "level"
        if unit_fits(ind.name, measure, fig.unit):
            emit((ind, n_start, n_end), fig, measure, c_start)
    return True


def elsewhere(doc: Document, folded: str, c_start: int, m_start: int, prev_clause: str) -> bool:
    """Whether a mention is another place's figure (「泸州经济总量」, 「成都平原经济区经济总量」).

    A clause that starts with the indicator takes its subject from the previous clause
    (「成渝地区双城经济圈建设走深走实，经济总量超9万亿元」).
    """
    before = folded[c_start:m_start]
    if _SUBREGION_RE.search(before) or (not before.strip() and _SUBREGION_RE.search(prev_clause)):
        return True
    if not before.strip():
        return False
    from rag.regions import gazetteer, short_name

    own = {doc.region or "", short_name(doc.region or "")}
    for mention in gazetteer().mentions(before, short=True):
        place = mention.places[0]
        if mention.text in own or place.name in own:
            continue
        if mention.text == place.name or place.level in ("province", "city"):
            return True
    return False
