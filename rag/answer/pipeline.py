"""The pipeline from a question to an ``Answer``: rewrite → parse → retrieve → extract → generate → check.

``Pipeline`` is built once (retriever, generator) and shared: the CLI, the eval harness and the UI
all call it. For streaming UIs the steps are exposed separately::

    p = Pipeline(get_settings())
    prep = p.prepare("仓山区2024年GDP目标")        # passages + extractive answer, fast
    for piece in p.stream(prep): ...              # generated text, if a generator is active
    answer = p.finalize(prep, generated_text)     # citations, refusal, number check

``run`` is the one loop over those steps (prepare → gate → stream → check → fallback) that every caller
uses; ``answer_from_passages`` skips retrieval (RGB). Immutable and shared between threads; a local
model found unusable is recorded in ``GeneratorState``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.answer.align import align
from rag.answer.answerers.choose import question_form
from rag.answer.answerers.refuse import mark_redacted
from rag.answer.answerers.semantic import similarity_for
from rag.answer.compose import (
    SNIPPET_CHARS,
    Prompts,
    check_generated,
    extract_citations,
    load_prompts,
    passage_label,
    render_messages,
    snippet,
    to_citation,
)
from rag.answer.extractive import Extract, extract_answer
from rag.answer.facts_answer import with_facts
from rag.answer.gate import BusyError, Cancelled
from rag.answer.generators import Generator, select_generator
from rag.answer.guard import (
    corpus_vocabulary,
    defang_passages,
    foreign_content,
    leaks_prompt,
    screen_question,
)
from rag.answer.relevance import screen
from rag.answer.route import relative_year, route
from rag.answer.shape import Shapes, load_shapes, runaway, tidy
from rag.answer.state import GeneratorState, new_gate
from rag.config import Settings
from rag.errors import ModelUnavailableError, RagError
from rag.search.query import ParsedQuestion, parse_question, rewrite_followup, simplified
from rag.search.retrieve import Retrieval, Retriever
from rag.types import Answer, Filters, ScoredChunk

CONTEXT_PASSAGES = 3
OPEN_CONTEXT, OPEN_SNIPPET, OPEN_RETRIEVE = 4, 220, 10  # open questions: more passages, longer snippets, several points


@dataclass
class Prepared:
    """Everything known before generation starts (shown to the user at once)."""

    question: str
    standalone: str
    parsed: ParsedQuestion
    retrieval: Retrieval
    extract: Extract
    messages: list[dict[str, str]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    guard_notice: str = ""  # parts of the message that were not followed (rag/answer/guard.py)
    reason: str = ""  # why the chosen answerer found no answer (rag/answer/route.py)
    context: int = CONTEXT_PASSAGES  # passages given to the model
    form: str = "lookup"  # the answer shape asked of the model (rag/answer/shape.py): lookup | open
    discard: str = ""  # why the model's text was not used: refused|no_source|leak|foreign|failed|stopped ("" kept)
    dropped: tuple[str, ...] = ()  # generated sentences alignment found no source for
    cut: bool = False  # generation stopped early (token limit, a looping model): its last line is unfinished

    @property
    def passages(self) -> list[ScoredChunk]:
        """The retrieved passages, best first."""
        return list(self.retrieval.passages)

    @property
    def refusal(self) -> str:
        """Why no answer is possible ("" when one may be)."""
        if self.retrieval.refusal:
            return self.retrieval.refusal
        if not self.extract.found and self.extract.text:
            return "报告没有给出所问的数值。"
        if not self.extract.found and self.reason:
            return self.reason
        if not self.extract.found:
            what = "、".join(self.parsed.indicators) or "这个问题"
            return f"检索到的报告段落中没有关于{what}的内容。"
        return ""


class Pipeline:
    """Retriever + generator, built once; immutable and thread-safe for concurrent questions."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None,
                 generator: Generator | None | str = "auto", reason: str | None = None) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self.prompts: Prompts = load_prompts(settings.prompts_dir)
        self.shapes: Shapes = load_shapes(settings.prompts_dir)
        if generator == "auto":
            chosen, why = select_generator(settings)
        else:
            chosen = generator if not isinstance(generator, str) else None
            why = getattr(chosen, "name", "extractive") if chosen else "extractive"
        self.generator: Generator | None = chosen  # as configured; the one in use is ``state.generator``
        self.state = GeneratorState(chosen, reason or why)
        self.gate = new_gate(settings)
        self._regions = self.retriever.regions()
        self._similarity = similarity_for(self.retriever.embedder)  # cross-lingual sentence ranking (None: hash)

    @property
    def generator_reason(self) -> str:
        """Why the active generator (or none) is used."""
        return self.state.reason

    @property
    def generator_name(self) -> str:
        """The active generator: local | openai | extractive."""
        gen = self.state.generator
        return gen.name if gen is not None else "extractive"

    def describe(self) -> dict[str, Any]:
        """Run metadata for eval reports and the UI sidebar."""
        return {
            "generator": self.generator_name, "generator_reason": self.generator_reason,
            "embedder": self.retriever.embedder.id, "chunking": f"{self.settings.chunk_size}/{self.settings.chunk_overlap}",
            "top_k": self.settings.top_k, "prompt_hash": self.shapes.hash(self.prompts.hash), "index": str(self.settings.index_dir),
            "index_generation": self.retriever.generation, "chunks": len(self.retriever.chunks),
        }

    # ------------------------------------------------------------ steps
    def prepare(self, question: str, turns: Sequence[str] = (), *, filters: Filters | None = None,
                generate: bool = True) -> Prepared:
        """Rewrite, parse, retrieve and extract (no generation)."""
        t0 = time.perf_counter()
        question = question.strip()
        if not question:
            raise RagError("the question is empty", "type a question, e.g. 仓山区2024年GDP目标")
        # guard (rag/answer/guard.py): only the genuine question of a message is parsed (instructions, tasks and
        # decoded payloads are set aside or refused); planted report text / fake [n] never reach the answerer
        vocabulary = None if turns else corpus_vocabulary(self.retriever)  # a follow-up's topic is in earlier turns
        plain = simplified(question)  # 倉山區 → 仓山区: traditional questions are read in simplified characters
        screened = screen_question(plain, vocabulary)
        asked, blocked = screened.question or plain, screened.blocked
        standalone = rewrite_followup(asked, list(turns), self._regions)
        parsed = relative_year(self._scoped(parse_question(standalone, self._regions), asked, filters),
                               self.retriever.years_of)
        if blocked is not None:
            retrieval = Retrieval((), {"guard": blocked.kind}, blocked.reason)
        else:
            # open questions read more passages: their points are spread over a report's sections
            retrieval = self._retrieve(parsed, OPEN_RETRIEVE if question_form(parsed) == "open" else None)
        passages = defang_passages(list(retrieval.passages))
        # the answerer for this kind of question (rag/answer/answerers): open, compute, table, refuse or lookup
        routed = route(parsed, passages, self._sub_search, self._regions, self.retriever.years_of, self._similarity) \
            if passages and not retrieval.refusal else None
        if routed is not None and routed.refuse:
            retrieval = Retrieval((), {**retrieval.filters, "answerer": routed.kind}, routed.reason,
                                  retrieval.timings_ms)
            passages = []
        if routed is not None and routed.extract is not None:
            passages = list(routed.passages)
            retrieval = Retrieval(routed.passages, {**retrieval.filters, "answerer": routed.kind}, "",
                                  retrieval.timings_ms)
            extract = routed.extract
        else:
            extract = extract_answer(parsed, passages) if passages else Extract("", (), False, False)
            retrieval, extract = with_facts(parsed, retrieval, extract, self.settings, self.retriever.by_id)
        # no passage answers (rag/answer/relevance.py): refuse with the reason, whatever the generator
        retrieval, extract = screen(parsed, retrieval, extract, routed.kind if routed is not None else "lookup")
        passages = passages if retrieval.passages else []
        prep = Prepared(question, standalone, parsed, retrieval, extract, started=t0, guard_notice=screened.notice,
                        reason=routed.reason if routed is not None else "")
        prep.timings_ms["retrieve"] = retrieval.timings_ms.get("retrieve", 0.0)
        prep.timings_ms["prepare"] = (time.perf_counter() - t0) * 1000
        # the model only phrases answers: not for table answers, refusals, or values the report redacts
        if (generate and passages and not prep.refusal and self.state.generator is not None
                and not retrieval.filters.get("facts") and not extract.redacted
                and (routed is None or routed.may_generate)):
            prep.form = "open" if routed is not None and routed.kind == "open" else "lookup"
            prep.context = OPEN_CONTEXT if prep.form == "open" else CONTEXT_PASSAGES
            ctx = passages[:prep.context]
            budget = OPEN_SNIPPET if prep.form == "open" else SNIPPET_CHARS
            prep.messages = self.shapes.messages(render_messages(
                self.prompts, standalone, [snippet(parsed, p, budget) for p in ctx], [passage_label(p) for p in ctx]),
                prep.form, parsed.english)
        return prep

    def _scoped(self, parsed: ParsedQuestion, question: str, filters: Filters | None) -> ParsedQuestion:
        """Apply explicit filters: the question's own region/year wins, then the filter, then earlier turns'."""
        if filters is None:
            return parsed
        own = parse_question(question, self._regions)
        if filters.region and not own.regions and not own.unknown_regions:
            known = filters.region in self._regions
            parsed = replace(parsed, regions=(filters.region,) if known else (),
                             unknown_regions=() if known else (filters.region,))
        if filters.year and not own.years and not own.report_years:
            parsed = replace(parsed, years=(filters.year,))
        return parsed

    def _sub_search(self, sub: ParsedQuestion) -> list[ScoredChunk]:
        """Passages for an answerer's sub-question (one operand, one region of a table)."""
        found = self.retriever.search(sub, max(3, self.settings.top_k - 2))
        return defang_passages(list(found.passages)) if not found.refusal else []

    def _retrieve(self, parsed: ParsedQuestion, k: int | None = None) -> Retrieval:
        if len(parsed.regions) <= 1:
            return self.retriever.search(parsed, k)
        # comparisons: search each region on its own so every region gets passages
        per = max(2, self.settings.top_k // len(parsed.regions) + 1)
        results = [self.retriever.search(ParsedQuestion(**{**parsed.__dict__, "regions": (r,)}), per)
                   for r in parsed.regions]
        merged: list[ScoredChunk] = []
        for group in zip(*[r.passages for r in results], strict=False):
            merged.extend(group)
        for r in results:
            merged.extend(p for p in r.passages if p not in merged)
        refusals = [r.refusal for r in results if r.refusal]
        refusal = "" if merged else ";".join(refusals)
        timings = {"retrieve": sum(r.timings_ms.get("retrieve", 0.0) for r in results)}
        filters: dict[str, object] = {"region": list(parsed.regions), "missing": refusals}
        return Retrieval(tuple(merged[: self.settings.top_k + 1]), filters, refusal, timings)

    def stream(self, prep: Prepared) -> Iterator[str]:
        """Generated answer text, piece by piece (nothing when no generator applies)."""
        generator = self.state.generator
        if not prep.messages or generator is None:
            return
        t0 = time.perf_counter()
        budget = self.shapes.max_tokens(prep.form, self.settings.max_tokens)
        stop = ["\n\n"] if prep.form == "lookup" else None  # a lookup is one sentence: no explanation after it
        text, n = "", 0
        for piece in generator.stream(prep.messages, max_tokens=budget, stop=stop):
            prep.timings_ms.setdefault("first_token", (time.perf_counter() - t0) * 1000)
            yield piece
            text, n = text + piece, n + 1
            if n >= budget or ("\n" in piece and runaway(text)):  # a looping model: stop, keep what it said
                prep.cut = True
                break
        prep.timings_ms["generate"] = (time.perf_counter() - t0) * 1000

    def finalize(self, prep: Prepared, generated: str | None = None, error: str = "") -> Answer:
        """Choose the answer to show: checked generated text, else extractive, else a refusal."""
        passages = prep.passages
        degraded = str(prep.retrieval.filters.get("degraded") or "")  # vector store down: keyword search only
        notices: list[str] = [n for n in (prep.guard_notice, degraded, error) if n]
        generator = self.generator_name if prep.messages else "extractive"
        refusal = prep.refusal
        if refusal:
            if prep.extract.text:  # point at what the reports do hold (e.g. an amount but no growth rate)
                return self._answer(prep, refusal_text(prep, refusal) + "\n" + prep.extract.text, True,
                                    extract_citations(prep.extract, passages), "extractive", notices, refusal)
            return self._answer(prep, refusal_text(prep, refusal), True, (), generator, notices, refusal)
        if generated is not None and prep.messages:
            generated, context = tidy(generated, prep.cut), defang_passages(passages[:prep.context])
            checked = check_generated(generated, context)  # guard
            if leaks_prompt(checked.text, self.prompts.system):  # guard: never echo the system prompt
                prep.discard = "leak"
                notices.append("生成的回答复述了系统规则,已改用原文摘录回答。")
            elif foreign := foreign_content(checked.text, passages):  # guard: links/sponsor lines no passage holds
                prep.discard = "foreign"
                notices.append(f"生成的回答含有资料中没有的内容({foreign}),已改用原文摘录回答。")
            elif checked.refused:
                prep.discard = "refused"
                notices.append("生成模型认为资料中没有答案;以下为检索到的最相关原文摘录。")
            else:  # cite by alignment; sentences with no source or an ungrounded figure are dropped
                aligned = align(checked.text, context, " ".join((prep.standalone, *prep.parsed.expansions)))
                prep.dropped = aligned.dropped
                prep.discard = "" if aligned.kept else "no_source"
                if aligned.kept:
                    if aligned.dropped:
                        notices.append(f"生成的回答中有{len(aligned.dropped)}句在资料中找不到出处,已删去。")
                    cits = tuple(to_citation(n, passages[n - 1]) for n in aligned.cited)
                    return self._answer(prep, mark_redacted(aligned.text, prep.parsed.english), False, cits,
                                        generator, notices)
                notices.append("生成的回答在资料中找不到出处,已改用原文摘录回答。")
            generator = "extractive"
        elif prep.messages and generated is None:  # reliability fix: a failed generator answered nothing
            prep.discard = prep.discard or ("stopped" if error.startswith("已停止") else "failed")
            generator = "extractive"
        if prep.extract.redacted:
            text = "报告中该数值已被隐去(XX),无法给出具体数字。原文:" + prep.extract.text
            return self._answer(prep, text, True, extract_citations(prep.extract, passages), "extractive", notices,
                                "该数值在报告中被隐去(XX)。")
        return self._answer(prep, prep.extract.text, False, extract_citations(prep.extract, passages),
                            "extractive" if generator == "extractive" else generator, notices)

    def _answer(self, prep: Prepared, text: str, refused: bool, citations: tuple, generator: str,
                notices: list[str], reason: str = "") -> Answer:
        prep.timings_ms["total"] = (time.perf_counter() - prep.started) * 1000
        prep.timings_ms.setdefault("generate", 0.0)
        return Answer(prep.question, text, refused, citations, generator, dict(prep.timings_ms),
                      prep.standalone, reason, tuple(notices), tuple(prep.passages))

    # ------------------------------------------------------------ one call
    def run(self, question: str, turns: Sequence[str] = (), on_piece: Callable[[str], None] | None = None, *,
            filters: Filters | None = None, on_draft: Callable[[Answer], None] | None = None,
            on_status: Callable[[str], None] | None = None, generate: bool = True,
            cancel: threading.Event | None = None) -> Answer:
        """Prepare → (gate) → stream → check → fallback: the only copy of that loop.

        ``on_draft`` gets the fast extractive answer first; ``on_piece`` each generated piece;
        ``on_status`` short human status lines (queue position, reading). ``generate=False`` answers
        extractively; a set ``cancel`` stops generation and returns the draft. A failing generator
        falls back to the extractive answer with a notice.
        """
        status = on_status or (lambda _s: None)
        prep = self.prepare(question, turns, filters=filters, generate=generate)
        if not prep.messages:
            answer = self.finalize(prep)
            if on_draft is not None:
                on_draft(answer)
            return answer
        if on_draft is not None:
            on_draft(self.finalize(replace_messages(prep)))
        pieces: list[str] = []
        try:
            with self._slot(cancel, status):
                if cancel is not None and cancel.is_set():
                    return self.finalize(prep, None, "已停止生成,以下为原文摘录回答。")
                status(f"模型正在阅读{min(len(prep.passages), prep.context)}段资料…")
                for piece in self.stream(prep):
                    if cancel is not None and cancel.is_set():
                        return self.finalize(prep, None, "已停止生成,以下为原文摘录回答。")
                    pieces.append(piece)
                    if on_piece is not None:
                        on_piece(piece)
        except BusyError:
            raise  # queue full: the caller decides (the API answers 429 + Retry-After, the UI shows the draft)
        except Cancelled:  # cancelled while waiting in the queue
            return self.finalize(prep, None, "已停止生成,以下为原文摘录回答。")
        except RagError as exc:
            if isinstance(exc, ModelUnavailableError) and self.generator_name == "local":
                self.state.disable(f"extractive: local model unusable: {exc.message}")
            return self.finalize(prep, None, f"生成模型不可用,已改用原文摘录回答:{exc.message}")
        return self.finalize(prep, "".join(pieces))

    def _slot(self, cancel: threading.Event | None, status: Callable[[str], None]) -> Any:
        """The gate's slot around generation (waits in line; BusyError when the queue is full)."""
        return self.gate.slot(cancel=cancel, on_wait=lambda n: status(f"排队中,前面还有{n}个"))

    def ask(self, question: str, turns: Sequence[str] = ()) -> Answer:  # noqa: D102 - run() without callbacks
        return self.run(question, turns)

    def answer_from_passages(self, question: str, passages: Sequence[str]) -> Answer:
        """Answer from given passages (no retrieval), e.g. for the RGB benchmark (``rag.answer.given``)."""
        from rag.answer.given import answer_given

        return answer_given(self, question, passages)


def replace_messages(prep: Prepared) -> Prepared:
    """A copy of ``prep`` without the prompt: finalising it gives the extractive (draft) answer."""
    return replace(prep, messages=[], timings_ms=dict(prep.timings_ms))


def refusal_text(prep: Prepared, reason: str) -> str:
    """The user-facing refusal line (an English question gets an English lead)."""
    return f"Cannot answer from the reports (无法回答): {reason}" if prep.parsed.english else f"无法回答:{reason}"
