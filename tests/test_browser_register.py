"""The Register page in a real browser: ``streamlit run`` on a copy of the fixture index with
two registered systems, driven by Chromium (see tests/test_browser.py)."""

from __future__ import annotations

import time

import pytest
from test_browser import ROOT, launch, streamlit_app

from kb.assistant import Assistant
from kb.register import Register

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)> Lead bot"
SCREENSHOT = ROOT / "docs" / "screenshot-register-fixture.png"


@pytest.fixture()
def register_server(fresh_kb, tmp_path):
    register = Register.open(fresh_kb, assistant=Assistant.open(fresh_kb))
    register.add(name="Loan scorer", owner="Credit team", by="Ann", as_of="2026-09-01",
                 description="Our bank scores loan applicants with an AI model to decide on "
                             "credit")
    register.add(name=HOSTILE, owner="Sales", by="Bo", as_of="2026-09-01",
                 description="We use a chatbot to answer customer questions about tariffs")
    with streamlit_app(fresh_kb, tmp_path / "streamlit.log", KB_REVIEWER_TOKEN="") as url:
        yield url


def test_register_table_renders_in_the_browser(register_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1200})
            page.goto(f"{register_server}/register", timeout=60_000)
            page.get_by_text("AI system register").first.wait_for(timeout=120_000)
            grid = page.locator("[data-testid=stDataFrame]").first
            grid.wait_for(timeout=60_000)
            box = grid.bounding_box()
            assert box and box["width"] > 600 and box["height"] > 100
            # The grid draws on a canvas; its accessible table carries the cells as text.
            cells = page.locator("[data-testid=stDataFrame] table").first
            deadline = time.monotonic() + 60
            while "Loan scorer" not in (cells.text_content() or "") and time.monotonic() < deadline:
                time.sleep(0.5)
            text = cells.text_content() or ""
            for expected in ("Risk level", "Next deadline", "Loan scorer", "High-risk",
                             "Credit team", HOSTILE, "Transparency duties only"):
                assert expected in text, expected
            assert page.locator("img[src=x]").count() == 0  # shown as text, never as markup
            body = page.locator("[data-testid=stMain]").inner_text()
            assert "High-risk: 1" in body
            page.screenshot(path=str(SCREENSHOT))
            # Opening a system shows its page with the quoted law.
            page.goto(f"{register_server}/register?system=1", timeout=60_000)
            page.get_by_text("Annex III, point 5(b)").first.wait_for(timeout=120_000)
            # The page renders top to bottom; the decision log is its last section.
            page.get_by_text("Decision log").first.wait_for(timeout=120_000)
            body = page.locator("[data-testid=stMain]").inner_text()
            assert "AI systems intended to be used to evaluate the creditworthiness" in body
            assert "Decision log" in body
        finally:
            browser.close()
