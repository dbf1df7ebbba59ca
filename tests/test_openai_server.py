"""OpenAIGenerator against real HTTP servers on 127.0.0.1.

- a real OpenAI-protocol server: ``python -m llama_cpp.server`` with the bundled GGUF;
- a tiny stdlib server for the failure modes a real endpoint has: too slow, garbage, bad key.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, stop_process

from rag.answer.generators import OpenAIGenerator, select_generator
from rag.answer.models import ensure_local_model, missing_parts
from rag.config import Settings
from rag.errors import ModelUnavailableError
from rag.testing import FakeOpenAIServer, unavailable

SERVER_MODULES = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context")
MISSING = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
FACTS = "资料[1]：2023年，解放区新建5G基站1200个，城镇新增就业8.6万人。"
MESSAGES = [
    {"role": "system", "content": "你是政府工作报告问答助手。只根据资料回答，用中文，一句话。"},
    {"role": "user", "content": f"{FACTS}\n\n问题：2023年解放区新建了多少个5G基站？"},
]


def settings(base_url: str, **kw: object) -> Settings:
    base: dict[str, object] = {
        "generator": "openai",
        "openai_base_url": base_url,
        "openai_api_key": "test-key",
        "openai_model": "qwen",
        "openai_timeout": 30.0,
        "openai_retries": 0,
    }
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


# ---------------------------------------------------------------- real llama.cpp server


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if MISSING or missing_parts():
        unavailable(f"llama-cpp-python[server] or model parts not installed ({MISSING}): `make install`")
    model = ensure_local_model(Settings())
    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "qwen",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
           "--verbose", "False"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}/v1"
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"llama_cpp.server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-2000:]}"
                    )
                try:
                    with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"llama_cpp.server not ready after 180 s:\n{log.read_text(errors='replace')[-2000:]}"
                    )
                time.sleep(0.5)
            yield base
        finally:
            stop_process(proc)


@pytest.mark.slow
def test_streams_a_chinese_answer_from_a_real_server(llama_server: str) -> None:
    gen = OpenAIGenerator(settings(llama_server))
    pieces = list(gen.stream(MESSAGES, max_tokens=48))
    assert len(pieces) > 1  # streamed, not one blob
    answer = "".join(pieces)
    assert "1200" in answer and any("\u4e00" <= ch <= "\u9fff" for ch in answer)


@pytest.mark.slow
def test_model_name_is_taken_from_the_server_when_not_configured(llama_server: str) -> None:
    gen, why = select_generator(settings(llama_server, openai_model=""))
    assert isinstance(gen, OpenAIGenerator) and llama_server in why
    assert gen.model == "qwen"
    assert "1200" in "".join(gen.stream(MESSAGES, max_tokens=48, stop=["。"]))


# ---------------------------------------------------------------- failure modes


@pytest.fixture(scope="module")
def bad_server() -> Iterator[str]:
    with FakeOpenAIServer() as server:
        yield server.url


def collect(base_url: str, **kw: object) -> str:
    return "".join(OpenAIGenerator(settings(base_url, **kw)).stream(MESSAGES, max_tokens=16))


def test_unreachable_endpoint_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there any more
    with pytest.raises(ModelUnavailableError, match="cannot reach") as err:
        collect(url)
    assert url in str(err.value) and "RAG_OPENAI_BASE_URL" in err.value.hint


def test_slow_endpoint_times_out(bad_server: str) -> None:
    with pytest.raises(ModelUnavailableError, match="timed out") as err:
        collect(f"{bad_server}/slow/v1", openai_timeout=0.5)
    assert f"{bad_server}/slow/v1" in str(err.value) and "RAG_OPENAI_TIMEOUT" in err.value.hint


def test_stream_stalling_midway_times_out(bad_server: str) -> None:
    gen = OpenAIGenerator(settings(f"{bad_server}/stall/v1", openai_timeout=0.5))
    pieces = gen.stream(MESSAGES, max_tokens=16)
    assert next(pieces) == "2023年"
    with pytest.raises(ModelUnavailableError, match="timed out"):
        next(pieces)


@pytest.mark.parametrize("mode", ["html", "bad-sse"])
def test_non_openai_replies_are_reported(bad_server: str, mode: str) -> None:
    with pytest.raises(ModelUnavailableError) as err:
        collect(f"{bad_server}/{mode}/v1")
    assert f"{bad_server}/{mode}/v1" in str(err.value) and "RAG_OPENAI_BASE_URL" in err.value.hint


def test_rejected_key_points_at_the_setting(bad_server: str) -> None:
    with pytest.raises(ModelUnavailableError, match="rejected the API key") as err:
        collect(f"{bad_server}/auth/v1")
    assert err.value.hint == "set RAG_OPENAI_API_KEY"


def test_wrong_path_is_a_404_with_a_hint(bad_server: str) -> None:
    with pytest.raises(ModelUnavailableError, match="404") as err:
        collect(f"{bad_server}/nowhere")
    assert "/v1" in err.value.hint


def test_server_listing_no_models_needs_a_model_name(bad_server: str) -> None:
    with pytest.raises(ModelUnavailableError, match="lists no models"):
        collect(f"{bad_server}/empty/v1", openai_model="")


def test_garbage_model_list_is_reported(bad_server: str) -> None:
    with pytest.raises(ModelUnavailableError, match="html/v1"):
        collect(f"{bad_server}/html/v1", openai_model="")


def test_local_model_dir_is_not_touched(tmp_path: Path) -> None:
    """Choosing the OpenAI backend never builds or loads the local model."""
    s = settings("http://127.0.0.1:9/v1", model_dir=tmp_path / "models")
    gen, _ = select_generator(s)
    assert isinstance(gen, OpenAIGenerator) and not (tmp_path / "models").exists()
