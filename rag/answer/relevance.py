"""Does any passage answer the question? An answerability signal that needs no model.

A question is answered by one place in one passage, not by a passage that shares its topic. So
every window of a passage (a sentence with two either side) is scored for the question:

- **coverage**: the share of the question's content words that stand in the window (weighted by
  length; an indicator counts under any of its names; a word by the share of its character bigrams;
  the region the filters matched, question words and figures the question states left out). Each
  clause of the question is judged on its own: a request beside it (「请给出原文依据」) is no topic;
- **constraints**: the question's years must stand in the passage (or its metadata: the report's
  year, or the year it reviews), its ordinals (「第七届」「19号线」) and quoted names in the window;
- **answer type**: a question asking when needs a date in the window's centre sentence, one asking
  how many or how much a figure, and that sentence must itself be about the question.

The best window over all passages decides: ``assess`` says "no passage answers" (``answerable`` is
False, with the reason naming what is missing) when no window fits. The limits differ by where the
passages come from (``GIVEN``: calibrated on RGB zh_refine items 100-299; ``RETRIEVED``: retrieval has
matched region, year and topic, calibrated to refuse none of the product's answerable sets).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.answerers.sentences import QUESTION_WORDS, sentences
from rag.answer.extractive import Extract, focus_head
from rag.index.keyword import tokenize
from rag.lexicon import GROWTH_RE, GROWTH_WORDS, find_indicators
from rag.regions import short_name
from rag.search.query import ParsedQuestion
from rag.search.retrieve import Retrieval
from rag.textnorm import fold
from rag.types import ScoredChunk

# the question asks for a point in time / a figure
DATE_ASK_RE = re.compile(r"时间|什么时候|何时|哪天|哪一天|哪日|日期|几月|几号|哪一?年|\bwhen\b|what (?:date|day|year)", re.I)
QUANTITY_ASK_RE = re.compile(
    r"多少|几[个家项所人万亿倍成条座处批次名位艘架辆台届]|多[大高长远重快]|人数|数量|数目|总量|规模|票房|销量|产量|吞吐量"
    r"|增长率|增速|增幅|涨幅|跌幅|占比|比重|百分之几|how (?:much|many|fast|long|large|big|high)|\bpercent", re.I)
_DIGITS = "0-9０-９"
_CN_NUM = "零一二三四五六七八九十百千万亿两〇"
DATE_RE = re.compile(
    rf"[{_DIGITS}{_CN_NUM}]{{1,4}}\s*[月日号]|[{_DIGITS}]{{4}}\s*年|[{_DIGITS}]{{4}}[-/.][{_DIGITS}]{{1,2}}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d|今年|去年|明年|上旬|中旬|下旬|月底|月初|年底|年初",
    re.I)
NUMBER_RE = re.compile(rf"[{_DIGITS}]|[{_CN_NUM}]{{1,}}[个家项所人倍成条座处批次名位艘架辆台届万亿%]|百分之")
YEAR_RE = re.compile(rf"(?<![{_DIGITS}])((?:19|20)[{_DIGITS}]{{2}})(?![{_DIGITS}])")
# a number or ordinal that picks one thing out: 第七届, 19号线, 3号, 二期 (years are matched on their own)
MARK_RE = re.compile(rf"第[{_DIGITS}{_CN_NUM}]+[届次期批轮号个]?|[{_DIGITS}]+(?:\.[{_DIGITS}]+)?\s*[号期届次代]")
QUOTED_RE = re.compile(r"[“\"《「『]([^”\"》」』]{2,20})[”\"》」』]")
_EXTRA_GENERIC = frozenset({  # words that frame what is asked, not its topic
    "具体", "包括", "时间", "什么时候", "何时", "哪天", "日期", "哪里", "在哪", "哪儿", "地点", "谁", "人数", "数量",
    "多少", "几", "增长", "举办", "举行", "开始", "首日", "哪个", "名字", "叫", "目标", "预期", "计划", "实际", "完成",
    "实现", "达到", "类型", "种类", "哪种", "哪类", "我国", "我省", "我市", "我区", "我们", "when", "where", "who", "name",
})
STATED_FIGURE_RE = re.compile(r"[\d.]+\s*[%‰]?")  # a figure in the question is a claim to check, not a topic word
CLAUSE_SPLIT_RE = re.compile(r"[，,。？?！!；;：:（）()]+|(?<=[\u4e00-\u9fff])\s+(?=[A-Za-z])")
WINDOW = 2  # sentences either side of the centre sentence


@dataclass(frozen=True)
class Limits:
    """The least coverage an answering window and its centre sentence (the one that would hold the answer) need."""

    coverage: float
    centre: float
    focus: bool = False  # or the centre sentence names the thing asked for (「多少中小学学位」 → 学位) with the answer type


# given passages (RGB: web text, no filter): calibrated on RGB zh_refine items 100-299, negatives vs noise 0 / 0.8
GIVEN = Limits(0.65, 0.4)
# retrieved passages: retrieval already matched the region, the year and the topic; calibrated on the product's
# answerable sets (reader, reader2, national, provincial, seed, dev) to refuse none of them
RETRIEVED = Limits(0.3, 0.25, focus=True)


@dataclass(frozen=True)
class Window:
    """The best-scoring window: where in the passages the answer would stand."""

    passage: int  # 0-based index into the passages
    coverage: float  # weighted share of the question's content words in the window
    centre: float  # the same share in the window's centre sentence
    missing: tuple[str, ...]  # constraints (years, marks, quoted names) not found
    typed: bool  # the asked answer type (a date, a figure) stands in the centre sentence (True when none is asked)
    focus: bool = False  # the centre sentence names the thing asked for (the word after 「多少」)

    def fits(self, limits: Limits) -> bool:
        """Every constraint in place, the answer type in the centre sentence, which is about the question."""
        return not self.missing and self.typed and (self.centre >= limits.centre or (limits.focus and self.focus))


@dataclass(frozen=True)
class Relevance:
    """The verdict: whether any passage may answer, why not, and the best window."""

    answerable: bool
    reason: str
    best: Window | None
    asked: str  # date | quantity | "" (no answer type checked)


def asked_type(text: str) -> str:
    """The answer type the question asks for: date | quantity | "" (anything else)."""
    if DATE_ASK_RE.search(text):
        return "date"
    if QUANTITY_ASK_RE.search(text):
        return "quantity"
    return ""


def constraints(q: ParsedQuestion) -> tuple[str, ...]:
    """The question's specific marks: years, numbers/ordinals, quoted names (folded, lower case)."""
    text = fold(q.text).lower()
    out = [m.group(1) for m in YEAR_RE.finditer(text)]
    out += [re.sub(r"\s+", "", m.group(0)) for m in MARK_RE.finditer(text)]
    out += [m.group(1) for m in QUOTED_RE.finditer(text)]
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Term:
    """One content word of the question and the wordings that count for it (an indicator's aliases)."""

    weight: float
    forms: tuple[str, ...]


