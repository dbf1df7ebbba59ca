"""Section- and sentence-aware chunking with a context header; a pure function of the Document.

Sentences (split after 。！？； and at line breaks) are packed into chunks of about ``size``
characters; a chunk never crosses a level-1 section (「2023年工作回顾」 → 「2024年工作安排」) or a
compilation segment, so a chunk speaks of one year. Consecutive chunks share up to ``overlap``
characters of whole sentences. A sentence longer than ``size`` is cut at commas, then hard.

Invariant (tested): ``chunk.text == document.text[chunk.start:chunk.end]``.

The header, e.g. 「仓山区 · 2024年报告 · 2024年主要预期目标 · 2024年」, is *not* part of the text; it
is prepended for retrieval only (BM25 and embeddings), which lifts recall a lot on district questions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rag.ingest.describe import Heading
from rag.lexicon import region_label
from rag.textnorm import iter_sentences
from rag.types import Chunk, Document, Section, Segment


@dataclass(frozen=True)
class Scope:
    """What a stretch of text is about: section label, the year it speaks of, region."""

    section: str
    period_year: int | None
    region: str | None
    report_year: int | None


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at commas (，,、), else hard at ``size``."""
    spans: list[tuple[int, int]] = []
    s = start
    while end - s > size:
        window = text[s: s + size]
        cut = max(window.rfind(c) for c in "，,、：:")
        cut = s + cut + 1 if cut > size // 3 else s + size
        spans.append((s, cut))
        s = cut
    if end > s:
        spans.append((s, end))
    return spans


def sentence_spans(text: str, size: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` with over-long sentences split."""
    spans: list[tuple[int, int]] = []
    for s, e in iter_sentences(text):
        spans.extend(_split_long(text, s, e, size) if e - s > size else [(s, e)])
    return spans


def section_year(heading: Heading | Section, report_year: int | None) -> int | None:
    """The year a section speaks of: stated, else from its kind (review → report year - 1)."""
    if heading.year:
        return heading.year
    if report_year is None:
        return None
    if heading.kind in ("targets", "plan"):
        return report_year
    if heading.kind == "review":
        return report_year - 1
    return None


def scope_at(pos: int, sections: tuple[Section, ...], segments: tuple[Segment, ...], doc: Document) -> Scope:
    """Scope of the text at ``pos``: the enclosing segment and level-1/level-2 headings."""
    seg = next((s for s in segments if s.start <= pos < s.end), None)
    seg_start = seg.start if seg else 0
    region = seg.region if seg and seg.region else doc.region
    report_year = seg.year if seg and seg.year else doc.year
    top: Section | None = None
    sub: Section | None = None
    for sec in sections:
        if sec.start > pos:
            break
        if sec.start < seg_start:
            continue
        if sec.level == 1:
            top, sub = sec, None
        else:
            sub = sec
    label = " › ".join(s.title for s in (top, sub) if s is not None)
    year = None
    if top is not None:
        year = section_year(top, report_year)
    return Scope(label, year, region, report_year)


def header_for(doc: Document, scope: Scope) -> str:
    """Context header used for retrieval: region · report year · section · period year."""
    region = region_label(scope.region, doc.region_inferred)
    parts = [region, f"{scope.report_year}年报告" if scope.report_year else "年份未知", doc.title]
    if scope.section:
        parts.append(scope.section)
    if scope.period_year:
        parts.append(f"{scope.period_year}年")
    return " · ".join(parts)


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Stable id of a chunk: its document and span."""
    return hashlib.sha1(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:16]


def chunk_document(doc: Document, *, size: int = 320, overlap: int = 60) -> list[Chunk]:
    """Split ``doc`` into chunks (see module docstring)."""
    text, segments = doc.text, doc.segments
    boundaries = sorted({0, len(text)} | {s.start for s in doc.sections if s.level == 1}
                        | {s.start for s in segments})
    chunks: list[Chunk] = []
    for b_start, b_end in zip(boundaries, boundaries[1:], strict=False):
        spans = [(s + b_start, e + b_start) for s, e in sentence_spans(text[b_start:b_end], size)]
        i = 0
        while i < len(spans):
            j = i
            while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= size:
                j += 1
            start, end = spans[i][0], spans[j][1]
            # trim surrounding whitespace so the span starts/ends on text
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start and re.search(r"\w", text[start:end]):
                scope = scope_at(start, doc.sections, segments, doc)
                chunks.append(Chunk(
                    chunk_id=chunk_id(doc.doc_id, start, end), doc_id=doc.doc_id, source=doc.source,
                    title=doc.title, text=text[start:end], start=start, end=end, section=scope.section,
                    header=header_for(doc, scope), region=scope.region, year=scope.report_year,
                    period_year=scope.period_year, kind=doc.kind, region_inferred=doc.region_inferred,
                ))
            if j + 1 >= len(spans):
                break
            # next chunk starts at the earliest sentence that keeps the overlap within bounds
            k = j + 1
            while k - 1 > i and spans[j][1] - spans[k - 1][0] <= overlap:
                k -= 1
            i = k
    return chunks
