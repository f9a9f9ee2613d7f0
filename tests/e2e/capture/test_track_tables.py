"""heap.track() in Chromium reaches the warehouse: after a sync, one table per event name, holding
exactly the raw rows (merged user ids, session columns, typed properties)."""

import time

import pytest

from tests.conftest import drop_warehouse_schemas
from tests.warehouse.sync.conftest import column_types, rows, sync
from warehouse.identity import user_id_for_identity
from warehouse.models import RawEvent

from .conftest import open_page


@pytest.fixture
def demo(live_server, transactional_db, make_environment):
    environment = make_environment("main", "production")
    yield live_server.url + "/demo/", environment
    drop_warehouse_schemas(environment)


def wait_for_custom_events(page, environment, count: int, timeout: float = 20.0) -> list[RawEvent]:
    deadline = time.monotonic() + timeout
    while True:
        found = list(RawEvent.objects.filter(environment=environment, type="custom").order_by("id"))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(50)


def test_heap_track_in_chromium_gets_a_table_per_event_name(page, demo):
    base, environment = demo
    schema = environment.warehouse_schema
    open_page(page, base + "?utm_source=newsletter&utm_campaign=launch")
    page.evaluate(
        """
        heap.track('Upgraded Plan', {plan: 'pro', seats: 5, annual: true, price: 9.5});
        heap.track('Invited Teammate', {role: 'editor'});
        heap.identify('erin@example.com');
        heap.track('Upgraded Plan', {plan: 'team', seats: 12, annual: false, price: 20});
        heap._flush();
        """
    )
    sent = wait_for_custom_events(page, environment, 3)
    # identify() closes a batch: the two batches may arrive in either order, so ids say nothing.
    assert sorted(event.event_name for event in sent) == ["Invited Teammate", "Upgraded Plan", "Upgraded Plan"]
    sync(environment)

    erin = user_id_for_identity("erin@example.com")
    upgraded = rows(
        f"SELECT event_id, user_id, session_id, utm_source, utm_campaign, library, plan, seats, annual, price"
        f" FROM {schema}.upgraded_plan ORDER BY seats"  # noqa: S608 - the test's own schema
    )
    upgrades = [event for event in sent if event.event_name == "Upgraded Plan"]
    assert sorted(row["event_id"] for row in upgraded) == sorted(event.id for event in upgrades)
    # The anonymous visitor identified: both events show under the identified user.
    assert {row["user_id"] for row in upgraded} == {erin}
    assert {row["session_id"] for row in upgraded} == {upgrades[0].session_id}
    assert [(row["utm_source"], row["utm_campaign"], row["library"]) for row in upgraded] == [
        ("newsletter", "launch", "web")
    ] * 2
    assert [(row["plan"], row["seats"], row["annual"], row["price"]) for row in upgraded] == [
        ("pro", 5, True, 9.5),
        ("team", 12, False, 20.0),
    ]
    types = column_types(schema, "upgraded_plan")
    assert (types["seats"], types["annual"], types["price"]) == ("bigint", "boolean", "double precision")
    (invited,) = rows(f"SELECT user_id, role FROM {schema}.invited_teammate")  # noqa: S608
    assert invited == {"user_id": erin, "role": "editor"}
    tables = rows(f"SELECT event_table_name, count(*) AS n FROM {schema}.all_events GROUP BY 1")  # noqa: S608
    assert {(row["event_table_name"], row["n"]) for row in tables} >= {("upgraded_plan", 2), ("invited_teammate", 1)}
