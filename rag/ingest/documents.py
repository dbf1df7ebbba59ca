"""From a loaded file to a described ``Document``: clean, then describe (pure, no I/O)."""

from __future__ import annotations

import dataclasses
import hashlib

from rag.errors import LoadError
from rag.ingest.clean import clean_text
from rag.ingest.describe import describe
from rag.types import Document, LoadedFile, Section


def document_id(cleaned: str) -> str:
    """Content id: identical text under two file names is one document."""
    return hashlib.sha256(cleaned.encode("utf-8")).hexdigest()[:16]


def build_document(loaded: LoadedFile) -> Document:
    """Clean and describe one loaded file; raises LoadError when nothing indexable is left."""
    text = clean_text(loaded.text)
    if len(text.strip()) < 20:
        raise LoadError(f"{loaded.path}: no report text left after cleaning ({len(text.strip())} characters)",
                        "check that the file holds the report text, not only a web page frame")
    d = describe(text, loaded.path)
    sections = tuple(Section(h.title, h.start, h.year, h.kind, h.level) for h in d.headings)
    return Document(
        doc_id=document_id(text), source=loaded.path, title=d.title, text=text, region=d.region,
        region_inferred=False, region_evidence=d.region_evidence, year=d.year, kind=d.kind,
        sections=sections, segments=d.segments, sha256=loaded.sha256, encoding=loaded.encoding,
    )


def with_inferred_region(doc: Document, region: str, evidence: str) -> Document:
    """A copy of ``doc`` whose region was inferred (recorded as such) rather than stated."""
    segments = tuple(dataclasses.replace(s, region=s.region or region) for s in doc.segments)
    return dataclasses.replace(doc, region=region, region_inferred=True, region_evidence=evidence,
                               segments=segments)
