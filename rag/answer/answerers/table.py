"""「各区/所有地区/历年」 questions: one cited row per region (or year), and the missing ones named.

Each region the index holds (or each year it holds for the asked region) becomes a sub-question,
searched on its own so every row has its own passages; the row is that sub-question's best clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from rag.answer.answerers.base import Draft, Evidence
from rag.answer.answerers.sentences import MULTI_YEAR_RE
from rag.answer.extractive import answer_figure, extract_answer, focus_tokens
from rag.index.keyword import tokenize
from rag.lexicon import find_indicators
from rag.regions import NATIONAL, gazetteer
from rag.search.query import ParsedQuestion
from rag.textnorm import fold
from rag.types import ScoredChunk

MAX_ROWS = 12  # years shown; the earlier ones are not searched (a table of 70 years is not an answer)
MAX_REGION_ROWS = 40  # every province of the country fits; more regions are not searched

TABLE_RE = re.compile(r"各区|各县|各市|各省|各地|所有地区|所有区|哪些地区|每个区|每个地区|各个地区|几个区|各年|历年|每年|逐年"
                      r"|each (?:district|region|province|year)|every (?:district|region|province|year)|all (?:districts|regions|provinces)"
                      r"|by (?:district|region|year)|\b(?:the|which|all the|different|various) (?:provinces|districts|regions)\b"
                      r"|\bover the years\b|\byear by year\b", re.I)
BY_YEAR_RE = re.compile(r"各年|历年|每年|逐年|(?:each|every|by) year|over the years", re.I)


def is_table(q: ParsedQuestion) -> bool:
    """A question asking for every region or every year."""
    return bool(TABLE_RE.search(q.text)) and len(q.regions) <= 1


class TableAnswerer:
    """One row per region or year."""

    kind = "table"

    def __init__(self, regions: Iterable[str], years_of: dict[str, set[int]] | None = None) -> None:
        self.regions = sorted(r for r in regions if r != NATIONAL)
        self.years_of = years_of or {}

    def rows(self, q: ParsedQuestion) -> list[tuple[str, ParsedQuestion]]:
        """(label, sub-question) per row: the years of one region, or the regions of the asked level."""
        if BY_YEAR_RE.search(q.text) and not q.regions and self.years_of.get(NATIONAL):
            q = replace(q, regions=(NATIONAL,))  # 「历年政府工作报告的赤字率」: no region named is the national series
        if BY_YEAR_RE.search(q.text) and q.regions:
            years = sorted(self.years_of.get(q.regions[0], set()))[-MAX_ROWS:]
            return [(f"{y}年", replace(q, years=(y,), report_years=())) for y in years]
        level = _asked_level(q.text)
        regions = [r for r in self.regions if level is None or _level_of(r) == level] or self.regions
        return [(r, replace(q, regions=(r,), unknown_regions=())) for r in regions[:MAX_REGION_ROWS]]

    def _earlier_years(self, q: ParsedQuestion) -> list[int]:
        """The years of the asked region a by-year table leaves out (it lists the latest ``MAX_ROWS``)."""
        region = q.regions[0] if q.regions else NATIONAL
        return sorted(self.years_of.get(region, set()))[:-MAX_ROWS]

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """The rows found (each citing the one passage it quotes), then the ones the reports do not give."""
        lines: list[str] = []
        missing: list[str] = []
        cited: list[int] = []
        for label, sub in self.rows(q):
            found = evidence.found(sub) if evidence.search else []
            got = _row(sub, found)
            if isinstance(got, bool):
                missing.append(label + ("(数值被隐去)" if got else ""))
                continue
            row, passage = got
            i = evidence.add(passage)
            lines.append(f"- {label}:{row}[{i + 1}]")
            cited.append(i)
        if not lines:
            return Draft(self.kind, "", found=False, reason="各地区的报告段落中都没有找到所问的数值。")
        if BY_YEAR_RE.search(q.text) and (earlier := self._earlier_years(q)):
            lines.append(f"Reports before {earlier[-1] + 1} are not listed ({earlier[0]}–{earlier[-1]}); ask for one year."
                         if q.english else f"只列出最近{MAX_ROWS}年;更早的报告({earlier[0]}–{earlier[-1]}年)未列出,可单独问某一年。")
        if missing:
            lines.append(("Not stated in the reports of: " + ", ".join(missing)) if q.english
                         else "未找到:" + "、".join(missing) + "(语料中这些报告没有给出该数值)")
        if q.english:
            lines.insert(0, f"The figure of each {'year' if BY_YEAR_RE.search(q.text) else 'region'}, "
                            "as its own report states it:")
        return Draft(self.kind, "\n".join(lines), tuple(dict.fromkeys(cited)))


_PART_SEP_RE = re.compile(r"[，,；;]")
# a five-year review's wording, or an average / running total over years
_SPAN_RE = re.compile(MULTI_YEAR_RE.pattern + r"|年均|累计")


def _row(sub: ParsedQuestion, found: list[ScoredChunk], tries: int = 3) -> tuple[str, ScoredChunk] | bool:
    """A row's text and the passage it quotes; else whether the value is redacted (True) or not given (False).

    The best clause must name the thing asked and, for one year, not be a five-year figure; otherwise the
    next passages are tried (another region's or period's statement is never shown as this row).
    """
    for _ in range(tries):
        ext = extract_answer(sub, found, max_clauses=1) if found else None
        if ext is None or not ext.found or ext.redacted:
            return ext is not None and ext.redacted
        row = re.sub(r"\[\d+\]", "", ext.text.split("\n")[0])
        row = re.sub(r"^[^:]{1,30}?·\d{4}年报告:", "", row)
        row = re.sub(r"^According to the \d{4} report of [^,]{1,60}?, ", "", row)  # the label names the region
        passage = found[ext.cited[0]]
        part = row_part(sub, row)
        if sub.english or _answers_row(sub, part):
            return part, passage
        found = [p for p in found if p is not passage]
    return False


def _answers_row(q: ParsedQuestion, part: str) -> bool:
    """The row's part names what is asked, and a one-year question is not answered by a multi-year figure."""
    if q.indicators:
        names = {i.name for i in find_indicators(part)}
        if not any(n == a or n.endswith(a) for n in names for a in q.indicators):
            return False
    elif (focus := {t for t in focus_tokens(q) if len(t) >= 2}) and not any(t in fold(part) for t in focus):
        return False  # (a one-character token, jieba's 「率」 of 赤字率, says too little to judge)
    return not (len(q.years) == 1 and _SPAN_RE.search(part) and not _SPAN_RE.search(q.text))


