"""``rag serve`` as a real uvicorn process, driven by the official ``openai`` client and raw HTTP.

Most tests use a server whose ``gov-report-rag`` profile is extractive (fast, deterministic).
Queueing, 429 and disconnects need generation that takes as long as the test wants: there the
generator is the OpenAI-compatible client pointed at a small upstream endpoint on 127.0.0.1 that
streams until the test releases it (the API, the gate and the pipeline are the real ones).
One slow test runs the bundled local model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from servers import free_port, rag_process

from rag.testing import unavailable

Q = "仓山区2024年GDP目标"


def _env(index: Path, **extra: str) -> dict[str, str]:
    return {"RAG_INDEX_DIR": str(index), "RAG_GENERATOR": "extractive", "RAG_API_KEYS": "",
            "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", **extra}


@pytest.fixture(scope="module")
def api(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with rag_process(["serve", "--port", str(port)], _env(seed_index), f"http://127.0.0.1:{port}/healthz", str(log)):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def client(api: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=60)


def _final(chunks: list[Any]) -> dict[str, Any]:
    last = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(last) == 1
    return dict(last[0].model_extra or {})


# ---------------------------------------------------------------- answers through the openai client
def test_models_lists_both_profiles(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["gov-report-rag", "gov-report-rag-extractive"]


@pytest.mark.parametrize("model", ["gov-report-rag", "gov-report-rag-extractive"])
def test_chat_answer_keeps_markers_and_carries_citations(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": Q}])
    content = resp.choices[0].message.content or ""
    extra = resp.model_extra or {}
    assert "5.5%[1]" in content
    assert extra["refused"] is False
    cit = extra["citations"][0]
    assert cit["id"] == 1 and cit["region"] == "仓山区" and cit["year"] == 2024
    assert cit["source"].endswith(".txt") and cit["section"] and cit["end"] > cit["start"]
    assert "5.5%" in cit["text"]
    assert "\n\n来源:\n[1] " in content  # the numbered source list under the answer


def test_streaming_sends_pieces_then_citations_in_the_final_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gov-report-rag", stream=True,
                                                 messages=[{"role": "user", "content": Q}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = _final(chunks)
    assert "5.5%[1]" in text and text.startswith(final["answer"])
    assert final["refused"] is False and final["citations"][0]["region"] == "仓山区"


def test_refusal_is_flagged(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(model="gov-report-rag",
                                          messages=[{"role": "user", "content": "台江区2024年GDP目标"}])
    extra = resp.model_extra or {}
    assert extra["refused"] is True and extra["citations"] == []
    assert "2022" in extra["refusal_reason"]  # says which years the corpus does hold
    chunks = list(client.chat.completions.create(model="gov-report-rag-extractive", stream=True,
                                                 messages=[{"role": "user", "content": "台江区2024年GDP目标"}]))
    assert _final(chunks)["refused"] is True


def test_follow_up_uses_earlier_user_turns(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": Q},
        {"role": "assistant", "content": "地区生产总值增长5.5%[1]"},
        {"role": "user", "content": "那固定资产投资呢?"},
    ]
    resp = client.chat.completions.create(model="gov-report-rag-extractive", messages=messages)
    extra = resp.model_extra or {}
    assert "仓山区" in extra["standalone_question"] and "固定资产投资" in extra["standalone_question"]
    assert "3%[1]" in (resp.choices[0].message.content or "")
    assert extra["citations"][0]["region"] == "仓山区"


def test_region_filter_and_no_sources_footer(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(model="gov-report-rag-extractive",
                                          messages=[{"role": "user", "content": "2022年GDP增长目标是多少?"}],
                                          extra_body={"region": "台江", "sources": False})
    content = resp.choices[0].message.content or ""
    assert "8%[1]" in content and "来源" not in content
    assert {c["region"] for c in (resp.model_extra or {})["citations"]} == {"台江区"}


# ---------------------------------------------------------------- errors
def _post(api: str, body: str | dict[str, Any], **kw: Any) -> httpx.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(f"{api}/chat/completions", content=data.encode(),
                      headers={"Content-Type": "application/json", **kw.pop("headers", {})}, timeout=30, **kw)


@pytest.mark.parametrize(("body", "status", "code", "says"), [
    ({"model": "gov-report-rag", "messages": []}, 400, "empty_messages", "empty"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": Q}]}, 404, "model_not_found", "gov-report-rag"),
    ({"model": "gov-report-rag", "messages": [{"role": "user", "content": "长" * 5000}]}, 400,
     "context_length_exceeded", "at most 4000"),
    ({"model": "gov-report-rag", "messages": [{"role": "user", "content": Q}, {"role": "assistant", "content": "x"}]},
     400, "invalid_messages", "last message"),
    ({"model": "gov-report-rag", "messages": [{"role": "user", "content": "  "}]}, 400, "empty_question", "no text"),
    ({"model": "gov-report-rag", "messages": [{"role": "user", "content": 42}]}, 400, "invalid_request", "content"),
    ({"model": "gov-report-rag", "messages": "hello"}, 400, "invalid_request", "messages"),
    ({"model": "gov-report-rag", "messages": [{"role": "boss", "content": Q}]}, 400, "invalid_request", "role"),
    ({"messages": [{"role": "user", "content": Q}]}, 400, "invalid_request", "missing required field 'model'"),
    ('{"model": "gov-report-rag", "messages": [', 400, "invalid_request", "not valid JSON"),
    ("", 400, "invalid_request", ""),
])
def test_bad_requests_get_openai_style_errors(api: str, body: Any, status: int, code: str, says: str) -> None:
    resp = _post(api, body)
    assert resp.status_code == status
    err = resp.json()["error"]
    assert err["code"] == code and says in err["message"] and err["type"] == "invalid_request_error"
    assert "Traceback" not in resp.text


def test_openai_client_raises_its_own_error_types(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": Q}])
    with pytest.raises(openai.BadRequestError, match="too long"):
        client.chat.completions.create(model="gov-report-rag", messages=[{"role": "user", "content": "长" * 5000}])


def test_unknown_route_and_method_and_huge_body(api: str) -> None:
    assert httpx.get(f"{api}/nothing").json()["error"]["message"].startswith("no such endpoint")
    assert httpx.delete(f"{api}/models").status_code == 405
    resp = _post(api, '{"model": "gov-report-rag", "messages": [], "pad": "' + "x" * 2_000_000 + '"}')
    assert resp.status_code == 413 and "too large" in resp.json()["error"]["message"]
    chunked = httpx.post(f"{api}/chat/completions", content=iter([b"x" * 600_000, b"y" * 600_000]),
                         headers={"Content-Type": "application/json"})  # no Content-Length: counted while read
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "body_too_large"


# ---------------------------------------------------------------- retrieval-only endpoints
def test_search_facts_reports_health(api: str) -> None:
    found = httpx.post(f"{api}/search", json={"query": "GDP增长目标", "region": "台江区", "top_k": 2}).json()
    assert len(found["passages"]) == 2 and {p["region"] for p in found["passages"]} == {"台江区"}
    first = found["passages"][0]
    assert {"score", "ranks", "source", "section", "start", "end", "text", "chunk_id"} <= first.keys()
    missing = httpx.post(f"{api}/search", json={"query": "GDP", "region": "鼓楼区"}).json()
    assert missing["passages"] == [] and "鼓楼区" in missing["refusal"]
    assert httpx.post(f"{api}/search", json={"query": "GDP", "top_k": 0}).status_code == 400
    assert httpx.post(f"{api}/search", json={"query": "  "}).json()["error"]["message"].startswith("the query is empty")

    facts = httpx.get(f"{api}/facts", params={"region": "仓山区", "indicator": "GDP", "kind": "target"}).json()
    assert facts["count"] >= 1
    row = facts["facts"][0]
    assert row["indicator"] == "地区生产总值" and row["kind"] == "target" and row["citation"]["source"]
    assert row["value_text"] in row["citation"]["text"]
    bad = httpx.get(f"{api}/facts", params={"kind": "wish"})
    assert bad.status_code == 400 and "unknown kind" in bad.json()["error"]["message"]

    reports = httpx.get(f"{api}/reports").json()
    assert {"仓山区", "台江区", "解放区"} <= {r["region"] for r in reports["regions"]}
    assert len(reports["documents"]) == 5 and reports["chunks"] > 100
    health_resp = httpx.get(api.removesuffix("/v1") + "/healthz", headers={"Origin": "http://localhost:3000"})
    assert "access-control-allow-origin" not in health_resp.headers  # no CORS unless RAG_CORS_ORIGINS says so
    health = health_resp.json()
    assert health["status"] == "ok" and health["generator"] == "extractive"


# ---------------------------------------------------------------- keys and binding
def test_api_keys_are_required_when_configured(seed_index: Path, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with rag_process(["serve", "--port", str(port)],
                     _env(seed_index, RAG_API_KEYS="k-one, k-two", RAG_CORS_ORIGINS="http://localhost:3000"),
                     f"{base}/healthz", str(tmp_path / "serve.log")):
        # a browser chat UI on the allowed origin may call the API (preflight without a key), another may not
        ok = httpx.options(f"{base}/v1/chat/completions", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = httpx.options(f"{base}/v1/chat/completions", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers
        wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="k-three", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="invalid API key"):
            wrong.models.list()
        bare = httpx.post(f"{base}/v1/search", json={"query": "GDP"})
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "missing_api_key"
        assert bare.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{base}/healthz").status_code == 200  # liveness stays open
        good = openai.OpenAI(base_url=f"{base}/v1", api_key="k-two", max_retries=0)
        resp = good.chat.completions.create(model="gov-report-rag", messages=[{"role": "user", "content": Q}])
        assert "5.5%" in (resp.choices[0].message.content or "")


def test_refuses_to_listen_publicly_without_keys(seed_index: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                         env={**_env(seed_index), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in out.stderr and "RAG_API_KEYS" in out.stderr
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- the bundled local model
@pytest.mark.slow
def test_local_model_answers_through_the_api(seed_index: Path, tmp_path: Path) -> None:
    from rag.answer.models import missing_parts

    if missing_parts():
        unavailable("the local model's parts are not installed (`make install`)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with rag_process(["serve", "--port", str(port)], _env(seed_index, RAG_GENERATOR="local"), f"{base}/healthz",
                     str(tmp_path / "serve.log"), timeout=300):
        assert httpx.get(f"{base}/healthz").json()["generator"] == "local"
        c = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=300)
        chunks = list(c.chat.completions.create(model="gov-report-rag", stream=True,
                                                messages=[{"role": "user", "content": Q}]))
    statuses = [(ch.model_extra or {}).get("status") or "" for ch in chunks]
    assert any(s.startswith("模型正在阅读") for s in statuses)  # the question went to the model
    final = _final(chunks)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    # the model's answer, or — when a figure was not in the cited passages — the extractive one with a notice
    assert "5.5%" in final["answer"] and final["citations"] and final["refused"] is False
    assert final["answer"] in text
    assert final["generator"] == "local" or final["notices"]
