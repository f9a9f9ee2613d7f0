"""Shared fixtures for browser tests: Debian's Chromium driven by Playwright.

One browser and one context per test session; every test starts with the context emptied (no
pages, routes, cookies or storage) and gets a page that fails the test if the page throws (a test that
fakes time gets a context of its own: `page_with_clock`). Pages can come from the live Django server
(`live_server`) or from `fake_site`, which serves HTML from the test itself under a made-up
origin without any server.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from warehouse.ingest.minify import minify_js

CHROMIUM = Path(os.environ.get("HEAPSITE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
HEAP_JS = REPO / "static" / "heap.js"


def served_heap_js() -> str:
    """heap.js as browsers get it (minified): the browser tests run the bytes that are served."""
    return minify_js(HEAP_JS.read_text(encoding="utf-8"))


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


@pytest.fixture(scope="session")
def _shared_context(browser):
    # A new context per test costs more than the cleanup below; a janitor page stays open to
    # reach the DevTools protocol for clearing storage without navigating anywhere.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    janitor = context.new_page()
    yield context, janitor, context.new_cdp_session(janitor)
    context.close()


@pytest.fixture
def browser_context(_shared_context):
    """A browser context that starts empty: no pages, routes, cookies or site storage."""
    context, janitor, cdp = _shared_context
    context.set_default_timeout(5000)
    yield context
    for page in context.pages:
        if page is not janitor:
            page.close()
    context.unroute_all(behavior="ignoreErrors")
    for origin in context.storage_state()["origins"]:
        cdp.send("Storage.clearDataForOrigin", {"origin": origin["origin"], "storageTypes": "all"})
    context.clear_cookies()


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


def _quiet_page(context):
    page = context.new_page()
    page.errors = PageErrors(page)
    return page


def _assert_quiet(page) -> None:
    assert page.errors.exceptions == [], f"the page threw: {page.errors.exceptions}"
    # The app's pages carry a Content-Security-Policy: anything it refused broke something.
    refused = [error for error in page.errors.console_errors if "Content Security Policy" in error]
    assert refused == [], f"the Content-Security-Policy refused: {refused}"


@pytest.fixture
def page(browser_context):
    page = _quiet_page(browser_context)
    yield page
    _assert_quiet(page)


@pytest.fixture
def page_with_clock(browser):
    """A page like `page`'s whose timers run on Playwright's clock (installed, not paused yet), in a browser context
    of its own: the clock belongs to the whole context and cannot be taken out again."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.set_default_timeout(5000)
        context.clock.install()
        page = _quiet_page(context)
        yield page
        _assert_quiet(page)
    finally:
        context.close()


def log_in(context, base_url: str, user) -> None:
    """Give the browser context `user`'s session on the server at base_url (a login Django made)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])


# `manage.py <arguments>`, once Python, Django and the sync job's modules are loaded and a line comes on stdin.
_MANAGE_PY_WHEN_TOLD = """
import os, runpy, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")
from heapsite.embedded import ensure_services
ensure_services()
import django
django.setup()
import django_rq.management.commands.rqworker, warehouse.jobs, warehouse.sync.engine
sys.stdin.readline()
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


class WarmWorker:
    """A real RQ worker, `manage.py rqworker <queues> --burst` in its own process on the test database, started
    ahead: Python, Django and the sync's modules load while the test drives the browser (about a second saved per
    sync); it looks at its queues only once `start()` is called, so a job stays queued until then."""

    def __init__(self, *queues: str, **env: str):
        from tests.warehouse.sync.conftest import worker_env

        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", _MANAGE_PY_WHEN_TOLD, "rqworker", *queues, "--burst"],
            cwd=REPO,
            env=worker_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def start(self) -> None:
        try:
            self.process.stdin.write("go\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died while loading: wait() shows why

    def wait(self, timeout: float) -> str:
        """Wait for the burst worker to run out of jobs and exit; its output."""
        output, _ = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, f"the RQ worker failed:\n{output}"
        return output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


class FakeSite:
    """Serves test-provided HTML without a server, at http://shop.test (where it also serves
    static/heap.js and 404s) or at another origin such as the live server's, where only the added
    paths are intercepted and everything else reaches the server."""

    def __init__(self, context, origin: str = "http://shop.test"):
        self.context = context
        self.origin = origin
        if origin == FakeSite.default_origin:
            context.route(f"{origin}/**", self._serve_other)

    default_origin = "http://shop.test"

    def add(self, path: str, html: str) -> str:
        url = self.origin + path
        pattern = re.compile(re.escape(url) + r"([?#].*)?$")
        self.context.route(pattern, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        return url

    def _serve_other(self, route):
        if urlsplit(route.request.url).path == "/static/heap.js":
            route.fulfill(status=200, content_type="application/javascript", body=served_heap_js())
        else:
            route.fulfill(status=404, content_type="text/plain", body="not found")


@pytest.fixture
def fake_site(browser_context) -> FakeSite:
    return FakeSite(browser_context)


def pytest_collection_modifyitems(config, items):
    # Everything under tests/e2e drives Chromium: `-m "not e2e"` skips the lot while iterating.
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
