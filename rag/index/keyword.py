"""BM25 over jieba tokens (bm25s), persisted beside the vectors.

Text is folded first (full-width → ASCII, see ``rag.textnorm.fold``) and lower-cased, so 「５．５％」
and 「5.5%」 are the same tokens. Scoring is a sparse matrix product, not a Python loop over
documents; a boolean mask restricts scoring to allowed chunks (region/year filters).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.lexicon import KEYWORD_WORDS
from rag.textnorm import fold

_jieba_lock = threading.Lock()
_PUNCT_RE = re.compile(r"^[\W_]+$")
# a mask allowing fewer than 1/SELECTIVE_FACTOR of the rows is scored row by row (binary search in the postings)
SELECTIVE_FACTOR = 20
STOPWORDS = frozenset("的 了 和 是 在 与 及 等 对 为 把 将 被 从 中 上 下 也 就 都 而 并 或 之 其 以 于 我们 一个 多少 什么 哪些 是否 吗 呢 啊 请问 请 问".split())


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest scores, best first (ties in index order); keyword and dense search share it."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, n - 1)[:n]
    return top[np.argsort(-scores[top], kind="stable")]


def _jieba() -> Any:
    import jieba

    with _jieba_lock:
        if not getattr(jieba, "_rag_ready", False):
            jieba.setLogLevel(60)
            jieba.initialize()
            for word in KEYWORD_WORDS:
                jieba.add_word(word)
            jieba._rag_ready = True
    return jieba


def tokenize(text: str) -> list[str]:
    """Folded, lower-cased jieba search tokens without punctuation and stopwords."""
    jieba = _jieba()
    folded = fold(text).lower()
    return [t for t in jieba.cut_for_search(folded) if t.strip() and not _PUNCT_RE.match(t) and t not in STOPWORDS]


class KeywordIndex:
    """A bm25s index over token lists; row i is ``ids[i]``."""

    def __init__(self, ids: list[str], model: object | None) -> None:
        self.ids = ids
        self.model = model
        self.row = {cid: i for i, cid in enumerate(ids)}

    @classmethod
    def build(cls, ids: Sequence[str], tokens: Sequence[list[str]]) -> KeywordIndex:
        """Index pre-tokenized chunks."""
        vocab: dict[str, int] = {}
        token_ids = [[vocab.setdefault(t, len(vocab)) for t in row] for row in tokens]
        return cls.from_token_ids(list(ids), token_ids, vocab)

    @classmethod
    def from_token_ids(cls, ids: list[str], token_ids: list[list[int]], vocab: dict[str, int]) -> KeywordIndex:
        """Index chunks given as vocabulary ids (``vocab`` maps token → id); lists are not copied."""
        import bm25s

        if not ids:
            return cls([], None)
        empty = None
        for i, row in enumerate(token_ids):
            if not row:  # bm25s needs at least one token per document
                empty = vocab.setdefault("<empty>", len(vocab)) if empty is None else empty
                token_ids[i] = [empty]
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index((token_ids, vocab), show_progress=False)
        return cls(list(ids), model)

    def save(self, path: Path) -> None:
        """Write the index folder (``ids.json`` + bm25s files)."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
        if self.model is not None:
            self.model.save(str(path / "bm25"))  # type: ignore[attr-defined]

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        """Read an index folder written by ``save``."""
        import bm25s

        ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(path / "bm25")) if ids else None
        return cls(ids, model)

    def _postings(self, query_tokens: list[str]) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """(rows, scores) of each known query token's posting list (a repeated token counts again); None: use bm25s."""
        model: Any = self.model
        if model is None or getattr(model, "nonoccurrence_array", None) is not None:
            return None
        vocab, csc = model.vocab_dict, model.scores
        out = []
        for t in query_tokens:
            tid = vocab.get(t)
            if tid is not None:
                start, end = int(csc["indptr"][tid]), int(csc["indptr"][tid + 1])
                out.append((csc["indices"][start:end], csc["data"][start:end]))
        return out

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every row for the query (zeros when nothing matches)."""
        if self.model is None or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        postings = self._postings(query_tokens)
        if postings is None:  # a bm25s variant with non-occurrence scores: its own scorer
            known = [t for t in query_tokens if t in self.model.vocab_dict]  # type: ignore[attr-defined]
            if not known:
                return np.zeros(len(self.ids), dtype=np.float32)
            return np.asarray(self.model.get_scores(known), dtype=np.float32)  # type: ignore[attr-defined]
        if not postings:
            return np.zeros(len(self.ids), dtype=np.float32)
        # bm25s's own loop (np.add.at per token) is ~10x slower than one bincount over the postings
        rows = np.concatenate([r for r, _ in postings])
        weights = np.concatenate([w for _, w in postings]).astype(np.float64)
        return np.bincount(rows, weights=weights, minlength=len(self.ids)).astype(np.float32)

    def _scores_of_rows(self, query_tokens: list[str], rows: np.ndarray) -> np.ndarray | None:
        """Scores of the sorted ``rows`` only, found in each posting list by binary search (None: not possible).

        Posting lists hold rows in ascending order (bm25s sums duplicates into a canonical CSC matrix;
        ``bm25_stream`` writes rows in order), so a filter of a few thousand rows costs
        O(rows x tokens x log posting) instead of touching every posting.
        """
        postings = self._postings(query_tokens)
        if postings is None:
            return None
        out = np.zeros(len(rows), dtype=np.float32)
        for prow, pscore in postings:
            if not len(prow):
                continue
            at = np.searchsorted(prow, rows)
            inside = at < len(prow)
            hit = np.zeros(len(rows), dtype=bool)
            hit[inside] = prow[at[inside]] == rows[inside]
            out[hit] += pscore[at[hit]]
        return out

    def search(self, query_tokens: list[str], n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``n`` (chunk id, score) with score > 0, restricted to ``mask`` rows when given.

        A selective mask (a district, a year of it) scores only its rows; otherwise every row is scored
        and the mask applied after.
        """
        if not len(self.ids):
            return []
        if mask is not None:
            rows = np.flatnonzero(mask)
            if len(rows) * SELECTIVE_FACTOR < len(self.ids):
                sub = self._scores_of_rows(query_tokens, rows) if len(rows) else np.zeros(0, dtype=np.float32)
                if sub is not None:
                    return self._top(sub, rows, n)
        s = self.scores(query_tokens)
        if mask is not None:
            s = np.where(mask, s, 0.0)
        return self._top(s, None, n)

    def _top(self, s: np.ndarray, rows: np.ndarray | None, n: int) -> list[tuple[str, float]]:
        return [(self.ids[i if rows is None else int(rows[i])], float(s[i])) for i in top_rows(s, n) if s[i] > 0]
