"""Ingest the real corpus into a real Chroma + BM25 index and check its invariants."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rag.config import get_settings
from rag.index.keyword import KeywordIndex
from rag.index.manifest import Manifest, embed_text
from rag.index.run import ingest
from rag.index.store import VectorStore

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def index_problems(index_dir: Path) -> list[str]:
    """Named invariants: ids unique, vectors == manifest == keyword ids, chunk text is a span of its document."""
    problems: list[str] = []
    m = Manifest(index_dir)
    try:
        chunks = m.chunks()
        docs = m.documents()
        ids = [c.chunk_id for c in chunks]
        if len(ids) != len(set(ids)):
            problems.append("duplicate chunk ids")
        for c in chunks:
            doc = docs.get(c.doc_id)
            if doc is None:
                problems.append(f"orphan chunk {c.chunk_id}")
            elif doc.text[c.start:c.end] != c.text:
                problems.append(f"chunk {c.chunk_id} is not a span of its document")
        store = VectorStore(get_settings(index_dir=index_dir), m.meta("embedder"))
        if store.ids() != set(ids):
            problems.append("Chroma ids differ from the manifest")
        kw = KeywordIndex.load(index_dir / m.meta("bm25_dir"))
        if set(kw.ids) != set(ids):
            problems.append("keyword ids differ from the manifest")
        for row in m.files().values():
            if row["doc_id"] not in docs:
                problems.append(f"file {row['source']} points at no document")
    finally:
        m.close()
    return problems


def test_seed_index_invariants(seed_index: Path) -> None:
    assert index_problems(seed_index) == []
    m = Manifest(seed_index)
    try:
        docs = m.documents()
        assert len(docs) == 5
        xx = next(d for d in docs.values() if "XX区" in d.source)
        assert xx.region == "仓山区" and xx.region_inferred and xx.region_evidence.startswith("inferred")
        assert m.chunk_count() > 100
    finally:
        m.close()


def test_reingest_is_incremental(tmp_index: Path, tmp_path: Path) -> None:
    settings = get_settings(index_dir=tmp_index)
    again = ingest([CORPUS], settings)
    assert again.chunks_embedded == 0 and not again.indexed and len(again.unchanged) == 5

    # an edited file replaces its chunks, a duplicate is indexed once, a corrupt file is skipped
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    target = next(corpus.glob("*解放区*"))
    target.write_text(target.read_text(encoding="utf-8") + "\n全区新建口袋公园12处。\n", encoding="utf-8")
    shutil.copy(next(corpus.glob("*台江区*")), corpus / "台江区_副本.txt")
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = ingest([corpus], settings)
    assert any("解放区" in p for p in report.indexed)
    assert any("副本" in d for d, _ in report.duplicates)
    assert any("broken.txt" in p for p, _ in report.skipped)
    # the old corpus/ files are still in the manifest under their own paths; drop them
    ingest([CORPUS], settings)  # unchanged
    assert index_problems(tmp_index) == []
    m = Manifest(tmp_index)
    try:
        texts = [c.text for c in m.chunks()]
        assert any("口袋公园12处" in t for t in texts)
        assert len(texts) == len(set(c.chunk_id for c in m.chunks()))
    finally:
        m.close()

    # deleting a file removes its document
    target.unlink()
    report = ingest([corpus], settings)
    assert any("解放区" in p for p in report.removed)
    assert index_problems(tmp_index) == []


def test_ingest_report_json_cli(tmp_index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from rag.cli import main

    assert main(["ingest", str(CORPUS), "--index", str(tmp_index), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chunks_embedded"] == 0 and len(out["unchanged"]) == 5


def test_staged_rows_of_a_dead_ingest_are_dropped_and_a_new_embedder_re_embeds(tmp_index: Path) -> None:
    """Chunks are staged in ``pending_chunks`` during an ingest; a killed run's rows never go live.

    Switching the embedder streams every live chunk from the manifest into the new collection.
    """
    m = Manifest(tmp_index)
    try:
        n = m.chunk_count()
        with m.db:  # what an ingest killed while chunking leaves behind
            m.db.execute("INSERT INTO pending_chunks VALUES ('ghost-1', 'ghost-doc', '{}', '[\"幽灵\"]', 'k')")
    finally:
        m.close()
    hashed = get_settings(index_dir=tmp_index, embed_backend="hash")
    report = ingest([CORPUS], hashed)
    assert report.chunks_embedded == n and report.chunks_total == n and not report.indexed
    assert index_problems(tmp_index) == []
    m = Manifest(tmp_index)
    try:
        assert m.meta("embedder").startswith("hash-")
        assert m.db.execute("SELECT COUNT(*) FROM pending_chunks").fetchone()[0] == 0
        assert "ghost-1" not in {c.chunk_id for c in m.chunks()}
        kw = KeywordIndex.load(tmp_index / m.meta("bm25_dir"))
        chunks = m.chunks()
    finally:
        m.close()
    from rag.index.keyword import tokenize

    # the keyword index built from streamed token ids scores like one built from the chunk texts
    fresh = KeywordIndex.build([c.chunk_id for c in chunks], [tokenize(embed_text(c)) for c in chunks])
    for q in ("城镇新增就业", "仓山区2024年地区生产总值预期目标", "一般公共预算收入"):
        got, want = kw.search(tokenize(q), 5), fresh.search(tokenize(q), 5)
        assert len(got) == 5 and [c for c, _ in got] == [c for c, _ in want]
        assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(got, want, strict=True))


def _infer_regions_reference(docs: dict) -> dict:  # the string-set version infer_regions replaced
    import re
    from collections import Counter

    def shingles(text: str) -> set[str]:
        clean = re.sub(r"[\W\d_A-Za-z]+", "", text)
        return {clean[i: i + 5] for i in range(len(clean) - 4)}

    grams = {d.doc_id: shingles(d.text) for d in docs.values()}
    df: Counter[str] = Counter()
    for g in grams.values():
        df.update(g)
    out = {}
    for doc in docs.values():
        if doc.region or doc.kind == "汇编":
            continue
        mine = {g for g in grams[doc.doc_id] if df[g] == 2}
        scores = sorted(((len(mine & grams[o.doc_id]), o) for o in docs.values()
                         if o.doc_id != doc.doc_id and o.region and not o.region_inferred), key=lambda s: -s[0])
        if scores and scores[0][0] >= 40 and (len(scores) == 1 or scores[0][0] >= 3 * max(scores[1][0], 1)):
            out[doc.doc_id] = (scores[0][1].region, scores[0][0])
    return out


def test_region_inference_matches_the_string_set_version(seed_index: Path) -> None:
    import dataclasses

    from rag.index.regions import infer_regions

    m = Manifest(seed_index)
    try:
        docs = {d: (dataclasses.replace(doc, region=None, region_inferred=False) if doc.region_inferred else doc)
                for d, doc in m.documents().items()}
    finally:
        m.close()
    # a second redacted copy of a real report, and one that shares nothing
    src = next(d for d in docs.values() if d.region == "台江区")
    docs["copy"] = dataclasses.replace(src, doc_id="copy", region=None, text=src.text.replace("台江", "XX")[:6000])
    docs["alone"] = dataclasses.replace(src, doc_id="alone", region=None, text="这是一段与其他报告毫无共同之处的文字。" * 3)
    got = infer_regions(docs)
    want = _infer_regions_reference(docs)
    assert {d: r for d, (r, _) in got.items()} == {d: r for d, (r, _) in want.items()}
    assert got["copy"][0] == "台江区" and "alone" not in got and len(got) == 2
    for doc_id, (_, evidence) in got.items():
        assert f"shares {want[doc_id][1]} distinctive passages" in evidence


def test_retriever_takes_injected_store_and_keyword_index(seed_settings) -> None:  # type: ignore[no-untyped-def]
    """The retriever works through the Store / KeywordSearch seams: stand-ins decide what it finds."""
    import numpy as np

    from rag.index.store import VectorHit
    from rag.search.query import parse_question
    from rag.search.retrieve import Retriever

    real = Retriever(seed_settings)
    target = next(c for c in real.chunks if c.region == "仓山区" and "5.5%" in c.text)

    class OneHitStore:
        def count(self) -> int:
            return 1

        def vectors(self, ids: list[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
            present = np.array([cid == target.chunk_id for cid in ids])
            return np.where(present[:, None], 1.0, 0.0).astype(np.float32).repeat(dim, axis=1) / np.sqrt(dim), present

        def query(self, vector: np.ndarray, n: int, where: dict[str, object] | None = None) -> list[VectorHit]:
            return [VectorHit(target.chunk_id, 1.0)]

    class NoKeywords:
        ids, row = real.keyword.ids, real.keyword.row

        def scores(self, query_tokens: list[str]) -> np.ndarray:
            return np.zeros(len(self.ids))

        def search(self, query_tokens: list[str], n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
            return []

    for exact in (True, False):  # in-memory exact search and the store's own query
        settings = seed_settings.model_copy(update={"exact_dense_max": 300_000 if exact else 0})
        fake = Retriever(settings, real.embedder, store=OneHitStore(), keyword=NoKeywords())
        result = fake.search(parse_question("仓山区2024年GDP目标", fake.regions()))
        assert [p.chunk.chunk_id for p in result.passages] == [target.chunk_id]
        assert result.passages[0].ranks == {"keyword": None, "dense": 1}
