"""「各区/所有地区/历年」 questions: one cited row per region (or year), and the missing ones named.

Each region the index holds (or each year it holds for the asked region) becomes a sub-question,
searched on its own so every row has its own passages; the row is that sub-question's best clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from rag.answer.answerers.base import Draft, Evidence
from rag.answer.extractive import extract_answer
from rag.regions import NATIONAL, gazetteer
from rag.search.query import ParsedQuestion

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

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """The rows found (each citing the one passage it quotes), then the ones the reports do not give."""
        lines: list[str] = []
        missing: list[str] = []
        cited: list[int] = []
        for label, sub in self.rows(q):
            found = evidence.found(sub) if evidence.search else []
            ext = extract_answer(sub, found, max_clauses=1) if found else None
            if ext is None or not ext.found or ext.redacted:
                missing.append(label + ("(数值被隐去)" if ext is not None and ext.redacted else ""))
                continue
            i = evidence.add(found[ext.cited[0]])
            row = re.sub(r"\[\d+\]", "", ext.text.split("\n")[0])
            row = re.sub(r"^[^:]{1,30}?·\d{4}年报告:", "", row)
            row = re.sub(r"^According to the \d{4} report of [^,]{1,60}?, ", "", row)  # the label names the region
            lines.append(f"- {label}:{row}[{i + 1}]")
            cited.append(i)
        if not lines:
            return Draft(self.kind, "", found=False, reason="各地区的报告段落中都没有找到所问的数值。")
        if missing:
            lines.append(("Not stated in the reports of: " + ", ".join(missing)) if q.english
                         else "未找到:" + "、".join(missing) + "(语料中这些报告没有给出该数值)")
        if q.english:
            lines.insert(0, f"The figure of each {'year' if BY_YEAR_RE.search(q.text) else 'region'}, "
                            "as its own report states it:")
        return Draft(self.kind, "\n".join(lines), tuple(dict.fromkeys(cited)))


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
