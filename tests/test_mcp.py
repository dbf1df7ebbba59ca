"""``rag mcp`` driven by the official ``mcp`` SDK client: over stdio and over streamable HTTP.

Every tool is listed (with a description that says what the corpus holds) and called; results carry
citations; a bad argument comes back as a tool error with a clear message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from servers import free_port, rag_process

TOOLS = {"search_reports", "ask", "query_indicators", "list_reports"}


def _env(index: Path, **extra: str) -> dict[str, str]:
    return {"RAG_INDEX_DIR": str(index), "RAG_GENERATOR": "extractive", "RAG_API_KEYS": "",
            "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", **extra}


async def _exercise(server: Any) -> dict[str, Any]:
    """List and call every tool; return what came back."""
    out: dict[str, Any] = {}
    async with Client(server, read_timeout_seconds=120) as client:
        listed = (await client.list_tools()).tools
        out["tools"] = {t.name: t for t in listed}
        out["ask"] = await client.call_tool("ask", {"question": "仓山区2024年GDP目标"})
        out["refusal"] = await client.call_tool("ask", {"question": "台江区2024年GDP目标"})
        out["search"] = await client.call_tool("search_reports", {"query": "GDP增长目标", "region": "台江区",
                                                                  "top_k": 3})
        out["facts"] = await client.call_tool("query_indicators", {"region": "仓山区", "indicator": "GDP",
                                                                   "kind": "target"})
        out["bad_kind"] = await client.call_tool("query_indicators", {"kind": "wish"})
        out["reports"] = await client.call_tool("list_reports", {})
    return out


def _check(out: dict[str, Any]) -> None:
    assert set(out["tools"]) == TOOLS
    for tool in out["tools"].values():
        assert "仓山区" in tool.description and "2024" in tool.description  # says what the corpus holds
    assert set(out["tools"]["search_reports"].input_schema["properties"]) == {"query", "region", "year", "top_k"}
    assert out["tools"]["search_reports"].input_schema["required"] == ["query"]

    ask = out["ask"].structured_content
    assert not out["ask"].is_error and "5.5%[1]" in ask["answer"] and ask["refused"] is False
    cit = ask["citations"][0]
    assert cit["region"] == "仓山区" and cit["year"] == 2024 and "5.5%" in cit["text"] and cit["end"] > cit["start"]
    assert "5.5%[1]" in out["ask"].content[0].text  # the same JSON as text, for clients without structured output

    refusal = out["refusal"].structured_content
    assert refusal["refused"] is True and refusal["citations"] == [] and "2022" in refusal["refusal_reason"]

    passages = out["search"].structured_content["passages"]
    assert len(passages) == 3 and {p["region"] for p in passages} == {"台江区"}
    assert all(p["source"] and p["section"] is not None and p["text"] for p in passages)

    facts = out["facts"].structured_content["facts"]
    assert facts and all(f["indicator"] == "地区生产总值" and f["kind"] == "target" for f in facts)
    assert all(f["value_text"] in f["citation"]["text"] for f in facts)

    assert out["bad_kind"].is_error and "unknown kind 'wish'" in out["bad_kind"].content[0].text

    reports = out["reports"].structured_content
    assert {"仓山区", "台江区", "解放区"} <= {r["region"] for r in reports["regions"]}
    assert len(reports["documents"]) == 5


def test_stdio_lists_and_calls_every_tool(seed_index: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.cli", "mcp"],
                                   env={"PATH": "/usr/bin:/bin", **_env(seed_index)})
    _check(anyio.run(_exercise, params))


@pytest.fixture(scope="module")
def http_mcp(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "mcp.log"
    with rag_process(["mcp", "--transport", "http", "--port", str(port)], _env(seed_index, RAG_API_KEYS="k-mcp"),
                     f"http://127.0.0.1:{port}/healthz", str(log)):
        yield f"http://127.0.0.1:{port}/mcp"


def test_streamable_http_lists_and_calls_every_tool(http_mcp: str) -> None:
    async def run() -> dict[str, Any]:
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer k-mcp"}, timeout=120) as http:
            return await _exercise(streamable_http_client(http_mcp, http_client=http))

    _check(anyio.run(run))


def test_streamable_http_needs_the_key(http_mcp: str) -> None:
    resp = httpx2.post(http_mcp, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                       headers={"Accept": "application/json, text/event-stream"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_api_key"
