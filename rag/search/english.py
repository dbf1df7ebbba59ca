"""English follow-ups made to stand alone in English.

「What is Cangshan's GDP growth target for 2024?」 then 「And what about fixed asset investment?」 becomes
「fixed asset investment target of Cangshan in 2024?」, and 「What about Taijiang?」 the earlier question with
the place swapped. Written in English (places by their pinyin, 「China」 for the national reports), so the
question stays English: it is parsed with the glossary and answered in English, not turned into a
Chinese-and-English mix (「仓山区2024年fixed asset investment目标」) that is neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.lexicon import indicator_by_name
from rag.regions import NATIONAL, pinyin, short_name

if TYPE_CHECKING:
    from rag.search.query import ParsedQuestion

_LEAD_RE = re.compile(r"^\s*(?:and\s+|so\s+|also\s+)?(?:(?:what|how)\s+about\s+|and\s+)?(?:the\s+|its\s+|their\s+)?", re.I)
_TAIL_RE = re.compile(r"(?:\s+(?:then|too|as well))?\s*[?？.!！]*\s*$", re.I)
_YEAR_IN_RE = re.compile(r"\b(?:in|for|of)?\s*(?:19|20)\d{2}\b")


def english_name(region: str) -> str:
    """A region as an English question names it: 「Cangshan」, 「China」 for the national reports."""
    return "China" if region == NATIONAL else pinyin(short_name(region)).title()


def english_followup(question: str, cur: ParsedQuestion, prev: Sequence[ParsedQuestion]) -> str:
    """``question`` (English) standing alone, with region, year, indicator and intent carried from ``prev``."""
    region = next((p.regions for p in reversed(prev) if p.regions), ())
    years = next((p.years for p in reversed(prev) if p.years), ())
    prev_intent = next((p.intent for p in reversed(prev) if p.intent != "any"), "any")
    last = next((p for p in reversed(prev) if p.regions or p.indicators), prev[-1])
    body = _TAIL_RE.sub("", _LEAD_RE.sub("", question.strip()))
    rest = body
    for r in cur.regions:
        rest = re.sub(rf"\b{re.escape(english_name(r))}(?:['’]s)?\b", " ", rest, flags=re.I)
    rest = _YEAR_IN_RE.sub(" ", rest).strip(" ,")
    if (cur.regions or cur.years) and not cur.indicators and len(rest.split()) <= 2:
        # 「What about Taijiang?」「And in 2023?」: the earlier question with its place and/or year swapped
        out = last.text
        if cur.regions and last.regions:
            out = re.sub(rf"\b{re.escape(english_name(last.regions[0]))}\b", english_name(cur.regions[0]), out,
                         count=1, flags=re.I)
        if cur.years and last.years:
            out = re.sub(str(last.years[0]), str(cur.years[0]), out, count=1)
        return out
    if cur.regions and cur.years and (cur.indicators or len(body.split()) > 3):
        return question  # it names what it needs
    indicator = next((p.indicators for p in reversed(prev) if p.indicators), ())
    out = body
    if not cur.indicators and indicator and len(body.split()) <= 7:  # 「How much did it grow?」: the earlier indicator
        found = indicator_by_name(indicator[0])
        out += f", {found.english[0] if found and found.english else indicator[0]}"
    if cur.intent == "any" and prev_intent == "target" and (cur.indicators or indicator):
        out += " target"
    if not cur.regions and not cur.unknown_regions and region:
        out += f" of {english_name(region[0])}"
    if not cur.years and years:
        out += f" in {years[0]}"
    if not re.match(r"(?i)(?:what|which|how|why|when|where|who|is|are|was|were|did|does|do|list|tell|show|give)\b", out):
        out = "What about " + out  # 「And for education?」 keeps asking
    return out + "?"
