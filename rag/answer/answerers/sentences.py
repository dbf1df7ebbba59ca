"""Sentences of passages as answer units, and how well one covers a question's content words.

A unit is a sentence (split after 。！？；), with a heading line (「深化重点领域改革」, 「三、…」)
joined to the sentence after it, so no point is ever a bare heading. Coverage weighs the question's
content words by length (「中小学学位」 says more than 「新增」) and ignores question and report
boilerplate (多少, 政府工作报告, the region and year asked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.index.keyword import tokenize
from rag.lexicon import english_terms
from rag.regions import short_name
from rag.search.query import ParsedQuestion
from rag.textnorm import iter_sentences
from rag.types import ScoredChunk

QUESTION_WORDS = frozenset({
    "年", "多少", "是", "什么", "哪些", "哪个", "哪", "如何", "怎么", "怎样", "怎么样", "为什么", "有", "做", "做了",
    "了", "吗", "呢", "请", "问", "介绍", "一下", "情况", "方面", "主要", "提出", "报告", "政府", "工作报告", "政府工作",
    "根据", "安排", "要", "哪些事", "事", "打算", "计划", "全国", "国家", "分别", "how", "much", "many", "what", "which",
    "the", "of", "in", "is", "was", "s", "to", "a", "and", "for", "did", "does", "do", "report", "government", "work",
    "about", "plan", "plans", "year", "its", "their", "there", "are", "were", "will", "on", "an", "by", "with",
    "重点", "工作", "事情", "哪些方面", "做些", "干", "主要有", "做好", "抓好", "开展", "推进", "哪几",  # what a plan/review question asks for, not its topic
})
# the question asks for a figure (a number, a rate, a target), not a list or an explanation
FIGURE_ASK_RE = re.compile(
    r"多少|几[个家项所人万亿倍成条座处批]|百分之几|增速|增幅|增长率|比重|占比|目标是|\d+(?:\.\d+)?\s*%"
    r"|how (?:much|many|fast)|what (?:was|is|were|are)\b.{0,60}?(?:rate|ratio|target(?!s)|growth|number|amount|total|value|gdp"
    r"|allowance|standard|wage|budget|deficit|spending|expenditure|revenue|output|production|price|population|scale)"
    r"|\bwhat\s+(?:[\w-]+\s+){0,4}?[\w-]*(?:rate|ratio|target|growth|gdp|output|revenue|income|amount|total)s?\s+"
    r"(?:did|does|do|is|was|were|are|will|has|have)\b|percent",
    re.I,
)
# a span of years (「过去五年」「“十二五”时期」): what it reports is no one year's figure or work
MULTI_YEAR_RE = re.compile(r"过去的?[五5]年|[五5]年来|今后[五5]年|“十[一二三四五]五”|[五5]年间|five years|five-year")
_HEADING_NUM_RE = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．])\s*")
_END_RE = re.compile(r"[。！？；;!?]\s*$")
_LEAD_DASH_RE = re.compile(r"^\s*(?:——|—|－－|--)")


@dataclass(frozen=True)
class Unit:
    """An answer unit: passage index, text as shown (original characters), offsets in the passage."""

    passage: int
    start: int
    end: int
    text: str
    headed: bool = False  # led by a heading (a numbered item: often one of the report's priorities)
    context: str = ""  # the paragraph (line) the sentence stands in


_INVISIBLE = "\u200b\u200c\u200d\ufeff"
LINE_BREAK_RE = re.compile(f"[\\s{_INVISIBLE}]*\\n[\\s{_INVISIBLE}]*")  # a line break inside a joined sentence
_OPEN_END_RE = re.compile(r"[^。！？；!?;:：]$")


def sentences(text: str) -> list[tuple[int, int]]:
    """``iter_sentences`` spans, with a sentence broken across lines joined again.

    A line that ends without sentence punctuation yet reads as running text (it has a comma, so it is no
    heading) continues on the next non-blank line (「今年预期目标设定⏎​⏎为6%以上，…」): one sentence.
    """
    out: list[tuple[int, int]] = []
    for s, e in iter_sentences(text):
        piece = text[s:e].strip(" \t\r\n" + _INVISIBLE)
        if not piece:
            continue
        if out:
            ps, pe = out[-1]
            prev = text[ps:pe].strip(" \t\r\n" + _INVISIBLE)
            if ("\n" in text[pe - 1:s + 1] or text[pe - 1] == "\n") and _OPEN_END_RE.search(prev) \
                    and (re.search(r"[，,]", prev) or _CUT_FIGURE_RE.search(prev + "|" + piece[:2])) \
                    and not _HEADING_START_RE.match(prev) \
                    and not _HEADING_START_RE.match(piece):  # numbered titles stay titles
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


_CUT_FIGURE_RE = re.compile(r"\d\|(?:[万亿千百%％]|元|个|人|吨|斤)")  # 「达到74.4⏎万亿元」: a figure cut from its unit
_HEADING_START_RE = re.compile(r"[一二三四五六七八九十]+、|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]|——|第[一二三四五六七八九十]")


def content_weights(q: ParsedQuestion) -> dict[str, float]:
    """The question's content tokens, weighted by length (capped at 4 characters).

    An English question's content is its glossary terms and indicators as whole words (「数字经济」, not
    数字 + 经济: a part as common as 经济 would match every sentence) and the acronyms it writes (GDP, 5G).
    """
    if q.english:
        terms = [*q.indicators, *english_terms(q.text)]
        acronyms = [t for t in tokenize(q.text) if not foreign_word(q, t) and not t.isdigit() and t not in QUESTION_WORDS]
        return {t: float(min(len(t), 4)) for t in dict.fromkeys([*terms, *acronyms])}
    drop = set(QUESTION_WORDS)
    for r in q.regions:
        drop |= set(tokenize(r)) | set(tokenize(short_name(r)))
    drop |= {str(y) for y in q.years}
    text = " ".join([q.text, *q.expansions])
    return {t: float(min(len(t), 4)) for t in tokenize(text)
            if t not in drop and not t.isdigit() and not foreign_word(q, t)}


_ASCII_WORD_RE = re.compile(r"[a-z]+(?:['’&-][a-z]+)*")


def foreign_word(q: ParsedQuestion, token: str) -> bool:
    """An English word of an English question that no Chinese passage holds (「elderly」, 「district」).

    Its Chinese terms come from the glossary (``rag.lexicon.EN_GLOSSARY``, in ``q.expansions``); acronyms the
    question writes in capitals (GDP, CPI) and words with digits (5G) stay, since reports write them too.
    """
    if not _ASCII_WORD_RE.fullmatch(token) or re.search(rf"\b{re.escape(token.upper())}\b", q.text):
        return False
    return q.english or len(token) > 3  # a mixed question (「仓山区 elderly care」): its English words; gdp/cpi stay


def coverage(weights: dict[str, float], text: str) -> float:
    """Share of the question's weighted content words that ``text`` holds (0 when there are none)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    toks = set(tokenize(text))
    return sum(w for t, w in weights.items() if t in toks or (len(t) >= 3 and t in text)) / total


