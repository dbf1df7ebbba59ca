"""Answers from passages the caller gives (no retrieval), e.g. the RGB benchmark.

The passages are checked first (``rag.answer.relevance``): when no window of any passage answers
the question, the answer is refused with the reason, before and instead of the model, whichever
generator is active. Otherwise the model (if any) reads the passages; its refusal or its cited,
grounded text is the answer, else the extractive answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer.compose import check_generated, render_messages, snippet, to_citation
from rag.answer.extractive import Extract, extract_answer
from rag.answer.relevance import assess
from rag.answer.shape import tidy
from rag.errors import RagError
from rag.ingest.chunking import chunk_id
from rag.search.query import ParsedQuestion, parse_question
from rag.search.retrieve import Retrieval
from rag.types import Answer, Chunk, ScoredChunk

if TYPE_CHECKING:
    from rag.answer.pipeline import Pipeline

GIVEN_SNIPPET = 260  # characters of each passage shown to the model
MIN_CONTEXT = 3


def answer_given(pipeline: Pipeline, question: str, passages: Sequence[str]) -> Answer:
    """The pipeline's answer from ``passages`` (no retrieval; regions and years are not filtered on)."""
    from rag.answer.pipeline import Prepared

    chunks = [ScoredChunk(adhoc_chunk(i, text), 1.0 / (i + 1)) for i, text in enumerate(passages)]
    parsed = parse_question(question, ())
    parsed = ParsedQuestion(**{**parsed.__dict__, "regions": (), "unknown_regions": (), "years": ()})
    relevance = assess(parsed, chunks)
    if chunks and not relevance.answerable:  # no passage answers: refuse before (and instead of) the model
        prep = Prepared(question, question, parsed, Retrieval(tuple(chunks), {"relevance": "none"}, relevance.reason),
                        Extract("", (), False, False))
        return pipeline.finalize(prep)
    extract = extract_answer(parsed, chunks) if chunks else Extract("", (), False, False)
    retrieval = Retrieval(tuple(chunks), {}, "" if chunks else "没有提供资料。")
    prep = Prepared(question, question, parsed, retrieval, extract)
    if chunks and pipeline.state.generator is not None:
        ctx = chunks[: max(MIN_CONTEXT, len(chunks))]
        prep.context = len(ctx)
        prep.messages = pipeline.shapes.messages(render_messages(
            pipeline.prompts, question, [snippet(parsed, p, GIVEN_SNIPPET) for p in ctx], ["资料" for _ in ctx]),
            "lookup", parsed.english)
        try:
            text = "".join(pipeline.stream(prep))
        except RagError as exc:
            return pipeline.finalize(prep, None, f"生成模型不可用:{exc.message}")
        checked = check_generated(tidy(text, prep.cut), ctx)
        if checked.refused:
            return pipeline._answer(prep, checked.text, True, (), pipeline.generator_name, [], "资料中没有答案")
        if not checked.ungrounded:
            cits = tuple(to_citation(n, ctx[n - 1]) for n in checked.cited)
            return pipeline._answer(prep, checked.text, False, cits, pipeline.generator_name, [])
        return pipeline.finalize(prep, text)
    return pipeline.finalize(prep)


def adhoc_chunk(i: int, text: str) -> Chunk:
    """A chunk for the i-th given passage (no document, region or year)."""
    text = re.sub(r"\s+", " ", text).strip()
    return Chunk(chunk_id(f"given-{i}", 0, len(text)), f"given-{i}", f"passage-{i + 1}", f"资料{i + 1}", text, 0,
                 len(text), "", "", None, None, None, "资料")
