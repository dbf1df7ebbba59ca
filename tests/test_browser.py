"""The chat page in a real browser: streamlit run + headless Chromium driven by playwright.

Needs Debian's chromium and a CJK font (``apt-get install -y chromium fonts-noto-cjk``, done by
.ci/run). Writes ``artifacts/ui-answer.png`` for a person to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from servers import free_port, stop_process

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit not healthy after {timeout} s")


@pytest.fixture()
def server(seed_index: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(seed_index), "RAG_GENERATOR": "extractive",
           "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()


def test_chat_answer_in_browser(server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    shot = REPO / "artifacts" / "ui-answer.png"
    shot.parent.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(server, wait_until="domcontentloaded")
            box = page.locator("textarea")
            box.wait_for(timeout=90_000)
            box.fill("仓山区2024年GDP目标")
            box.press("Enter")
            answer = page.locator("[data-testid='stChatMessage']").filter(has_text="5.5%").first
            answer.wait_for(timeout=90_000)
            # the citation marker links to its numbered source card, which names the report's region
            link = answer.locator("a[href^='#a']").first
            target = link.get_attribute("href") or ""
            assert target.endswith("-1")
            assert page.locator(f"[id='{target[1:]}']").count() == 1
            assert "仓山区" in answer.inner_text()
            page.screenshot(path=str(shot), full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
