"""Pages in CJK with U+00A0 in their classes, through the real /api/collect: every interaction lands
exactly once, over keepalive fetches and over sendBeacon when the page is left mid-batch (issue 26).

heap.js 1.0 counted its keepalive budget in UTF-16 units: ~100 KB of CJK text per batch was a
body of ~300 KB that Chromium refused, and the retry resent it with keepalive again, for ever.
"""

import time

import pytest
from django.db import connection
from django.db.models import Count
from psycopg2 import sql

from definitions.compiler import compile_selector
from tests.e2e.conftest import FakeSite
from warehouse.models import RawEvent

from .conftest import open_page, shop_page
from .test_limits_and_retries import CJK, SEND_LOG, sends

CLASSES = "btn\u00a0primary card"  # two tokens: "btn\u00a0primary" is one (HTML splits on ASCII whitespace)


def buttons(prefix: str, count: int) -> str:
    return (
        "".join(
            f'<button id="{prefix}-{i}" class="{CLASSES}" data-label="{CJK[:20]}">{CJK} {i}</button>'
            for i in range(count)
        )
        + f'<a id="next" href="/{prefix}-next">次へ</a>'
    )


def click(page, prefix: str, numbers: range) -> None:
    page.evaluate(
        "([prefix, numbers]) => { for (const n of numbers) document.getElementById(`${prefix}-${n}`).click(); }",
        [prefix, list(numbers)],
    )


def wait_for_rows(environment, count: int, timeout: float = 15.0) -> list[RawEvent]:
    deadline = time.monotonic() + timeout
    while True:
        rows = list(RawEvent.objects.filter(environment=environment))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture
def cjk_site(page, live_server, transactional_db, make_environment):
    environment = make_environment("cjk", "production")
    site = FakeSite(page.context, origin=live_server.url)
    config = {"endpoint": f"{live_server.url}/api/collect", "script": f"{live_server.url}/static/heap.js"}
    urls = {}
    for prefix, count in (("one", 35), ("two", 25), ("three", 0)):
        body = buttons(prefix, count)
        page_html = shop_page(body, title="ショップ", config=config, app_id=environment.app_id)
        urls[prefix] = site.add(f"/{prefix}", page_html)
    site.add("/one-next", "")  # not used: navigation goes through page.goto
    page.add_init_script(SEND_LOG)
    return environment, urls


def test_every_interaction_lands_exactly_once_over_keepalive_and_beacon(page, cjk_site):
    environment, urls = cjk_site
    open_page(page, urls["one"])

    # ~100 KB of CJK text within one flush interval (~50,000 UTF-16 units, ~110,000 bytes): batches
    # close by bytes and go with keepalive.
    click(page, "one", range(30))
    assert len(wait_for_rows(environment, 31)) == 31

    # Left mid-batch, nothing else in flight: the open batch goes with sendBeacon.
    page.evaluate("heap.config.flushInterval = 10 * 60 * 1000")
    click(page, "one", range(30, 35))
    page.goto(urls["two"])
    page.wait_for_function("window.heap && window.heap._loaded === true")
    assert len(wait_for_rows(environment, 37)) == 37  # + 5 clicks + the pageview of /two

    # Left while batches are in flight and one is open: beacon, keepalive and the next page's resend
    # of what was cut off may overlap; the server stores each event id once.
    page.evaluate("heap.config.flushInterval = 10 * 60 * 1000")
    click(page, "two", range(25))
    page.goto(urls["three"])
    page.wait_for_function("window.heap && window.heap._loaded === true")
    rows = wait_for_rows(environment, 63)
    page.wait_for_timeout(500)  # late duplicates would show up now
    rows = list(RawEvent.objects.filter(environment=environment))

    clicks = [row for row in rows if row.type == "click"]
    expected = [f"one-{i}" for i in range(35)] + [f"two-{i}" for i in range(25)]
    assert sorted(row.target_id for row in clicks) == sorted(expected)
    duplicates = RawEvent.objects.filter(environment=environment).values("event_id").annotate(n=Count("id"))
    assert [entry for entry in duplicates if entry["n"] > 1] == []
    assert sorted(row.path for row in rows if row.type == "pageview") == ["/one", "/three", "/two"]
    assert len(rows) == 63
    assert all(row.target_classes == ["btn\u00a0primary", "card"] for row in clicks)
    assert all(row.target_text.startswith(CJK[:100]) for row in clicks)

    logged = sends(page)
    assert any(entry["kind"] == "fetch" and entry["keepalive"] for entry in logged)
    assert any(entry["kind"] == "beacon" and entry["handed"] for entry in logged), logged
    assert all(entry["bytes"] <= 32_000 for entry in logged), logged

    # The class with U+00A0 is one token to a selector too, as in the browser.
    predicate, params = compile_selector(".btn\\a0 primary.card", prefix="s_")
    with connection.cursor() as cursor:
        query = sql.SQL("SELECT count(*) FROM raw_events e WHERE e.environment_id = %(s_env)s AND {}")
        cursor.execute(query.format(predicate), {**params, "s_env": environment.pk})
        assert cursor.fetchone()[0] == 60
    assert page.evaluate("document.querySelectorAll('.btn\\\\a0 primary.card').length") == 0  # page /three
