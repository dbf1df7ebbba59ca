"""Cite a generated answer by alignment: each sentence to the passage it came from.

A small model often copies a passage's wording but forgets the [n], or numbers its points
「1.」「2.」. Citations therefore come from the text itself, not only from the model's markers:
each sentence (or list item) is matched to the context passages by character-bigram overlap and
cited with the best one; a sentence whose figures stand in no passage, or that matches no
passage at all, is dropped — the rest of the answer stays. An English sentence (the passages are
Chinese) is matched by its figures, else keeps a valid marker the model gave it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.textnorm import CITATION_RE, Figure, figure_grounded, figures, fold, units_match
from rag.types import ScoredChunk

MIN_OVERLAP = 0.3  # share of a sentence's bigrams found in its passage (with figures: or in the question)
_SPLIT_RE = re.compile(r"(?<=[。！？!?；;])|\n+")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、．)）]|[(（]\d{1,2}[)）]|[一二三四五六七八九十][、.．])\s*")
_CJK_RE = re.compile(r"[\u4e00-\u9fa5]")
# words before any figure, saying nothing about which one it is (「增长」5.5% vs 「固定资产投资增长」3%)
_GENERIC_GRAMS = frozenset({"增长", "目标", "预期", "达到", "实现", "完成", "力争", "左右", "以上", "全年", "同比", "年均",
                            "比上", "上年", "提高", "下降", "总额", "长到"})


@dataclass(frozen=True)
class Aligned:
    """The generated answer rebuilt from its supported sentences."""

    text: str
    cited: tuple[int, ...]  # 1-based passage numbers, in order of first use
    kept: int
    dropped: tuple[str, ...]  # sentences with no source (or a figure no passage holds)


def _grams(text: str) -> set[str]:
    t = re.sub(r"[\s\W\d_]+", "", fold(text))
    return {t[i: i + 2] for i in range(len(t) - 1)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT_RE.split(text) if s and s.strip()]


def align(text: str, passages: list[ScoredChunk], question: str = "") -> Aligned:
    """Cite each sentence of ``text`` with the passage it matches best; drop unsupported ones.

    For a sentence whose figures all stand in a passage, words of the ``question`` count as support
    too (「仓山区2024年GDP目标5.5%」 restates the question around the passage's figure); a sentence
    without figures needs its own wording from the passage.
    """
    grams = [_grams(p.chunk.text) for p in passages]
    asked = _grams(question)
    lines: list[tuple[str, list[str]]] = []  # (list lead, kept sentences) per line of the answer
    cited: list[int] = []
    dropped: list[str] = []
    seen: set[str] = set()
    kept = 0
    for line in (ln.strip() for ln in text.splitlines()):
        marker = _LIST_MARK_RE.match(line)
        lead = "- " if marker else ""
        pieces: list[str] = []
        for body in _sentences(_LIST_MARK_RE.sub("", line) if marker else line):
            given = [int(n) for n in CITATION_RE.findall(body) if 1 <= int(n) <= len(passages)]
            plain = CITATION_RE.sub("", body).strip()
            key = re.sub(r"[\W_]+", "", plain)
            if not key or key in seen:  # a small model may repeat a point: say it once
                continue
            seen.add(key)
            n = _source(plain, given, passages, grams, asked)
            if n is None:
                dropped.append(plain)
                continue
            tail = re.match(r"^(.*?)([。！？!?；;,，:：]*)$", plain, re.S)
            core, punct = (tail.group(1), tail.group(2)) if tail else (plain, "")
            pieces.append(f"{core}[{n}]{punct}")
            kept += 1
            if n not in cited:
                cited.append(n)
        if pieces:
            lines.append((lead, pieces))
    listed = any(lead for lead, _ in lines)
    joined = ("\n" if listed else "").join(lead + "".join(pieces) for lead, pieces in lines)
    return Aligned(joined, tuple(cited), kept, tuple(dropped))


def _source(sentence: str, given: list[int], passages: list[ScoredChunk], grams: list[set[str]],
            asked: frozenset[str] | set[str] = frozenset()) -> int | None:
    """The 1-based passage a sentence comes from, or None (unsupported)."""
    figs = [f for f in figures(sentence) if not f.redacted]
    holders = [i + 1 for i, p in enumerate(passages) if figs and all(figure_grounded(f, [p.chunk.text]) for f in figs)]
    if figs and not holders:
        return None  # a figure no passage holds
    if not _CJK_RE.search(sentence):  # English: figures decide, else the model's own marker
        return (next((n for n in given if n in holders), holders[0]) if holders
                else (given[0] if given else None))
    own = _grams(sentence)
    if not own:
        return given[0] if given else None
    scores = {i + 1: len(own & (g | asked)) / len(own) for i, g in enumerate(grams)}
    own_share = {i + 1: len(own & g) / len(own) for i, g in enumerate(grams)}
    candidates = holders or list(scores)
    if holders and asked:  # support from the question's words: the figure must be about what the sentence says
        candidates = [n for n in holders if own_share[n] >= MIN_OVERLAP
                      or all(_lead_grams(f, passages[n - 1].chunk.text) & (own | asked) for f in figs)] or [0]
        if candidates == [0]:
            return None
    best = max(candidates, key=lambda n: (scores[n], own_share[n], n in given))
    if (scores if holders else own_share)[best] < MIN_OVERLAP:
        return None
    return next((n for n in given if n in candidates and scores[n] >= scores[best] - 0.1), best)


def _lead_grams(fig: Figure, passage: str, width: int = 8) -> set[str]:
    """Bigrams of the words just before ``fig`` where it stands in ``passage`` (「城镇新增就业」 before 1.9万人)."""
    text = fold(passage)
    out: set[str] = set()
    for other in figures(text, include_redacted=False):
        if other.value == fig.value and units_match(fig.unit, other.unit):
            clause = re.split(r"[，,；;。：:]", text[max(0, other.start - width): other.start])[-1]
            out |= _grams(clause)
    return out - _GENERIC_GRAMS
