"""Which answerer answers: from the question's form, then the evidence.

Form (``question_form``): opinion/prediction → refuse; arithmetic over two figures → compute;
「各区/历年」 → table; what/how/which/why/list questions without a figure asked → open; else lookup
(a figure: the extractive clause answer and the indicator table, ``rag.answer.extractive``).
Evidence then decides: a compute or table answer that finds no figures falls back to lookup; an
open answer needs passages that cover the question (``refuse.evidence_reason``).
"""

from __future__ import annotations

import re

from rag.answer.answerers.compute import is_compute
from rag.answer.answerers.refuse import opinion
from rag.answer.answerers.sentences import FIGURE_ASK_RE
from rag.answer.answerers.table import is_table
from rag.search.query import ParsedQuestion

OPEN_RE = re.compile(
    r"什么|哪些|如何|怎么|怎样|为什么|为何|举措|措施|情况|介绍|概括|总结|有何|做了|重点|打算|亮点|成效|成绩|方面|思路|任务|部署"
    r"|\bwhat\b|\bhow\b|\bwhich\b|\bwhy\b|\blist\b|summar|describe|measures|priorit|plans?\b|overview|highlights|tell me about",
    re.I,
)



STRONG_OPEN_RE = re.compile(r"哪些|如何|怎么|怎样|为什么|为何|措施|举措|\bhow (?:will|do|does|did|to|can)\b|\bwhy\b"
                            r"|\bwhat (?:did|does|do|will)\b.{0,60}\b(?:achiev|accomplish|do\b|plan)"
                            r"|\bwhich (?:measures|steps)|\bplans? (?:for|to)\b", re.I)


def question_form(q: ParsedQuestion) -> str:
    """The form: opinion | compute | table | open | lookup."""
    if opinion(q):
        return "opinion"
    if is_compute(q):
        return "compute"
    if is_table(q):
        return "table"
    if q.indicators and not STRONG_OPEN_RE.search(q.text):
        return "lookup"  # 「GDP目标是什么」: a named indicator asks for its figure
    if OPEN_RE.search(q.text) and not FIGURE_ASK_RE.search(q.text):
        return "open"
    return "lookup"
