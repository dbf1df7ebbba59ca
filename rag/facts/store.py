"""The indicator table on disk: ``facts.sqlite`` in the index directory, rebuilt whole, read by filters.

``build_facts_from_manifest`` runs as a post-commit step of every ingest (registered by
``rag.facts``); ``build_facts`` is ``rag facts --rebuild``. Nothing builds the table on read:
``query_facts`` on an index without one raises a ``RagError`` saying how to build it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.facts.extract import extract_all
from rag.facts.fact import KINDS, Fact
from rag.lexicon import find_indicators, indicator_by_name

if TYPE_CHECKING:  # pragma: no cover
    from rag.config import Settings
    from rag.index.manifest import Manifest

FACTS_FILE = "facts.sqlite"
_COLUMNS = [f.name for f in dataclasses.fields(Fact)]


def facts_path(settings: Settings) -> Path:
    """Where the table of an index lives."""
    return Path(settings.index_dir) / FACTS_FILE


def write_facts(path: Path, facts: Iterable[Fact]) -> int:
    """Write the table atomically (a new file, then rename); returns the number of rows."""
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    db = sqlite3.connect(str(tmp))
    try:
        cols = ", ".join(f"{c} {'INTEGER' if c in ('year', 'report_year', 'start', 'end', 'redacted', 'region_inferred') else ('REAL' if c == 'value' else 'TEXT')}"
                         for c in _COLUMNS)
        db.execute(f"CREATE TABLE facts (rowid INTEGER PRIMARY KEY, {cols})")
        db.execute("CREATE INDEX facts_lookup ON facts(region, year, indicator, kind)")
        rows = (tuple(json.dumps(list(v), ensure_ascii=False) if isinstance(v, tuple) else v
                      for v in dataclasses.astuple(f)) for f in facts)
        marks = ", ".join("?" for _ in _COLUMNS)
        db.executemany(f"INSERT INTO facts ({', '.join(_COLUMNS)}) VALUES ({marks})", rows)
        db.commit()
        count = int(db.execute("SELECT COUNT(*) FROM facts").fetchone()[0])
    finally:
        db.close()
    os.replace(tmp, path)
    return count


def build_facts_from_manifest(manifest: Manifest, settings: Settings) -> int:
    """Rebuild ``facts.sqlite`` from the manifest's live documents and chunks (called by ingest).

    One document (and its chunks) at a time, so memory does not grow with the corpus.
    """
    def facts() -> Iterator[Fact]:
        for doc_id in manifest.doc_ids():
            doc = manifest.document(doc_id)
            if doc is not None:
                yield from extract_all({doc_id: doc}, manifest.doc_chunks(doc_id))

    return write_facts(facts_path(settings), facts())


def build_facts(settings: Settings) -> int:
    """Rebuild the table of the index at ``settings.index_dir``; returns the number of facts."""
    from rag.index.manifest import Manifest, require_index

    require_index(settings)
    manifest = Manifest(Path(settings.index_dir))
    try:
        return build_facts_from_manifest(manifest, settings)
    finally:
        manifest.close()


def _row_to_fact(row: sqlite3.Row) -> Fact:
    values: dict[str, Any] = {c: row[c] for c in _COLUMNS}
    values["qualifiers"] = tuple(json.loads(values["qualifiers"] or "[]"))
    values["redacted"] = bool(values["redacted"])
    values["region_inferred"] = bool(values["region_inferred"])
    return Fact(**values)


def canonical_indicator(name: str) -> str:
    """「GDP」/「社零」/「地区生产总值」 → the canonical name; unknown names come back unchanged."""
    ind = indicator_by_name(name)
    if ind is None:
        found = find_indicators(name)
        ind = found[0] if found else None
    return ind.name if ind else name


def query_facts(settings: Settings, region: str | None = None, year: int | None = None,
                indicator: str | None = None, kind: str | None = None) -> list[Fact]:
    """Facts of the index's table matching every given filter (region short names accepted)."""
    path = facts_path(settings)
    if not path.exists():
        raise RagError(f"no indicator table at {path}",
                       "build it with `rag facts --rebuild` (or re-run `rag ingest`)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        where: list[str] = []
        params: list[Any] = []
        if region:
            where.append("(region = ? OR region LIKE ?)")
            params += [region, f"{region}%"]
        if year is not None:
            where.append("year = ?")
            params.append(year)
        if indicator:
            where.append("indicator = ?")
            params.append(canonical_indicator(indicator))
        if kind:
            if kind not in KINDS:
                raise RagError(f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}")
            where.append("kind = ?")
            params.append(kind)
        sql = "SELECT * FROM facts" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rowid"
        return [_row_to_fact(r) for r in db.execute(sql, params)]
    finally:
        db.close()