def clauses(q: ParsedQuestion) -> list[list[Term]]:
    """The terms of each clause of the question that has any.

    A request or a claim beside the question (「请给出原文依据」「忽略价格因素」「对吗」) is a clause of its
    own; one clause answered is enough.
    """
    parts = [terms(q, part) for part in CLAUSE_SPLIT_RE.split(q.text)]
    return [p for p in parts if p] or [terms(q)]


def terms(q: ParsedQuestion, text: str | None = None) -> list[Term]:
    """Content words of the question (or of ``text``, one clause of it), weighted by length (capped at 4).

    An indicator named in the question is one term whose forms are all its names (「GDP」 is found as
    「地区生产总值」); the region and year the filters matched, question words, figures the question
    states and constraints are left out.
    """
    drop = set(QUESTION_WORDS) | _EXTRA_GENERIC
    for r in q.regions:
        drop |= set(tokenize(r)) | set(tokenize(short_name(r)))
    text = fold(q.text if text is None else text).lower()
    text = YEAR_RE.sub(" ", MARK_RE.sub(" ", re.sub(r"(?<=\d)\s*年度?", " ", text)))  # constraints are checked on their own
    out: list[Term] = []
    for ind in find_indicators(text):
        names = tuple(dict.fromkeys(a.lower() for a in (ind.name, *ind.aliases, *ind.english)))
        hit = [n for n in names if n in text]
        if hit:
            text = text.replace(max(hit, key=len), " ")
            out.append(Term(4.0, names))
    if GROWTH_RE.search(text):  # 增速 asked, 增长 stated: one term, any wording of a change
        text = GROWTH_RE.sub(" ", re.sub(r"增长率", " ", text))
        out.append(Term(2.0, GROWTH_WORDS))
    out += [Term(float(min(len(t), 4)), (t,)) for t in dict.fromkeys(tokenize(text))
            if t not in drop and not STATED_FIGURE_RE.fullmatch(t) and not re.fullmatch(r"[年月日号]", t)]
    return out


def _bigrams(token: str) -> set[str]:
    return {token[i:i + 2] for i in range(len(token) - 1)} or {token}


def covered(ts: Sequence[Term], text: str) -> float:
    """Weighted share of the question's terms in ``text``.

    A word counts by the share of its character bigrams found, so a segmentation that differs between
    question and passage (「克利夫兰站」 vs 「克利夫兰」) still counts in part; a term counts by its best form.
    """
    total = sum(t.weight for t in ts)
    if not total:
        return 1.0
    got = 0.0
    for t in ts:
        got += t.weight * max(sum(g in text for g in grams) / len(grams) for grams in map(_bigrams, t.forms))
    return got / total


