"""``rag serve`` under contention: one answer at a time, a bounded queue (429), disconnects free the model.

The generator is the OpenAI-compatible client pointed at ``UPSTREAM`` (``rag.testing.FakeOpenAIServer``
in mode "hold"), an endpoint on 127.0.0.1 that streams a (grounded, cited) reply until the test sets
``UPSTREAM.release`` — so "the model is busy"
lasts exactly as long as the test needs, with no timing assumptions. Everything between the
openai client and that endpoint (uvicorn, the API, the gate, the pipeline) is the real code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from servers import free_port, rag_process

from rag.testing import FakeOpenAIServer

QUESTION = "台江区2022年固定资产投资目标"


# streams 「根据资料[1],」, then a space every 50 ms until ``UPSTREAM.release`` is set, then the end
UPSTREAM = FakeOpenAIServer("hold", ["根据资料[1],", "固定资产投资目标见资料[1]。"])


def reset_upstream() -> None:
    UPSTREAM.release.clear()
    UPSTREAM.requests = 0


@pytest.fixture(scope="module")
def api(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve-queue") / "serve.log"
    with UPSTREAM:
        env = {"RAG_INDEX_DIR": str(seed_index), "RAG_GENERATOR": "openai", "RAG_OPENAI_BASE_URL": UPSTREAM.base_url(),
               "RAG_OPENAI_MODEL": "upstream", "RAG_OPENAI_API_KEY": "x", "RAG_OPENAI_RETRIES": "0",
               "RAG_MAX_QUEUE": "1", "RAG_API_KEYS": "", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
        with rag_process(["serve", "--port", str(port)], env, f"http://127.0.0.1:{port}/healthz", str(log)):
            yield f"http://127.0.0.1:{port}/v1"
    UPSTREAM.release.set()


@pytest.fixture()
def client(api: str) -> Iterator[openai.OpenAI]:
    reset_upstream()
    yield openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=60)
    UPSTREAM.release.set()


def _until(cond: Callable[[], bool], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.05)


def _queue(api: str) -> dict[str, Any]:
    queue: dict[str, Any] = httpx.get(api.removesuffix("/v1") + "/healthz").json()["queue"]
    return queue


def _chat_in_thread(client: openai.OpenAI, out: dict[str, list[Any]], name: str) -> threading.Thread:
    def run() -> None:
        out[name] = list(client.chat.completions.create(model="gov-report-rag", stream=True,
                                                        messages=[{"role": "user", "content": QUESTION}]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_queue_full_gets_429_and_queued_chats_finish(api: str, client: openai.OpenAI) -> None:
    out: dict[str, list[Any]] = {}
    first = _chat_in_thread(client, out, "first")
    _until(lambda: UPSTREAM.requests == 1)  # generating
    second = _chat_in_thread(client, out, "second")
    _until(lambda: _queue(api)["waiting"] == 1)  # waiting in line (RAG_MAX_QUEUE=1)

    for stream in (True, False):
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="gov-report-rag", stream=stream,
                                           messages=[{"role": "user", "content": QUESTION}])
        assert int(info.value.response.headers["retry-after"]) >= 1
        assert info.value.response.json()["error"]["code"] == "rate_limit_exceeded"

    # retrieval-only endpoints and extractive answers do not wait for the model
    found = httpx.post(f"{api}/search", json={"query": QUESTION}, timeout=30).json()
    quick = client.chat.completions.create(model="gov-report-rag-extractive",
                                           messages=[{"role": "user", "content": QUESTION}])
    assert found["passages"] and "7%[1]" in (quick.choices[0].message.content or "")
    assert _queue(api) == {"busy": True, "waiting": 1, "max_waiting": 1}  # all that while the model was busy

    UPSTREAM.release.set()
    first.join(30)
    second.join(30)
    for name in ("first", "second"):
        final = [c for c in out[name] if c.choices and c.choices[0].finish_reason == "stop"][0].model_extra
        assert final["generator"] == "openai" and final["citations"][0]["region"] == "台江区"
        assert "资料[1]" in final["answer"]
    statuses = [(c.model_extra or {}).get("status") for c in out["second"]]
    assert "排队中,前面还有1个" in statuses
    assert UPSTREAM.requests == 2  # the refused requests never reached the model


def test_client_gone_mid_stream_frees_the_model(api: str, client: openai.OpenAI) -> None:
    body = {"model": "gov-report-rag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{api}/chat/completions", json=body, timeout=30) as resp:
        lines = resp.iter_lines()  # kept: dropping a half-read line iterator closes the connection
        for line in lines:
            if "根据资料" in line:
                break
        assert _queue(api)["busy"]
    # the upstream would stream forever (release is not set): only the disconnect can end the generation
    _until(lambda: not _queue(api)["busy"], timeout=15)
    _until(lambda: UPSTREAM.streaming == 0, timeout=15)  # and the upstream request is closed, not left running
    answer = client.chat.completions.create(model="gov-report-rag-extractive",
                                            messages=[{"role": "user", "content": QUESTION}])
    assert "7%" in (answer.choices[0].message.content or "")


def test_client_gone_while_waiting_leaves_the_queue(api: str, client: openai.OpenAI) -> None:
    out: dict[str, list[Any]] = {}
    first = _chat_in_thread(client, out, "first")
    _until(lambda: UPSTREAM.requests == 1)
    body = {"model": "gov-report-rag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{api}/chat/completions", json=body, timeout=30) as resp:
        lines = resp.iter_lines()
        for line in lines:
            if "排队中" in line:
                break
        assert _queue(api)["waiting"] == 1
    _until(lambda: _queue(api)["waiting"] == 0, timeout=15)
    UPSTREAM.release.set()
    first.join(30)
    assert out["first"] and UPSTREAM.requests == 1  # the one that left never reached the model
