"""Shared vocabulary of the pipeline: frozen dataclasses, no logic.

Data flows file → ``LoadedFile`` → ``Document`` → ``Chunk`` → ``ScoredChunk`` → ``Answer``.
Text offsets (``start``/``end``) always index ``Document.text`` (the cleaned text); the cleaned
text keeps the original characters (full-width digits, punctuation) so it can be shown to users;
matching uses a folded copy (see ``rag.textnorm.fold``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedFile:
    """Raw text read from one file, before cleaning."""

    path: str  # path as given / relative to the corpus root, for display
    text: str
    encoding: str  # detected encoding or the format ("docx", "pdf")
    sha256: str  # of the file bytes


@dataclass(frozen=True)
class Section:
    """A heading found in a document and where its section begins in ``Document.text``."""

    title: str
    start: int
    year: int | None = None  # the year the section speaks of, e.g. 2023 for 「2023年工作回顾」
    kind: str = "other"  # review | targets | plan | other
    level: int = 1  # 1 = a year-bearing part (「2024年工作安排」), 2 = a numbered item (「一、…」)


@dataclass(frozen=True)
class Segment:
    """A stretch of a document with its own region/year (differs only in compilations)."""

    start: int
    end: int
    region: str | None
    year: int | None


@dataclass(frozen=True)
class Document:
    """A cleaned, described report."""

    doc_id: str
    source: str
    title: str
    text: str  # cleaned text: chrome removed, original characters kept for display
    region: str | None  # e.g. 仓山区; None when unknown
    region_inferred: bool = False  # True when the region was inferred, not stated
    region_evidence: str = ""  # why we believe the region (or why it is unknown)
    year: int | None = None  # the report's year (a 2024 report reviews 2023 and plans 2024)
    kind: str = "政府工作报告"
    sections: tuple[Section, ...] = ()
    segments: tuple[Segment, ...] = ()
    sha256: str = ""
    encoding: str = ""


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: ``text == document.text[start:end]``."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    section: str
    header: str  # context header used for retrieval (region · year · section)
    region: str | None
    year: int | None  # report year
    period_year: int | None  # the year the passage speaks of
    kind: str = "政府工作报告"
    region_inferred: bool = False


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused score and the rank it had in each retriever (None = not found)."""

    chunk: Chunk
    score: float
    ranks: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    """Explicit scope chosen by the user (UI selectors, API): wins over regions from earlier turns."""

    region: str | None = None
    year: int | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered passage an answer cites."""

    id: int
    chunk_id: str
    source: str
    title: str
    region: str | None
    year: int | None
    section: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        """The eval contract's citation object (``rag ask --json``, eval records, the API, feedback)."""
        return {"id": self.id, "source": self.source, "title": self.title, "region": self.region, "year": self.year,
                "section": self.section, "start": self.start, "end": self.end, "text": self.text,
                "chunk_id": self.chunk_id}


@dataclass(frozen=True)
class Answer:
    """The result of the answer chain (serialised by ``rag ask --json``)."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    generator: str
    timings_ms: dict[str, float]
    standalone_question: str = ""
    refusal_reason: str = ""
    notices: tuple[str, ...] = ()  # e.g. "generated answer replaced: 12% not in cited passages"
    passages: tuple[ScoredChunk, ...] = ()  # everything retrieved, cited or not

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object for one answer (``rag ask --json``), timings rounded to 0.1 ms."""
        return {
            "question": self.question, "answer": self.answer, "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations], "generator": self.generator,
            "timings_ms": {k: round(float(v), 1) for k, v in self.timings_ms.items()},
            "standalone_question": self.standalone_question, "refusal_reason": self.refusal_reason,
            "notices": list(self.notices),
        }
