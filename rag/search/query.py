"""Parse a question: region, year, intent (target vs. actual), indicators; rewrite follow-ups.

Regions are matched against the regions the index actually holds, by full name (仓山区), short name
(仓山) or pinyin (Cangshan); a region-like name the index does not hold (晋安区) is reported as
``unknown_region`` so the answer chain can refuse instead of answering about somewhere else.

Follow-ups: 「那固定资产投资呢?」 after 「仓山区2024年GDP目标」 becomes 「仓山区2024年固定资产投资目标」;
「增长了多少?」 after 「台江区2021年社会消费品零售总额是多少?」 becomes
「台江区2021年社会消费品零售总额增长了多少?」. Missing parts are taken from the latest earlier
turn that has them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rag.lexicon import (
    ACTUAL_WORDS,
    COLLOQUIAL,
    EN_ACTUAL,
    EN_CUES,
    EN_PLACE_NAMES,
    EN_TARGET,
    GENERIC_REGION_WORDS,
    SHORT_FORMS,
    TARGET_WORDS,
    Indicator,
    english_terms,
    find_indicators,
)
from rag.regions import NATIONAL, NOT_PLACE_ENDINGS, gazetteer, short_name
from rag.textnorm import fold

_REGION_LIKE_RE = re.compile(r"([\u4e00-\u9fa5]{2,7}?(?:自治区|省|市|区|县|旗))")
_EN_REGION_RE = re.compile(r"\b([A-Z][a-z]+(?:['’-]?[a-z]+)?)\s+((?i:district|county|city|province|prefecture|new area|qu|xian|shi|sheng))\b")
_REPORT_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年?(?:的)?(?:政府)?工作报告|((?:19|20)\d{2})年报告"
                             r"|((?:19|20)\d{2})\s+(?:government\s+)?work\s+report|report\s+of\s+((?:19|20)\d{2})", re.I)
# a capitalised name in an English question: possessive (「Hong Kong's」) or after of/in/for (「for Gulou」)
_EN_PLACE_RE = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)?)['’]s\b|\b(?:of|in|for|from)\s+([A-Z][a-z]+(?: [A-Z][a-z]+)?)\b")
_EN_NOT_PLACES = frozenset({"what", "who", "where", "how", "it", "that", "there", "here", "let", "this", "today",
                            "everyone", "one", "he", "she", "party", "premier", "government", "council", "congress",
                            "report", "the", "its", "which", "when", "why", "january", "february", "march", "april",
                            "may", "june", "july", "august", "september", "october", "november", "december"})

_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?!\d))")
# a year listed before a report mention is a report year too: 「2018年和2019年政府工作报告」 names two reports
_LISTED_REPORT_RE = re.compile(r"((?:19|20)\d{2})\s*年?\s*(?:和|与|、|及|以及)\s*(?=(?:(?:19|20)\d{2}\s*年?\s*(?:和|与|、|及|以及)\s*)*"
                               r"(?:19|20)\d{2}\s*年?(?:的)?(?:政府)?工作报告)")
_NATIONAL_RE = re.compile(r"全国|国务院|国家|中央政府|national|china's|state council", re.I)
# words that only a national report uses of itself (local reports say 地区生产总值 / 全省 / 全区):
# with no region named, they point at the national report instead of leaving the region open
_NATIONAL_TERMS_RE = re.compile(r"国内生产总值|我国|中国(?!特色)|\bGDP of China\b"
                                r"|(?:19|20)\d{2}\s*年?的?政府工作报告", re.I)  # 「2024年政府工作报告」, no region: the State Council's


@dataclass(frozen=True)
class ParsedQuestion:
    """What a question asks about."""

    text: str  # the standalone question
    regions: tuple[str, ...] = ()
    unknown_regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    intent: str = "any"  # target | actual | any
    indicators: tuple[str, ...] = ()
    english: bool = False
    expansions: tuple[str, ...] = field(default=())  # extra keyword terms (canonical indicator names)
    report_years: tuple[int, ...] = ()  # 「2019年政府工作报告」: the report itself, not the year it speaks of


@functools.lru_cache(maxsize=65536)
def _pinyin(name: str) -> str:
    """Pinyin of a region name, cached (matchers for other region sets reuse it)."""
    try:
        from pypinyin import lazy_pinyin
    except ImportError:  # pragma: no cover - declared dependency
        return ""
    return "".join(lazy_pinyin(name))


class RegionMatcher:
    """The known regions, prepared once for matching questions against them.

    A question is scanned for every candidate string (full name 仓山区, short name 仓山, pinyin
    cangshan) through dicts keyed on those strings, so the cost grows with the question, not with
    the number of regions. Only regions with a candidate in the question then go through the
    matching rules, in the same order as before (longest name first), so the result is the same as
    trying every region in turn: a region none of whose candidates occurs adds no hit and no span.
    Names of equal length are taken in name order (it used to be set order, i.e. hash-seed order).
    Iterating a matcher yields its regions, so it can stand wherever a region list is expected.
    """

    def __init__(self, known: Iterable[str]) -> None:
        order = sorted(set(known), key=lambda r: (-len(r), r))
        self.regions = frozenset(order)
        self._rank = {r: i for i, r in enumerate(order)}
        self._short = {r: short_name(r) for r in order}
        self._py = {r: _pinyin(self._short[r]) for r in order if r != NATIONAL}
        self.known_py = frozenset(self._py.values())  # pinyin of every short name (English region names)
        self._py_re: dict[str, re.Pattern[str]] = {}
        zh: dict[str, list[str]] = {}
        py: dict[str, list[str]] = {}
        for r in order:
            if r == NATIONAL:
                continue
            for cand in dict.fromkeys((r, self._short[r])):
                zh.setdefault(cand, []).append(r)
            if self._py[r]:
                py.setdefault(self._py[r], []).append(r)
        self._always = zh.pop("", [])  # an empty name occurs in every text
        self._tables = [(zh, sorted({len(c) for c in zh}), {c[0] for c in zh}, False),
                        (py, sorted({len(c) for c in py}), {c[0] for c in py}, True)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)

    def __contains__(self, region: object) -> bool:
        return region in self.regions

    def _candidates(self, text: str, lower: str) -> list[str]:
        """Regions one of whose candidate strings occurs in the question, longest name first."""
        found = set(self._always)
        for table, lengths, firsts, on_lower in self._tables:
            s = lower if on_lower else text
            n = len(s)
            for i, ch in enumerate(s):
                if ch not in firsts:
                    continue
                for size in lengths:
                    if i + size > n:
                        break
                    hit = table.get(s[i: i + size])
                    if hit:
                        found.update(hit)
        return sorted(found, key=self._rank.__getitem__)

    def _pinyin_re(self, py: str) -> re.Pattern[str]:
        pat = self._py_re.get(py)
        if pat is None:
            pat = self._py_re[py] = re.compile(rf"\b{re.escape(py)}")
        return pat

    def find(self, text: str) -> tuple[list[str], list[str]]:
        """(known regions named in text, region-like names not in the index)."""
        lower = text.lower()
        hits: list[tuple[int, str]] = []
        spans: list[tuple[int, int]] = []
        if NATIONAL in self.regions:
            m = _NATIONAL_RE.search(text)
            if m:
                hits.append((m.start(), NATIONAL))
        for region in self._candidates(text, lower):
            for cand in (region, self._short[region]):
                pos = text.find(cand)
                if pos >= 0 and not any(s <= pos < e for s, e in spans):
                    hits.append((pos, region))
                    spans.append((pos, pos + len(cand)))
                    break
            else:
                py = self._py[region]
                if py and self._pinyin_re(py).search(lower):
                    hits.append((lower.find(py), region))
        found = [r for _, r in sorted(hits)]
        unknown = []
        # every administrative name the gazetteer knows (宝山区, 浦东新区, 河南省) that the index lacks
        places = gazetteer()
        parents = {n for r in found for p in places.lookup(r) for n in (p.city, p.province)}  # 福州市 of 仓山区
        named = [(m.start(), m.end()) for r in set(found) for n in {r, short_name(r)} if n
                 for m in re.finditer(re.escape(n), text)]  # every occurrence: 「仓山城区」 is not 山城区
        for g in places.mentions(text):
            if g.text in parents:
                spans.append((g.start, g.end))
                continue
            if len(g.text) < 3 or any(s < g.end and g.start < e for s, e in spans + named):
                continue
            if not any(g.text == r or short_name(g.text) == short_name(r) for r in found):
                unknown.append(g.text)
                spans.append((g.start, g.end))
        # region-like names the gazetteer lacks (鼓山区): a name + suffix that is not an ordinary word
        for m in _REGION_LIKE_RE.finditer(text):
            name = m.group(1)
            if text.startswith(NOT_PLACE_ENDINGS, m.end() - 1):  # 「目标区间」「市场」
                continue
            for pre in ("请问", "问", "那么", "那", "和", "与", "及", "跟", "比较", "对比"):
                if name.startswith(pre) and len(name) - len(pre) >= 3:
                    name = name[len(pre):]
            name = re.sub(r"^.*?[年的在是了]", "", name) if re.search(r"[年的在是了]", name[:-1]) else name
            if len(name) < 3 or _generic(name) or any(s <= m.start() < e or s < m.end() <= e for s, e in spans):
                continue
            if not any(name == r or name.startswith(short_name(r)) or r.startswith(name) for r in found):
                unknown.append(name)
        for m in _EN_REGION_RE.finditer(text):
            name = re.sub(r"[^a-z]", "", m.group(1).lower())
            if name and name not in self.known_py:
                unknown.append(f"{m.group(1)} {m.group(2)}")
        self._english_places(text, found, unknown)
        if not found and not unknown and NATIONAL in self.regions and _NATIONAL_TERMS_RE.search(text):
            found = [NATIONAL]
        return list(dict.fromkeys(found)), list(dict.fromkeys(unknown))


    def _english_places(self, text: str, found: list[str], unknown: list[str]) -> None:
        """Places an English question names without a suffix: 「Hong Kong's」, 「Tibet's」, 「for Gulou」, 「Japan's」.

        An English exonym (``rag.lexicon.EN_PLACE_NAMES``) or a gazetteer place's pinyin is looked up; a
        capitalised name that is neither counts as a place the corpus lacks only when it is the question's
        only place (「Japan's GDP target」), so ordinary capitalised words beside a known region do no harm.
        """
        for m in _EN_PLACE_RE.finditer(text):
            name = m.group(1) or m.group(2)
            lower = " ".join(name.lower().split())
            if lower.split()[0] in _EN_NOT_PLACES or _NATIONAL_RE.search(name):
                continue
            zh = EN_PLACE_NAMES.get(lower)
            if zh is not None:
                (found if zh in self.regions else unknown).append(zh)
                continue
            key = re.sub(r"[^a-z]", "", lower)
            if key in self.known_py or any(name in u or u.startswith(name) for u in unknown):  # 「Pudong New Area」
                continue
            if key in gazetteer().by_pinyin or (not found and m.group(1)):
                unknown.append(name)


# 「各省区市」「全国各省」「各自治区」「21个省市」: a quantifier over level words names every region, not one
_LEVEL_WORDS_RE = re.compile(r"(?:全国)?[各全本每该此个几诸多所有]*[省市区县州盟旗地自治份乡镇]+")


def _generic(name: str) -> bool:
    """「山区」「贫困山区」「经济开发区」 are ordinary words; 「鼓山区」 (one character + 山区) is a name."""
    if _LEVEL_WORDS_RE.fullmatch(name):
        return True
    if name in GENERIC_REGION_WORDS or (name[0] in "那这在和与及跟是的了把从到向对各全本" and name[1:] in GENERIC_REGION_WORDS):
        return True
    return any(name.endswith(g) and (len(name) - len(g) >= 2 or g[0] in "全本我各该此")  # 「那全区」
               for g in GENERIC_REGION_WORDS)


@functools.lru_cache(maxsize=16)
def _matcher_for(known: frozenset[str]) -> RegionMatcher:
    return RegionMatcher(known)


def region_matcher(known: Iterable[str]) -> RegionMatcher:
    """The matcher for a set of known regions, built once per distinct set (cached)."""
    if isinstance(known, RegionMatcher):
        return known
    return _matcher_for(known if type(known) is frozenset else frozenset(known))


def find_regions(text: str, known: Iterable[str]) -> tuple[list[str], list[str]]:
    """(known regions named in text, region-like names not in the index)."""
    return region_matcher(known).find(text)


_REPORT_SETS_RE = re.compile(r"(?:政府)?工作报告[^,，。?？]{0,4}?(?:提出|设定|确定|部署|安排|要求|的)"
                             r"|\breports?\s+(?:set|sets|propose[sd]?|lay|lays|laid|announce[sd]?)\b"
                             r"|\b(?:in|of|from|by) the (?:(?:19|20)\d{2} )?(?:government )?work report\b", re.I)
# colloquial ways of asking what a report plans: 「定了多少」「定的多少」「想涨多少」「准备招多少」
_COLLOQUIAL_TARGET_RE = re.compile(r"定(?:了|的|为|成)|想(?!法)|准备")
# a two-digit year as people say it (「25年」「19年的报告」), not a duration (连续11年, 过去5年, 近10年来)
_SHORT_YEAR_RE = re.compile(r"(?<![\d.０-９])(?<!连续)(?<!过去)(?<![近第多这每几十百])(\d{2})(?=年(?![来代度内间初底末前后里]))")


def find_intent(text: str) -> str:
    """The intent: target (目标/预期/力争/计划), actual (完成/实现/增长了) or any."""
    lower = text.lower()
    target = any(w in text for w in TARGET_WORDS) or any(re.search(rf"\b{w}\b", lower) for w in EN_TARGET)
    if target and re.search(r"实际|实现了|完成了|actual", lower):  # 「实际增速和增长目标」: both
        return "any"
    said_actual = re.search(r"实际|实现|完成|actual", lower)
    if target or _COLLOQUIAL_TARGET_RE.search(text) or (_REPORT_SETS_RE.search(text) and not said_actual):
        # 「2012年政府工作报告提出…」: what a report sets is a target
        return "target"
    if any(w in text for w in ACTUAL_WORDS) or any(re.search(rf"\b{w}\b", lower) for w in EN_ACTUAL):
        return "actual"
    return "any"


@functools.lru_cache(maxsize=1)
def _t2s() -> object:
    from opencc_purepy import OpenCC

    return OpenCC("t2s")


def simplified(text: str) -> str:
    """A traditional-Chinese question in simplified characters (倉山區 → 仓山区); others unchanged."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    return str(_t2s().convert(text))  # type: ignore[attr-defined]




def plain_wording(text: str) -> str:
    """Colloquial words replaced by the reports' own (see ``rag.lexicon.COLLOQUIAL``) and two-digit years written out."""
    for pattern, repl in COLLOQUIAL:
        text = pattern.sub(repl, text)
    return full_years(text)


def full_years(text: str) -> str:
    """Two-digit years written out: 「江西25年经济」 → 「江西2025年经济」 (00–50 → 20xx, 51–99 → 19xx)."""
    return _SHORT_YEAR_RE.sub(lambda m: ("20" if int(m.group(1)) <= 50 else "19") + m.group(1), text)


def parse_question(text: str, known_regions: Iterable[str]) -> ParsedQuestion:
    """Parse one standalone question (folded: full-width letters, digits and punctuation read as ASCII)."""
    text = plain_wording(fold(text))
    regions, unknown = region_matcher(known_regions).find(text)
    named = [(m.start(), int(next(g for g in m.groups() if g))) for m in _REPORT_YEAR_RE.finditer(text)]
    named += [(m.start(), int(m.group(1))) for m in _LISTED_REPORT_RE.finditer(text)]  # 「2018年和2019年政府工作报告」
    report_years = tuple(dict.fromkeys(y for _, y in sorted(named)))
    without_reports = _REPORT_YEAR_RE.sub(" ", _LISTED_REPORT_RE.sub(" ", text))
    years = tuple(dict.fromkeys(int(y) for y in _YEAR_RE.findall(without_reports)))
    intent = find_intent(text)
    if report_years and not years and intent != "any":
        # a year-Y report sets year-Y targets and reviews year Y-1
        years = tuple(y if intent == "target" else y - 1 for y in report_years)
    inds: list[Indicator] = find_indicators(text)
    english = bool(re.search(r"[A-Za-z]{3,}", text)) and not re.search(r"[\u4e00-\u9fa5]{2,}", text)
    expansions = tuple(dict.fromkeys([*(ind.name for ind in inds if ind.name not in text),
                                      *(full for short, full in SHORT_FORMS if short in text and full not in text),
                                      *(zh for pattern, zh in EN_CUES if english and pattern.search(text)),
                                      *english_terms(text)]))  # English words, also in a mixed question
    return ParsedQuestion(text, tuple(regions), tuple(unknown), years, intent,
                          tuple(i.name for i in inds), english, expansions, report_years)


_FOLLOWUP_LEAD_RE = re.compile(r"^(那么|那|还有|以及|and|what about|how about)\s*", re.I)
_FOLLOWUP_TAIL_RE = re.compile(r"(呢|吗)?\s*[?？。!！]*\s*$")


def rewrite_followup(question: str, previous: Sequence[str], known_regions: Iterable[str]) -> str:
    """Make a follow-up stand alone by carrying region, year, indicator and intent from earlier turns."""
    if not previous:
        return question
    known = region_matcher(known_regions)
    cur = parse_question(question, known)
    prev = [parse_question(p, known) for p in previous]
    region = next((p.regions for p in reversed(prev) if p.regions), ())
    years = next((p.years for p in reversed(prev) if p.years), ())
    indicator = next((p.indicators for p in reversed(prev) if p.indicators), ())
    prev_intent = next((p.intent for p in reversed(prev) if p.intent != "any"), "any")
    if cur.english and prev[-1].english:  # an English conversation stays English
        from rag.search.english import english_followup

        return english_followup(question, cur, prev)
    body = _FOLLOWUP_LEAD_RE.sub("", question.strip())
    last = next((p for p in reversed(prev) if p.regions or p.indicators), prev[-1])
    if (cur.regions or cur.years) and not cur.indicators and len(_FOLLOWUP_TAIL_RE.sub("", body)) <= 12:
        # 「台江区呢?」/「2023年呢?」: the earlier question, with region and/or year swapped
        out = last.text
        if cur.regions and last.regions:
            for old in last.regions:
                out = out.replace(old, "", 1) if old != last.regions[0] else out
            first = last.regions[0]
            out = out.replace(first, "".join(cur.regions), 1) if first in out else "".join(cur.regions) + out
        elif cur.regions:
            out = "".join(cur.regions) + out
        if cur.years:
            out = re.sub(r"(?:19|20)\d{2}年", f"{cur.years[0]}年", out, count=1) if last.years \
                else f"{cur.years[0]}年" + out
        rest = _FOLLOWUP_TAIL_RE.sub("", body)
        for part in [*cur.regions, *(f"{y}年" for y in cur.years), *(str(y) for y in cur.years)]:
            rest = rest.replace(part, "")
        rest = rest.lstrip("的")
        if rest and find_intent(rest) == "target" and find_intent(out) != "target":
            # 「2026年的增长目标呢?」 after an actual question: ask for the target instead
            out = re.sub(r"(增长了多少|增长多少|是多少|多少)[?？]?$", "", out) + rest
        return out
    needs_region = not cur.regions and not cur.unknown_regions and bool(region)
    needs_year = not cur.years and bool(years)
    short = len(re.findall(r"[\u4e00-\u9fa5]", body)) <= 8 and len(re.findall(r"[A-Za-z]+", body)) <= 7
    needs_indicator = not cur.indicators and bool(indicator) and short
    if not (needs_region or needs_year or needs_indicator):
        return question
    core = _FOLLOWUP_TAIL_RE.sub("", body) if (cur.indicators and cur.intent == "any") else body
    if needs_indicator:
        core = indicator[0] + core
    prefix = ("".join(region) if needs_region else "") + (f"{years[0]}年" if needs_year else "")
    if cur.indicators and cur.intent == "any":
        # 「那固定资产投资呢?」: keep the earlier question's intent
        core += "目标" if prev_intent == "target" else ("是多少?" if prev_intent == "actual" else "")
    return prefix + core
