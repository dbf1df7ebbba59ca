"""Pipeline.run: the one prepare → gate → stream → check → fallback loop, on the real seed index.

The generator here is a scripted stand-in (the loop's logic is what is tested); the real local model
runs in the slow end-to-end tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from rag.answer.pipeline import Pipeline
from rag.errors import ModelUnavailableError
from rag.textnorm import fold, iter_sentences
from rag.types import Answer, Filters

QUESTION = "仓山区2024年GDP目标是多少?"


class Scripted:
    """Streams a fixed reply piece by piece, or fails like a model that cannot load."""

    def __init__(self, reply: str = "", fail: bool = False, name: str = "local") -> None:
        self.reply, self.fail, self.name, self.calls = reply, fail, name, 0
        self.seen: dict[str, object] = {}

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        self.calls += 1
        self.seen = {"messages": messages, "max_tokens": max_tokens, "stop": stop}
        if self.fail:
            raise ModelUnavailableError("model file is corrupt", "reinstall")
        for i in range(0, len(self.reply), 3):
            yield self.reply[i:i + 3]


def _pipe(seed_pipeline, gen) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(seed_pipeline.settings, seed_pipeline.retriever, generator=gen)


def test_run_streams_checks_and_reports_draft(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    gen = Scripted("仓山区2024年地区生产总值预期增长5.5%左右[1]。")
    pipe = _pipe(seed_pipeline, gen)
    drafts: list[Answer] = []
    pieces: list[str] = []
    status: list[str] = []
    answer = pipe.run(QUESTION, (), pieces.append, on_draft=drafts.append, on_status=status.append)
    assert len(drafts) == 1 and drafts[0].generator == "extractive" and "5.5" in fold(drafts[0].answer)
    assert "".join(pieces) == gen.reply
    assert answer.generator == "local" and "5.5%" in fold(answer.answer) and answer.citations
    assert any("资料" in s for s in status)


def test_run_without_generation_is_extractive(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    gen = Scripted("不会被调用[1]")
    answer = _pipe(seed_pipeline, gen).run(QUESTION, generate=False)
    assert gen.calls == 0 and answer.generator == "extractive" and "5.5" in fold(answer.answer)


def test_cancel_returns_the_draft(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    gen = Scripted("仓山区2024年地区生产总值预期增长5.5%左右[1]。" * 5)

    def stop_after_first(_piece: str) -> None:
        cancel.set()

    answer = _pipe(seed_pipeline, gen).run(QUESTION, (), stop_after_first, cancel=cancel)
    assert answer.generator == "extractive" and "5.5" in fold(answer.answer) and answer.notices


def test_unusable_local_model_is_recorded_in_state_not_attributes(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    gen = Scripted(fail=True)
    pipe = _pipe(seed_pipeline, gen)
    first = pipe.run(QUESTION)
    assert first.generator == "extractive" and "corrupt" in first.notices[0] and "5.5" in fold(first.answer)
    assert pipe.generator is gen  # the configured generator is untouched
    assert pipe.generator_name == "extractive" and "unusable" in pipe.describe()["generator_reason"]
    again = pipe.run(QUESTION)
    assert gen.calls == 1 and not again.notices


def test_filters_scope_the_question(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    scoped = seed_pipeline.run("2024年GDP增长目标是多少?", filters=Filters(region="仓山区"))
    assert not scoped.refused and all(c.region == "仓山区" for c in scoped.citations)
    # the question's own region wins over the filter
    own = seed_pipeline.run("台江区2022年GDP增长目标是多少?", filters=Filters(region="仓山区"))
    assert all(c.region == "台江区" for c in own.citations)
    # a filter region the index lacks is refused by name
    missing = seed_pipeline.run("2024年GDP增长目标是多少?", filters=Filters(region="鼓楼区"))
    assert missing.refused and "鼓楼区" in missing.answer


def test_the_model_gets_examples_and_the_answer_shape_of_its_question(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    shapes = seed_pipeline.shapes
    gen = Scripted("仓山区2024年地区生产总值预期增长5.5%左右[1]。")
    pipe = _pipe(seed_pipeline, gen)
    pipe.run(QUESTION)
    msgs = gen.seen["messages"]
    assert isinstance(msgs, list) and msgs[0]["role"] == "system" and msgs[-1]["role"] == "user"
    assert list(msgs[1:-1]) == list(shapes.examples) and len(shapes.examples) >= 4  # worked examples as turns
    assert msgs[-1]["content"].endswith(shapes.line("lookup")) and QUESTION in msgs[-1]["content"]
    assert gen.seen["max_tokens"] <= 96 and gen.seen["stop"] == ["\n\n"]  # a lookup is one short sentence
    open_gen = Scripted("- 实施25项为民办实事项目[1]。")
    _pipe(seed_pipeline, open_gen).run("仓山区2024年在民生方面打算做哪些事?")
    last = open_gen.seen["messages"][-1]["content"]  # type: ignore[index]
    assert last.endswith(shapes.line("open")) and open_gen.seen["stop"] is None
    assert int(open_gen.seen["max_tokens"]) > int(gen.seen["max_tokens"])  # type: ignore[call-overload]
    english = Scripted("The target is 5.5%[1].")
    _pipe(seed_pipeline, english).run("What is Cangshan District's GDP growth target for 2024?")
    assert english.seen["messages"][-1]["content"].endswith(shapes.line("lookup", english=True))  # type: ignore[index]


def test_markdown_and_a_cut_off_last_point_are_tidied_and_the_rest_kept(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    gen = Scripted()
    pipe = _pipe(seed_pipeline, gen)
    prep = pipe.prepare("仓山区2024年在民生方面打算做哪些事?")
    spans = [p.chunk.text[a:b].strip() for p in prep.passages[:prep.context] for a, b in iter_sentences(p.chunk.text)]
    picks = [s.rstrip("。") for s in spans if len(s) > 12 and "XX" not in s and s.endswith("。") and "\n" not in s][:2]
    gen.reply = f"- **{picks[0]}**[1]。\n- {picks[1]}。\n- 做好托育服务机构培"
    streamed = "".join(pipe.stream(prep))
    prep.cut = True  # as when the token budget runs out (the stream sets it)
    answer = pipe.finalize(prep, streamed)
    assert answer.generator == "local" and not prep.discard, (answer.answer, answer.notices)
    assert "**" not in answer.answer and "托育服务机构培" not in answer.answer
    assert all(p in answer.answer for p in picks) and answer.answer.count("\n") == 1


def test_discard_reasons_are_recorded(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    for reply, reason in [("资料中没有相关信息。", "refused"), ("今天天气很好,适合去公园散步游玩。", "no_source")]:
        pipe = _pipe(seed_pipeline, Scripted(reply))
        prep = pipe.prepare(QUESTION)
        answer = pipe.finalize(prep, "".join(pipe.stream(prep)))
        assert answer.generator == "extractive" and prep.discard == reason and "5.5" in fold(answer.answer)


def test_a_looping_model_is_stopped_and_its_points_said_once(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    gen = Scripted()
    pipe = _pipe(seed_pipeline, gen)
    prep = pipe.prepare("仓山区2024年在民生方面打算做哪些事?")
    spans = [p.chunk.text[a:b].strip() for p in prep.passages[:prep.context] for a, b in iter_sentences(p.chunk.text)]
    point = next(s for s in spans if len(s) > 12 and "XX" not in s and s.endswith("。") and "\n" not in s)
    gen.reply = f"- {point}\n" * 30
    streamed = "".join(pipe.stream(prep))
    assert streamed.count("\n") <= 2 and prep.cut  # stopped at the first repeated line, not after 30
    answer = pipe.finalize(prep, streamed)
    assert answer.generator == "local" and answer.answer.count(point.rstrip("。")) == 1, answer.answer
