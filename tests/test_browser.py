"""The UI in a real browser: ``streamlit run app.py`` + headless Chromium driven by playwright.

Drives what a newcomer does (issue 16): ask, click an example, set filters after a refused turn,
ask in English, send a second question while the first is generating, stop the model, upload a
junk file, delete with confirmation, run an evaluation and watch it progress, use a phone-width
window. Screenshots go to ``artifacts/screenshots/`` (CI artifacts, git-ignored); with
``RAG_UPDATE_DOCS=1`` the chat screenshot also refreshes ``docs/chat.png`` (shown in the README).

Needs Debian's chromium and a CJK font (``apt-get install -y chromium fonts-noto-cjk``). The slow
model is a real HTTP server speaking the OpenAI protocol that streams a fixed reply slowly; one
test uses the real local GGUF model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop_process

from rag.testing import FakeOpenAIServer, pieces

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LONG = 120_000  # ms: the first page load builds the pipeline (embedder, index)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install -y chromium fonts-noto-cjk")]

JUNK = b"\x00\x01\x02 not a report \xff\xfe" * 20


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
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


@contextmanager
def streamlit_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with ``env``; yields its URL; stopped by its pid."""
    port = free_port()
    full = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
            "RAG_ADMIN_PASSWORD": "", **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=full, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def app(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app on a private copy of the seed index (the knowledge-base flows change it), extractive."""
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(seed_index, root / "index")
    (root / "corpus").mkdir()
    env = {"RAG_INDEX_DIR": str(root / "index"), "RAG_CORPUS_DIR": str(root / "corpus"),
           "RAG_GENERATOR": "extractive"}
    with streamlit_app(env, root / "streamlit.log") as url:
        yield url, root


# an OpenAI-protocol endpoint streaming a grounded reply slowly (~0.4 s per piece)
SLOW_REPLY = "仓山区2024年地区生产总值预期增长5.5%左右[1]。"


@pytest.fixture(scope="module")
def slow_app(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("browser-slow") / "streamlit.log"
    with FakeOpenAIServer("reply", pieces(SLOW_REPLY, 3), delay=0.4) as llm:
        env = {"RAG_INDEX_DIR": str(seed_index), "RAG_GENERATOR": "openai", "RAG_OPENAI_BASE_URL": llm.base_url(),
               "RAG_OPENAI_MODEL": "slow", "RAG_OPENAI_API_KEY": "test", "RAG_OPENAI_RETRIES": "0"}
        with streamlit_app(env, log) as url:
            yield url


def open_page(browser: Any, url: str, width: int = 1400, height: int = 1000) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="domcontentloaded")
    return page


def ask(page: Any, question: str) -> None:
    box = page.locator("textarea")
    box.wait_for(timeout=LONG)
    box.fill(question)
    box.press("Enter")


def messages(page: Any) -> Any:
    return page.locator("[data-testid='stChatMessage']")


def answer_with(page: Any, text: str, timeout: int = LONG) -> Any:
    """The chat message holding ``text`` once the page is idle (no live answer polling)."""
    msg = messages(page).filter(has_text=text).last
    msg.wait_for(timeout=timeout)
    return msg


def answered(page: Any, n: int = 1, timeout: int = LONG) -> None:
    """Wait until ``n`` answers are final (each final answer has its Copy button; the live one has none)."""
    page.locator("[data-testid='stPopoverButton'] >> visible=true").nth(n - 1).wait_for(timeout=timeout)


def no_exception(page: Any) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def pick(page: Any, label: str, option: str) -> None:
    """Choose ``option`` in the Streamlit selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_chat_answer_with_linked_sources(browser: Any, app: tuple[str, Path]) -> None:
    page = open_page(browser, app[0])
    try:
        ask(page, "仓山区2024年GDP目标")
        answer = answer_with(page, "5.5%")
        answered(page)
        link = answer.locator("a[href^='#a']").first
        target = link.get_attribute("href") or ""
        assert target.endswith("-1") and page.locator(f"[id='{target[1:]}']").count() == 1
        text = answer.inner_text()
        assert "仓山区" in text and "score" not in text  # cards say how they matched, not a fused score
        assert "匹配 matched" in text
        messages(page).first.evaluate("e => e.scrollIntoView({block: 'start'})")  # question, answer, sources
        page.screenshot(path=str(SHOTS / "chat.png"), full_page=False)
        if os.environ.get("RAG_UPDATE_DOCS") == "1":
            (REPO / "docs").mkdir(exist_ok=True)
            page.screenshot(path=str(REPO / "docs" / "chat.png"), full_page=False)
        no_exception(page)
    finally:
        page.close()
    assert (SHOTS / "chat.png").stat().st_size > 20_000  # a rendered page, not a blank one


def test_filters_win_after_a_refused_turn(browser: Any, app: tuple[str, Path]) -> None:
    page = open_page(browser, app[0])
    try:
        ask(page, "晋安区2024年GDP增长目标是多少?")
        answer_with(page, "晋安区")  # refused: that region's report is not indexed
        answered(page)
        pick(page, "地区 Region", "仓山区")
        ask(page, "GDP增长目标是多少?")
        page.get_by_text("筛选 Filters: 仓山区").wait_for(timeout=LONG)  # shown with the question
        answer = answer_with(page, "5.5%")
        assert "晋安区" not in answer.inner_text()
        page.screenshot(path=str(SHOTS / "filters-after-refusal.png"), full_page=True)
        no_exception(page)
    finally:
        page.close()


def test_english_question(browser: Any, app: tuple[str, Path]) -> None:
    page = open_page(browser, app[0])
    try:
        ask(page, "What was the GDP growth target of 仓山区 for 2024?")
        answer = answer_with(page, "5.5%")
        assert "仓山区" in answer.inner_text()
        page.screenshot(path=str(SHOTS / "english.png"), full_page=True)
        no_exception(page)
    finally:
        page.close()


def test_example_question_at_phone_width(browser: Any, app: tuple[str, Path]) -> None:
    page = open_page(browser, app[0], width=400, height=900)
    try:
        page.locator("h1").filter(has_text="政府工作报告问答").first.wait_for(timeout=LONG)
        # the title's text is one line high (polled: Streamlit may re-render the heading while fonts load)
        page.wait_for_function(
            "() => { const h = [...document.querySelectorAll('h1')].find(e => e.textContent.includes('政府工作报告问答'));"
            " if (!h) return false; const t = h.querySelector('[data-heading-text]') || h;"
            " const r = t.getBoundingClientRect(), st = getComputedStyle(t);"
            " const line = parseFloat(st.lineHeight) || parseFloat(st.fontSize) * 1.3;"
            " return r.width > 0 && r.height < line * 1.5; }", timeout=15_000)
        sidebar = page.locator("[data-testid='stSidebar']").bounding_box()
        assert sidebar is None or sidebar["x"] + sidebar["width"] <= 1  # collapsed: not over the content
        example = page.locator("[data-testid='stButton'] button").filter(has_text="GDP").first
        example.click()  # an example question is one click away
        answer_with(page, "%")
        page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400  # nothing wider than the phone
        no_exception(page)
    finally:
        page.close()


def test_junk_upload_removed_and_delete_with_confirmation(browser: Any, app: tuple[str, Path]) -> None:
    url, root = app
    good = root / "鼓楼区2024年政府工作报告.txt"
    good.write_text("2024年鼓楼区政府工作报告\n\n2024年主要预期目标\n\n地区生产总值增长6.5%左右;"
                    "城镇新增就业1.2万人。\n", encoding="utf-8")
    junk = root / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + JUNK)
    page = open_page(browser, url + "/kb")
    try:
        page.get_by_text("RAG_ADMIN_PASSWORD").first.wait_for(timeout=LONG)  # anyone may change the KB: said
        page.locator("input[type='file']").set_input_files([str(good), str(junk)])
        page.get_by_role("button", name="导入并索引 Import").click()
        page.get_by_text("导入结果 Import result").wait_for(timeout=LONG)
        assert [p.name for p in (root / "corpus" / "uploads").iterdir()] == [good.name]  # junk not kept
        reason = page.locator("[data-testid='stAlert']").filter(has_text="junk.pdf")
        reason.wait_for()  # its reason, in full, without the server's path
        assert str(root) not in reason.inner_text()
        page.screenshot(path=str(SHOTS / "kb-upload.png"), full_page=True)
        # delete the upload: choose it, Delete…, confirm
        chooser = page.get_by_role("combobox", name="要删除的文档 Documents to delete")
        chooser.click(timeout=LONG)
        chooser.fill("鼓楼区")
        page.get_by_role("option").filter(has_text="鼓楼区").first.click(timeout=LONG)
        page.keyboard.press("Escape")
        page.get_by_role("button", name="删除… Delete…").click()
        page.get_by_text("确定删除这 1 篇文档").wait_for()
        assert (root / "corpus" / "uploads" / good.name).exists()  # nothing deleted before confirming
        page.screenshot(path=str(SHOTS / "kb-confirm.png"), full_page=True)
        page.get_by_role("button", name="确认删除 Confirm delete").click()
        page.get_by_text("删除结果 Deleted").wait_for(timeout=LONG)
        assert not (root / "corpus" / "uploads" / good.name).exists()
        no_exception(page)
    finally:
        page.close()


