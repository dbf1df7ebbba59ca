"""The compute answerer: arithmetic property-tested, and answers on real seed passages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.answerers.arith import Quantity, difference, growth, number, ratio, split_unit, total
from rag.answer.answerers.base import Evidence
from rag.answer.answerers.compute import ComputeAnswerer, is_compute, operands
from rag.search.query import parse_question
from rag.textnorm import figures, fold

values = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("99999"), places=2, allow_nan=False).map(float)
amount_units = st.sampled_from(["亿元", "万元", "元", "万亿元"])
KNOWN = frozenset({"仓山区", "台江区", "解放区", "姑苏区"})


def _result(text: str) -> tuple[float, str]:
    shown = text.rsplit("= ", 1)[1]
    fig = figures(shown)[0]
    assert fig.value is not None
    return fig.value, fig.unit


@given(values, values)
def test_percent_minus_percent_is_percentage_points(a: float, b: float) -> None:
    f = difference(Quantity(a, "%"), Quantity(b, "%"))
    assert f.unit == "个百分点" and f.text.endswith("个百分点")
    assert f.result == pytest.approx(a - b, abs=1e-9)
    value, unit = _result(f.text.replace("−", "-"))
    assert unit == "个百分点" and value == pytest.approx(abs(a - b), abs=0.051)  # shown rounded, sign before it
    assert f.text.startswith(f"{number(a)}% − {number(b)}%")  # the inputs as cited


@given(values, values, amount_units, amount_units)
def test_amounts_in_different_scales_are_converted(a: float, b: float, ua: str, ub: str) -> None:
    f = difference(Quantity(a, ua), Quantity(b, ub))
    (sa, _), (sb, _) = split_unit(ua), split_unit(ub)
    scale, _ = split_unit(f.unit)
    exact = (Decimal(repr(a)) * sa - Decimal(repr(b)) * sb) / scale
    assert f.result == pytest.approx(float(exact), rel=1e-9, abs=1e-9)
    assert f.unit in (ua, ub) and split_unit(f.unit)[0] == min(sa, sb)  # the smaller unit: no new decimals
    assert f.text.startswith(f"{number(a)}{ua} − {number(b)}{ub}")  # operands as cited


@given(st.lists(values, min_size=2, max_size=4))
def test_sum(parts: list[float]) -> None:
    f = total([Quantity(v, "万人") for v in parts])
    assert f.result == pytest.approx(sum(parts), rel=1e-9) and f.text.count("+") == len(parts) - 1


@given(values, values)
def test_ratio_and_growth(a: float, b: float) -> None:
    r = ratio(Quantity(a, "亿元"), Quantity(b, "亿元"))
    assert r.result == pytest.approx(a / b) and r.unit == "倍"
    g = growth(Quantity(a, "亿元"), Quantity(b, "亿元"))
    assert g.result == pytest.approx((a - b) / b * 100) and g.unit == "%"


def test_incompatible_units_are_refused() -> None:
    with pytest.raises(ValueError):
        difference(Quantity(5.5, "%"), Quantity(1065, "亿元"))
    with pytest.raises(ValueError):
        growth(Quantity(5.5, "%"), Quantity(2.5, "%"))  # growth of a rate: a difference in points instead
    with pytest.raises(ValueError):
        difference(Quantity(5, "%"), Quantity(2, "个百分点"))


def test_formula_as_in_the_issue() -> None:
    assert difference(Quantity(5.5, "%"), Quantity(2.5, "%")).text == "5.5% − 2.5% = 3.0个百分点"


@pytest.mark.parametrize(("question", "compute"), [
    ("仓山区2024年GDP目标比2023年实际增速高多少?", True),
    ("仓山区和台江区的GDP增长目标相差多少?", True),
    ("仓山区2024年GDP增长目标是多少?", False),
    ("2024年仓山区比2023年多了哪些项目?", False),  # 「哪些」: a list, not a number
])
def test_compute_questions(question: str, compute: bool) -> None:
    assert is_compute(parse_question(question, KNOWN)) is compute


def test_operands_take_each_years_own_intent() -> None:
    q = parse_question("仓山区2024年GDP目标比2023年实际增速高多少?", KNOWN)
    ops = operands(q)
    assert [(sub.years, sub.intent) for _, sub in ops] == [((2024,), "target"), ((2023,), "actual")]


def test_target_minus_actual_on_real_passages(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    q = parse_question("仓山区2024年GDP目标比2023年实际增速高多少?", retriever.regions())
    evidence = Evidence(list(retriever.search(q).passages), lambda sub: list(retriever.search(sub).passages))
    draft = ComputeAnswerer().answer(q, evidence)
    assert draft.found, draft.reason
    assert "5.5% − 2.5% = 3.0个百分点" in fold(draft.text)
    # each operand cites a passage that holds it; the formula cites both
    for line in draft.text.split("\n")[:-1]:
        n = int(re.findall(r"\[(\d+)\]", line)[-1])
        fig = figures(line.split(":", 1)[-1])[-1]
        assert fig.text in fold(evidence.passages[n - 1].chunk.text)
    assert draft.computed == ("3.0个百分点",)
