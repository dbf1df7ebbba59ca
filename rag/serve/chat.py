"""``/v1/chat/completions``: a conversation → one ``Pipeline.run`` in a worker thread → JSON or SSE.

The pipeline is blocking (retrieval, then the model through the generation gate), so each chat runs
in its own thread and reports back through an asyncio queue: ``status`` lines (queue position),
``piece``s of generated text, then ``done`` (the checked ``Answer``) or ``error``. The event loop
stays free for ``/v1/search`` and the rest while the model works.

Streaming: the response starts only after the first event, so a full queue is still a plain 429
with ``Retry-After``. Pieces go out as they come; when the checked answer differs from what was
streamed (a figure not in the cited passages → the extractive answer), the notice and the answer
shown instead follow, so the client ends with what a non-streaming call returns. A client that
goes away sets the run's cancel event: a waiting request leaves the queue, a generating one stops
and frees the model.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from rag.answer.gate import BusyError
from rag.errors import RagError
from rag.serve.errors import ApiError, error_body, rag_error
from rag.serve.schemas import ChatRequest, chunk, completion, new_id, rag_fields, sources_text
from rag.serve.service import PROFILE_EXTRACTIVE, PROFILES, Service
from rag.types import Answer

KEEPALIVE_S = 2.0  # an SSE comment after this long without events (keeps proxies open, notices gone clients)
Event = tuple[str, Any]


def conversation(req: ChatRequest, max_chars: int) -> tuple[str, list[str]]:
    """The question (the last user message) and the earlier user turns, checked."""
    if req.model not in PROFILES:
        raise ApiError(404, f"unknown model {req.model!r}: use one of {', '.join(PROFILES)} (GET /v1/models)",
                       code="model_not_found", param="model")
    if not req.messages:
        raise ApiError(400, "'messages' is empty: send at least one user message", code="empty_messages",
                       param="messages")
    if req.messages[-1].role != "user":
        raise ApiError(400, f"the last message must come from the user (got role {req.messages[-1].role!r})",
                       code="invalid_messages", param="messages")
    users = [m.text().strip() for m in req.messages if m.role == "user"]
    question, turns = users[-1], [u for u in users[:-1] if u]
    if not question:
        raise ApiError(400, "the last user message has no text: send a question", code="empty_question",
                       param="messages")
    size = len(question) + sum(len(t) for t in turns)
    if size > max_chars:
        raise ApiError(400, f"the conversation is too long: {size} characters of user messages, at most {max_chars} "
                            "(RAG_MAX_INPUT_CHARS); send fewer or shorter turns", code="context_length_exceeded",
                       param="messages")
    return question, turns


class ChatRun:
    """One answer computed in a worker thread; events arrive on ``self.events``."""

    def __init__(self, service: Service, req: ChatRequest, question: str, turns: list[str]) -> None:
        self.cancel = threading.Event()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._args = (service, req, question, turns)
        threading.Thread(target=self._work, name="rag-chat", daemon=True).start()

    def _put(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the server is shutting down: nobody listens any more
            self.cancel.set()

    def _work(self) -> None:
        service, req, question, turns = self._args
        try:
            answer = service.ask(question, turns, generate=req.model != PROFILE_EXTRACTIVE,
                                 filters=service.filters(req.region, req.year),
                                 on_piece=lambda p: self._put("piece", p),
                                 on_status=lambda s: self._put("status", s), cancel=self.cancel)
            self._put("done", answer)
        except Exception as exc:  # handed to the event loop, which answers with an error body
            self._put("error", exc)


def api_error(exc: BaseException) -> ApiError:
    """What the client is told about a failed run."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RagError):
        return rag_error(exc)
    return ApiError(500, "internal server error: the answer could not be computed (see the server log)",
                    code="internal_error")


def shown_text(answer: Answer, streamed: str, sources: bool) -> str:
    """What follows the streamed pieces so the client ends with the checked answer (and its sources)."""
    if not streamed:
        tail = answer.answer
    elif answer.answer == streamed:
        tail = ""
    else:  # the generated text was replaced: say why, then show the answer that stands
        tail = "\n\n" + "\n".join(f"注意:{n}" for n in answer.notices) + "\n" + answer.answer
    return tail + (sources_text(answer) if sources else "")


async def complete(service: Service, req: ChatRequest, request: Request, question: str,
                   turns: list[str]) -> dict[str, Any]:
    """The non-streaming answer; a client that disconnects cancels the run."""
    run = ChatRun(service, req, question, turns)
    try:
        while True:
            try:
                kind, value = await asyncio.wait_for(run.events.get(), timeout=0.5)
            except TimeoutError:
                if await request.is_disconnected():
                    run.cancel.set()
                    raise ApiError(499, "the client closed the request") from None
                continue
            if kind == "error":
                raise api_error(value)
            if kind == "done":
                text = value.answer + (sources_text(value) if req.sources else "")
                return completion(new_id(), req.model, text, value)
    finally:
        run.cancel.set()


async def start_stream(service: Service, req: ChatRequest, question: str,
                       turns: list[str]) -> AsyncIterator[str]:
    """Start the run; raise (→ a JSON error response, e.g. 429) if it fails before its first event."""
    run = ChatRun(service, req, question, turns)
    first = await run.events.get()
    if first[0] == "error":
        run.cancel.set()
        raise api_error(first[1])
    return _sse(run, first, req)


def _data(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


async def _sse(run: ChatRun, first: Event, req: ChatRequest) -> AsyncIterator[str]:
    cid, model = new_id(), req.model
    streamed: list[str] = []
    event: Event | None = first
    try:
        yield _data(chunk(cid, model, {"role": "assistant", "content": ""}))
        while True:
            if event is None:
                try:
                    event = await asyncio.wait_for(run.events.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": waiting for the model\n\n"
                    continue
            kind, value = event
            event = None
            if kind == "piece":
                streamed.append(value)
                yield _data(chunk(cid, model, {"content": value}))
            elif kind == "status":
                yield _data(chunk(cid, model, {}, status=value))
            elif kind == "done":
                tail = shown_text(value, "".join(streamed), req.sources)
                if tail:
                    yield _data(chunk(cid, model, {"content": tail}))
                yield _data(chunk(cid, model, {}, "stop", answer=value.answer, **rag_fields(value)))
                yield "data: [DONE]\n\n"
                return
            else:  # an error after the response started: an error event, as OpenAI streams do
                err = api_error(value)
                if isinstance(value, BusyError):
                    err.message += " (the request was queued, then refused)"
                yield _data(error_body(err.status, err.message, err.code, err.param))
                yield "data: [DONE]\n\n"
                return
    finally:  # normal end, or the client went away (the stream task is cancelled): free the model
        run.cancel.set()
