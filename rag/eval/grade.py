"""Grading one answer against its case (docs/eval-contract.md).

- every ``expect`` regex must match the folded answer (``rag.textnorm.fold``);
- an answerable case must not be refused and must be grounded: each ``expect`` pattern holding a
  digit must also match the folded text of the passages the answer cites;
- an unanswerable case passes only when ``Answer.refused`` is True (the structured flag, not a
  phrase);
- any figure in any answer that stands in none of its cited passages makes the case fail as
  ``ungrounded``: the same rule as the runtime number check (``rag.textnorm.ungrounded_figures``):
  numbers with a unit, and unit-less numbers other than list numbering, ordinals and dates;
  redacted values (XX亿元) are never figures;
- a case naming a ``source`` fails as ``retrieval_miss`` when it is answerable, no passage in the
  top-k comes from that source and no passage the answer cites does (a table or a computation searches
  each row or operand on its own, so the passages it cites come after the question's own top-k).

Failure codes: error, wrongly_refused, should_have_refused, wrong_figure, missing_expected,
not_grounded, ungrounded, retrieval_miss. In the JSON each failure is a string ``"code: detail"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.answerers.arith import verified_results, without_verified_results
from rag.eval.cases import Case
from rag.textnorm import Figure, figures, fold, ungrounded_figures
from rag.types import Answer


@dataclass(frozen=True)
class Failure:
    """Why a case failed: a short code and a human-readable detail."""

    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer."""

    passed: bool
    failures: tuple[Failure, ...]
    grounded: bool | None  # None: nothing to judge (refused answer, or error)
    ungrounded: tuple[str, ...] = ()  # figures stated but not in the cited passages
    rank: int | None = None  # 1-based rank of the first retrieved passage from ``case.source``


def asserts_absence(pattern: str) -> bool:
    """A pure negative lookahead (「^(?!…99%)」): the answer must NOT say something; nothing to find or ground."""
    return bool(re.fullmatch(r"\^\(\?!.*\)", pattern))


def _has_digit(pattern: str) -> bool:
    """A pattern asserting a figure (a pattern asserting an absence has nothing to ground)."""
    return bool(re.search(r"\d", pattern)) and not asserts_absence(pattern)


def unit_figures(text: str) -> list[Figure]:
    """Numbers that carry a unit (redacted values excluded): what an answer states, for messages."""
    return [f for f in figures(text, include_redacted=False) if f.unit]


def retrieval_rank(case: Case, answer: Answer) -> int | None:
    """1-based rank of the first retrieved passage whose source contains ``case.source``."""
    for i, sc in enumerate(answer.passages, 1):
        if any(s and s in sc.chunk.source for s in case.source):
            return i
    return None


def short(text: str, n: int = 60) -> str:
    """``text`` on one line, cut to ``n`` characters (for failure details)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def grade(case: Case, answer: Answer, *, top_k: int) -> Grade:
    """Grade one answer against its case (see the module docstring for the rules)."""
    failures: list[Failure] = []
    text = fold(answer.answer)
    cited = [fold(c.text) for c in answer.citations]
    cited_joined = "\n".join(cited)
    stated = unit_figures(answer.answer)
    # a formula's result (「5.5% − 2.5% = 3.0个百分点」) stands in no passage: its operands are what is checked
    loose = tuple(dict.fromkeys(f.text for f in ungrounded_figures(without_verified_results(answer.answer), cited)))
    rank = retrieval_rank(case, answer) if case.source else None
    grounded: bool | None = None

    if case.answerable:
        if answer.refused:
            why = answer.refusal_reason or short(answer.answer)
            failures.append(Failure("wrongly_refused", why))
        else:
            for p in case.expect:
                if re.search(p, text):
                    continue
                if _has_digit(p) and stated:
                    failures.append(Failure("wrong_figure", f"/{p}/ not in answer; it states "
                                                            + ", ".join(f.text for f in stated[:5])))
                else:
                    failures.append(Failure("missing_expected", f"/{p}/ not in answer: {short(answer.answer)}"))
            computed = verified_results(answer.answer)  # a shown formula's result is supported by its operands
            unsupported = [p for p in case.expect if _has_digit(p) and re.search(p, text)
                           and not re.search(p, cited_joined) and not any(re.search(p, r) for r in computed)]
            for p in unsupported:
                where = f"{len(answer.citations)} cited passage(s)" if answer.citations else "no citations"
                failures.append(Failure("not_grounded", f"/{p}/ matches the answer but not its {where}"))
            grounded = not loose and not unsupported
        cites_source = any(s and s in c.source for c in answer.citations for s in case.source)
        if case.source and (rank is None or rank > top_k) and not cites_source:
            where = "not retrieved" if rank is None else f"first at rank {rank}"
            failures.append(Failure("retrieval_miss", f"{'|'.join(case.source)} {where} (k={top_k})"))
    else:
        if not answer.refused:
            failures.append(Failure("should_have_refused", short(answer.answer)))
            grounded = not loose
        for p in case.expect:  # optional extra patterns a refusal must hold
            if not re.search(p, text):
                failures.append(Failure("missing_expected", f"/{p}/ not in answer: {short(answer.answer)}"))
    if loose:
        failures.append(Failure("ungrounded", "not in cited passages: " + ", ".join(loose[:8])))
    return Grade(not failures, tuple(failures), grounded, loose, rank)


def grade_error(exc: BaseException) -> Grade:
    """The verdict when the pipeline raised instead of answering."""
    return Grade(False, (Failure("error", f"{type(exc).__name__}: {short(str(exc), 200)}"),), None)
