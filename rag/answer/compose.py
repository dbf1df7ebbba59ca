"""The answer chain's pure parts: prompt rendering, citation mapping, refusal and number checks.

Flow (driven by ``rag.answer.pipeline``): retrieved passages → extractive answer (always, instantly) →
optional generated answer from a compact context → ``finalize``: map [n] to passages, detect a
model refusal, check every figure against the cited passages; an ungrounded generated answer is
replaced by the extractive one and the user is told.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rag.answer.extractive import Extract, score_clauses
from rag.search.query import ParsedQuestion
from rag.textnorm import CITATION_RE, Figure, figure_grounded, figures
from rag.types import Citation, ScoredChunk

MODEL_REFUSAL_RE = re.compile(
    r"资料中没有相关信息|没有(相关|提及|提到|找到|给出|包含)|未(提及|提到|找到|给出|包含|披露)|无法(回答|确定|得知|提供)"
    r"|不包含|not (mentioned|provided|contain|found)|no (relevant )?information|cannot (answer|be determined)",
    re.I,
)
SNIPPET_CHARS = 170


@dataclass(frozen=True)
class Prompts:
    """The two prompt files and their hash."""

    system: str
    user: Template
    hash: str


def load_prompts(prompts_dir: Path) -> Prompts:
    """Read ``system.md`` and ``user.md``."""
    system = (prompts_dir / "system.md").read_text(encoding="utf-8").strip()
    user = (prompts_dir / "user.md").read_text(encoding="utf-8").strip()
    digest = hashlib.sha1((system + "\n---\n" + user).encode("utf-8")).hexdigest()[:12]
    return Prompts(system, Template(user), digest)


def snippet(q: ParsedQuestion, passage: ScoredChunk, budget: int = SNIPPET_CHARS) -> str:
    """The part of a passage around its best clause, at most ``budget`` characters (compact context)."""
    text = passage.chunk.text
    if len(text) <= budget:
        return text
    clauses = score_clauses(q, [passage])
    if not clauses:
        return text[:budget]
    best = clauses[0]
    start = max(0, best.start - (budget - (best.end - best.start)) // 3)
    end = min(len(text), start + budget)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def render_messages(prompts: Prompts, question: str, context: list[str], labels: list[str]) -> list[dict[str, str]]:
    """Chat messages: constant system prompt, then numbered passages and the question."""
    numbered = "\n".join(f"[{i}] ({label}) {text}" for i, (label, text) in enumerate(zip(labels, context, strict=True), 1))
    user = prompts.user.substitute(passages=numbered, question=question)
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


def passage_label(sc: ScoredChunk) -> str:
    """(region · year · section) shown before a passage in the prompt."""
    c = sc.chunk
    parts = [c.region or "地区未知", f"{c.year}年报告" if c.year else "", c.section.split(" › ")[0]]
    return " · ".join(p for p in parts if p)


def to_citation(n: int, sc: ScoredChunk) -> Citation:
    """The contract's citation object for passage number ``n``."""
    c = sc.chunk
    return Citation(n, c.chunk_id, c.source, c.title, c.region, c.year, c.section, c.text, c.start, c.end)


def cited_numbers(text: str, n_passages: int) -> list[int]:
    """[n] markers in order of first use, only those that map to a passage."""
    seen: list[int] = []
    for m in CITATION_RE.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= n_passages and n not in seen:
            seen.append(n)
    return seen


def strip_invalid_markers(text: str, n_passages: int) -> str:
    """Remove [n] markers that point at no passage (a model may invent [7])."""
    return CITATION_RE.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_passages else "", text)


@dataclass(frozen=True)
class Checked:
    """A generated answer after checks."""

    text: str
    cited: tuple[int, ...]  # 1-based passage numbers
    refused: bool
    ungrounded: tuple[Figure, ...]


def check_generated(text: str, passages: list[ScoredChunk]) -> Checked:
    """Map citations, detect refusal, find figures not standing in the cited passages.

    Figures must stand in a passage the answer cites; an answer that cites nothing is checked
    against all passages and then cites those holding its figures.
    """
    text = strip_invalid_markers(text.strip(), len(passages))
    cited = cited_numbers(text, len(passages))
    figs = [f for f in figures(text) if not f.redacted]
    refused = bool(MODEL_REFUSAL_RE.search(text)) and not figs
    if not cited and figs:
        cited = [i + 1 for i, p in enumerate(passages) if any(figure_grounded(f, [p.chunk.text]) for f in figs)]
    sources = [passages[n - 1].chunk.text for n in cited]
    bad = tuple(f for f in figs if not figure_grounded(f, sources))
    return Checked(text, tuple(cited), refused, bad)


def extract_citations(extract: Extract, passages: list[ScoredChunk]) -> tuple[Citation, ...]:
    """Citations of an extractive answer."""
    return tuple(to_citation(i + 1, passages[i]) for i in extract.cited)
