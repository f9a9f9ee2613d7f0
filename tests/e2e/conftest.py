"""Shared fixtures for browser tests: Debian's Chromium driven by Playwright.

One browser per test session; every test gets a fresh context (its own cookies and storage) and
a page that fails the test if the page throws. Pages can come from the live Django server
(`live_server`) or from `fake_site`, which serves HTML from the test itself under a made-up
origin without any server.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("HEAPSITE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEAP_JS = Path(__file__).resolve().parents[2] / "static" / "heap.js"

# Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls
# from it; tests only read rows between browser steps, so that guard does not apply here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: browser tests need Debian's Chromium. "
            "Install it with `apt-get install -y chromium` (`make test` does this), "
            "or point HEAPSITE_CHROMIUM at another Chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # ORM calls made while Playwright's sync API is active use their own connection (another
        # context); close it, or the test database cannot be dropped at the end of the run.
        from django.db import connections

        connections.close_all()


@pytest.fixture
def browser_context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5000)
    yield context
    context.close()


class PageErrors:
    """Uncaught exceptions and console errors of a page, for asserting a quiet host page."""

    def __init__(self, page):
        self.exceptions: list[str] = []
        self.console_errors: list[str] = []
        page.on("pageerror", lambda error: self.exceptions.append(str(error)))
        page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.errors = PageErrors(page)
    yield page
    assert page.errors.exceptions == [], f"the page threw: {page.errors.exceptions}"


class FakeSite:
    """Serves test-provided HTML (and static/heap.js) at http://shop.test without a server."""

    origin = "http://shop.test"

    def __init__(self, context):
        self.pages: dict[str, str] = {}
        self.heap_js = HEAP_JS.read_text()
        context.route(f"{self.origin}/**", self._serve)

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def _serve(self, route):
        url = route.request.url.removeprefix(self.origin)
        path = url.split("#")[0].split("?")[0]
        if path == "/static/heap.js":
            route.fulfill(status=200, content_type="application/javascript", body=self.heap_js)
        elif path in self.pages:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.pages[path])
        else:
            route.fulfill(status=404, content_type="text/plain", body="not found")


@pytest.fixture
def fake_site(browser_context) -> FakeSite:
    return FakeSite(browser_context)
