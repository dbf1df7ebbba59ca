"""Chinese administrative names from a maintained gazetteer: what is a region, and which one.

The names come from ``adcodes.csv`` shipped with the ``cpca`` package (MIT licence; 3,500 provinces,
prefecture cities and counties/districts with their 12-digit codes), located with ``importlib.util.find_spec``
(cpca itself is not imported: it loads pandas). Every place is known by its full name (福州市, 长乐区, 广西壮族自治区), its short name
(福州, 广西; only when at least two characters remain) and the pinyin of the short name (fuzhou).
A county-level city or county renamed a district since the data was cut (长乐市 → 长乐区, 沙县 → 沙县区)
is also known by the ``…区`` form.

Used by the question parser (``rag.search.query``: a region the index lacks is refused by name) and
by ``rag.ingest.describe`` (a report's region whatever the order of name, year and title)::

    >>> g = gazetteer()
    >>> [m.name for m in g.mentions("福州市长乐区2024年政府工作报告")]
    ['福州市', '长乐区']
    >>> g.most_specific("福州市长乐区2024年政府工作报告")
    '长乐区'
    >>> g.is_place("目标区"), g.is_place("浦东新区")
    (False, True)
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import re
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("province", "city", "county")
NATIONAL = "国务院"  # the region of the national reports (the State Council reports to the NPC)
# longest first: 「广西壮族自治区」 → 广西, 「延边朝鲜族自治州」 → 延边
_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "自治县", "自治旗",
    "新区", "林区", "地区", "省", "市", "区", "县", "旗", "盟",
)
_ETHNIC_RE = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fa5]{1,8}族)+$")  # 「延边朝鲜族」 → 延边
# a suffix character followed by these is part of an ordinary word, not a place name (目标区间, 市场)
NOT_PLACE_ENDINGS = ("区间", "区域", "区块", "区别", "区分", "区位", "区划", "市场", "市民", "市值", "市容",
                   "县域", "省份")
_PLACEHOLDER = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


@dataclass(frozen=True)
class Place:
    """One administrative division."""

    name: str  # full name, e.g. 长乐区
    adcode: str  # 12 digits (a derived …区 form keeps the code of the place it renames)
    level: str  # province | city | county
    province: str  # full name of its province ("" for a province itself)
    city: str  # full name of its prefecture city ("" above that level)

    @property
    def short(self) -> str:
        """The name without its administrative suffix (福州市 → 福州), if two characters remain."""
        return short_name(self.name)


@dataclass(frozen=True)
class Mention:
    """A place name found in a text."""

    start: int
    end: int
    text: str  # as written (full or short name)
    places: tuple[Place, ...]

    @property
    def name(self) -> str:
        """The full name of the (first) place meant."""
        return self.places[0].name


def short_name(name: str) -> str:
    """仓山区 → 仓山, 广西壮族自治区 → 广西, 延边朝鲜族自治州 → 延边; unchanged if < 2 characters remain."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            m = _ETHNIC_RE.match(stem)
            return m.group(1) if m else stem
    return name


@functools.lru_cache(maxsize=65536)
def pinyin(name: str) -> str:
    """Toneless pinyin without spaces (仓山 → cangshan)."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name))


def _level(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    return "city" if code[4:] == "0" * 8 else "county"


def _adcodes_path() -> Path:
    """The adcodes.csv shipped with cpca, located without importing cpca (its ``__init__`` loads pandas)."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        from rag.errors import ConfigError

        raise ConfigError("the cpca package (administrative-division names) is not installed",
                          "pip install cpca (a declared dependency: reinstall the project)")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _read_places() -> list[Place]:
    raw = _adcodes_path().read_text(encoding="utf-8")
    rows = [(r["adcode"], r["name"].strip()) for r in csv.DictReader(io.StringIO(raw))]
    by_code = {code: name for code, name in rows}
    places: list[Place] = []
    for code, name in rows:
        if not name or name in _PLACEHOLDER:
            continue
        level = _level(code)
        province = by_code.get(code[:2] + "0" * 10, "") if level != "province" else ""
        city = by_code.get(code[:4] + "0" * 8, "") if level == "county" else ""
        city = "" if city in _PLACEHOLDER else city
        places.append(Place(name, code, level, province, city))
        if level == "county" and name[-1] in "市县" and len(name) >= 3 and not name.endswith("自治县"):
            # 撤市/撤县设区: the district that replaced it (长乐市 → 长乐区, 沙县 → 沙县区)
            renamed = (name[:-1] if name[-1] == "市" else name) + "区"
            places.append(Place(renamed, code, level, province, city))
    return places


class Gazetteer:
    """Every place by full name, short name and pinyin; scans texts for mentions (longest first)."""

    def __init__(self, places: list[Place]) -> None:
        self.places = tuple(places)
        self.by_name: dict[str, tuple[Place, ...]] = {}
        self._short: dict[str, tuple[Place, ...]] = {}
        self.by_pinyin: dict[str, tuple[Place, ...]] = {}
        for p in places:
            self.by_name[p.name] = (*self.by_name.get(p.name, ()), p)
            if p.short != p.name:
                self._short[p.short] = (*self._short.get(p.short, ()), p)
                key = pinyin(p.short)
                self.by_pinyin[key] = (*self.by_pinyin.get(key, ()), p)
        self._lengths = sorted({len(n) for n in self.by_name} | {len(n) for n in self._short}, reverse=True)

    def is_place(self, name: str) -> bool:
        """Whether ``name`` is a full administrative name (长乐区, 河南省)."""
        return name in self.by_name

    def lookup(self, name: str) -> tuple[Place, ...]:
        """Places with this full name, else this short name (鼓楼区 → four places)."""
        return self.by_name.get(name) or self._short.get(name, ())

    def mentions(self, text: str, *, short: bool = False) -> list[Mention]:
        """Full names (and short names with ``short=True``) in ``text``, left to right, longest first.

        A full name followed by an ordinary word (「目标区间」, 「市场」) is not a mention; a short
        name counts only when it is not the start of a longer word the text continues with a suffix.
        """
        out: list[Mention] = []
        i, n = 0, len(text)
        while i < n:
            hit = None
            for size in self._lengths:
                if i + size > n:
                    continue
                cand = text[i: i + size]
                places = self.by_name.get(cand)
                if places and not text.startswith(NOT_PLACE_ENDINGS, i + size - 1):
                    hit = Mention(i, i + size, cand, places)
                    break
                if short and cand in self._short and size >= 2:
                    hit = Mention(i, i + size, cand, self._short[cand])
                    break
            if hit is None:
                i += 1
                continue
            out.append(hit)
            i = hit.end
        return out

    def most_specific(self, text: str) -> str | None:
        """The most specific place a title names: the last of a chain like 「福建省福州市长乐区」."""
        found = self.mentions(text)
        if not found:
            return None
        rank = {lvl: i for i, lvl in enumerate(LEVELS)}
        best = max(found, key=lambda m: (rank[m.places[0].level], -m.start))
        return best.name


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer, built once per process (~3,500 places, a few ms)."""
    return Gazetteer(_read_places())
