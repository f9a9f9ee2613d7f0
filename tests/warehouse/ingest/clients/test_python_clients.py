"""PyPI clients against a live server: heapapi (Heap's server API), segment-analytics-python and
rudder-sdk-python (Segment's HTTP Tracking API), each changed only in its host and key."""

from datetime import UTC, datetime

import pytest
import requests
from heapapi import HeapAPIClient
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from warehouse.identity import user_id_for_anonymous_id, user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser
from warehouse.services import environment_settings_update

from .conftest import api_event_table, installed_version, synced, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

# The versions these tests were written against (requirements-dev.txt pins them).
CLIENT_VERSIONS = {"heapapi": "0.0.3", "segment-analytics-python": "2.4.0", "rudder-sdk-python": "2.1.9"}
SERVER_KEY = "test-server-key"
ALICE = "alice@example.com"
BOB = "bob@example.com"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _pinned_versions():
    assert {name: installed_version(name) for name in CLIENT_VERSIONS} == CLIENT_VERSIONS


def heap_client(env) -> HeapAPIClient:
    client = HeapAPIClient(env.app_id)
    # heapapi has no host option: its URLs are attributes built from a base-URL constant.
    client.track_api = f"{env.base_url}/api/track"
    client.props_api = f"{env.base_url}/api/add_user_properties"
    return client


def test_heapapi_needs_the_keyless_switch_then_lands_in_the_warehouse(env):
    client = heap_client(env)
    with pytest.raises(requests.HTTPError) as refused:
        client.track(ALICE, "Order Completed", {"total": 42})
    assert refused.value.response.status_code == 401
    assert refused.value.response.json()["error"] == "server key required"

    environment_settings_update(environment=env, keyless_server_api=True)
    assert client.track(ALICE, "Order Completed", {"total": 42, "currency": "EUR"}).status_code == 200
    assert client.add_user_properties(ALICE, {"plan": "pro", "seats": 3}).status_code == 200
    bulk = [
        {
            "identity": BOB,
            "event": "Order Completed",
            "timestamp": "2026-03-01T12:00:00Z",
            "properties": {"total": 7.5, "currency": "USD"},
            "idempotency_key": "order-2",
        }
    ]
    assert [r.status_code for r in client.bulk_track(bulk)] == [200]
    assert [r.json()["inserted"] for r in client.bulk_track(bulk)] == [0], "a retry writes nothing"
    assert [
        r.status_code for r in client.bulk_add_user_properties([{"identity": BOB, "properties": {"plan": "free"}}])
    ] == [200]

    alice, bob = user_id_for_identity(ALICE), user_id_for_identity(BOB)
    events = {e.user_id: e for e in RawEvent.objects.all()}
    assert sorted(events) == sorted([alice, bob])
    assert (events[alice].type, events[alice].event_name, events[alice].properties, events[alice].library) == (
        "custom",
        "Order Completed",
        {"total": 42, "currency": "EUR"},
        "server",
    )
    assert (events[bob].event_id, events[bob].time, events[bob].properties) == (
        "srv-order-2",
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        {"total": 7.5, "currency": "USD"},
    )
    assert {u.user_id: (u.identity, u.properties) for u in RawUser.objects.all()} == {
        alice: (ALICE, {"plan": "pro", "seats": 3}),
        bob: (BOB, {"plan": "free"}),
    }

    table = api_event_table(env, "Order Completed")
    synced(env)
    assert warehouse_rows(env, "SELECT user_id, identity, plan, seats FROM {s}.users ORDER BY identity") == [
        {"user_id": alice, "identity": ALICE, "plan": "pro", "seats": 3},
        {"user_id": bob, "identity": BOB, "plan": "free", "seats": None},
    ]
    assert warehouse_rows(env, "SELECT user_id, library FROM {s}.sessions ORDER BY user_id") == sorted(
        [{"user_id": alice, "library": "server"}, {"user_id": bob, "library": "server"}], key=lambda r: r["user_id"]
    )
    assert warehouse_rows(
        env, f"SELECT user_id, session_id, time, total, currency FROM {{s}}.{table} ORDER BY total"
    ) == [
        {
            "user_id": bob,
            "session_id": events[bob].session_id,
            "time": events[bob].time,
            "total": 7.5,
            "currency": "USD",
        },
        {
            "user_id": alice,
            "session_id": events[alice].session_id,
            "time": events[alice].time,
            "total": 42,
            "currency": "EUR",
        },
    ]


def send_segment_calls(client, errors: list) -> None:
    """The same calls through either SDK (both implement Segment's Python API)."""
    page_context = {
        "page": {
            "url": "https://shop.example/checkout?step=2",
            "title": "Checkout",
            "referrer": "https://search.example/",
        },
        "userAgent": CHROME,
        "ip": "198.51.100.7",
        "campaign": {"name": "spring", "source": "newsletter", "medium": "email"},
    }
    client.identify(anonymous_id="anon-1", traits={"plan": "free"})
    client.page(
        anonymous_id="anon-1", name="Pricing", properties={"url": "https://shop.example/pricing"}, message_id="p-1"
    )
    client.identify(user_id=ALICE, anonymous_id="anon-1", traits={"plan": "pro", "address": {"city": "Oslo"}})
    client.track(
        user_id=ALICE,
        event="Order Completed",
        properties={"total": 42, "products": [{"sku": "b-1"}]},
        context=page_context,
        message_id="t-1",
    )
    client.screen(user_id=ALICE, name="Settings", message_id="s-1")
    client.group(user_id=ALICE, group_id="acme", traits={"employees": 12}, message_id="g-1")
    client.alias(previous_id="anon-2", user_id=ALICE)
    client.flush()
    client.join()
    assert errors == []


