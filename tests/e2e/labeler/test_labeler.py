"""The visual labeler in Chromium, with the demo shop on another origin than heapsite (localhost vs 127.0.0.1).

A visitor clicks around the shop; an editor launches the labeler from heapsite's Definitions page,
selects a button, widens the proposed selector, sees the counts the preview API gives for the same
groups, creates the event, and a sync builds its table with exactly those rows. The clickmap's
badges are the SQL counts, and nothing the labeler person clicks becomes a raw event.
"""

import json
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from definitions.models import Definition
from definitions.selectors import definition_preview
from tests.conftest import drop_warehouse_schemas
from tests.e2e.conftest import PageErrors, WarmWorker
from warehouse.models import Membership, RawEvent, RawSession, Role

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]
# A screenshot per mode (docs/labeler.md shows them).
ARTIFACTS = REPO / "test-artifacts" / "labeler"
FEATURE_CLICKS = {"boards": 3, "sprints": 2, "retros": 1}
ELEMENT_TYPES = ("click", "submit", "change")


@pytest.fixture
def labeler_world(live_server, settings, transactional_db, make_environment, django_user_model, client, sync_queue):
    heapsite = live_server.url
    assert heapsite.startswith("http://127.0.0.1:"), heapsite
    # heap.js, the collector and the labeler's API live at heapsite; the shop is a site of its own origin.
    settings.HEAPSITE_URL = heapsite
    shop = heapsite.replace("127.0.0.1", "localhost") + "/demo/"
    environment = make_environment()  # main_production: the demo shop's environment
    user = django_user_model.objects.create_user("labeler", "labeler@example.com", "pw-for-tests-only")
    Membership.objects.create(user=user, environment=environment, role=Role.EDITOR)
    client.force_login(user)
    yield {"heapsite": heapsite, "shop": shop, "environment": environment, "session": client.cookies["sessionid"].value}
    drop_warehouse_schemas(environment)


