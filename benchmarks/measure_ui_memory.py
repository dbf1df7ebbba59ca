"""Peak memory of the chat UI process with the local model loaded, driven by a real browser.

Starts ``streamlit run app.py`` on an index (generator ``local`` unless ``--generator`` says
otherwise), asks the questions in headless Chromium one after another, waits for each answer to
finish, then reads the server process's peak RSS (``VmHWM``) from /proc. Prints one JSON object.

    .venv/bin/python benchmarks/measure_ui_memory.py --index index
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from servers import free_port, stop_process  # noqa: E402

QUESTIONS = ["仓山区2024年GDP目标", "台江区2021年实际利用外资增长了多少?", "解放区2023年城镇新增就业多少人?"]
VISIBLE_COPY_BUTTONS = ("[...document.querySelectorAll('p')].filter(e => e.innerText.trim() === '复制 Copy'"
                        " && e.offsetParent !== null).length")
LAST_USER_TEXT = ("(() => { const m = [...document.querySelectorAll(\"[data-testid='stChatMessage']\")];"
                  " return m.length >= 2 ? m[m.length - 2].innerText.trim() : ''; })()")
SCRIPT_STATE = ("(document.querySelector('[data-test-script-state]') || {getAttribute: () => ''})"
                ".getAttribute('data-test-script-state')")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def main() -> None:
    """Run the measurement and print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=REPO / "index")
    ap.add_argument("--generator", default="local")
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds per answer")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(args.index.resolve()), "RAG_GENERATOR": args.generator,
           "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    answered, seconds = 0, []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("streamlit did not start") from None
                time.sleep(0.5)
        idle = status_kb(proc.pid)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded")
            for i, question in enumerate(QUESTIONS, start=1):
                box = page.locator("textarea")
                box.wait_for(timeout=120_000)
                t0 = time.monotonic()
                box.fill(question)
                box.press("Enter")
                # an answer is finished when the script run has stopped, its action row (feedback, 复制 Copy)
                # is rendered under it (the live answer has none), and the page stays so for 3 s
                stable_since, deadline = None, time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    done = (page.evaluate(SCRIPT_STATE) == "notRunning" and page.evaluate(VISIBLE_COPY_BUTTONS) == i
                            and page.evaluate(LAST_USER_TEXT).endswith(question))
                    stable_since = (stable_since or time.monotonic()) if done else None
                    if stable_since and time.monotonic() - stable_since >= 3:
                        break
                    time.sleep(0.25)
                else:
                    raise SystemExit(f"no finished answer to {question!r} after {args.timeout} s")
                seconds.append(round(time.monotonic() - t0 - 3, 1))
                print(f"answered {question} in {seconds[-1]} s", file=sys.stderr)
                answered += 1
            browser.close()
        final = status_kb(proc.pid)
    finally:
        stop_process(proc)
    print(json.dumps({"generator": args.generator, "questions": answered, "seconds_per_answer": seconds,
                      "rss_mb_idle": round(idle["VmRSS"] / 1024, 1), "rss_mb_end": round(final["VmRSS"] / 1024, 1),
                      "peak_rss_mb": round(final["VmHWM"] / 1024, 1),
                      "measured": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False))


if __name__ == "__main__":
    main()
