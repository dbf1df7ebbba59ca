"""Test doubles for the two seams tests may fake: the generator and an OpenAI-compatible endpoint.

Only for unit tests of pure logic and for endpoints that must misbehave on purpose; tests of the
real path use the real local model and the real ``llama_cpp.server``.

- ``FakeGenerator``: implements ``rag.answer.generators.Generator``; streams queued replies (one per
  call, the last one repeats) piece by piece, or raises a queued exception.
- ``FakeOpenAIServer``: a real HTTP server on 127.0.0.1 speaking the OpenAI chat protocol (SSE
  streaming) that replies, stalls, times out or sends garbage, chosen per server or per request
  path (``{url}/<mode>/v1``).
- ``unavailable(reason)``: skip a test whose data or tool is missing, but fail it under CI
  (``CI=true``), where everything is installed.

Example::

    with FakeOpenAIServer("reply", ["增长5.5%[1]。"]) as server:
        settings = get_settings(generator="openai", openai_base_url=server.base_url(), openai_model="m")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

from rag.config import get_settings


class FakeGenerator:
    """A generator that streams queued replies (``name`` as the answer's generator)."""

    def __init__(self, *replies: str | BaseException, name: str = "local", piece: int = 3) -> None:
        self.replies = list(replies) or [""]
        self.name = name
        self.piece = piece
        self.calls: list[list[dict[str, str]]] = []  # the messages of every call

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        """Yield the next reply in pieces of ``piece`` characters (or raise the queued exception)."""
        self.calls.append(messages)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        yield from pieces(reply, self.piece)


def sse(pieces: Sequence[str], done: bool = True) -> bytes:
    """An OpenAI chat-completion SSE stream of ``pieces`` (and ``data: [DONE]``)."""
    out = []
    for i, piece in enumerate(pieces):
        chunk = {"id": f"c{i}", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        out.append("data: " + json.dumps(chunk, ensure_ascii=False) + "\n\n")
    return ("".join(out) + ("data: [DONE]\n\n" if done else "")).encode("utf-8")


def pieces(text: str, size: int = 4) -> list[str]:
    """``text`` cut into streamed pieces of ``size`` characters."""
    return [text[i:i + size] for i in range(0, len(text), size)]


MODES = ("reply", "hold", "slow", "stall", "html", "bad-json", "bad-sse", "http-500", "auth", "truncated", "empty")


class FakeOpenAIServer:
    """An OpenAI-protocol endpoint that misbehaves on purpose (see ``MODES``).

    ``reply``: streams ``reply`` (``delay`` seconds before each piece); ``hold``: streams the first
    piece, then a space every 50 ms until ``release`` is set, then the rest (a model busy for exactly as
    long as the test wants; ``requests`` counts requests begun); ``slow``: waits ``delay``
    (default 5 s) before answering; ``stall``: one piece, then silence for ``delay`` (default 5 s);
    ``html``: a web page instead of JSON (GET and POST); ``bad-json`` / ``bad-sse``: broken bodies;
    ``http-500`` / ``auth``: error statuses; ``truncated``: the stream is cut short of its
    Content-Length; ``empty``: lists no models. A request to ``/<mode>/v1/...`` uses that mode,
    one to ``/v1/...`` the server's own; any other path is a 404.
    """

    def __init__(self, mode: str = "reply", reply: Sequence[str] = (), *, delay: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode, self.reply, self.delay = mode, list(reply), delay
        self.requests = 0
        self.release = threading.Event()
        self.streaming = 0  # "hold" streams still connected (a client that closes its stream ends one)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the server must be running)."""
        assert self._server is not None, "use the server as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, mode: str | None = None) -> str:
        """The OpenAI base URL for the server's mode, or for ``mode``."""
        return f"{self.url}/{mode}/v1" if mode else f"{self.url}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        headers_sent = False

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def _mode(self) -> str:
            first = self.path.split("/")[1]
            return first if first in MODES else (fake.mode if first == "v1" else "404")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name; /v1/models
            if self._mode() == "html":
                self._send(200, b"<html><body>502 Bad Gateway (proxy)</body></html>", "text/html")
                return
            mode = self._mode()
            if mode == "404":
                self._send(404, b'{"error": {"message": "no such route"}}', "application/json")
                return
            listed = [] if mode == "empty" else [{"id": "fake", "object": "model", "created": 0, "owned_by": "test"}]
            self._send(200, json.dumps({"object": "list", "data": listed}).encode(), "application/json")

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                fake.requests += 1
            try:
                self._answer(self._mode())
            except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                pass

        def _answer(self, mode: str) -> None:
            if mode == "404":
                self._send(404, b'{"error": {"message": "no such route"}}', "application/json")
            elif mode == "slow":
                time.sleep(5 if fake.delay is None else fake.delay)
                self._send(200, sse(fake.reply or ["太慢了"]), "text/event-stream")
            elif mode == "stall":
                self._stream((fake.reply or ["2023年"])[:1])
                time.sleep(5 if fake.delay is None else fake.delay)
            elif mode == "html":
                self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
            elif mode == "bad-json":
                self._send(200, b'{"choices": [ {"delta": ', "application/json")
            elif mode == "bad-sse":
                self._send(200, b"data: {not json at all\n\ndata: [DONE]\n\n", "text/event-stream")
            elif mode == "http-500":
                self._send(500, b'{"error": {"message": "model crashed"}}', "application/json")
            elif mode == "auth":
                err = {"error": {"message": "Invalid API key", "type": "invalid_request_error"}}
                self._send(401, json.dumps(err).encode(), "application/json")
            elif mode == "truncated":
                body = sse(fake.reply or ["地区生产总值", "增长"])[:-30]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body) + 500))  # promises more than it sends
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.connection.shutdown(2)
            elif mode == "hold":
                with lock:
                    fake.streaming += 1
                try:
                    self._stream(fake.reply[:1])
                    while not fake.release.wait(0.05):
                        self._stream([" "])
                    self._stream(fake.reply[1:], end=True)
                finally:
                    with lock:
                        fake.streaming -= 1
            else:  # reply
                self._stream(fake.reply, delay=fake.delay or 0.0, end=True)

        def _stream(self, parts: Sequence[str], delay: float = 0.0, end: bool = False) -> None:
            if not self.headers_sent:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.headers_sent = True
            for piece in parts:
                if delay:
                    time.sleep(delay)
                self.wfile.write(sse([piece], done=False))
                self.wfile.flush()
            if end:
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

    return Handler


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test (data, tool or model missing); under CI (``CI=true``) fail it instead."""
    import pytest

    if get_settings().ci:
        pytest.fail(f"{reason} (CI installs it, so this must not be skipped)", pytrace=False)
    pytest.skip(reason)
