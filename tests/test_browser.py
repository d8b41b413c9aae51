"""The app in a real browser: ``streamlit run`` on the fixture index, driven by Chromium.

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it) and Playwright's
Python package.  Saves a screenshot of an answer to ``docs/screenshot-fixture.png``.
"""

from __future__ import annotations

import contextlib
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from eval import loopback

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshot-fixture.png"
QUESTION = "Do I have to tell customers they're talking to a bot?"
HOSTILE_REF = "Guidelines C(2026) 5054, para. 15"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions",
                 "--no-first-run", "--mute-audio"]


@contextlib.contextmanager
def streamlit_app(settings, log_path: Path, **env: str):
    """``streamlit run app.py`` over the index of ``settings``, kept apart from the
    developer's environment (no Chroma server, today's law, no admin token); ``env`` adds or
    overrides variables.  Yields its URL once healthy, stops it after."""
    isolated = {"KB_COLLECTION": "kb", "CHROMA_HOST": "", "KB_AS_OF": "", "KB_ADMIN_TOKEN": ""}
    with loopback.streamlit_app(settings, log_path, **{**isolated, **env}) as url:
        yield url


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
