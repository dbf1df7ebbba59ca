"""The answerers' shared interface: evidence in, a cited ``Draft`` out.

``Evidence`` holds the passages an answer may cite (numbered [1]…[n] in order) and lets an answerer
fetch more for a sub-question (one operand of a computation, one region of a table): new passages
are appended, so numbers already used stay valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rag.search.query import ParsedQuestion
from rag.types import ScoredChunk

if TYPE_CHECKING:
    from rag.answer.answerers.semantic import UnitSimilarity

Search = Callable[[ParsedQuestion], list[ScoredChunk]]


@dataclass(frozen=True)
class Draft:
    """An answer before the pipeline wraps it: text with [n] markers and the passages it cites."""

    kind: str  # lookup | open | compute | table | refuse
    text: str
    cited: tuple[int, ...] = ()  # 0-based indices into Evidence.passages
    found: bool = True
    redacted: bool = False
    computed: tuple[str, ...] = ()  # results of formulas shown in ``text`` (not in any passage)
    reason: str = ""  # why nothing was found (refusals)


@dataclass
class Evidence:
    """Passages to cite, and a way to search more (``search`` is None: the passages are all there is)."""

    passages: list[ScoredChunk]
    search: Search | None = None
    similarity: UnitSimilarity | None = None  # cross-lingual sentence ranking (None: word overlap only)
    _ids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = {p.chunk.chunk_id: i for i, p in enumerate(self.passages)}

    def found(self, q: ParsedQuestion) -> list[ScoredChunk]:
        """Passages for ``q`` without adding them (add the ones cited with ``add``)."""
        return self.search(q) if self.search is not None else list(self.passages)

    def add(self, sc: ScoredChunk) -> int:
        """The index of ``sc``, appended if new."""
        i = self._ids.get(sc.chunk.chunk_id)
        if i is None:
            i = self._ids[sc.chunk.chunk_id] = len(self.passages)
            self.passages.append(sc)
        return i

    def more(self, q: ParsedQuestion) -> list[int]:
        """Indices of the passages for ``q`` (searched and appended when ``search`` is set)."""
        if self.search is None:
            return list(range(len(self.passages)))
        out: list[int] = []
        for sc in self.search(q):
            i = self._ids.get(sc.chunk.chunk_id)
            if i is None:
                i = self._ids[sc.chunk.chunk_id] = len(self.passages)
                self.passages.append(sc)
            out.append(i)
        return out


class Answerer(Protocol):
    """One kind of answer."""

    kind: str

    def answer(self, q: ParsedQuestion, evidence: Evidence) -> Draft:
        """A cited draft for ``q`` from ``evidence`` (``found=False`` when it has none)."""
        ...