def is_heading(text: str) -> bool:
    """A heading line: short and unpunctuated, or a numbered item title."""
    t = text.strip()
    if not t:
        return True
    if _HEADING_NUM_RE.match(t) and len(t) <= 30:
        return True
    if _LEAD_DASH_RE.match(t) and len(t) <= 24 and not re.search(r"[，,:：\d]", t):
        return True  # 「——城市建设步伐加快。」: a dash-led summary line heads the sentences after it
    return len(t) <= 24 and not _END_RE.search(t) and not re.search(r"[，,:：]", t)


def units(passages: list[ScoredChunk], allowed: list[int] | None = None, max_chars: int = 110) -> list[Unit]:
    """Sentence units of the passages (headings joined to the next sentence, long ones cut at a comma)."""
    out: list[Unit] = []
    for i in allowed if allowed is not None else range(len(passages)):
        text = passages[i].chunk.text
        pending: tuple[int, str] | None = None
        for s, e in sentences(text):
            raw = LINE_BREAK_RE.sub("", text[s:e]).strip()
            if not raw:
                continue
            if is_heading(raw):
                pending = (s, _LEAD_DASH_RE.sub("", _HEADING_NUM_RE.sub("", raw)).rstrip("：:。"))
                continue
            if raw.endswith((":", "：")):  # 「重点抓好以下六个方面:」 introduces, says nothing
                continue
            line_start = text.rfind("\n", 0, s) + 1
            line_end = text.find("\n", e)
            context = text[line_start: line_end if line_end >= 0 else len(text)]
            body = _cut(raw, max_chars)
            if pending is not None:
                start, head = pending
                shown = f"{head}:{body}" if head and head not in body else body
                out.append(Unit(i, start, e, shown, True, head + context))
                pending = None
            else:
                out.append(Unit(i, s, e, body, bool(_HEADING_NUM_RE.match(raw)), context))
    return out


def _cut(sentence: str, max_chars: int) -> str:
    """At most ``max_chars``, cut after a comma or semicolon (a quote stays a quote)."""
    if len(sentence) <= max_chars:
        return sentence
    cut = max(sentence.rfind(p, 0, max_chars) for p in "，,；;、")
    return (sentence[: cut] if cut > max_chars // 3 else sentence[:max_chars]) + "…"


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text without spaces and digits (for redundancy between units)."""
    t = re.sub(r"[\s\d.%]+", "", text)
    return {t[i: i + 2] for i in range(len(t) - 1)}


def similarity(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two bigram sets."""
    return len(a & b) / max(len(a | b), 1)
