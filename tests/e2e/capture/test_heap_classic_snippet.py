"""Heap's classic snippet, unchanged but for its script host, on the demo site in Chromium.

The demo's pages are served by the live server with heapsite's own snippet swapped for Heap's (as the
environment page shows it), so the page loads /js/heap-<app id>.js from this server; every Heap API
call goes through Heap's stub queue. The rows are checked in the raw store and, after a sync, in the
warehouse.
"""

import re
import time

import pytest
from django.template.loader import render_to_string

from definitions.services import definition_create
from tests.warehouse.sync.conftest import rows, settle
from warehouse.identity import user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawUser
from warehouse.services import sync_run_foreground

HEAPSITE_SNIPPET = re.compile(r"<script>window\.heap=window\.heap\|\|\[\];heap\.load=.*?</script>", re.S)
# The page's own calls, made before heap.js arrives: Heap's stub queues them.
PAGE_CALLS = (
    "<script>heap.addEventProperties({experiment: 'b'});"
    "heap.setEventProperties({legacy: 'x'}); heap.unsetEventProperty('legacy');</script>"
)


@pytest.fixture
def heap_demo(browser_context, live_server, sync_env, sync_queue):
    snippet = render_to_string(
        "heapsite/_heap_classic_snippet.html",
        {"heap_snippet": {"app_id": sync_env.app_id, "origin": live_server.url}},
    )
    swapped = []

    def swap(route):
        if route.request.method != "GET" or route.request.resource_type != "document":
            route.continue_()  # the signup POST and its redirect stay the browser's own
            return
        response = route.fetch()
        html, count = HEAPSITE_SNIPPET.subn(lambda _: snippet + PAGE_CALLS, response.text())
        swapped.append(count)
        route.fulfill(response=response, body=html)

    browser_context.route(re.compile(re.escape(live_server.url) + r"/demo/.*"), swap)
    yield live_server.url + "/demo/", sync_env
    assert swapped and set(swapped) == {1}, "every demo page carried heapsite's snippet, swapped for Heap's"


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def test_heaps_snippet_on_the_demo_site_lands_in_the_warehouse(page, heap_demo):
    base, environment = heap_demo
    page.goto(base + f"pricing/?env={environment.warehouse_schema}")
    page.wait_for_function("window.heap && window.heap._loaded === true")
    assert page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)") == [
        f"{base.removesuffix('/demo/')}/js/heap-{environment.app_id}.js"
    ]
    anonymous = page.evaluate("heap.userId")
    page.click("button.plan-cta[value='pro']")
    page.wait_for_url("**/demo/signup/?plan=pro")
    page.fill("#signup-name", "Alice Example")
    page.fill("#signup-email", "alice@example.com")
    page.fill("#signup-password", "correct horse battery")
    page.select_option("#signup-team-size", "11-50")
    page.check("#signup-terms")
    page.click("#signup-submit")
    page.wait_for_url("**/demo/signup/welcome/")
    page.wait_for_function("window.heap && heap.identity === 'alice@example.com'")
    page.evaluate(
        "heap.removeEventProperty('experiment'); heap.track('After Remove', {step: 1});"
        "heap.clearEventProperties(); heap.resetIdentity(); heap.track('After Reset');"
    )
    after_reset = page.evaluate("heap.userId")
    page.evaluate("heap._flush()")
    assert page.errors.console_errors == []
    page.close()

    alice = user_id_for_identity("alice@example.com")
    # Batches arrive in any order (the reset user's go in their own; a page left sends by beacon).
    expected_names = {"Signed Up", "After Remove", "After Reset"}
    events = wait_for(
        lambda: (found := list(RawEvent.objects.order_by("time", "id")))
        and expected_names <= {e.event_name for e in found}
        and sum(e.type == "pageview" for e in found) >= 3
        and found
    )
    custom = {e.event_name: (e.user_id, e.properties) for e in events if e.type == "custom"}
    assert custom == {
        "Signed Up": (anonymous, {"plan": "pro", "experiment": "b"}),
        "After Remove": (anonymous, {"step": 1}),
        "After Reset": (after_reset, {}),
    }
    pageviews = [(e.path, e.user_id) for e in events if e.type == "pageview"]
    assert pageviews == [
        ("/demo/pricing/", anonymous),
        ("/demo/signup/", anonymous),
        ("/demo/signup/welcome/", anonymous),
    ]
    assert all(e.properties.get("experiment") == "b" for e in events if e.type != "custom")
    assert all("legacy" not in e.properties for e in events)
    assert {e.library for e in events} == {"web"}
    assert [(m.from_user_id, m.to_user_id) for m in IdentityMerge.objects.all()] == [(anonymous, alice)]
    assert RawUser.objects.get(user_id=alice).properties == {"plan": "pro", "signed_up_from": "demo"}

    table = definition_create(
        environment=environment, name="Signed Up", groups=[{"kind": "custom", "event_name": "Signed Up"}]
    ).table_name
    settle()
    assert sync_run_foreground(environment=environment, full=True).status == "succeeded"
    schema = environment.warehouse_schema
    assert rows(f"SELECT user_id, identity, plan, signed_up_from FROM {schema}.users WHERE identity IS NOT NULL") == [
        {"user_id": alice, "identity": "alice@example.com", "plan": "pro", "signed_up_from": "demo"}
    ]
    assert rows(f"SELECT user_id, plan, experiment, path, library FROM {schema}.{table}") == [
        {"user_id": alice, "plan": "pro", "experiment": "b", "path": "/demo/signup/welcome/", "library": "web"}
    ]
    assert rows(f"SELECT count(*) AS n FROM {schema}.pageviews WHERE user_id = %s", [alice]) == [{"n": 3}]
    assert rows(f"SELECT DISTINCT user_id FROM {schema}.sessions ORDER BY 1") == sorted(
        [{"user_id": alice}, {"user_id": after_reset}], key=lambda row: row["user_id"]
    )
