"""Cross-lingual relevance of answer sentences: the embedder's cosine between a question's topic and each.

Word overlap cannot see that 「How will Hubei improve elderly care?」 is about 「养老服务」 unless a glossary
word translates it; the index's embedder (multilingual-e5) places both near each other. The signal is
*relative*: e5-small's cosines between report sentences and a question sit in a narrow band (≈0.74–0.82,
short headings high whatever is asked), so a unit scores by its standing in the candidate set
((s − median) / (max − median), clipped to 0…1). It ranks; it never decides on its own that a passage
answers (an absent topic still has a "best" sentence), so callers combine it with content-word coverage.

Cost is bounded: the question's topic is embedded once, candidate units at most ``MAX_UNITS`` per call,
batched, and unit vectors are cached by text (LRU), so re-asking over the same passages embeds nothing.
With the hash embedder (unit tests) there are no semantics: ``similarity_for`` gives None and the
answerers use word overlap alone.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.index.embeddings import Embedder
from rag.lexicon import english_terms
from rag.regions import pinyin, short_name
from rag.search.query import ParsedQuestion

MAX_UNITS = 96  # units embedded per question (≈2 s on the 2-core machine when none is cached)
CACHE_UNITS = 8192
# question words and report boilerplate: what remains is the topic (「elderly care」)
_FILLER_RE = re.compile(
    r"\b(?:what|which|how|why|when|where|who|is|are|was|were|be|been|will|would|shall|should|can|could|do|does|did|"
    r"the|a|an|of|in|on|for|to|by|at|from|with|and|or|its|their|his|her|this|that|these|those|there|about|"
    r"plan|plans|planned|planning|government|work|report|reports|year|years|district|county|city|province|"
    r"prefecture|new area|qu|xian|shi|sheng|many|much|main|key|some|any|us|me|tell|please|s)\b", re.I)


class UnitSimilarity:
    """Relative cross-lingual similarity of texts to a question, with unit vectors cached by text."""

    def __init__(self, embedder: Embedder, max_units: int = MAX_UNITS, cache_units: int = CACHE_UNITS) -> None:
        self.embedder = embedder
        self.max_units = max_units
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_units = cache_units
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (cached ones reused, the rest embedded in one batch)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = self.embedder.embed_documents(missing)
            with self._lock:
                for t, v in zip(missing, fresh, strict=True):
                    self._cache[t] = v
                while len(self._cache) > self._cache_units:
                    self._cache.popitem(last=False)
        with self._lock:
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
            return np.vstack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.embedder.dim))

    def raw(self, question: str, texts: Sequence[str]) -> list[float]:
        """Cosine of each text (the first ``max_units``) to the question; 0.0 beyond the cap."""
        head = list(texts[: self.max_units])
        if not head or not question.strip():
            return [0.0] * len(texts)
        sims = self.vectors(head) @ self.embedder.embed_query(question)
        return [float(s) for s in sims] + [0.0] * (len(texts) - len(head))

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """Each text's standing among ``texts``: 0 at or below the median, 1 for the best."""
        return relative(self.raw(question, texts), len(texts[: self.max_units]))


def relative(sims: Sequence[float], n: int | None = None) -> list[float]:
    """(s − median) / (max − median) over the first ``n`` values, clipped to 0…1 (the rest 0)."""
    n = len(sims) if n is None else n
    if n < 2:
        return [1.0 if i < n else 0.0 for i in range(len(sims))]
    arr = np.asarray(sims[:n], dtype=np.float64)
    mid, top = float(np.median(arr)), float(arr.max())
    if top - mid <= 1e-9:
        return [0.0] * len(sims)
    rel = np.clip((arr - mid) / (top - mid), 0.0, 1.0)
    return [float(x) for x in rel] + [0.0] * (len(sims) - n)


def topic(q: ParsedQuestion) -> str:
    """The question without its question words, region names and years, plus its glossary terms.

    「What will Cangshan District do for elderly people in 2024?」 → 「elderly people 养老 老年 老人」: the
    region and year are already filtered by retrieval; left in, they pull every sentence with a year up.
    """
    text = q.text
    for name in (*q.regions, *(short_name(r) for r in q.regions), *(pinyin(short_name(r)) for r in q.regions)):
        if name:
            text = re.sub(re.escape(name) + r"(?:['’]s)?", " ", text, flags=re.I)
    text = re.sub(r"(?<!\d)(?:19|20)\d{2}(?:\s*年)?", " ", text)
    text = _FILLER_RE.sub(" ", text)
    text = re.sub(r"[?？!！.,，。'’\"]+", " ", text)
    words = " ".join(text.split())
    extra = [t for t in (*q.indicators, *english_terms(q.text)) if t not in words]
    return " ".join([words, *extra]).strip()


def similarity_for(embedder: Embedder | None) -> UnitSimilarity | None:
    """A ``UnitSimilarity`` over the index's embedder; None when it has no semantics (hash test embedder)."""
    if embedder is None or str(getattr(embedder, "id", "")).startswith("hash"):
        return None
    return UnitSimilarity(embedder)
