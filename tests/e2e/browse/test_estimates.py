"""Estimates in Chromium: Top interactions and the editor's preview show a sample's counts (≈) and then put
the exact ones in their place without a reload (docs/raw-browser.md, "Estimates")."""

import io

import pytest
from django.db import connection
from playwright.sync_api import expect

from definitions.browse.selectors import default_top_since, top_interactions
from definitions.selectors import definition_preview, prefill_from_event
from demo.seed.services import demo_seed
from tests.e2e.conftest import log_in
from warehouse.models import RawEvent

pytestmark = pytest.mark.e2e


@pytest.fixture
def estimating(transactional_db, live_server, page, django_user_model, settings):
    """3,000 demo events up to now; any range "large", the sample holding ~1,000 of its events."""
    settings.RAW_ESTIMATE_ABOVE_EVENTS = 0
    settings.RAW_ESTIMATE_SAMPLE_EVENTS = 1000
    environment = demo_seed(schema="estimate_demo", events=3000, seed=3, stream=io.StringIO()).environment
    with connection.cursor() as cursor:  # the planner's row estimates decide whether to sample
        cursor.execute(f"ANALYZE raw_events_{environment.id}")
    user = django_user_model.objects.create_superuser("est", "est@example.com", "pw-for-tests-only")
    log_in(page.context, live_server.url, user)
    return environment


def test_top_interactions_replace_the_estimate_with_the_exact_counts(estimating, live_server, page):
    exact = top_interactions(environment=estimating, since=default_top_since("30d"), exact=True)
    url = f"{live_server.url}/e/estimate_demo/raw/top/?range=30d"
    assert "≈ estimate" in page.request.get(url).text()  # what the page first shows
    page.goto(url)
    # Locator assertions, not wait_for_function: the Content-Security-Policy refuses evaluated strings.
    expect(page.locator(".estimate-note")).to_have_count(0, timeout=10_000)
    expect(page.locator("span.estimate")).to_have_count(0)
    first_page = page.locator("section.card").first
    assert first_page.locator("h2").inner_text() == "Clicks"
    shown = [int(n.replace(",", "")) for n in first_page.locator("td.num").all_inner_texts()]
    assert shown == [group.count for group in exact.sections["Clicks"]]


def test_the_editor_preview_turns_exact(estimating, live_server, page):
    click = RawEvent.objects.filter(environment=estimating, type="click").order_by("-time").first()
    draft = prefill_from_event(estimating, click.id)
    assert definition_preview(environment=estimating, groups=draft["groups"]).sample.estimated  # the first answer
    page.goto(f"{live_server.url}/e/estimate_demo/definitions/new?from_event={click.id}")
    page.wait_for_selector("#preview .preview-total", timeout=10_000)
    expect(page.locator("#preview [data-exact-pending]")).to_have_count(0, timeout=10_000)
    total = page.locator("#preview .preview-total").inner_text()
    exact = definition_preview(environment=estimating, groups=draft["groups"], exact=True)
    assert "≈" not in total and f"{exact.total:,} matching event" in total