def wait_until(page, condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


def element_events(environment) -> int:
    return RawEvent.objects.filter(environment=environment, type__in=ELEMENT_TYPES).count()


def visit_and_click(page, world) -> None:
    """A visitor of the shop clicks the features' "Learn more" buttons (3, 2 and 1 times); for them heap.js
    loads no labeler."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(world["shop"])
    page.wait_for_function("window.heap && window.heap._loaded === true && window.heap.userId")
    for feature, times in FEATURE_CLICKS.items():
        for _ in range(times):
            page.click(f'button[data-feature="{feature}"]')
    page.evaluate("heap._flush()")
    wait_until(page, lambda: element_events(world["environment"]) >= 6, "the visitor's clicks in the raw store")
    assert not [url for url in requested if "labeler" in url]
    assert page.evaluate("sessionStorage.length") == 0


class Batches:
    """heap.js's batches (POST /api/collect) a page has sent that are not answered yet."""

    def __init__(self, page):
        self.unanswered: set = set()
        page.on("request", lambda request: self.unanswered.add(request) if "/api/collect" in request.url else None)
        page.on("requestfinished", lambda request: self.unanswered.discard(request))
        page.on("requestfailed", lambda request: self.unanswered.discard(request))


def everything_sent(site) -> None:
    """What heap.js has recorded on the site is in the raw store: heap._flush() sends the queued events and
    resolves once the collector (which stores a batch before answering) has answered them; batches already on their
    way are waited for."""
    site.evaluate("heap._flush()")
    wait_until(site, lambda: not site.batches.unanswered, "heap.js's batches to be answered")


def launch(browser_context, world):
    """From heapsite's Definitions page (logged in at 127.0.0.1), open the shop with the labeler."""
    browser_context.add_cookies([{"name": "sessionid", "value": world["session"], "domain": "127.0.0.1", "path": "/"}])
    heapsite = browser_context.new_page()
    heapsite.goto(world["heapsite"] + "/e/main_production/definitions/")
    heapsite.fill("#labeler input[name=url]", world["shop"])
    with browser_context.expect_page() as opened:
        heapsite.click("#labeler-launch")
    site = opened.value
    site.errors = PageErrors(site)
    site.batches = Batches(site)
    site.wait_for_url(world["shop"], timeout=10000)  # the fragment with the token is gone from the address
    site.locator(".panel header strong").filter(has_text="heapsite").wait_for(timeout=10000)
    assert site.evaluate("location.hash") == ""
    assert site.evaluate("JSON.parse(sessionStorage.getItem('_hs_label')).token").startswith("")
    return site


@pytest.fixture
def sync_worker():
    """A real RQ worker on the sync queue (`manage.py rqworker sync --burst`, own process), loaded while the test
    runs; `sync_worker.start()` lets it take the queued sync."""
    worker = WarmWorker("sync")
    yield worker
    worker.stop()


def test_launch_select_widen_count_create_and_sync(page, browser_context, labeler_world, client, sync_worker):
    world = labeler_world
    environment = world["environment"]
    visit_and_click(page, world)
    clicks_before = element_events(environment)

    site = launch(browser_context, world)
    # Inspect: a click selects the element and the site's own handlers (and heap.js) never see it.
    site.click('button[data-feature="boards"]')
    selector = site.locator(".panel code.selector")
    selector.filter(has_text="feature-more").wait_for()
    proposed = selector.inner_text()
    assert proposed == '#features button.btn.btn-link.feature-more[type="button"][data-feature="boards"]'
    assert site.locator(".panel .page-count").inner_text() == "1"
    # Utility classes are offered but not proposed, and say why.
    utility = site.locator(".panel input[aria-label^='.p-6 (utility class']")
    assert utility.count() == 1 and not utility.is_checked()
    site.locator(".panel .count-30").filter(has_text="3").wait_for()
    assert site.locator(".panel .count-7").inner_text() == "3"

    # Widen: all three "Learn more" buttons.
    site.locator("""input[data-key='0:[data-feature="boards"]']""").uncheck()
    selector.filter(has_text=proposed.removesuffix('[data-feature="boards"]')).wait_for()
    widened = selector.inner_text()
    assert widened == '#features button.btn.btn-link.feature-more[type="button"]'
    assert site.locator(".panel .page-count").inner_text() == "3"
    site.locator(".panel .count-30").filter(has_text="6").wait_for()
    assert site.evaluate(f"document.querySelector('button[data-feature=boards]').matches({json.dumps(widened)})")

    # The server's count is the preview API's count for the same groups.
    groups = [{"kind": "click", "conditions": [{"type": "selector", "value": widened}]}]
    preview = client.post(
        "/api/definitions/main_production/preview",
        json.dumps({"groups": groups}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer test-server-key",
    )
    assert preview.status_code == 200
    assert preview.json()["total"] == int(site.locator(".panel .count-30").inner_text()) == 6

    # Create the event through the definitions service; the overlay names its table.
    site.locator(".panel input[name=name]").fill("Clicked Learn more")
    site.locator(".panel input[name=category]").fill("Features")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    site.mouse.move(1100, 880)  # over the panel: the selected element's outline shows
    site.screenshot(path=ARTIFACTS / "labeler.png")
    site.locator(".panel button.create").click()
    site.locator(".panel .table-name").filter(has_text="main_production.clicked_learn_more").wait_for()
    definition = Definition.objects.get(environment=environment, name="Clicked Learn more")
    assert definition.groups == groups
    assert definition.category == "Features"
    assert definition.versions.count() == 1
    assert site.locator(".panel a.open").get_attribute("href") == (
        f"{world['heapsite']}/e/main_production/definitions/{definition.pk}/"
    )
    # Existing events: its three buttons are marked, and selecting one names the definition.
    wait_until(site, lambda: site.locator(f".marks .mark[data-definition='{definition.pk}']").count() == 3, "marks")
    site.click('button[data-feature="sprints"]')
    site.locator(".panel .existing").filter(has_text="Clicked Learn more").wait_for()

    # Nothing the labeler person clicked was recorded (the overlay, the inspected button).
    everything_sent(site)
    assert element_events(environment) == clicks_before
    # The launch token never reached the raw store (heap.js took it off the address first).
    assert RawEvent.objects.filter(environment=environment, type="pageview").count() >= 2
    assert not RawEvent.objects.filter(environment=environment, hash__contains="heapsite-label").exists()
    assert not RawSession.objects.filter(environment=environment, landing_page_hash__contains="heapsite").exists()

    # A sync builds the table with exactly the rows the labeler counted.
    sync_worker.start()
    sync_worker.wait(timeout=120)
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id FROM main_production.clicked_learn_more ORDER BY event_id")
        synced = [row[0] for row in cursor.fetchall()]
    learn_more = RawEvent.objects.filter(environment=environment, type="click", target_tag="button")
    assert len(synced) == 6
    assert synced == sorted(learn_more.values_list("id", flat=True))  # the warehouse's event_id is the raw id

    # Close ends the session: the next page of the site has no labeler.
    site.locator(".panel button.close").click()
    site.locator("[data-heapsite-labeler]").wait_for(state="detached")
    assert site.evaluate("sessionStorage.getItem('_hs_label')") is None
    assert site.errors.exceptions == []


def test_clickmap_badges_are_the_sql_counts_and_overlay_clicks_are_not_captured(page, browser_context, labeler_world):
    world = labeler_world
    environment = world["environment"]
    visit_and_click(page, world)
    # A target clicked on this page that is not on it now (a closed menu, say).
    now = timezone.now()
    hierarchy = [
        {"tag": "a", "id": "menu-secret"},
        {"tag": "nav", "classes": ["menu"]},
        {"tag": "body"},
        {"tag": "html"},
    ]
    RawEvent.objects.create(
        environment=environment,
        event_id="hidden-1",
        type="click",
        user_id=1,
        session_id=1,
        time=now,
        received_at=now,
        path="/demo/",
        target_tag="a",
        target_id="menu-secret",
        hierarchy=hierarchy,
    )
    clicks_before = element_events(environment)

    site = launch(browser_context, world)
    site.locator(".panel button[data-mode=clickmap]").click()
    badges = site.locator(".badges .badge")
    wait_until(site, lambda: badges.count() >= 3, "three clickmap badges")
    seen = {}
    for index in range(badges.count()):
        badge = badges.nth(index)
        selector = badge.get_attribute("data-selector")
        groups = [
            {
                "kind": "click",
                "conditions": [{"type": "selector", "value": selector}, {"type": "path", "value": "/demo/"}],
            }
        ]
        expected = definition_preview(environment=environment, groups=groups).total
        assert int(badge.inner_text()) == int(badge.get_attribute("data-days30")) == expected, selector
        seen[selector] = expected
    by_feature = {
        feature: seen.get(f'button.btn.btn-link.feature-more[type="button"][data-feature="{feature}"]')
        for feature in FEATURE_CLICKS
    }
    assert by_feature == FEATURE_CLICKS
    assert "#menu-secret" not in seen
    site.locator(".panel .hidden-targets li").filter(has_text="#menu-secret 1").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    site.screenshot(path=ARTIFACTS / "labeler-clickmap.png")

    # The 7-day switch, and more clicks on the overlay itself: none of them is an event of the site.
    site.locator(".panel button[data-days='7']").click()
    site.locator(".panel button[data-days='30']").click()
    site.locator(".panel button[data-mode=inspect]").click()
    site.locator(".panel button[data-mode=inspect]").click()
    everything_sent(site)
    assert element_events(environment) == clicks_before
    assert site.errors.exceptions == []
