"""The indicator table's answer (rag.facts) for lookups it knows better than one clause.

Used for comparisons, conflicting sources, or when the passages gave no answer; the table's source
chunks join the passages so every [n] still maps to a passage.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping

from rag.answer.extractive import Extract
from rag.config import Settings
from rag.errors import RagError
from rag.facts import FactAnswer
from rag.search.query import ParsedQuestion
from rag.search.retrieve import Retrieval
from rag.types import Chunk, ScoredChunk


def with_facts(parsed: ParsedQuestion, retrieval: Retrieval, extract: Extract, settings: Settings,
               by_id: Mapping[str, Chunk]) -> tuple[Retrieval, Extract]:
    """(retrieval, extract), replaced by the table's answer when it applies.

    A computation the compute answerer could not do (an operand not in its passages) is answered here
    only by the table's formula or by a clause that states the comparison itself; else not at all (the
    chain refuses, naming the missing operand), never by one side's figure.
    """
    from rag.answer.answerers.arith import verified_results
    from rag.answer.answerers.compute import is_compute, states_comparison

    retrieval, extract = _with_table(parsed, retrieval, extract, settings, by_id)
    if is_compute(parsed) and extract.found and not verified_results(extract.text) \
            and not states_comparison(parsed, extract.text):
        return retrieval, Extract("", (), False, False)
    return retrieval, extract


def _with_table(parsed: ParsedQuestion, retrieval: Retrieval, extract: Extract, settings: Settings,
                by_id: Mapping[str, Chunk]) -> tuple[Retrieval, Extract]:
    if retrieval.refusal or not parsed.indicators or not parsed.regions:
        return retrieval, extract
    from rag.facts import format_fact_answer, lookup

    try:
        fa = lookup(parsed, settings)
    except (RagError, sqlite3.DatabaseError):  # no table, or a damaged one (rag doctor --repair): passages answer
        return retrieval, extract
    if fa is None or not fa.found or not (fa.comparison or fa.conflicts or not extract.found):
        return retrieval, extract
    if extract.found and fa.missing and not fa.conflicts:
        return retrieval, extract  # the passages answer a part the table lacks (a comparison it half covers)
    passages = list(retrieval.passages)
    ids = [p.chunk.chunk_id for p in passages]
    for cid in fa.chunk_ids:
        if cid not in ids and cid in by_id:
            passages.append(ScoredChunk(by_id[cid], 0.0, {"keyword": None, "dense": None}))
            ids.append(cid)
    number = {i + 1: ids.index(cid) + 1 for i, cid in enumerate(fa.chunk_ids) if cid in ids}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{number[int(m.group(1))]}]" if int(m.group(1)) in number else "",
                  format_fact_answer(fa))
    text += _formula_line(parsed, fa, number)
    cited = tuple(sorted(n - 1 for n in number.values()))
    filters = {**retrieval.filters, "facts": True}
    return (Retrieval(tuple(passages), filters, "", retrieval.timings_ms),
            Extract(("According to the indicator table (each figure cited):\n" if parsed.english else "根据指标表:\n") + text,
                    cited, False, True))


def _formula_line(parsed: ParsedQuestion, fa: FactAnswer, number: dict[int, int]) -> str:
    """For a computation over two table cells with one figure each: the formula, done in code and cited."""
    from rag.answer.answerers.arith import Quantity
    from rag.answer.answerers.compute import formula_for, is_compute
    from rag.regions import short_name

    if not is_compute(parsed) or len(fa.cells) != 2:
        return ""
    picked = []
    for cell in fa.cells:
        shown = {f.display_value() for f in cell.facts if not f.redacted and f.value is not None}
        if len(shown) != 1:
            return ""  # sources disagree or several measures: no single operand
        picked.append(next(f for f in cell.facts if not f.redacted and f.value is not None))
    def named_at(f: object) -> int:  # the order the question names the operands in (「浙江…比广东…」)
        region, year = getattr(f, "region", None) or "", getattr(f, "year", None)
        at = [parsed.text.find(x) for x in (region, short_name(region), f"{year}年") if x and x in parsed.text]
        return min(at) if at else len(parsed.text)

    picked.sort(key=named_at)
    try:
        formula = formula_for(parsed, [Quantity(f.value or 0.0, f.unit) for f in picked])
    except ValueError:
        return ""
    marks = "".join(f"[{number[i + 1]}]" for i, cid in enumerate(fa.chunk_ids)
                    if any(f.chunk_id == cid for f in picked) and i + 1 in number)
    return f"\n{formula.text}{marks}"
