"""Passages read by id from the manifest, and the per-chunk facts filters need: nothing held per chunk but numbers.

A query needs the text of a few dozen candidate passages; holding every ``Chunk`` object of the index
cost ~16 KB per chunk in Python objects (1.6 GB at 104k chunks, 10+ GB at a million). Here a chunk is
read from ``manifest.sqlite`` when asked for (primary-key lookups, well under a millisecond for the
top 60) and what filtering needs — region, report year and period year of each keyword row — is read
once into integer arrays (``ChunkFacts``), with no Chunk object built.

``PassageStore`` is a read-only ``Mapping[str, Chunk]`` so callers that look chunks up by id
(``retriever.by_id[cid]``, ``cid in retriever.by_id``) work unchanged. One SQLite connection, shared by
threads under a lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from rag.index.manifest import Manifest, chunk_from_json
from rag.types import Chunk

_BATCH = 500  # ids per IN (...) query (below SQLite's variable limit)


@dataclass(frozen=True)
class ChunkFacts:
    """Per keyword row: region code, report year, period year, whether the manifest holds it; and totals."""

    row_region_code: np.ndarray  # int32; codes index ``region_codes``
    row_year: np.ndarray  # int32, 0 = unknown
    row_period: np.ndarray  # int32, 0 = unknown
    row_live: np.ndarray  # bool: the row's chunk is in the manifest
    region_codes: dict[str, int]  # "" = no region
    years_by_region: dict[str | None, frozenset[int]]  # every manifest chunk, keyword row or not
    chunks_per_doc: Counter[str]
    regions_per_doc: dict[str, frozenset[str]]
    chunk_count: int


class ChunkSequence(Sequence[Chunk]):
    """The manifest's chunks in order, read page by page: nothing held (``retriever.chunks``)."""

    _PAGE = 2048

    def __init__(self, store: PassageStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return list(self)[i]
        n = len(self)
        j = i + n if i < 0 else i
        got = self._store._page(j, 1) if 0 <= j < n else []
        if not got:
            raise IndexError(i)
        return got[0]

    def __iter__(self) -> Iterator[Chunk]:
        offset = 0
        while page := self._store._page(offset, self._PAGE):
            yield from page
            offset += len(page)


class PassageStore(Mapping[str, Chunk]):
    """Chunks of an index by id, read from its manifest on demand (thread-safe, read-only)."""

    def __init__(self, index_dir: Path) -> None:
        self._manifest = Manifest(index_dir)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the manifest connection."""
        with self._lock:
            self._manifest.close()

    def get_many(self, ids: Iterable[str]) -> dict[str, Chunk]:
        """The chunks of ``ids`` the manifest holds (missing ids are left out: e.g. removed by a later ingest)."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Chunk] = {}
        with self._lock:
            for i in range(0, len(wanted), _BATCH):
                part = wanted[i: i + _BATCH]
                rows = self._manifest.db.execute(
                    f"SELECT chunk_id, json FROM chunks WHERE chunk_id IN ({','.join('?' * len(part))})",  # noqa: S608
                    part).fetchall()
                out.update((cid, chunk_from_json(raw)) for cid, raw in rows)
        return out

    def __getitem__(self, chunk_id: str) -> Chunk:
        got = self.get_many([chunk_id])
        if chunk_id not in got:
            raise KeyError(chunk_id)
        return got[chunk_id]

    def __contains__(self, chunk_id: object) -> bool:
        if not isinstance(chunk_id, str):
            return False
        with self._lock:
            return self._manifest.db.execute("SELECT 1 FROM chunks WHERE chunk_id=?", (chunk_id,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return self._manifest.chunk_count()

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            ids = [r[0] for r in self._manifest.db.execute("SELECT chunk_id FROM chunks ORDER BY doc_id, rowid")]
        return iter(ids)

    def all_chunks(self) -> ChunkSequence:
        """Every chunk (document, then position) as a lazy sequence: ``len`` is one COUNT, iteration streams."""
        return ChunkSequence(self)

    def _page(self, offset: int, limit: int) -> list[Chunk]:
        with self._lock:
            rows = self._manifest.db.execute("SELECT json FROM chunks ORDER BY doc_id, rowid LIMIT ? OFFSET ?",
                                             (limit, offset)).fetchall()
        return [chunk_from_json(r[0]) for r in rows]

    def facts(self, row: Mapping[str, int]) -> ChunkFacts:
        """Filter facts for the keyword rows ``row`` (chunk id -> row), read in one pass without building Chunks."""
        n = len(row)
        region_code = np.zeros(n, dtype=np.int32)
        year = np.zeros(n, dtype=np.int32)
        period = np.zeros(n, dtype=np.int32)
        live = np.zeros(n, dtype=bool)
        codes: dict[str, int] = {"": 0}
        years_by_region: dict[str | None, set[int]] = {}
        per_doc: Counter[str] = Counter()
        doc_regions: dict[str, set[str]] = {}
        count = 0
        with self._lock:
            cur = self._manifest.db.execute(
                "SELECT chunk_id, doc_id, json_extract(json, '$.region'), json_extract(json, '$.year'), "
                "json_extract(json, '$.period_year') FROM chunks")
            while batch := cur.fetchmany(8192):
                for cid, doc_id, reg, y, py in batch:
                    count += 1
                    per_doc[doc_id] += 1
                    held = years_by_region.setdefault(reg or None, set())
                    if y:
                        held.add(int(y))
                    if reg:
                        doc_regions.setdefault(doc_id, set()).add(reg)
                    r = row.get(cid)
                    if r is None:
                        continue
                    region_code[r] = codes.setdefault(reg or "", len(codes))
                    year[r] = y or 0
                    period[r] = py or 0
                    live[r] = True
        return ChunkFacts(region_code, year, period, live, codes,
                          {r: frozenset(ys) for r, ys in years_by_region.items()}, per_doc,
                          {d: frozenset(rs) for d, rs in doc_regions.items()}, count)
