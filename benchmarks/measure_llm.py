"""Measure the local generator: load time, time to first token (cold / cached system prefix), tok/s.

Prints one JSON object. The prompt is a RAG-shaped chat: a fixed system prompt plus a user message
made of report text from corpus/ and a question, about ``--prompt-tokens`` tokens in all. The
second and third calls keep the system prompt and change the user message, as the app does, so
llama.cpp can reuse the KV cache of the system prompt; the fourth repeats the third exactly.

    .venv/bin/python benchmarks/measure_llm.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.answer.generators import LocalGenerator, Message  # noqa: E402
from rag.config import get_settings  # noqa: E402

SYSTEM = (
    "你是政府工作报告问答助手。请只根据用户提供的资料回答问题，不要使用资料以外的知识。"
    "回答要求：1. 用简体中文，先给出直接答案，再用一两句话说明依据；"
    "2. 数字必须与资料完全一致，并保留单位（如亿元、万人、%、个百分点）；"
    "3. 每个事实后用[编号]标注出处，编号对应资料序号；"
    "4. 区分“预期目标”和“实际完成”，区分不同年份和不同地区；"
    "5. 资料中被隐去的数值（如XX、××）视为未知，不要猜测；"
    "6. 如果资料没有提到，就回答“资料中没有提到”，不要编造。"
) * 2


def corpus_text(root: Path) -> str:
    files = sorted((root / "corpus").glob("*.txt"))
    return "\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files)


def user_message(gen: LocalGenerator, text: str, offset: int, budget: int, question: str) -> str:
    """Numbered passages cut from ``text`` starting at ``offset`` until ``budget`` tokens."""
    passages: list[str] = []
    pos, n = offset, 1
    while gen.count_tokens("\n".join(passages)) < budget and pos < len(text):
        passages.append(f"资料[{n}]：" + text[pos : pos + 160].replace("\n", ""))
        pos, n = pos + 160, n + 1
    return "\n".join(passages) + f"\n\n问题：{question}"


def timed(gen: LocalGenerator, messages: list[Message], max_tokens: int) -> dict[str, float | int]:
    start = time.perf_counter()
    first = None
    pieces = []
    for piece in gen.stream(messages, max_tokens=max_tokens):
        if first is None:
            first = time.perf_counter() - start
        pieces.append(piece)
    total = time.perf_counter() - start
    n_out = gen.count_tokens("".join(pieces))
    ttft = first if first is not None else total
    return {
        "ttft_s": round(ttft, 3),
        "total_s": round(total, 3),
        "output_tokens": n_out,
        "gen_tok_per_s": round((n_out - 1) / (total - ttft), 2) if n_out > 1 and total > ttft else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=600)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()

    settings = get_settings(llm_threads=args.threads, temperature=0.0)
    gen = LocalGenerator(settings)
    start = time.perf_counter()
    gen.load()
    load_s = time.perf_counter() - start

    text = corpus_text(Path(__file__).resolve().parent.parent)
    sys_tokens = gen.count_tokens(SYSTEM)
    budget = max(args.prompt_tokens - sys_tokens - 30, 50)
    questions = ["2023年地区生产总值是多少？", "城镇新增就业多少人？", "2024年的主要预期目标有哪些？"]
    prompts = [
        [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user_message(gen, text, 2000 * i, budget, q)},
        ]
        for i, q in enumerate(questions)
    ]
    prompt_tokens = [gen.count_tokens(_render(p)) for p in prompts]

    cold = timed(gen, prompts[0], args.max_tokens)
    warm = [timed(gen, p, args.max_tokens) for p in prompts[1:]]
    same = timed(gen, prompts[2], args.max_tokens)
    gen_rates = [r["gen_tok_per_s"] for r in (cold, *warm, same) if r["gen_tok_per_s"]]
    print(
        json.dumps(
            {
                "model": str(gen.llama.model_path),
                "threads": args.threads,
                "n_ctx": settings.llm_ctx,
                "load_s": round(load_s, 2),
                "system_prompt_tokens": sys_tokens,
                "prompt_tokens": prompt_tokens,
                "cold": cold,
                "cached_system_prefix": warm,
                "identical_prompt_again": same,
                "prompt_eval_tok_per_s_cold": round(prompt_tokens[0] / float(cold["ttft_s"]), 1),
                "gen_tok_per_s_mean": round(sum(gen_rates) / len(gen_rates), 2) if gen_rates else 0.0,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


def _render(messages: list[Message]) -> str:
    """The prompt text the chat template produces (ChatML for Qwen), for counting tokens."""
    parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


if __name__ == "__main__":
    main()
