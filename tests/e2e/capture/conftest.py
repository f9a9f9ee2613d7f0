"""Fixtures for heap.js tests: pages carrying the real snippet, and a collector standing in for
the endpoint (Playwright routing) when a test asserts the payload rather than stored rows."""

import json
import time

import pytest
from django.template.loader import render_to_string

from tests.e2e.conftest import FakeSite

COLLECT_ORIGIN = "http://collect.test"
COLLECT_URL = f"{COLLECT_ORIGIN}/api/collect"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}


def snippet_loader() -> str:
    """The first line of the published snippet: the stub queue and the script loader."""
    html = render_to_string("demo/_snippet.html", {"snippet": {"app_id": "x", "endpoint": "x", "script": "x"}})
    return html.strip().removeprefix("<script>").splitlines()[0]


def shop_page(
    body: str, *, title: str = "Acme shop", config: dict | None = None, head: str = "", app_id: str = "1234567890"
) -> str:
    """A page with the snippet for `app_id` sending to the collector (or to config's endpoint)."""
    config = {"endpoint": COLLECT_URL, "script": f"{FakeSite.default_origin}/static/heap.js", **(config or {})}
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f"<script>{snippet_loader()}\nheap.load({json.dumps(app_id)}, {json.dumps(config)});</script>"
        f"{head}</head><body>{body}</body></html>"
    )


def open_page(page, url: str, **goto) -> None:
    page.goto(url, **goto)
    page.wait_for_function("window.heap && window.heap._loaded === true")


def flush(page) -> None:
    page.evaluate("heap._flush()")


class Collector:
    """Records every batch sent to COLLECT_URL; `responses` lists the answers to give, in order:
    a status, (status, error body), or "abort" for a network error. Then 200s."""

    def __init__(self, context):
        self.requests: list[dict] = []
        self.responses: list[int | str] = []
        context.route(f"{COLLECT_ORIGIN}/**", self._handle)

    def _handle(self, route):
        request = route.request
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        answer = self.responses.pop(0) if self.responses else 200
        answer, error = answer if isinstance(answer, tuple) else (answer, {})
        self.requests.append(
            {
                "content_type": request.headers.get("content-type", ""),
                "body": json.loads(request.post_data),
                "answered": answer,
                "resource_type": request.resource_type,
            }
        )
        if answer == "abort":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=answer, headers=CORS, content_type="application/json", body=json.dumps(error))

    @property
    def batches(self) -> list[dict]:
        return [request["body"] for request in self.requests]

    @property
    def events(self) -> list[dict]:
        """Events of the accepted batches, in the order they arrived."""
        return [event for request in self.requests if request["answered"] == 200 for event in request["body"]["events"]]

    def wait(self, page, condition, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"collector never saw the expected batches: {self.batches}")
            page.wait_for_timeout(20)

    def wait_events(self, page, count: int, timeout: float = 5.0) -> list[dict]:
        self.wait(page, lambda: len(self.events) >= count, timeout)
        return self.events


@pytest.fixture
def collector(browser_context) -> Collector:
    return Collector(browser_context)


@pytest.fixture
def site(fake_site, collector) -> FakeSite:
    return fake_site
