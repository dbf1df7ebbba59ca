"""Open, table and refuse answers on the real seed index with the real embedder; one end-to-end run per
answerer with the local model (slow)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from rag.answer.answerers.base import Evidence
from rag.answer.answerers.choose import question_form
from rag.answer.answerers.open import OpenAnswerer
from rag.answer.answerers.table import TableAnswerer
from rag.answer.models import missing_parts
from rag.search.query import parse_question
from rag.testing import unavailable
from rag.textnorm import CITATION_RE, fold, ungrounded_figures

KNOWN = ["仓山区", "台江区", "解放区", "姑苏区"]


@pytest.mark.parametrize(("question", "form"), [
    ("台江区2022年的工作重点是什么?", "open"),
    ("仓山区2024年在民生方面打算做哪些事?", "open"),
    ("仓山区2024年GDP增长目标是什么?", "lookup"),  # a named indicator asks for its figure
    ("仓山区2024年要新增多少中小学学位?", "lookup"),
    ("仓山区2024年GDP目标比2023年实际增速高多少?", "compute"),
    ("各区2024年GDP增长目标分别是多少?", "table"),
    ("你认为仓山区能实现5.5%的目标吗?", "opinion"),
    ("What are Cangshan's plans for elderly care?", "open"),
    ("What is Hubei's economic growth target for 2026?", "lookup"),
])
def test_question_forms(question: str, form: str) -> None:
    assert question_form(parse_question(question, KNOWN)) == form


def _evidence(seed_pipeline, question: str):  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    q = parse_question(question, retriever.regions())
    return q, Evidence(list(retriever.search(q).passages), lambda sub: list(retriever.search(sub).passages))


def test_open_answer_is_several_cited_points_never_a_bare_heading(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    q, evidence = _evidence(seed_pipeline, "仓山区2024年在民生方面打算做哪些事?")
    draft = OpenAnswerer().answer(q, evidence)
    points = [line for line in draft.text.split("\n") if line.startswith("- ")]
    assert draft.found and 2 <= len(points) <= 4
    for line in points:
        marks = CITATION_RE.findall(line)
        assert len(marks) == 1, line
        body = CITATION_RE.sub("", line[2:]).rstrip("。")
        assert len(body) >= 10  # a sentence, not a heading
        passage = evidence.passages[int(marks[0]) - 1].chunk.text
        assert not ungrounded_figures(body, [passage])
    assert len(set(points)) == len(points)
    assert re.search(r"就业|托位|托育|学位|养老|长者食堂|民生", draft.text)


def test_table_has_a_row_per_region_and_names_the_missing(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    q, evidence = _evidence(seed_pipeline, "各区的城镇新增就业分别是多少?")
    draft = TableAnswerer(retriever.regions(), {r: retriever.years_of(r) for r in retriever.regions()}).answer(q, evidence)
    rows = [line for line in draft.text.split("\n") if line.startswith("- ")]
    assert draft.found and len(rows) >= 2
    for row in rows:
        region = row[2:].split(":", 1)[0]
        n = int(CITATION_RE.findall(row)[-1])
        assert evidence.passages[n - 1].chunk.region == region  # each row cites its own region
    named = {row[2:].split(":", 1)[0] for row in rows}
    missing = [r for r in retriever.regions() if r not in named]
    if missing:
        assert "未找到" in draft.text and all(r in draft.text for r in missing)


def test_pipeline_refuses_by_name_and_by_kind(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    for question, why in [("宝山区2024年GDP目标是多少?", "宝山区"), ("鼓山区2024年GDP增长目标是多少?", "鼓山区"),
                          ("你认为仓山区能实现5.5%的增长目标吗?", "评价或预测")]:
        answer = seed_pipeline.run(question)
        assert answer.refused and why in answer.answer and not answer.citations, question


def test_pipeline_compute_and_table_answers_are_grounded(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.answerers.arith import without_verified_results

    for question in ("仓山区2024年GDP目标比2023年实际增速高多少?", "各区2024年GDP增长目标分别是多少?"):
        answer = seed_pipeline.run(question)
        assert not answer.refused and answer.citations, question
        cited = [c.text for c in answer.citations]
        assert not ungrounded_figures(without_verified_results(answer.answer), cited), answer.answer


# ---------------------------------------------------------------- the local model, end to end (slow)
@pytest.fixture(scope="module")
def local_pipeline(seed_pipeline):  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("llama_cpp") is None or missing_parts():
        unavailable("local model not installed (llama-cpp-python and the model parts: `make install`)")
    from rag.answer.generators import LocalGenerator
    from rag.answer.pipeline import Pipeline

    settings = seed_pipeline.settings.model_copy(update={"generator": "local"})
    return Pipeline(settings, seed_pipeline.retriever, generator=LocalGenerator(settings))


@pytest.mark.slow
@pytest.mark.parametrize(("question", "expect", "kind"), [
    ("仓山区2024年GDP增长目标是多少?", r"5\.5\s*%", "lookup"),
    ("仓山区2024年在民生方面打算做哪些事?", r"就业|托位|托育|学位|养老|长者食堂|民生|办实事", "open"),
    ("仓山区2024年GDP目标比2023年实际增速高多少?", r"3(\.0)?\s*个百分点", "compute"),
    ("各区2024年GDP增长目标分别是多少?", r"5\.5\s*%", "table"),
    ("浦东新区2024年GDP增长目标是多少?", r"浦东新区", "refuse"),
])
def test_each_answerer_with_the_local_model(local_pipeline, question: str, expect: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.answerers.arith import without_verified_results

    answer = local_pipeline.run(question)
    assert re.search(expect, fold(answer.answer)), answer.answer
    assert answer.refused is (kind == "refuse")
    if kind in ("compute", "table"):
        assert answer.generator == "extractive"  # built in code, not phrased by the model
    if not answer.refused:
        cited = [c.text for c in answer.citations]
        assert cited and not ungrounded_figures(without_verified_results(answer.answer), cited), answer.answer
