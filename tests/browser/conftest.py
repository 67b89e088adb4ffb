"""Fixtures for driving the built book in Debian's Chromium with Playwright.

The book in `_build/html` (or `$CNNBOOK_BOOK_HTML`) is served on 127.0.0.1 from a thread of the
test process. Every page records its console errors, uncaught exceptions, failed requests and
HTTP errors; any request to another host is aborted and recorded too, so a test fails if the
site is not self-contained. Screenshots go to `test-artifacts/` (gitignored).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK_HTML = Path(os.environ.get("CNNBOOK_BOOK_HTML", ROOT / "_build" / "html"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CNNBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCAL_SCHEMES = ("blob:", "data:")


def book_pages() -> list[str]:
    """Every HTML page of the built book, relative to its root (not the redirecting index)."""
    if not (BOOK_HTML / "book" / "intro.html").exists():
        return []
    skip = {"index.html", "genindex.html"}
    return sorted(str(p.relative_to(BOOK_HTML)) for p in BOOK_HTML.rglob("*.html")
                  if not p.relative_to(BOOK_HTML).parts[0].startswith(("_", ".")) and p.name not in skip
                  and "webpack-macros" not in p.name)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output for failures
        pass


@pytest.fixture(scope="session")
def book_url():
    if not (BOOK_HTML / "book" / "intro.html").exists():
        pytest.fail(f"no built book in {BOOK_HTML}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(BOOK_HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `apt-get install -y chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What went wrong while a page loaded and ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"uncaught exception: {m}" for m in self.page_errors]
                + [f"failed request: {m}" for m in self.failed_requests]
                + [f"request to another host (aborted): {m}" for m in self.external_requests])


@pytest.fixture
def open_page(browser, book_url):
    """`open_page(path, viewport=DESKTOP) -> (page, log)`: a fresh page, loaded and settled."""
    contexts = []

    def _open(path: str, viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, service_workers="block")
        contexts.append(context)
        page = context.new_page()
        log = PageLog()

        def route(route):
            url = route.request.url
            if url.startswith(book_url + "/") or url.startswith(LOCAL_SCHEMES):
                route.continue_()
            else:
                log.external_requests.append(url)
                route.abort()

        page.route("**/*", route)
        page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: None if r.url in log.external_requests
                else log.failed_requests.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: log.failed_requests.append(f"{r.url} (HTTP {r.status})")
                if r.status >= 400 else None)
        page.goto(f"{book_url}/{path}", wait_until="load")
        settle(page)
        return page, log

    yield _open
    for context in contexts:
        context.close()


def settle(page) -> None:
    """Wait for MathJax's typesetting and the widgets' first render, where the page has them."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise"
        " || (MathJax.startup.promise.then(() => { window.__mathjaxDone = true; }), window.__mathjaxDone)",
        timeout=30_000,
    )
    views = page.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
    if views:
        # the html-manager replaces each view's script tag with the rendered widget
        page.wait_for_function("() => document.querySelectorAll('.widget-subarea, .jupyter-widgets').length > 0",
                               timeout=30_000)
        page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
