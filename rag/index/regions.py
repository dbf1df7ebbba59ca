"""Region inference: a report whose region is not stated (a redacted copy, 「XX区」) takes it from the copy it shares rare passages with."""

from __future__ import annotations

import numpy as np

from rag.types import Document


def _shingles(text: str, n: int = 5) -> set[str]:
    import re

    clean = re.sub(r"[\W\d_A-Za-z]+", "", text)  # CJK only: figures and XX redactions differ by copy
    return {clean[i: i + n] for i in range(len(clean) - n + 1)}


def _shingle_hashes(text: str) -> np.ndarray:
    """The document's shingles as sorted unique int64 hashes (8 bytes each instead of a ~90-byte str)."""
    grams = _shingles(text)
    return np.unique(np.fromiter((hash(g) for g in grams), dtype=np.int64, count=len(grams)))


def infer_regions(docs: dict[str, Document]) -> dict[str, tuple[str, str]]:
    """For documents without a region, find a known-region document sharing rare passages.

    A redacted copy (「XX区」) of a report shares long runs of identical text with another copy
    that names its region. Score = shingles found only in the two documents; infer when the best
    match has ≥ 40 such shingles and at least 3× the runner-up. Returns doc_id → (region, evidence).

    Memory stays proportional to the documents being inferred, not to the corpus: only their
    shingles are kept (hashed), and every other document is read once to count them.
    """
    targets = [d for d in docs.values() if not d.region and d.kind != "汇编"]
    if not targets:
        return {}
    target_hashes = {d.doc_id: _shingle_hashes(d.text) for d in targets}
    pool = np.unique(np.concatenate(list(target_hashes.values())))
    df = np.zeros(len(pool), dtype=np.int32)  # documents holding each pooled shingle
    shared_with: dict[str, np.ndarray] = {}  # known-region document → its pooled shingles
    for doc in docs.values():
        present = np.isin(pool, target_hashes.get(doc.doc_id, _shingle_hashes(doc.text)), assume_unique=True)
        df += present
        if doc.region and not doc.region_inferred:
            shared_with[doc.doc_id] = pool[present]
    rare = pool[df == 2]
    out: dict[str, tuple[str, str]] = {}
    for doc in targets:
        mine = np.intersect1d(target_hashes[doc.doc_id], rare, assume_unique=True)
        scores = [(len(np.intersect1d(mine, shared_with[other.doc_id], assume_unique=True)), other)
                  for other in docs.values() if other.doc_id in shared_with]
        scores.sort(key=lambda s: -s[0])
        if scores and scores[0][0] >= 40 and (len(scores) == 1 or scores[0][0] >= 3 * max(scores[1][0], 1)):
            n, other = scores[0]
            shared = set(np.intersect1d(mine, shared_with[other.doc_id], assume_unique=True).tolist())
            sample = "、".join(sorted(g for g in _shingles(doc.text) if hash(g) in shared)[:4])
            out[doc.doc_id] = (other.region or "", f"inferred: shares {n} distinctive passages with "
                               f"{other.source} ({other.region}), e.g. {sample}")
    return out