def row_part(q: ParsedQuestion, clause: str) -> str:
    """The part of a row's clause that holds the figure asked, not the whole target list.

    「主要预期目标是：地区生产总值增长5%左右，一般公共预算收入增长4%左右，城镇调查失业率…」 asked for
    一般公共预算收入 → 「一般公共预算收入增长4%左右」. The part before is kept too when the figure's own
    part does not name what it measures (「…达到67.7万亿元，增长6.9%」). English rows are left whole.
    """
    if q.english or len(clause) <= 40:
        return clause
    folded = fold(clause)
    fig = answer_figure(q, clause)
    if fig is None or len(folded) != len(clause):
        return clause
    cuts = [0] + [m.end() for m in _PART_SEP_RE.finditer(folded)] + [len(folded) + 1]
    i = max(k for k, c in enumerate(cuts[:-1]) if c <= fig.start)
    start, end = cuts[i], cuts[i + 1] - 1
    words = focus_tokens(q) | set(q.expansions) | {w for ind in q.indicators for w in tokenize(ind)}
    if i > 0 and not set(tokenize(folded[start:end])) & words:
        start = cuts[i - 1]
    part = clause[start:end].strip(" ，,；;。")
    part = re.sub(r"^[^：:]{0,30}[：:]", "", part) or part  # 「主要预期目标是：」 is the list's heading
    return part if len(part) >= 4 else clause


def _asked_level(text: str) -> str | None:
    """各区/各县 → county, 各市 → city, 各省 → province, else any."""
    if re.search(r"各省|所有省|每个省|province", text, re.I):
        return "province"
    if re.search(r"各市|所有市|每个市|\bcit(?:y|ies)\b", text, re.I):
        return "city"
    if re.search(r"各区|各县|所有区|每个区|几个区|district|county", text, re.I):
        return "county"
    return None


def _level_of(region: str) -> str | None:
    places = gazetteer().lookup(region)
    if places:
        return places[0].level
    return "county" if region.endswith(("区", "县", "旗")) else None
