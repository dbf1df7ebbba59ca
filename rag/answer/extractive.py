"""The extractive answerer: no model, the best clause from the top passages, cited.

Each passage is cut into clauses (after 。！？；; and line breaks). A clause scores for carrying an
asked indicator, the question's other content words, a figure (a % figure when growth or a target
is asked), the asked year and the target-vs-actual section; passage rank discounts it. The best
clause is the answer, verbatim (so every figure in it stands in the cited passage).

When the best clause has no real figure but a redacted one (「XX亿元」), the answer says the value is
redacted. When no clause shares the asked indicator or enough content words, there is no answer:
the chain then refuses rather than quote something unrelated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.answerers.sentences import (
    FIGURE_ASK_RE,
    LINE_BREAK_RE,
    MULTI_YEAR_RE,
    foreign_word,
    sentences,
)
from rag.answer.clause_parts import TARGET_LIST_RE, distributed, multi_year_only
from rag.index.keyword import tokenize
from rag.lexicon import (
    ASKS_GROWTH_AMOUNT_RE,
    GROWTH_RE,
    REVIEW_SECTION_RE,
    TARGET_CLAUSE_RE,
    TARGET_SECTION_RE,
    WANTS_RATE_RE,
    english_term_groups,
    find_indicators,
    indicator_by_name,
)
from rag.regions import NATIONAL, pinyin
from rag.search.query import ParsedQuestion, short_name
from rag.textnorm import PERCENT_UNITS, REDACTED_RE, Figure, figures, fold, mask_figures
from rag.types import ScoredChunk

_GENERIC_TOKENS = {"年", "多少", "是", "区", "目标", "增长", "什么", "how", "much", "many", "what", "the", "of", "in",
                   "is", "was", "s", "to", "a", "预期", "计划", "实现", "完成", "达到", "要", "政府", "工作", "报告",
                   "工作报告", "政府工作", "提出", "安排", "根据", "全国", "国家", "分别", "report", "government", "work",
                   "打算", "准备", "想", "那边", "这边"}  # 「投资打算增长多少」: how a plan is asked, not its topic


# the indicator as the base of a share or an intensity (占GDP比重, 单位GDP能耗), not the figure asked
_SHARE_OF_RE = re.compile(r"[占在][^，,。；;]{0,10}?(?:生产总值|GDP|收入|投资|总额)[^，,。；;]{0,3}?(?:比重|比例|的比)"
                          r"|单位(?:国内|地区)?(?:生产总值|GDP)|人均(?:国内|地区)?(?:生产总值|GDP)")


@dataclass(frozen=True)
class Clause:
    """A scored clause of one passage."""

    passage: int  # 0-based index into the passages
    start: int  # offsets in the passage text
    end: int
    text: str
    score: float
    has_figure: bool
    redacted: bool
    indicator_hit: bool


def _content_tokens(q: ParsedQuestion) -> set[str]:
    drop = set(_GENERIC_TOKENS)
    for r in q.regions:
        drop |= set(tokenize(r)) | set(tokenize(short_name(r)))
    for y in q.years:
        drop.add(str(y))
    return {t for t in tokenize(q.text + " " + " ".join(q.expansions))
            if t not in drop and not t.isdigit() and not foreign_word(q, t)}


def _aliases(q: ParsedQuestion) -> list[str]:
    out: list[str] = []
    for name in q.indicators:
        ind = indicator_by_name(name)
        if ind:
            out.extend(a for a in ind.aliases if len(a) >= 2)
    return out


def score_clauses(q: ParsedQuestion, passages: list[ScoredChunk]) -> list[Clause]:
    """Every clause of every passage, scored for the question (best first)."""
    content = _content_tokens(q)
    aliases = _aliases(q)
    wants_growth = bool(WANTS_RATE_RE.search(q.text.lower()))
    growth_asked = bool(ASKS_GROWTH_AMOUNT_RE.search(q.text.lower())) and q.intent != "target"
    out: list[Clause] = []
    for i, sc in enumerate(passages):
        text = sc.chunk.text
        section = sc.chunk.section
        for s, e in sentences(text):
            clause = LINE_BREAK_RE.sub("", text[s:e]).strip()
            if len(clause) < 4:
                continue
            folded = fold(clause)
            toks = set(tokenize(clause))
            overlap = len(content & toks) / max(len(content), 1)
            # 「占国内生产总值比例」「单位国内生产总值能耗」 name another quantity: the indicator must stand outside them
            names = {i.name for i in find_indicators(distributed(other_quantities_masked(q, folded)))}
            ind_hit = any(n == a or n.endswith(a) for n in names for a in q.indicators) if aliases else False
            figs = figures(clause)
            real = [f for f in figs if not f.redacted and f.unit]  # a bare rank (第3) is not an answer figure
            redacted = any(f.redacted for f in figs) or bool(REDACTED_RE.search(clause))
            score = 2.0 * overlap + (2.5 if ind_hit else 0.0)
            if real:
                score += 1.0
                if wants_growth and any(f.unit in PERCENT_UNITS for f in real):
                    score += 0.7
                elif not wants_growth and any(f.unit not in PERCENT_UNITS for f in real):
                    score += 0.3  # 「GDP是多少」「What was Shandong's GDP」: a level, not a rate, is asked
            if growth_asked and real and not any(f.unit in PERCENT_UNITS for f in real):
                score -= 1.0  # 「增长了多少」 asked: a level (达到62661亿元) is not the growth
            if redacted:
                score += 0.3 if not real else -0.5
            if q.years and sc.chunk.period_year in q.years:
                score += 0.4
            if real and re.search(r"(突破|超过|逾|近|约)\s*[\d０-９]", clause):
                score -= 0.6  # a threshold, not the figure itself
            if len(q.years) == 1 and "年均" not in q.text and multi_year_only(
                    clause, [f for f in real if f.unit in PERCENT_UNITS] if growth_asked else real):
                score -= 3.0  # a multi-year average or total does not answer a one-year question
            elif len(q.years) == 1 and not MULTI_YEAR_RE.search(q.text) and MULTI_YEAR_RE.search(_line(text, s, e)):
                score -= 0.5  # 「过去五年…城镇新增就业人数超过6400万人」: a five-year review's total
            if q.intent == "target" and (TARGET_SECTION_RE.search(section) or TARGET_CLAUSE_RE.search(clause)):
                score += 0.5
            if q.intent == "actual" and REVIEW_SECTION_RE.search(section):
                score += 0.5
            if q.intent == "actual" and TARGET_LIST_RE.search(clause[:24]):  # a target list opens with its cue
                score -= 2.0  # a year's result asked: the next year's target list (主要预期目标…) is not it
            score /= 1.0 + 0.12 * i
            out.append(Clause(i, s, e, clause, score, bool(real), redacted and not real, ind_hit))
    out.sort(key=lambda c: -c.score)
    return out


def _line(text: str, start: int, end: int) -> str:
    """The line (paragraph) of ``text`` that holds ``text[start:end]``."""
    stop = text.find("\n", end)
    return text[text.rfind("\n", 0, start) + 1: stop if stop >= 0 else len(text)]


def other_quantities_masked(q: ParsedQuestion, folded: str) -> str:
    """``folded`` without the shares, intensities and per-capita forms of an indicator the question does not ask."""
    asked = fold(q.text)
    return _SHARE_OF_RE.sub(lambda m: m.group(0) if m.group(0) in asked else "，", folded)


def is_relevant(q: ParsedQuestion, clause: Clause) -> bool:
    """Enough overlap with the question to count as an answer (else: refuse)."""
    content = _content_tokens(q)
    toks = set(tokenize(clause.text))
    if clause.indicator_hit:
        return True  # the indicator vocabulary confirms; it never gates (学位, 专项债 are found from the passages)
    if q.indicators and (_named_indicator_elsewhere(q, clause) or asked_head(q) not in toks
                         or other_quantities_masked(q, fold(clause.text)) != fold(clause.text)):
        return False  # 「一般公共预算收入」 asked, 「一般公共预算支出」 stated: the head word differs
    if q.english and english_term_groups(q.text):
        # an English question's topic, in the glossary's Chinese (「school places」 → 学位), decides
        return _english_topic_in(q, clause.text)
    # a word the segmenter cut differently in the clause (「赤字率拟」 → 赤字/率拟) still counts when it stands in it
    hits = (content & toks) | {t for t in content if t in clause.text}
    if len(hits) >= max(1, min(2, len(content))) and len("".join(hits)) >= 3:
        return True
    if clause.has_figure and len(content) == 1 and hits == content and len(next(iter(content))) >= 2:
        return True  # 「台江2022年投资打算增长多少」: the question's one topic word, with a figure
    head = focus_head(q)  # 「多少中小学学位」: the thing counted, with a figure, answers
    return clause.has_figure and len(head) >= 2 and head in toks


def _english_topic_in(q: ParsedQuestion, text: str) -> bool:
    """Two thirds of an English question's glossary phrases (each by any of its terms) stand in ``text``.

    「defense budget」 needs 国防 as well as 预算; 「school places」 just 学位.
    """
    groups = english_term_groups(q.text)
    hits = sum(any(t in text for t in group) for group in groups)
    return bool(groups) and hits * 3 >= 2 * len(groups)


def _named_indicator_elsewhere(q: ParsedQuestion, clause: Clause) -> bool:
    """The question names a known indicator and the clause states a different one."""
    names = {i.name for i in find_indicators(distributed(fold(clause.text)))}
    return bool(names) and not names & set(q.indicators)


def asked_head(q: ParsedQuestion) -> str:
    """The head word of what is asked: after 「多少」 (多少学位 → 学位), else just before it (收入是多少 → 收入)."""
    head = focus_head(q)
    if head:
        return head
    parts = _FOCUS_SPLIT_RE.split(q.text, maxsplit=1)
    content = _content_tokens(q)
    words = [t for t in tokenize(parts[0]) if t in content]
    return words[-1] if words else ""


def focus_head(q: ParsedQuestion) -> str:
    """The last content word right after 「多少/几」 (「多少中小学学位」 → 学位), "" if none."""
    parts = _FOCUS_SPLIT_RE.split(q.text, maxsplit=1)
    if len(parts) != 2:
        return ""
    phrase = re.split(r"[?？。,，!！]", parts[1], maxsplit=1)[0]
    content = _content_tokens(q)
    words = [t for t in tokenize(phrase) if t in content]
    return words[-1] if words else ""


_FOCUS_SPLIT_RE = re.compile(r"分别是多少|是多少|有多少|达到多少|多少|几|how much|how many|what")


def focus_tokens(q: ParsedQuestion) -> set[str]:
    """The thing asked for: content words right after 「多少」, else right before it (「营收多少」)."""
    parts = _FOCUS_SPLIT_RE.split(q.text, maxsplit=1)
    content = _content_tokens(q)
    if len(parts) == 2:
        after = [t for t in tokenize(parts[1]) if t in content]
        if after:
            return set(after[:2])
        before = [t for t in tokenize(parts[0]) if t in content]
        if before:
            return {before[-1]}
    return set()


def answer_figure(q: ParsedQuestion, clause: str) -> Figure | None:
    """The figure in ``clause`` that answers the question: the one whose preceding words match it best."""
    figs = figures(clause)
    if not figs:
        return None
    folded = fold(clause)
    content, focus = _content_tokens(q), focus_tokens(q)
    asks_growth = bool(ASKS_GROWTH_AMOUNT_RE.search(q.text.lower()))  # a change is asked, not a target's level
    growth = asks_growth or q.intent == "target"
    best, best_score = None, -1.0
    prev_end = 0
    for f in figs:
        rate = asks_growth and f.unit in PERCENT_UNITS and bool(GROWTH_RE.search(folded[max(prev_end, f.start - 4):f.start]))
        # 「国内生产总值达到67.7万亿元，增长6.9%」: a growth rate's subject is what the clause spoke of before it
        subject = set(tokenize(folded[0 if rate else prev_end:f.start]))
        score = len(subject & content) + 5.0 * len(subject & focus)
        if focus & set(tokenize(folded[max(prev_end, f.start - 6):f.start])):
            score += 3.0  # 「争取资金XX亿元」 for 「争取到多少资金」: the thing asked stands right before this figure
        if growth and f.unit in PERCENT_UNITS:
            score += 1.5 if rate else 0.5
        elif not growth and not WANTS_RATE_RE.search(q.text.lower()) and f.unit not in PERCENT_UNITS:
            score += 0.5  # a level asked: the amount, not the growth rate beside it
        threshold = bool(_THRESHOLD_RE.search(folded[max(prev_end, f.start - 3):f.start]))
        if threshold:  # 「迈上6万亿元台阶，达到62661亿元」: the threshold passed is not the figure; the next one,
            score -= 1.0  # about the same subject, keeps the subject's words
        if score > best_score:
            best, best_score = f, score
        prev_end = prev_end if threshold else f.end
    return best


@dataclass(frozen=True)
class Extract:
    """The extractive answer: text with [n] markers, the passages it cites (0-based), redaction flag."""

    text: str
    cited: tuple[int, ...]
    redacted: bool
    found: bool


def _groups(q: ParsedQuestion) -> list[tuple[str | None, int | None]]:
    regions: list[str | None] = list(q.regions) or [None]
    years: list[int | None] = list(q.years) or [None]
    return [(r, y) for r in regions for y in years]


def _in_group(chunk: object, region: str | None, year: int | None) -> bool:
    c = chunk  # a Chunk
    if region and getattr(c, "region", None) != region:
        return False
    if year:
        period, report = getattr(c, "period_year", None), getattr(c, "year", None)
        return period == year if period else report in (year, year + 1)
    return True


def extract_answer(q: ParsedQuestion, passages: list[ScoredChunk], max_clauses: int = 2) -> Extract:
    """Best clause(s) for the question, cited as [n] (n = passage index + 1).

    A question over several regions or years (「仓山区2023年和台江区2021年…」, 「2023年实际增速和2024年
    目标」) gets the best clause of each (region, year) the passages cover.
    """
    groups = _groups(q)
    if len(groups) > 1:
        parts: list[Extract] = []
        for region, year in groups:
            sub = [i for i, p in enumerate(passages) if _in_group(p.chunk, region, year)]
            if not sub:
                continue
            one = _extract_one(q, passages, sub, 1)
            if one.found and one.text not in [p.text for p in parts]:
                parts.append(one)
        if parts:
            return Extract("\n".join(p.text for p in parts), tuple(dict.fromkeys(i for p in parts for i in p.cited)),
                           all(p.redacted for p in parts), True)
    return _extract_one(q, passages, list(range(len(passages))), max_clauses)


def _extract_one(q: ParsedQuestion, passages: list[ScoredChunk], allowed: list[int], max_clauses: int) -> Extract:
    clauses = [c for c in score_clauses(q, passages) if c.passage in allowed and is_relevant(q, c)]
    if clauses and not clauses[0].has_figure and not clauses[0].redacted and FIGURE_ASK_RE.search(q.text):
        # a figure is asked: a relevant clause stating one (about the thing asked) beats one without
        head = asked_head(q)
        with_figure = [c for c in clauses if c.has_figure and c.score >= 0.6 * clauses[0].score
                       and (not head or head in tokenize(c.text))]
        if with_figure:
            clauses = with_figure + [c for c in clauses if c not in with_figure]
    if not clauses:
        return Extract("", (), False, False)
    best = clauses[0]
    if REDACTED_RE.search(best.text):  # the same statement in an unredacted copy wins
        twin = next((c for c in clauses if not REDACTED_RE.search(c.text) and _masked(c.text) == _masked(best.text)), None)
        best = twin or best
    chosen = [best]
    for c in clauses[1:]:
        if len(chosen) >= max_clauses:
            break
        same = _masked(c.text) == _masked(best.text)
        if c.score >= best.score * 0.85 and c.has_figure and not same and not REDACTED_RE.search(c.text):
            if q.indicators and not c.indicator_hit:
                continue
            chosen.append(c)
    parts = []
    for c in chosen:
        chunk = passages[c.passage].chunk
        lead = _lead(chunk.region, chunk.year, q.english)
        parts.append(f"{lead}{c.text.rstrip('；;，,')}[{c.passage + 1}]")
    fig = answer_figure(q, best.text)
    redacted = all(c.redacted for c in chosen) or bool(fig is not None and fig.redacted)
    if q.english and fig is not None and not redacted and fig.unit and best.has_figure:
        chunk = passages[best.passage].chunk  # an English answer says the figure in English, then quotes its source
        parts[0] = (f"{english_source(chunk.region, chunk.year)}, the figure is {_english_change(best.text, fig)}: "
                    f"「{best.text.rstrip('；;，,')}」[{best.passage + 1}]")
    if not redacted and ASKS_GROWTH_AMOUNT_RE.search(q.text.lower()) and q.intent != "target" and len(chosen) == 1:
        # growth asked, but the statement gives no rate: say what the report does hold
        if not any(f.unit in PERCENT_UNITS for f in figures(best.text) if not f.redacted):
            return Extract("报告没有给出增长幅度,只有:" + parts[0], tuple(c.passage for c in chosen), False, False)
    if not redacted and not any(c.has_figure or c.redacted for c in chosen) and FIGURE_ASK_RE.search(q.text):
        # a figure asked, a statement without one: say what the report does hold, no answer
        return Extract("报告没有给出具体数值,只有:" + parts[0], tuple(c.passage for c in chosen), False, False)
    return Extract("\n".join(parts), tuple(dict.fromkeys(c.passage for c in chosen)), redacted, True)


_DECLINE_RE = re.compile(r"(?:下降|减少|回落|降低|下滑|下调|缩小|负增长)\s*$")
_THRESHOLD_RE = re.compile(r"(?:突破|超过|迈上|跨过|跨上|逾|近)\s*$")
_RANGE_END_RE = re.compile(r"\s*(?:—|－|-|～|~|至|到)\s*(\d+(?:\.\d+)?\s*%?)")


def _english_change(clause: str, fig: Figure) -> str:
    """The figure as an English answer states it: 「下降3.3%」 is a decrease of 3.3%, 「5%—5.5%」 a range."""
    folded = fold(clause)
    rng = _RANGE_END_RE.match(folded, fig.end)
    shown = f"{fig.text}—{rng.group(1)}" if rng else fig.text
    return f"a decrease of {shown}" if _DECLINE_RE.search(folded[max(0, fig.start - 4):fig.start]) else shown


def _lead(region: str | None, year: int | None, english: bool) -> str:
    """「仓山区·2024年报告:」, or in English 「Cangshan (仓山区), 2024 report: 」 (the quote stays as written)."""
    if english:
        return english_source(region, year) + ": " if region or year else "From the reports: "
    where = "·".join(p for p in (region or "", f"{year}年报告" if year else "") if p)
    return f"{where}:" if where else ""


def english_source(region: str | None, year: int | None) -> str:
    """「According to the 2024 report of Cangshan (仓山区)」: where a quote comes from, in English."""
    name = "the State Council" if region == NATIONAL else (
        f"{pinyin(short_name(region)).title()} ({region})" if region else "")
    report = f"the {year} report" if year else "the report"
    return f"According to {report}" + (f" of {name}" if name else "")


def _masked(text: str) -> str:
    return re.sub(r"[，,;；。]", "", mask_figures(text, ""))
