"""Per-question costs that grew with the index, made small without changing results.

The compiled region matcher finds exactly what the old per-region loop found, and the retriever's
filter (integer region codes, regions and years computed at load) what the string scans found.

``_reference_find_regions`` is the algorithm ``rag.search.query.find_regions`` used before the matcher:
it tries every known region in turn. One change: names of equal length are taken in name order
(the old code took them in set order, which depends on the hash seed); the matcher does the same.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.lexicon import GENERIC_REGION_WORDS as _GENERIC
from rag.regions import gazetteer
from rag.search.dense import passes
from rag.search.query import (
    _EN_REGION_RE,
    _NATIONAL_RE,
    _NATIONAL_TERMS_RE,
    _REGION_LIKE_RE,
    ParsedQuestion,
    RegionMatcher,
    _pinyin,
    find_regions,
    parse_question,
    region_matcher,
    rewrite_followup,
    short_name,
)
from rag.search.retrieve import Retriever, _year_label


def _reference_find_regions(text: str, known: Iterable[str]) -> tuple[list[str], list[str]]:
    lower = text.lower()
    hits: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for region in sorted(set(known), key=lambda r: (-len(r), r)):
        if region == "国务院":
            m = _NATIONAL_RE.search(text)
            if m:
                hits.append((m.start(), region))
            continue
        for cand in (region, short_name(region)):
            pos = text.find(cand)
            if pos >= 0 and not any(s <= pos < e for s, e in spans):
                hits.append((pos, region))
                spans.append((pos, pos + len(cand)))
                break
        else:
            py = _pinyin(short_name(region))
            if py and re.search(rf"\b{re.escape(py)}", lower):
                hits.append((lower.find(py), region))
    found = [r for _, r in sorted(hits)]
    unknown = []
    for m in _REGION_LIKE_RE.finditer(text):
        name = m.group(1)
        for pre in ("请问", "问", "那么", "那", "和", "与", "及", "跟", "比较", "对比"):
            if name.startswith(pre) and len(name) - len(pre) >= 3:
                name = name[len(pre):]
        name = re.sub(r"^.*?[年的在是了]", "", name) if re.search(r"[年的在是了]", name[:-1]) else name
        if len(name) < 3 or name in _GENERIC or any(name.endswith(g) for g in _GENERIC) or any(s <= m.start() < e or s < m.end() <= e for s, e in spans):
            continue
        if not any(name == r or name.startswith(short_name(r)) or r.startswith(name) for r in found):
            unknown.append(name)
    known_py = {_pinyin(short_name(r)) for r in known if r != "国务院"}
    for m in _EN_REGION_RE.finditer(text):
        name = re.sub(r"[^a-z]", "", m.group(1).lower())
        if name and name not in known_py:
            unknown.append(f"{m.group(1)} {m.group(2)}")
    if not found and not unknown and "国务院" in known and _NATIONAL_TERMS_RE.search(text):
        found = ["国务院"]  # 「2023年政府工作报告」 with no region named: the State Council's report
    return list(dict.fromkeys(found)), list(dict.fromkeys(unknown))


# Few characters, so that names share short names (东山区/东山县), contain each other (东山区 ⊂ 东山区南),
# and share pinyin (山/衫 both shan): the cases where order and overlap rules decide.
_CHARS = "东西南北中新安平永长山河湖江川林阳宁丰华仓台鼓楼晋闽侯福州厦门衫"
_SUFFIXES = ("区", "县", "市", "省", "旗", "自治区", "壮族自治区", "")
_FILLER = ("2024年", "GDP增长目标是多少?", "的固定资产投资", "和", "与", "比较", "那", "请问", "呢?", " ", "全区",
           "开发区", "2023年政府工作报告", "全国", "国务院", "national", "增长了多少", "计划", "城区")
_EN_KINDS = ("District", "County", "City", "Province")


def _regions(rng: random.Random, n: int) -> list[str]:
    names: set[str] = {"国务院", "仓山区", "仓山县", "鼓楼区", "台江区", "福建省", "福州市"}
    while len(names) < n:
        stem = "".join(rng.choice(_CHARS) for _ in range(rng.choice((1, 2, 2, 2, 3, 4))))
        names.add(stem + rng.choice(_SUFFIXES))
    return sorted(names)


def _question(rng: random.Random, regions: list[str]) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        region = rng.choice(regions)
        if roll < 0.25:
            parts.append(region)
        elif roll < 0.4:
            parts.append(short_name(region))
        elif roll < 0.5:  # a name the index may not hold
            parts.append("".join(rng.choice(_CHARS) for _ in range(rng.randint(1, 4))) + rng.choice(_SUFFIXES[:5]))
        elif roll < 0.6:  # pinyin, capitalised as in an English question, or inside a longer word
            py = _pinyin(short_name(region))
            word = py.capitalize() if rng.random() < 0.6 else rng.choice(("", "x", "zhong")) + py
            parts.append(f" {word} {rng.choice(_EN_KINDS)} " if rng.random() < 0.5 else f" {word}")
        elif roll < 0.7:
            parts.append(f" {rng.choice(('Jin', 'Mawei', 'Foo', 'Xinyang'))} {rng.choice(_EN_KINDS)} ")
        else:
            parts.append(rng.choice(_FILLER))
    return "".join(parts)


@pytest.mark.parametrize(("n_regions", "n_questions", "seed"), [(40, 1500, 1), (400, 600, 2), (3000, 60, 3)])
def test_matcher_finds_what_the_per_region_loop_found(n_regions: int, n_questions: int, seed: int) -> None:
    rng = random.Random(seed)
    regions = _regions(rng, n_regions)
    matcher = RegionMatcher(regions)
    found_any = unknown_any = 0
    for _ in range(n_questions):
        q = _question(rng, regions)
        expected = _reference_find_regions(q, regions)
        got = matcher.find(q)
        # known regions: exactly what the per-region loop found; region-like names the index lacks:
        # a real administrative name (the gazetteer's: 河南省, or 河北区 cut out of 「闽台河北区」), or one the
        # name pattern found
        assert got[0] == expected[0], q
        assert all(gazetteer().is_place(u) or any(u in e or e in u for e in expected[1]) for u in got[1]), \
            (q, got, expected)
        assert find_regions(q, set(regions)) == got, q
        found_any += bool(expected[0])
        unknown_any += bool(expected[1])
    # the generated questions exercise both outcomes, not only the easy one
    assert found_any > n_questions // 3 and unknown_any > n_questions // 10


def test_hand_picked_overlaps() -> None:
    known = ["仓山区", "仓山县", "仓山区南", "鼓楼区", "国务院", "福建省", "福州市"]
    for q in ("仓山区南2024年GDP", "仓山县和仓山区比较", "What is Cangshan District's target?", "xcangshan and Cangshan",
              "国务院2024年工作报告和鼓楼区", "福建省福州市晋安区", "Jin'an District and Gulou County", "仓山"):
        assert find_regions(q, known) == _reference_find_regions(q, known), q


def test_matcher_is_built_once_per_region_set() -> None:
    known = {"仓山区", "鼓楼区", "台江区"}
    m = region_matcher(known)
    assert region_matcher(set(known)) is m and region_matcher(frozenset(known)) is m
    assert region_matcher(m) is m and set(m) == known and "仓山区" in m and len(m) == 3
    assert region_matcher({"仓山区"}) is not m


def test_parse_and_rewrite_accept_a_matcher() -> None:
    known = ["仓山区", "鼓楼区", "台江区"]
    m = RegionMatcher(known)
    q = "仓山区2024年GDP增长目标是多少?"
    assert parse_question(q, m) == parse_question(q, known)
    assert rewrite_followup("台江区呢?", [q], m) == rewrite_followup("台江区呢?", [q], known) == "台江区2024年GDP增长目标是多少?"


def _reference_mask(r: Retriever, q: ParsedQuestion) -> tuple[np.ndarray, str, dict[str, object]]:
    """The retriever's filter before integer region codes (np.isin over region strings, full scans)."""
    row_region = np.array([(r.by_id[cid].region or "") if cid in r.by_id else "" for cid in r.keyword.ids], dtype=object)
    all_regions = {c.region for c in r.chunks if c.region}
    mask = r.row_live.copy()
    filters: dict[str, object] = {}
    if q.regions:
        mask &= np.isin(row_region, list(q.regions))
        filters["region"] = list(q.regions)
    elif q.unknown_regions:
        have = "、".join(sorted(all_regions)) or "none"
        return np.zeros_like(mask), (f"语料中没有{'、'.join(q.unknown_regions)}的报告(现有地区:{have})。"), {
            "unknown_region": list(q.unknown_regions)}
    before_reports = mask.copy()
    if q.report_years:
        rm = np.isin(r.row_year, list(q.report_years))
        if not (mask & rm).any():
            held = sorted({int(y) for y in r.row_year[mask] if y})
            near = "、".join(f"{y}年" for y in held[-8:]) or "无"
            who = "、".join(q.regions) if q.regions else ""
            return mask & rm, (f"语料中没有{who}{_year_label(set(q.report_years))}的报告(现有:{near})。"), {
                "report_year": list(q.report_years)}
        mask &= rm
        filters["report_year"] = list(q.report_years)
    if q.years:
        ym = np.zeros_like(mask)
        for y in q.years:
            ym |= (r.row_period == y) | ((r.row_period == 0) & np.isin(r.row_year, [y, y + 1]))
        if q.intent == "actual" and not q.report_years:  # Y's result: the report of Y+1, when the scope has it
            later = np.zeros_like(mask)
            for y in q.years:
                later |= ((r.row_period == y) | (r.row_period == 0)) & (r.row_year == y + 1)
            if (mask & later).any():
                ym = later
        if not (mask & ym).any() and q.report_years and (before_reports & ym).any():
            mask, ym = before_reports, ym | np.isin(r.row_year, list(q.report_years))  # the report and the other year
        if not (mask & ym).any():
            if q.regions:
                parts = []
                for reg in q.regions:
                    years = {c.year for c in r.chunks if c.region == reg and c.year}
                    parts.append(f"{reg}只有{_year_label(years)}的报告" if years else f"{reg}的报告没有标明年份")
                asked = _year_label(set(q.years))
                return mask & ym, f"语料中没有{'、'.join(q.regions)}{asked}的数据:{';'.join(parts)}。", {
                    "region": list(q.regions), "year": list(q.years)}
            return mask & ym, f"语料中没有涉及{_year_label(set(q.years))}的报告。", {"year": list(q.years)}
        mask &= ym
        filters["year"] = list(q.years)
    return mask, "", filters