def test_eval_run_shows_live_progress(browser: Any, app: tuple[str, Path]) -> None:
    page = open_page(browser, app[0] + "/eval")
    try:
        page.get_by_role("button", name="运行 Run").click(timeout=LONG)
        progress = page.get_by_text("题 cases ·").first
        progress.wait_for(timeout=LONG)  # per-case progress while it runs
        page.screenshot(path=str(SHOTS / "eval-progress.png"), full_page=True)
        page.get_by_text("准确率 accuracy").first.wait_for(timeout=300_000)
        page.screenshot(path=str(SHOTS / "eval-result.png"), full_page=True)
        no_exception(page)
    finally:
        page.close()


def test_question_sent_while_generating_is_queued_and_stop(browser: Any, slow_app: str) -> None:
    page = open_page(browser, slow_app)
    try:
        ask(page, "仓山区2024年GDP目标")
        page.get_by_role("button", name="停止生成 Stop").wait_for(timeout=LONG)
        answer_with(page, "5.5%")  # the quick answer is there while the model writes
        ask(page, "那固定资产投资呢?")  # sent during generation
        page.get_by_text("排队中").first.wait_for(timeout=10_000)
        page.screenshot(path=str(SHOTS / "queued.png"), full_page=True)
        answered(page, 2)  # both answered
        texts = [m.inner_text() for m in messages(page).all()]
        assert len(texts) == 4 and "5.5%" in texts[1] and "固定资产投资" in texts[2]
        # Stop: the quoted answer stays the answer, with one line saying so
        ask(page, "仓山区2024年GDP目标")
        page.get_by_role("button", name="停止生成 Stop").click(timeout=LONG)
        stands = page.locator("[data-testid='stAlert']").filter(has_text="The answer above stands")
        stands.wait_for(timeout=LONG)  # one line says the quoted answer stands (no contradicting warning)
        assert page.get_by_role("button", name="停止生成 Stop").count() == 0
        page.screenshot(path=str(SHOTS / "stopped.png"), full_page=True)
        no_exception(page)
    finally:
        page.close()
