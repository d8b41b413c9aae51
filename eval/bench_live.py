"""``python -m eval.bench live``: the running app as operators meet it (issue 11).

- the cost of the generation check (one ``stat`` per question) against a warm ``ask``;
- ``streamlit run app.py`` on the index of ``KB_DATA_DIR``, driven by headless Chromium: the
  first question asked as soon as the page is usable, and the next one;
- 10 browser sessions asking 10 different questions at once: errors, and whether any page
  shows another session's answer.

Numbers for notes and the README, never asserted in tests.  Needs Debian's Chromium
(``/usr/bin/chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import click

from eval.loopback import streamlit_app
from kb.assistant import Assistant
from kb.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--no-first-run"]
ANSWER = "[data-testid=stMain] h3"  # the citation cards' headings: "[1] Article 50(1)"


def generation_check(assistant: Assistant, questions: list[str]) -> tuple[float, float]:
    """(p50 µs of the check that follows ingest, p50 ms of a warm ask) in the same process."""
    assistant.warm_up()
    checks = []
    for _ in range(5000):
        started = time.perf_counter()
        assistant._current()  # noqa: SLF001 - exactly what ask() pays per question
        checks.append((time.perf_counter() - started) * 1e6)
    asks = [assistant.ask(q).timing_ms for q in questions]
    return statistics.median(checks), statistics.median(asks)


async def _ask(page, question: str) -> float:
    """Seconds from clicking Ask until the first citation card of this question shows."""
    await page.get_by_label("Your question").fill(question)
    started = time.perf_counter()
    await page.get_by_role("button", name=re.compile(r"\bAsk$")).click()
    # The cards of a previous answer stay until the new one replaces them: wait for the
    # question echo of this answer, then for its first card.
    await page.locator("[data-testid=stMain]").get_by_text(question, exact=False).first \
        .wait_for(timeout=180_000)
    await page.locator(ANSWER, has_text="[1]").first.wait_for(timeout=180_000)
    seconds = time.perf_counter() - started
    # The run is over when Streamlit's "Running…" indicator goes (no stale cards left).
    await page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=180_000)
    return seconds


async def _first_ref(page) -> str:
    text = await page.locator(ANSWER, has_text="[1]").first.inner_text()
    return re.sub(r"^\[1\]\s*", "", text.strip())


async def _first_questions(url: str, questions: list[str]) -> tuple[float, float, float]:
    """(seconds until the page is usable, first question, second question)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            started = time.perf_counter()
            await page.goto(url, timeout=180_000)
            await page.get_by_label("Your question").wait_for(timeout=180_000)
            usable = time.perf_counter() - started
            first = await _ask(page, questions[0])
            second = await _ask(page, questions[1])
            return usable, first, second
        finally:
            await browser.close()


async def _sessions(url: str, asked: list[tuple[str, str]]) -> tuple[list[float], int, int]:
    """Each (question, expected first ref) in its own browser session, all at once:
    (seconds per session, errors, pages showing another answer than their own)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in asked:
                context = await browser.new_context()
                page = await context.new_page()
                await page.goto(url, timeout=180_000)
                await page.get_by_label("Your question").wait_for(timeout=180_000)
                pages.append(page)

            async def one(page, question: str, expected: str) -> tuple[float, bool, bool]:
                try:
                    seconds = await _ask(page, question)
                    body = await page.locator("[data-testid=stMain]").inner_text()
                    error = "Traceback" in body or "Error" in await page.title()
                    return seconds, error, await _first_ref(page) != expected
                except Exception:  # noqa: BLE001 - a timeout or crash is an error to count
                    return float("nan"), True, False

            results = await asyncio.gather(*(one(p, q, ref) for p, (q, ref) in
                                             zip(pages, asked, strict=True)))
            return ([s for s, _, _ in results], sum(e for _, e, _ in results),
                    sum(m for _, _, m in results))
        finally:
            await browser.close()


@click.command()
@click.option("--sessions", default=10, show_default=True, help="Concurrent browser sessions.")
def live(sessions: int) -> None:
    """The running app: generation check cost, first question, concurrent sessions."""
    from eval.bench import _questions

    if not Path(CHROMIUM).exists():
        raise click.ClickException(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    settings = Settings.from_env()
    questions = _questions(60)
    assistant = Assistant.open(settings)
    check_us, ask_ms = generation_check(assistant, questions)
    click.echo(f"generation check p50 {check_us:.1f} µs = {check_us / 1000:.4f} ms per question "
               f"(warm ask p50 {ask_ms:.0f} ms; target <= 1 ms)")
    # Each session's question and the first citation it must show (asked in-process first).
    asked = []
    for q in questions[10:]:
        answer = assistant.ask(q)
        if answer.citations and not answer.abstained and len(asked) < sessions:
            asked.append((q, answer.citations[0].ref))
    del assistant

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with streamlit_app(settings, Path(tmp) / "streamlit.log", seconds=180) as url:
            healthy = time.perf_counter() - started
            usable, first, second = asyncio.run(_first_questions(url, questions[:2]))
            click.echo(f"app start: server healthy after {healthy:.1f} s, page usable "
                       f"{usable:.1f} s later; first question answered in {first:.2f} s, the "
                       f"next in {second:.2f} s (target first <= 1.5 s)")
            times, errors, mixed = asyncio.run(_sessions(url, asked))
            finite = [t for t in times if t == t]
            p50 = statistics.median(finite)
            click.echo(f"{len(asked)} concurrent sessions: {errors} errors, {mixed} showing "
                       f"another session's answer; answered in p50 {p50:.1f} s, "
                       f"slowest {max(finite):.1f} s (target: 0 errors, 0 mixed)")
            click.echo(f"total {time.perf_counter() - started:.0f} s; load average "
                       f"{os.getloadavg()[0]:.1f}")
