"""The compiled region matcher finds exactly what the old per-region loop found.

``_reference_find_regions`` is the algorithm ``rag.query.find_regions`` used before the matcher:
it tries every known region in turn. One change: names of equal length are taken in name order
(the old code took them in set order, which depends on the hash seed); the matcher does the same.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pytest

from rag.query import (
    _EN_REGION_RE,
    _GENERIC,
    _NATIONAL_RE,
    _REGION_LIKE_RE,
    RegionMatcher,
    _pinyin,
    find_regions,
    parse_question,
    region_matcher,
    rewrite_followup,
    short_name,
)


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
        assert matcher.find(q) == expected, q
        assert find_regions(q, set(regions)) == expected, q
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
