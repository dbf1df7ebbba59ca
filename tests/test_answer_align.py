"""Citations by alignment: each generated sentence cited with the passage it came from (real passages)."""

from __future__ import annotations

from rag.answer.align import align
from rag.search.query import parse_question
from rag.textnorm import figures, fold, iter_sentences


def _passages(seed_pipeline, question: str):  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    return list(retriever.search(parse_question(question, retriever.regions())).passages)


def test_copied_sentences_without_markers_get_their_passage(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    passages = _passages(seed_pipeline, "仓山区2024年在民生方面打算做哪些事?")
    # the model copies two sentences from passages, numbers them, and writes no [n]
    picks = []
    for i, p in enumerate(passages[:3]):
        spans = [p.chunk.text[a:b].strip() for a, b in iter_sentences(p.chunk.text)]
        sentence = next(s for s in spans if len(s) > 12 and "XX" not in s and s.endswith("。") and "\n" not in s)
        picks.append((i + 1, sentence.rstrip("。")))
    generated = "\n".join(f"{k}. {s}。" for k, (_, s) in enumerate(picks, 1))
    out = align(generated, passages[:3])
    assert out.kept == len(picks) and not out.dropped
    for n, sentence in picks:
        assert f"{sentence}[{n}]" in out.text or any(
            sentence in line and line.endswith(("]", "]。")) for line in out.text.split("\n"))
    assert not any(line.startswith(("1.", "2.")) for line in out.text.split("\n"))  # list numbers are not kept


def test_unsupported_sentences_are_dropped_not_the_answer(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    passages = _passages(seed_pipeline, "仓山区2024年GDP增长目标是多少?")
    generated = "仓山区2024年地区生产总值增长5.5%[1]。此外该区还将建设月球基地12个。"
    out = align(generated, passages[:3])
    assert out.kept == 1 and "5.5%" in out.text and out.dropped and "月球" not in out.text


def test_a_figure_no_passage_holds_drops_its_sentence(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    passages = _passages(seed_pipeline, "仓山区2024年GDP增长目标是多少?")
    out = align("仓山区2024年地区生产总值增长6.5%[1]。", passages[:3])
    assert out.kept == 0 and out.dropped


def test_english_sentence_cited_by_its_figure(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    passages = _passages(seed_pipeline, "仓山区2024年GDP增长目标是多少?")
    holder = next(i + 1 for i, p in enumerate(passages[:3]) if "5.5%" in p.chunk.text)
    out = align("Cangshan targets GDP growth of 5.5% in 2024.", passages[:3])
    assert out.kept == 1 and out.cited == (holder,)


def test_a_figure_sentence_restating_the_question_is_cited(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    asked = "仓山区2024年GDP增长目标是多少?"
    passages = _passages(seed_pipeline, asked)
    question = " ".join((asked, *parse_question(asked, seed_pipeline.retriever.regions()).expansions))  # as the pipeline
    out = align("仓山区2024年GDP目标5.5%。", passages[:3], question)  # the question's words around the passage's figure
    assert out.kept == 1 and "5.5%[" in out.text
    # without a figure, restating the question is no support
    assert align("仓山区2024年GDP增长目标是多少?", passages[:3], question).kept == 0
    # another figure of the same passage under the question's words is not about what was asked
    holder = next(p.chunk.text for p in passages[:3] if "5.5%" in fold(p.chunk.text))
    other = next(f.text for f in figures(fold(holder), include_redacted=False) if f.value != 5.5)
    assert align(f"仓山区2024年GDP增长目标{other}。", passages[:3], question).kept == 0, other
