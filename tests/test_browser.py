"""The app in a real browser: ``streamlit run`` on the fixture index, driven by Chromium.

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it) and Playwright's
Python package.  Saves a screenshot of an answer to ``docs/screenshot-fixture.png``.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshot-fixture.png"
QUESTION = "Do I have to tell customers they're talking to a bot?"
HOSTILE_REF = "Guidelines C(2026) 5054, para. 15"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions",
                 "--no-first-run", "--mute-audio"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, *, seconds: float = 90) -> None:
    """Poll Streamlit's health endpoint until it answers "ok" (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"streamlit did not become healthy at {url} within {seconds:.0f} s")


@contextlib.contextmanager
def streamlit_app(settings, log_path: Path, **env: str):
    """``streamlit run app.py`` on a free loopback port over the index of ``settings``
    (``env`` adds or overrides variables); yields its URL once healthy, stops it after."""
    port = free_port()
    env = {
        **os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
        "KB_DATA_DIR": str(settings.data_dir), "KB_COLLECTION": "kb", "CHROMA_HOST": "",
        "KB_AS_OF": "", "KB_ADMIN_TOKEN": "", "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT), **env,
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture()
def server(small_kb, tmp_path):
    """``streamlit run app.py`` on a free loopback port, with the fixture index."""
    with streamlit_app(small_kb, tmp_path / "streamlit.log") as url:
        yield url


def launch(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium, which "
                    ".ci/run installs (apt-get install -y chromium).")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def test_question_answered_in_browser_with_citation_card(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1600})
            page.goto(server, timeout=60_000)
            page.get_by_label("Your question").fill(QUESTION)
            page.get_by_role("button", name=re.compile(r"\bAsk$")).click()
            card = page.locator("h3", has_text="[1] Article 50(1)")
            card.wait_for(timeout=120_000)
            # Code blocks and link buttons load their scripts lazily.
            page.locator("[data-testid=stCode]").first.wait_for(timeout=60_000)
            page.get_by_role("link", name=re.compile("Official text")).first.wait_for(
                timeout=60_000)
            body = page.locator("[data-testid=stMain]").inner_text()
            assert "Providers shall ensure that AI systems intended to interact directly" in body
            assert "Article 50(1), Regulation (EU) 2024/1689" in body
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            assert SCREENSHOT.stat().st_size > 10_000

            # The hostile guideline paragraph is shown as text, never as markup.
            page.goto(f"{server}/browse?ref={urllib.request.quote(HOSTILE_REF)}",
                      timeout=60_000)
            page.get_by_text("<script>alert(1)</script>").first.wait_for(timeout=60_000)
            # Streamlit may re-render the page once more after the query parameter is read:
            # wait for the text rather than counting at one instant.
            page.locator("[data-testid=stMain]").get_by_text(
                "**[click](javascript:alert(1))**").first.wait_for(timeout=60_000)
            assert page.locator('a[href^="javascript"]').count() == 0
            assert page.locator("script", has_text="alert(1)").count() == 0
        finally:
            browser.close()
