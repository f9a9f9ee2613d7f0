"""Live mode of the raw events list in Chromium: new events appear without reloading; Pause stops it."""

import io
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from demo.seed.services import demo_seed
from tests.e2e.conftest import log_in
from warehouse.models import RawEvent

pytestmark = pytest.mark.e2e


def _new_click(environment, label: str) -> RawEvent:
    template = RawEvent.objects.filter(environment=environment, type="click").first()
    fields = {f.attname: getattr(template, f.attname) for f in RawEvent._meta.concrete_fields if f.name != "id"}
    now = timezone.now()
    return RawEvent.objects.create(
        **{**fields, "event_id": label, "time": now, "received_at": now, "target_text": label}
    )


def test_new_events_appear_live_and_pause_stops_them(transactional_db, live_server, page, django_user_model):
    environment = demo_seed(
        schema="live_demo", events=300, seed=2, end=datetime(2026, 11, 2, tzinfo=UTC), stream=io.StringIO()
    ).environment
    user = django_user_model.objects.create_superuser("live", "live@example.com", "pw-for-tests-only")
    log_in(page.context, live_server.url, user)
    page.goto(f"{live_server.url}/e/live_demo/raw/?type=click")
    assert page.locator("#event-rows tr").count() == 50
    first = _new_click(environment, "live-one")
    page.wait_for_selector(f'#event-rows tr[data-id="{first.id}"]', timeout=8000)
    assert page.locator("#event-rows tr").first.get_attribute("data-id") == str(first.id)
    assert "1 new event" in page.locator("#live-status").inner_text()

    page.get_by_role("button", name="Pause live").click()
    # The banner says it is paused (it used to keep promising live updates).
    assert page.locator("#live-status").inner_text().startswith("Paused")
    paused = _new_click(environment, "live-two")
    page.wait_for_timeout(3500)  # longer than one poll interval
    assert page.locator(f'#event-rows tr[data-id="{paused.id}"]').count() == 0
    page.get_by_role("button", name="Resume live").click()
    page.wait_for_selector(f'#event-rows tr[data-id="{paused.id}"]', timeout=8000)