def test_retriever_filter_matches_the_string_scan(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    r: Retriever = seed_pipeline.retriever
    regions = sorted({c.region for c in r.chunks if c.region})
    assert r.regions() == set(regions) and r.regions() is r.regions()
    for reg in [*regions, "晋安区", ""]:
        assert r.years_of(reg) == {c.year for c in r.chunks if c.region == reg and c.year}
    years = sorted({c.year for c in r.chunks if c.year} | {c.period_year for c in r.chunks if c.period_year})
    rng = random.Random(7)
    cases = 0
    for _ in range(300):
        q = ParsedQuestion(
            "问题", regions=tuple(rng.sample([*regions, "晋安区"], rng.choice((0, 1, 1, 2)))),
            unknown_regions=("晋安区",) if rng.random() < 0.2 else (),
            years=tuple(rng.sample([*years, 1999, 2030], rng.choice((0, 1, 1, 2)))),
            report_years=tuple(rng.sample([*years, 2001], rng.choice((0, 0, 1)))))
        mask, refusal, filters = r._mask(q)
        ref_mask, ref_refusal, ref_filters = _reference_mask(r, q)
        assert (mask == ref_mask).all() and refusal == ref_refusal and filters == ref_filters, q
        cases += bool(mask.any()) and not refusal
    assert 30 < cases < 300  # both kept and refused filters were compared
    # dense hits pass the filter through the keyword row, as the set of allowed ids did
    mask, _, _ = r._mask(ParsedQuestion("问题", regions=(regions[0],)))
    allowed = {r.keyword.ids[i] for i in np.flatnonzero(mask)}
    assert all(passes(r.keyword.row, mask, cid) == (cid in allowed) for cid in [*r.keyword.ids, "no-such-chunk"])


def test_passages_are_read_by_id_not_held(seed_index: Path) -> None:
    """The retriever holds no Chunk objects: passages come from the manifest by id; its facts match the chunks'."""
    import gc
    from collections import Counter

    from rag.config import get_settings
    from rag.index.manifest import Manifest
    from rag.types import Chunk

    m = Manifest(seed_index)
    try:
        chunks = m.chunks()
    finally:
        m.close()
    gc.collect()
    before = sum(isinstance(o, Chunk) for o in gc.get_objects())
    r = Retriever(get_settings(index_dir=seed_index, generator="extractive"))
    gc.collect()
    assert sum(isinstance(o, Chunk) for o in gc.get_objects()) == before  # none loaded and kept
    want = {c.chunk_id: c for c in chunks}
    assert r.by_id.get_many(want) == want and r.by_id[chunks[3].chunk_id] == chunks[3]
    assert chunks[0].chunk_id in r.by_id and "no-such-chunk" not in r.by_id and len(r.by_id) == len(chunks)
    with pytest.raises(KeyError):
        r.by_id["no-such-chunk"]
    assert len(r.chunks) == r.chunk_count == len(chunks) and list(r.chunks) == chunks
    assert r.chunks[0] == chunks[0] and r.chunks[-1] == chunks[-1] and r.chunks[2:4] == chunks[2:4]
    assert r.chunks_per_doc == Counter(c.doc_id for c in chunks)
    assert r.regions_per_doc == {d: {c.region for c in chunks if c.doc_id == d and c.region}
                                 for d in {c.doc_id for c in chunks if c.region}}
    assert r.years() == {c.year for c in chunks if c.year}
    # a search returns the manifest's chunks themselves
    got = r.search(parse_question("仓山区2024年GDP增长目标是多少?", r.regions()))
    assert got.passages and all(p.chunk == want[p.chunk.chunk_id] for p in got.passages)


def test_a_passage_removed_after_load_is_left_out(tmp_index: Path) -> None:
    """A later ingest may remove chunks the loaded keyword/vector indexes still hold: they are skipped, not fatal."""
    import sqlite3

    from rag.config import get_settings

    r = Retriever(get_settings(index_dir=tmp_index, generator="extractive"))
    q = parse_question("仓山区2024年GDP增长目标是多少?", r.regions())
    first = r.search(q).passages[0].chunk.chunk_id
    with sqlite3.connect(tmp_index / "manifest.sqlite") as db:
        db.execute("DELETE FROM chunks WHERE chunk_id=?", (first,))
    after = r.search(q)
    assert after.passages and first not in {p.chunk.chunk_id for p in after.passages}


def test_keyword_scores_and_selective_masks_match_bm25s(seed_index: Path) -> None:
    """One bincount over the postings, and a selective mask scored row by row, give bm25s's own scores."""
    import json

    from benchmarks import common
    from rag.index.keyword import KeywordIndex, tokenize
    from rag.index.manifest import Manifest

    m = Manifest(seed_index)
    try:
        bm25_dir = seed_index / m.meta("bm25_dir")
        rows = m.chunk_rows()
    finally:
        m.close()
    streamed = KeywordIndex.load(bm25_dir)  # written by rag.index.bm25_stream
    by_id = dict((cid, json.loads(t)) for cid, _, t, _ in rows)
    built = KeywordIndex.build(streamed.ids, [by_id[c] for c in streamed.ids])  # bm25s's own index
    rng = np.random.default_rng(3)
    n_rows = len(streamed.ids)
    compared = selective = 0
    for q in common.load_questions():
        toks = tokenize(common.question_turns(q)[0])
        for kw in (streamed, built):
            model: Any = kw.model
            known = [t for t in toks if t in model.vocab_dict]
            ref = np.asarray(model.get_scores(known), dtype=np.float32) if known else np.zeros(n_rows, dtype=np.float32)
            assert np.allclose(kw.scores(toks), ref, atol=1e-5)
            for size in (1, 3, 7, n_rows // 2, n_rows):
                mask = np.zeros(n_rows, dtype=bool)
                mask[rng.choice(n_rows, size, replace=False)] = True
                got = kw.search(toks, 10, mask)
                masked = np.where(mask, ref, 0.0)
                want = {kw.ids[i]: float(masked[i]) for i in np.flatnonzero(masked > 0)}
                assert all(mask[kw.row[c]] and abs(s - want[c]) < 1e-4 for c, s in got)
                assert [round(s, 4) for _, s in got] == sorted((round(s, 4) for s in want.values()), reverse=True)[:10]
                compared += 1
                selective += size * 20 < n_rows
    assert compared > 100 and selective > 40