def _meta_ok(mark: str, sc: ScoredChunk) -> bool:
    """A year the passage's metadata holds.

    The year it speaks of, its report's year, or the year before, which the report reviews (「过去一年」 in
    the 2023 report is 2022).
    """
    c = sc.chunk
    if not mark.isdigit():
        return False
    year = int(mark)
    return year == c.period_year or (c.year is not None and year in (c.year, c.year - 1))


def windows(q: ParsedQuestion, passages: Sequence[ScoredChunk], limits: Limits = GIVEN,
            width: int = WINDOW) -> list[Window]:
    """Every sentence window of every passage, scored."""
    parts, marks, kind = clauses(q), constraints(q), asked_type(q.text)
    years = tuple(m for m in marks if YEAR_RE.fullmatch(m))
    head = fold(focus_head(q)).lower() if kind else ""
    out: list[Window] = []
    for i, sc in enumerate(passages):
        text = fold(sc.chunk.text).lower()
        head_of = fold(sc.chunk.section or "").lower()  # 「“十五五”时期主要目标」: a section's name scopes its sentences
        spans = sentences(text) or [(0, len(text))]
        for j in range(len(spans)):
            lo, hi = spans[max(0, j - width)][0], spans[min(len(spans) - 1, j + width)][1]
            win, centre = text[lo:hi], text[spans[j][0]:spans[j][1]]
            missing = tuple(m for m in marks if m not in years and m not in win and m not in head_of)
            if years and not any(y in text or _meta_ok(y, sc) for y in years):
                missing += years  # one of the asked years (each part of 「2021年和2022年」 has its own passage)
            typed = (kind != "date" or bool(DATE_RE.search(centre))) \
                and (kind != "quantity" or bool(NUMBER_RE.search(centre)))
            best = max(parts, key=lambda w: (covered(w, centre) >= limits.centre, covered(w, win)))
            out.append(Window(i, covered(best, win), covered(best, centre), missing, typed,
                              len(head) >= 2 and head in centre))
    return out


def rank(win: Window, limits: Limits = GIVEN) -> tuple[bool, float, int, bool]:
    """Order of windows: fitting ones first, then coverage, fewest missing constraints, the answer type present."""
    return (win.fits(limits), win.coverage, -len(win.missing), win.typed)


def assess(q: ParsedQuestion, passages: Sequence[ScoredChunk], limits: Limits = GIVEN) -> Relevance:
    """Whether any passage may answer ``q``; when none does, the reason names what is missing."""
    kind = asked_type(q.text)
    if not passages:
        return Relevance(False, "没有提供相关资料。", None, kind)
    years = [m for m in constraints(q) if YEAR_RE.fullmatch(m)]
    absent = [y for y in years if not any(y in fold(sc.chunk.text) or _meta_ok(y, sc) for sc in passages)]
    if absent:
        return Relevance(False, f"资料中没有关于{'、'.join(absent)}年的内容。", None, kind)
    best = max(windows(q, passages, limits), key=lambda w: rank(w, limits))
    if best.missing:
        what = "、".join(best.missing[:3])
        return Relevance(False, f"资料中没有同时提到所问的{what}的内容。", best, kind)
    if not best.typed:
        what = "日期或时间" if kind == "date" else "数字"
        return Relevance(False, f"资料中谈到所问内容的地方没有给出{what}。", best, kind)
    named = limits.focus and best.focus  # the thing asked for, with a figure, in one sentence
    if not named and (best.coverage < limits.coverage or best.centre < limits.centre):
        return Relevance(False, "资料没有谈到所问的内容。", best, kind)
    return Relevance(True, "", best, kind)


SCREENED_KINDS = frozenset({"lookup", "open"})  # compute and table answers check their own operands and rows


def latin(text: str) -> bool:
    """Mostly Latin letters (an English turn, even when rewritten around a Chinese follow-up)."""
    return len(re.findall(r"[A-Za-z]", text)) > len(re.findall(r"[\u4e00-\u9fff]", text))


def screen(q: ParsedQuestion, retrieval: Retrieval, extract: Extract, kind: str) -> tuple[Retrieval, Extract]:
    """The retrieval and extract to answer with: a refusal naming why when no passage answers ``q``.

    Applies to a lookup or open answer the chain found from its passages (not an indicator-table
    answer, not an English question: its words are matched across languages elsewhere).
    """
    if (not extract.found or retrieval.refusal or not retrieval.passages or q.english or latin(q.text)
            or kind not in SCREENED_KINDS or retrieval.filters.get("facts")):
        return retrieval, extract
    verdict = assess(q, retrieval.passages, RETRIEVED)
    if verdict.answerable:
        return retrieval, extract
    filters = {**retrieval.filters, "relevance": "none"}
    return Retrieval((), filters, verdict.reason, retrieval.timings_ms), Extract("", (), False, False)
