"""Live mode of the raw events list in Chromium: new events appear without reloading; Pause stops it."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from demo.seed.services import demo_seed
from tests.e2e.conftest import log_in
from warehouse.models import RawEvent

pytestmark = pytest.mark.e2e

# New events show within this much page time (static/js/raw-live.js polls every 3 s).
LIVE_WITHIN_MS = 8000


def _new_click(environment, label: str) -> RawEvent:
    template = RawEvent.objects.filter(environment=environment, type="click").first()
    fields = {f.attname: getattr(template, f.attname) for f in RawEvent._meta.concrete_fields if f.name != "id"}
    now = timezone.now()
    return RawEvent.objects.create(
        **{**fields, "event_id": label, "time": now, "received_at": now, "target_text": label}
    )


def test_new_events_appear_live_and_pause_stops_them(transactional_db, live_server, page_with_clock, django_user_model):
    page = page_with_clock
    environment = demo_seed(
        schema="live_demo", events=300, seed=2, end=datetime(2026, 11, 2, tzinfo=UTC), stream=io.StringIO()
    ).environment
    user = django_user_model.objects.create_superuser("live", "live@example.com", "pw-for-tests-only")
    log_in(page.context, live_server.url, user)
    # The page's timers run on a paused clock that the test moves on: seconds of page time pass at once.
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "live=" in request.url else None)
    page.goto(f"{live_server.url}/e/live_demo/raw/?type=click")
    assert page.locator("#event-rows tr").count() == 50
    first = _new_click(environment, "live-one")
    page.clock.run_for(LIVE_WITHIN_MS)
    page.wait_for_selector(f'#event-rows tr[data-id="{first.id}"]', timeout=8000)
    assert page.locator("#event-rows tr").first.get_attribute("data-id") == str(first.id)
    assert "1 new event" in page.locator("#live-status").inner_text()

    page.get_by_role("button", name="Pause live").click()
    # The banner says it is paused (it used to keep promising live updates).
    assert page.locator("#live-status").inner_text().startswith("Paused")
    paused = _new_click(environment, "live-two")
    polls_before = len(polls)
    page.clock.run_for(30_000)  # ten poll intervals: not one poll goes out
    assert polls[polls_before:] == []
    assert page.locator(f'#event-rows tr[data-id="{paused.id}"]').count() == 0
    page.get_by_role("button", name="Resume live").click()
    page.clock.run_for(LIVE_WITHIN_MS)
    page.wait_for_selector(f'#event-rows tr[data-id="{paused.id}"]', timeout=8000)
