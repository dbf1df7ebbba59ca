"""Describe a cleaned report: region, report year, title, kind, sections, and per-segment scopes.

Region comes only from strong textual evidence. First the title and dated subtitle lines at the top:
the most specific administrative name the gazetteer (``rag.regions``, every province, city and
county/district) finds there, whatever the order of name, year and title (「长乐区2024年政府工作报告」,
「2024年河南省政府工作报告」, 「福州市长乐区…」 → 长乐区, 「——2024年1月在…区第二届人民代表大会…」).
Then author phrases anywhere (「台江区人民政府」, 「仓山区第十八届人民代表大会」, 「国务院」), which
also accept names the gazetteer lacks. A redacted name (「XX区」) leaves the region unknown, and
``rag.index.run`` may later infer it from another document and record that it did (``region_inferred``).

Report year: from the title (「2022年政府工作报告」) or the delivery date line (「——2024年2月21日在…
会议上」), else the year of the targets section, else the reviewed year + 1. A report of year Y reviews
Y-1 and sets targets for Y, so each section carries the year it speaks of.

Compilations (one file holding several reports, like a docx extract of 「工作总结」 pages) are split
into *segments* at title lines; a segment that names its own region or year overrides the document's
for the chunks inside it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rag.lexicon import GENERIC_REGION_WORDS, SECTION_KIND_WORDS
from rag.regions import NATIONAL, gazetteer
from rag.textnorm import REDACTED_RE
from rag.types import Segment

_ADMIN = r"(?:特别行政区|自治区|自治州|自治县|省|市|区|县|旗)"
_NAME = r"[\u4e00-\u9fa5]{1,10}?"
_STRONG_REGION_RES = [
    re.compile(rf"({_NAME}{_ADMIN})人民政府"),
    re.compile(rf"({_NAME}{_ADMIN})第[一二三四五六七八九十\d]+届人民代表大会"),
    re.compile(rf"\d{{4}}年({_NAME}{_ADMIN})(?:人民)?政府工作报告"),
    re.compile(rf"({_NAME}{_ADMIN})\s*\d{{4}}\s*年度?(?:人民)?政府工作报告"),
    re.compile(rf"({_NAME}{_ADMIN})(?:人民)?政府(?:成立|工作报告)"),
    re.compile(rf"在({_NAME}{_ADMIN})第[一二三四五六七八九十\d]+届"),
]
_LAST_UNIT_RE = re.compile(rf".+?{_ADMIN}")
_NOT_REGION = GENERIC_REGION_WORDS | {"区", "市", "省", "县", "自治区", "人民代表大会", "各市", "各县"}
_NATIONAL_RE = re.compile(r"国务院总理|中华人民共和国国务院|我代表国务院")
_TITLE_YEAR_RE = re.compile(r"(\d{4})年[^。\n]{0,16}?(?:政府工作报告|工作总结|工作报告)")
_DATE_LINE_RE = re.compile(r"^[—\-－\s(（]*(\d{4})\s*年\s*(\d{1,2})\s*月[^。\n]{0,12}日?[^。\n]{0,30}(?:会议|大会)")
_HEADING_NUM_RE = re.compile(r"^(?:[一二三四五六七八九十]+[、.．\s]|[(（][一二三四五六七八九十]+[)）])")
_YEAR_HEADING_RE = re.compile(
    r"(\d{4})年[^。\n]{0,14}?(工作回顾|预期目标|主要目标|工作安排|工作任务|工作计划|主要经济指标|经济社会发展主要目标)"
)
_NUMBERED_YEAR_RE = re.compile(r"^(?:[一二三四五六七八九十]+[、.．\s])[^。\n]{0,12}?((?:19|20)\d{2})年")
_KIND_WORDS = SECTION_KIND_WORDS
_LEVEL1_WORDS_RE = re.compile(r"预期目标|工作回顾|工作安排|主要经济指标|打算|重点做好|重点抓好|主要工作和成效")
_SEGMENT_TITLE_RE = re.compile(r"^[^。！？\n]{0,30}?(政府工作报告|工作报告|工作总结|年度总结|年终总结|述职报告)")


@dataclass(frozen=True)
class Heading:
    """A heading line: where it starts, its text, level (1 = year-bearing part, 2 = numbered item)."""

    start: int
    title: str
    level: int
    year: int | None
    kind: str


@dataclass(frozen=True)
class Description:
    """What describe() finds in one document."""

    title: str
    region: str | None
    region_evidence: str
    year: int | None
    kind: str
    headings: tuple[Heading, ...]
    segments: tuple[Segment, ...]


_STOP_CHARS_RE = re.compile(r"代表|[是了我在向年地的之]")


def _last_unit(name: str) -> str:
    """「福州市台江区」→「台江区」; 「年是姑苏区」→「姑苏区」 (function words cut off)."""
    place = gazetteer().most_specific(name)
    if place and name.endswith(place):
        return place
    name = _STOP_CHARS_RE.split(name)[-1]
    units = _LAST_UNIT_RE.findall(name)
    return units[-1] if units else name


# a title or subtitle line at the top of a report (the name in it is the author)
_TITLE_LINE_RE = re.compile(r"工作报告|工作总结|人民代表大会|人民政府|会议上|人大")
_HEAD_LINES = 12


def _title_region(text: str) -> tuple[str | None, str]:
    """The most specific gazetteer place named in a title/subtitle line among the first lines."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()][:_HEAD_LINES]
    for line in lines:
        if len(line) > 80 or not _TITLE_LINE_RE.search(line):
            continue
        if REDACTED_RE.search(line):  # 「福州市XX区…」: the city is not the author
            return None, ""
        place = gazetteer().most_specific(line)
        named = _pattern_name(line)
        if not place and not named:
            continue
        if named and (not place or (place != named and line.find(named) >= line.find(place) + len(place)
                                    and not gazetteer().is_place(named))):
            place = named  # 「福州市鼓岭区人民政府」: a district the gazetteer lacks, below the city it knows
        if place:
            return place, f"named in title: 「{line}」"
    return None, ""


