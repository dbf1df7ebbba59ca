"""10 concurrent Streamlit sessions in real headless Chromium: asking, uploading and re-indexing at once.

One ``streamlit run app.py`` (the local model by default) over a private copy of the seed index and
corpus; ten browser contexts (separate sessions) start together:

- eight ask two questions each, every question with its own expected figure (from evals/seed_questions):
  each page must show its own answers (the figure) and exactly its own messages — another session's
  question or an extra message on a page means answers crossed sessions;
- one uploads a new report on the knowledge-base page, one presses Re-index (the index's writer lock
  lets one of them run; the other must get a clear message, not a crash).

Measured per question in the browser: send → the cited extractive answer visible (retrieval +
extractive answer + Streamlit round trip, while the model generates for another session) and send →
final answer. Also: Streamlit exceptions on any page, the server process alive at the end and its peak
RSS. Results go to benchmarks/load_ui.json and .md.

    python -m benchmarks.load_ui                         # 10 sessions, local model (~10 min on 2 cores)
    python -m benchmarks.load_ui --sessions 3 --generator extractive --questions 1   # the CI smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.stats import nearest_rank
from rag.config import REPO_ROOT

OUT = REPO_ROOT / "benchmarks"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# (question, a figure only this question's answer holds)
QUESTIONS = [
    ("仓山区2023年地区生产总值是多少?", "1065"), ("仓山区2023年一般公共预算总收入是多少?", "41.2"),
    ("仓山区2023年社会消费品零售总额是多少?", "575.2"), ("仓山区2024年地区生产总值预期增长多少?", "5.5"),
    ("台江区2021年地区生产总值是多少?", "677.77"), ("仓山区2024年人均公园绿地面积要达到多少?", "15.83"),
    ("仓山区2023年实际利用外资多少?", "1.43"), ("解放区2023年地区生产总值完成多少?", "177.3"),
    ("仓山区2023年新增中小学学位多少个?", "6060"), ("台江区2022年第三产业增加值增长目标是多少?", "8.3"),
    ("仓山区2023年居民人均可支配收入是多少?", "53072"), ("仓山区2024年力争培育高新技术企业多少家?", "65"),
    ("台江区2021年一般公共预算总收入是多少?", "26.25"), ("仓山区2023年空气质量优良率是多少?", "99.1"),
    ("仓山区2024年技术合同认定成交额目标是多少?", "12亿"), ("台江区2022年城镇居民人均可支配收入增长目标是多少?", "7.7"),
]
UPLOAD = "2024年鼓楼区政府工作报告\n\n2024年主要预期目标\n\n地区生产总值增长6.5%左右;城镇新增就业1.2万人。\n"


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


async def _asker(ctx: Any, url: str, qs: list[tuple[str, str]], timeout_ms: int) -> dict[str, Any]:
    ctx.set_default_timeout(timeout_ms)
    page = await ctx.new_page()
    await page.goto(url, wait_until="domcontentloaded")
    box = page.locator("textarea")
    await box.wait_for(timeout=timeout_ms)
    out: dict[str, Any] = {"draft_ms": [], "final_ms": [], "questions": [q for q, _ in qs]}
    for i, (question, figure) in enumerate(qs):
        t0 = time.perf_counter()
        await box.fill(question)
        await box.press("Enter")
        msg = page.locator("[data-testid='stChatMessage']").filter(has_text=figure)
        await msg.last.wait_for(timeout=timeout_ms)
        out["draft_ms"].append((time.perf_counter() - t0) * 1000)
        await page.locator("[data-testid='stPopoverButton'] >> visible=true").nth(i).wait_for(timeout=timeout_ms)
        out["final_ms"].append((time.perf_counter() - t0) * 1000)
    out["text"] = "\n".join(await page.locator("[data-testid='stChatMessage']").all_inner_texts())
    out["messages"] = await page.locator("[data-testid='stChatMessage']").count()
    out["exceptions"] = await page.locator("[data-testid='stException']").count()
    return out


async def _kb(ctx: Any, url: str, action: str, upload: Path, timeout_ms: int) -> dict[str, Any]:
    ctx.set_default_timeout(timeout_ms)
    page = await ctx.new_page()
    await page.goto(url + "/kb", wait_until="domcontentloaded")
    t0 = time.perf_counter()
    if action == "upload":
        await page.locator("input[type='file']").set_input_files([str(upload)])
        await page.get_by_role("button", name="导入并索引 Import").click()
        done = page.get_by_text("导入结果 Import result").or_(page.get_by_text("another ingest"))
    else:
        await page.get_by_role("button", name="重新索引 Re-index").click()
        done = page.get_by_text("重新索引结果 Re-index result").or_(page.get_by_text("another ingest"))
    try:
        await done.first.wait_for(timeout=timeout_ms)
    except Exception as exc:  # say what the page showed instead of the awaited result
        shown = (await page.locator("[data-testid='stMain']").inner_text())[-200:]
        raise RuntimeError(f"{action}: no result after {timeout_ms / 1000:.0f} s; the page shows: {shown}") from exc
    text = await page.locator("body").inner_text()
    return {"action": action, "ms": (time.perf_counter() - t0) * 1000, "busy": "another ingest" in text,
            "exceptions": await page.locator("[data-testid='stException']").count()}


async def _drive(url: str, args: argparse.Namespace, upload: Path) -> list[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        askers = max(1, args.sessions - 2)
        jobs = []
        for s in range(askers):
            qs = [QUESTIONS[(s + k * askers) % len(QUESTIONS)] for k in range(args.questions)]
            jobs.append(_asker(await browser.new_context(), url, qs, args.timeout * 1000))
        if args.sessions >= 3:
            jobs.append(_kb(await browser.new_context(), url, "upload", upload, args.timeout * 1000))
            jobs.append(_kb(await browser.new_context(), url, "reindex", upload, args.timeout * 1000))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        await browser.close()
        return list(results)


def _pct(values: list[float], q: float) -> float:
    return round(nearest_rank(values, q), 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="load-ui-"))
    shutil.copytree(REPO_ROOT / "corpus", root / "corpus")
    env = {**os.environ, "RAG_INDEX_DIR": str(root / "index"), "RAG_CORPUS_DIR": str(root / "corpus"),
           "RAG_GENERATOR": args.generator, "ANONYMIZED_TELEMETRY": "False"}
    if args.index:
        shutil.copytree(args.index, root / "index")
    else:
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(root / "corpus"), "--quiet"], env=env,
                       check=True, cwd=REPO_ROOT)
    upload = root / "鼓楼区2024年政府工作报告.txt"
    upload.write_text(UPLOAD, encoding="utf-8")
    port = args.port
    url = f"http://127.0.0.1:{port}"
    log = (root / "streamlit.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"), "--server.headless",
                             "true", "--server.port", str(port)], env=env, cwd=REPO_ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _health(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start: " + (root / "streamlit.log").read_text()[-2000:])
            time.sleep(0.5)
        t0 = time.perf_counter()
        results = asyncio.run(_drive(url, args, upload))
        wall = time.perf_counter() - t0
        alive = proc.poll() is None
        mem = _status_kb(proc.pid) if alive else {}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    askers = [r for r in results if isinstance(r, dict) and "draft_ms" in r]
    kb = [r for r in results if isinstance(r, dict) and "action" in r]
    errors = [repr(r)[:300] for r in results if isinstance(r, BaseException)]
    mixed = []  # another session's question (or an extra message) on this page = answers crossed sessions
    for r in askers:
        foreign = [q for q, _ in QUESTIONS if q not in r["questions"] and q.rstrip("?") in r["text"]]
        if foreign or r["messages"] != 2 * len(r["questions"]):
            mixed.append({"session_questions": r["questions"], "foreign": foreign, "messages": r["messages"]})
    drafts = [v for r in askers for v in r["draft_ms"]]
    finals = [v for r in askers for v in r["final_ms"]]
    return {
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "generator": args.generator, "sessions": args.sessions,
        "askers": len(askers), "questions_per_asker": args.questions, "answers": len(drafts), "wall_s": round(wall, 1),
        "load_avg": os.getloadavg(), "errors": errors, "streamlit_alive": alive,
        "streamlit_peak_rss_mb": round(mem.get("VmHWM", 0) / 1024), "mixed_answers": mixed,
        "exceptions_on_pages": sum(r["exceptions"] for r in askers + kb),
        "draft_ms": {"p50": _pct(drafts, 0.5), "p95": _pct(drafts, 0.95), "max": round(max(drafts or [0]), 1)},
        "final_ms": {"p50": _pct(finals, 0.5), "p95": _pct(finals, 0.95), "max": round(max(finals or [0]), 1),
                     "mean": round(statistics.fmean(finals), 1) if finals else 0.0},
        "knowledge_base": kb,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--questions", type=int, default=2, help="questions per asking session")
    p.add_argument("--generator", default="local")
    p.add_argument("--index", help="copy this index instead of ingesting the corpus")
    p.add_argument("--port", type=int, default=8599)
    p.add_argument("--timeout", type=int, default=900, help="seconds per wait")
    p.add_argument("--out", default=str(OUT / "load_ui.json"))
    args = p.parse_args()
    result = run(args)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    ok = result["streamlit_alive"] and not result["errors"] and not result["mixed_answers"] \
        and not result["exceptions_on_pages"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