def segment_rows_are_exact(env, library: str) -> None:
    alice, anon, anon2 = (
        user_id_for_identity(ALICE),
        user_id_for_anonymous_id("anon-1"),
        user_id_for_anonymous_id("anon-2"),
    )
    users = {u.user_id: (u.identity, u.properties) for u in RawUser.objects.all()}
    assert users == {
        anon: (None, {"plan": "free"}),
        alice: (ALICE, {"plan": "pro", "address.city": "Oslo", "group_id": "acme"}),
        anon2: (None, {}),
    }
    assert sorted((m.from_user_id, m.to_user_id) for m in IdentityMerge.objects.all()) == sorted(
        [(anon, alice), (anon2, alice)]
    )
    events = {e.event_id: e for e in RawEvent.objects.all()}
    assert sorted(events) == ["seg-g-1", "seg-p-1", "seg-s-1", "seg-t-1"]
    page, track, screen, group = events["seg-p-1"], events["seg-t-1"], events["seg-s-1"], events["seg-g-1"]
    assert (page.type, page.user_id, page.domain, page.path, page.properties) == (
        "pageview",
        anon,
        "shop.example",
        "/pricing",
        {"name": "Pricing"},
    )
    assert (track.type, track.event_name, track.user_id, track.domain, track.path, track.query, track.title) == (
        "custom",
        "Order Completed",
        alice,
        "shop.example",
        "/checkout",
        "?step=2",
        "Checkout",
    )
    assert track.properties == {"total": 42, "products": '[{"sku":"b-1"}]'}
    assert (screen.type, screen.title, group.event_name, group.properties) == (
        "pageview",
        "Settings",
        "Group",
        {"employees": 12, "group_id": "acme"},
    )
    assert {e.library for e in events.values()} == {library}
    session = RawSession.objects.get(session_id=track.session_id)
    assert (session.library, session.browser, session.platform, session.ip, session.utm_campaign, session.referrer) == (
        library,
        "Chrome",
        "Windows",
        "198.51.100.7",
        "spring",
        "https://search.example/",
    )
    assert (session.landing_page, session.landing_page_query) == ("https://shop.example/checkout", "?step=2")


def segment_warehouse_is_exact(env) -> None:
    alice = user_id_for_identity(ALICE)
    table = api_event_table(env, "Order Completed")
    synced(env)
    # The anonymous users merged into Alice: one user with everything, the identified values winning.
    assert warehouse_rows(env, "SELECT user_id, identity, plan, address_city, group_id FROM {s}.users") == [
        {"user_id": alice, "identity": ALICE, "plan": "pro", "address_city": "Oslo", "group_id": "acme"}
    ]
    track = RawEvent.objects.get(event_id="seg-t-1")
    assert warehouse_rows(
        env, f"SELECT user_id, session_id, total, products, utm_campaign, browser, path FROM {{s}}.{table}"
    ) == [
        {
            "user_id": alice,
            "session_id": track.session_id,
            "total": 42,
            "products": '[{"sku":"b-1"}]',
            "utm_campaign": "spring",
            "browser": "Chrome",
            "path": "/checkout",
        }
    ]
    assert warehouse_rows(env, "SELECT user_id, path, title FROM {s}.pageviews ORDER BY title NULLS FIRST") == [
        {"user_id": alice, "path": "/pricing", "title": ""},
        {"user_id": alice, "path": "", "title": "Settings"},
    ]
    assert warehouse_rows(env, "SELECT DISTINCT user_id FROM {s}.sessions") == [{"user_id": alice}]


@pytest.mark.parametrize(
    ("sdk", "options"),
    [
        # Segment's SDK compresses only when asked; RudderStack's does by default.
        pytest.param(SegmentClient, {"gzip": True}, id="segment-analytics-python"),
        pytest.param(RudderClient, {}, id="rudder-sdk-python"),
    ],
)
def test_segment_protocol_sdks_batch_and_land_in_the_warehouse(env, sdk, options):
    errors = []
    client = sdk(
        write_key=SERVER_KEY,
        host=env.base_url,
        max_retries=1,
        upload_interval=0.05,
        on_error=lambda error, batch: errors.append(error),
        **options,
    )
    send_segment_calls(client, errors)
    segment_rows_are_exact(env, "analytics-python")
    segment_warehouse_is_exact(env)


def test_segment_sdk_gets_an_error_it_does_not_retry_for_a_wrong_key(env):
    client = SegmentClient(write_key="wrong", host=env.base_url, sync_mode=True, max_retries=1)
    with pytest.raises(Exception) as refused:
        client.track(user_id=ALICE, event="E")
    assert (refused.value.status, refused.value.code) == (401, "unknown_write_key")
    assert RawEvent.objects.count() == 0