def _pattern_name(line: str) -> str | None:
    """The author name an author phrase gives in this line (「…区人民政府」, 「在…第…届」), if any."""
    for pattern in _STRONG_REGION_RES:
        m = pattern.search(line)
        if m:
            name = _last_unit(m.group(1))
            if (name not in _NOT_REGION and 3 <= len(name) and "代表" not in name and not REDACTED_RE.search(name)
                    and (len(name) <= 5 or gazetteer().is_place(name))):  # 「欢迎访问鼓岭区」 is not a name
                return name
    return None


def find_region(text: str) -> tuple[str | None, str]:
    """The region a text names as its author, with the evidence (or why it is unknown)."""
    if _NATIONAL_RE.search(text[:3000]):
        return NATIONAL, f"named in text: {NATIONAL}"
    titled, evidence_line = _title_region(text)
    if titled:
        return titled, evidence_line
    votes: Counter[str] = Counter()
    evidence: dict[str, str] = {}
    redacted = ""
    for pattern in _STRONG_REGION_RES:
        for m in pattern.finditer(text):
            name = _last_unit(m.group(1))
            if REDACTED_RE.search(name):
                redacted = redacted or m.group(0)
                continue
            if name in _NOT_REGION or len(name) < 3 or "代表" in name:
                continue
            votes[name] += 1
            evidence.setdefault(name, m.group(0))
    if votes:
        name, _ = votes.most_common(1)[0]
        return name, f"named in text: 「{evidence[name]}」"
    if redacted:
        return None, f"region redacted in text: 「{redacted}」"
    return None, "no region named in text"


def _year_from_title(head: str) -> int | None:
    for line in head.split("\n")[:8]:
        m = _TITLE_YEAR_RE.search(line) or _DATE_LINE_RE.search(line)
        if m:
            year = int(m.group(1))
            if m.re is _DATE_LINE_RE and int(m.group(2)) >= 11:  # delivered in Nov/Dec → next year's report
                year += 1
            return year
    return None


def _kind_of(title: str) -> str:
    for kind, words in _KIND_WORDS:
        if any(w in title for w in words):
            return kind
    return "other"


def find_headings(text: str) -> list[Heading]:
    """Section headings: year-bearing parts (「2023年工作回顾」) and numbered items (「一、…」)."""
    headings: list[Heading] = []
    pos = 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        head = re.split(r"[。！？;；:：]", stripped, maxsplit=1)[0]
        if len(head) > 40:
            continue
        ym = _YEAR_HEADING_RE.search(head)
        yn = _NUMBERED_YEAR_RE.match(head) if _HEADING_NUM_RE.match(head) and len(stripped) <= 40 else None
        if ym and (len(stripped) <= 40 or _HEADING_NUM_RE.match(head)):
            headings.append(Heading(start, head, 1, int(ym.group(1)), _kind_of(head)))
        elif yn:  # 「二、2024年经济社会发展总体要求和政策取向」: a top-level part about that year
            headings.append(Heading(start, head, 1, int(yn.group(1)), _kind_of(head)))
        elif len(stripped) <= 20 and _LEVEL1_WORDS_RE.search(head) and not _HEADING_NUM_RE.match(head):
            headings.append(Heading(start, head, 1, None, _kind_of(head)))
        elif _HEADING_NUM_RE.match(head) and len(head) <= 30:
            headings.append(Heading(start, head, 2, None, _kind_of(head)))
    return headings


def find_segments(text: str, doc_region: str | None, doc_year: int | None) -> list[Segment]:
    """Split a compilation at title lines; each part gets the region/year it names itself."""
    starts = [0]
    pos = 0
    for line in text.split("\n"):
        if pos > 200 and _SEGMENT_TITLE_RE.match(line) and not line.startswith(("现在", "各位代表")):
            starts.append(pos)
        pos += len(line) + 1
    if len(starts) == 1:  # an ordinary report: one scope
        return [Segment(0, len(text), doc_region, doc_year)]
    bounds = list(zip(starts, starts[1:] + [len(text)], strict=True))
    segments = []
    for s, e in bounds:
        part = text[s:e]
        region, _ = find_region(part)
        year = _year_from_title(part[:200])
        segments.append(Segment(s, e, region or doc_region, year or doc_year))
    return segments


def describe(text: str, source: str = "") -> Description:
    """Describe one cleaned document (pure function of its text)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    title = next((ln for ln in lines[:8] if "报告" in ln and len(ln) <= 60), lines[0][:60] if lines else source)
    headings = find_headings(text)
    year = _year_from_title("\n".join(lines[:8]))
    if year is None:
        years = [h.year for h in headings if h.year and h.kind in ("targets", "plan")]
        reviewed = [h.year for h in headings if h.year and h.kind == "review"]
        year = max(years) if years else (max(reviewed) + 1 if reviewed else None)
    segments = find_segments(text, None, None)
    if len(segments) > 5:  # a compilation of many documents: scope per part
        regions = {s.region for s in segments if s.region}
        region, evidence = (None, "compilation of several documents; regions per part: "
                            + ("、".join(sorted(regions)) or "none named"))
        kind, year = "汇编", None
    else:
        region, evidence = find_region(text)
        segments = [Segment(0, len(text), region, year)]
        is_news = re.search(r"记者|通讯员", text[:400]) and "各位代表" not in text[:1500]
        kind = "新闻报道" if is_news else "政府工作报告"
    return Description(title, region, evidence, year, kind, tuple(headings), tuple(segments))
