"""Refusals decided by the question and the evidence, each naming why.

- an opinion or a prediction (「你认为…」「明年能实现吗」): reports state facts and plans, not judgements;
- no relevant evidence: the best passages do not cover the question's content words (a calibrated
  signal: coverage of the weighted content words plus the margin of the best passage over the rest);
- a redacted value: wherever XX stands in what would be the answer, the answer says it is redacted.
"""

from __future__ import annotations

import re

from rag.answer.answerers.base import Evidence
from rag.answer.answerers.sentences import content_weights, coverage
from rag.search.query import ParsedQuestion
from rag.textnorm import REDACTED_RE

OPINION_RE = re.compile(
    r"你(?:认为|觉得|怎么看|的看法|的观点)|怎么评价|如何评价|评价一下|好不好|对不对|合不合理|是否合理|靠谱吗|值得吗"
    r"|(?:能否|能不能|会不会|是否能|有没有可能)(?:实现|完成|达到|达成|超过)|预测|明年会|将来会|未来会|会超过|会达到多少"
    r"|do you think|your (?:opinion|view)|\bpredict|\bforecast for next|will (?:it|they) (?:achieve|reach|meet)|should they",
    re.I,
)
REDACTED_NOTE = "(XX为报告原文中被隐去的数值,报告没有公开具体数字。)"
REDACTED_NOTE_EN = "(XX marks a value redacted in the source report; the report does not disclose it.)"
MIN_COVERAGE = 0.34


def opinion(q: ParsedQuestion) -> str:
    """Why the reports cannot answer an opinion or a prediction ("" when it is not one)."""
    if OPINION_RE.search(q.text):
        return "政府工作报告只陈述情况、目标和计划,不对其作评价或预测;可以问报告写了什么(如目标、完成情况)。"
    return ""


def evidence_reason(q: ParsedQuestion, evidence: Evidence, top: int = 10) -> str:
    """Why the best passages do not answer the question ("" when they may)."""
    weights = content_weights(q)
    if not weights or not evidence.passages:
        return "" if evidence.passages else "没有检索到相关段落。"
    best = max(coverage(weights, sc.chunk.text) for sc in evidence.passages[:top])
    if best < MIN_COVERAGE:
        missing = [t for t, _ in sorted(weights.items(), key=lambda tw: -tw[1])
                   if not any(t in sc.chunk.text.lower() for sc in evidence.passages[:top])][:3]
        what = "、".join(missing) or "所问的内容"
        return f"检索到的报告段落没有谈到{what}。"
    return ""


def mark_redacted(text: str, english: bool = False) -> str:
    """The answer with a note wherever a value is redacted (XX) in it."""
    if not REDACTED_RE.search(text) or REDACTED_NOTE in text:
        return text
    return text + "\n" + (REDACTED_NOTE_EN if english else REDACTED_NOTE)
