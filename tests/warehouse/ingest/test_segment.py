"""Segment's HTTP Tracking API (/v1/*) over HTTP: auth, gzip, mapping onto the raw store, errors.

The real SDKs are exercised in tests/warehouse/ingest/clients/; these tests pin each rule down with
hand-made requests, including the hostile ones an SDK would never send.
"""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from warehouse.identity import user_id_for_anonymous_id, user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

from .conftest import CHROME_MAC, SERVER_KEY, raw_counts

ALICE = "alice@example.com"
ANON = "0f3b1c9e-8a7d-4e2f-9b6a-1d2c3e4f5a6b"


def basic(key: str = SERVER_KEY) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def send(client, environment):
    """POST to /v1/<path> with the write key as Basic auth (or `auth=`), JSON or gzip-compressed."""

    def post(path: str, body, *, auth: str | None = None, compress: bool = False, **headers):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if compress:
            data = gzip.compress(data)
            headers["HTTP_CONTENT_ENCODING"] = "gzip"
        headers["HTTP_AUTHORIZATION"] = auth if auth is not None else basic()
        if headers["HTTP_AUTHORIZATION"] == "":
            del headers["HTTP_AUTHORIZATION"]
        return client.post(f"/v1/{path}", data=data, content_type="application/json", **headers)

    return post


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_track_with_both_ids_merges_and_lands_under_the_identified_user(send):
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    message = {
        "type": "track",
        "messageId": "m-1",
        "userId": ALICE,
        "anonymousId": ANON,
        "event": "Order Completed",
        "properties": {"total": 49.5, "coupon": None, "address": {"city": "Oslo"}, "items": [1, 2]},
        "timestamp": iso(moment),
        "context": {
            "library": {"name": "analytics-python", "version": "2.4.0"},
            "userAgent": CHROME_MAC,
            "ip": "203.0.113.9",
            "page": {
                "url": "https://Shop.example/checkout?step=2#pay",
                "title": "Checkout",
                "referrer": "https://x.test/",
            },
            "campaign": {"name": "spring", "source": "newsletter", "medium": "email", "term": "t", "content": "c"},
            "device": {"type": "ios"},
        },
    }
    response = send("track", {**message, "sentAt": iso(moment)})
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "messages": 1, "inserted": 1}

    alice, anon = user_id_for_identity(ALICE), user_id_for_anonymous_id(ANON)
    event = RawEvent.objects.get()
    assert (event.event_id, event.type, event.event_name, event.user_id, event.library) == (
        "seg-m-1",
        "custom",
        "Order Completed",
        alice,
        "analytics-python",
    )
    assert (event.domain, event.path, event.query, event.hash, event.title, event.referrer) == (
        "shop.example",
        "/checkout",
        "?step=2",
        "#pay",
        "Checkout",
        "https://x.test/",
    )
    assert event.properties == {"total": 49.5, "coupon": None, "address.city": "Oslo", "items": "[1,2]"}
    session = RawSession.objects.get()
    assert (session.session_id, session.user_id, session.library) == (event.session_id, alice, "analytics-python")
    assert (session.browser, session.platform, session.device_type, session.ip) == (
        "Chrome",
        "Mac OS X",
        "Desktop",
        "203.0.113.9",
    )
    assert (session.landing_page, session.landing_page_query, session.landing_page_hash, session.referrer) == (
        "https://Shop.example/checkout",
        "?step=2",
        "#pay",
        "https://x.test/",
    )
    assert (session.utm_source, session.utm_medium, session.utm_campaign, session.utm_term, session.utm_content) == (
        "newsletter",
        "email",
        "spring",
        "t",
        "c",
    )
    assert {(u.user_id, u.identity) for u in RawUser.objects.all()} == {(alice, ALICE), (anon, None)}
    assert [(m.from_user_id, m.to_user_id) for m in IdentityMerge.objects.all()] == [(anon, alice)]


def test_a_retried_batch_is_written_once(send):
    body = {
        "batch": [
            {"type": "track", "messageId": "a", "userId": ALICE, "event": "A"},
            {
                "type": "page",
                "messageId": "b",
                "userId": ALICE,
                "name": "Home",
                "properties": {"url": "https://s.test/"},
            },
        ]
    }
    assert send("batch", body).json()["inserted"] == 2
    before = raw_counts()
    response = send("batch", body)
    assert response.status_code == 200
    assert response.json()["inserted"] == 0
    assert raw_counts() == before


def test_clock_skew_is_corrected_as_segment_does(send):
    received_before = datetime.now(UTC)
    # The sender's clock is 2 hours ahead: the event happened 10 s before it was sent.
    skewed_sent = received_before + timedelta(hours=2)
    skewed_event = skewed_sent - timedelta(seconds=10)
    body = {
        "sentAt": iso(skewed_sent),
        "batch": [{"type": "track", "userId": ALICE, "event": "E", "timestamp": iso(skewed_event)}],
    }
    assert send("batch", body).status_code == 200
    received_after = datetime.now(UTC)
    time = RawEvent.objects.get().time
    assert (
        received_before - timedelta(seconds=10, milliseconds=5)
        <= time
        <= received_after - timedelta(seconds=10) + timedelta(milliseconds=5)
    )


def test_a_past_timestamp_without_sent_at_is_kept_and_the_future_is_capped(send):
    past = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert send("track", {"userId": ALICE, "event": "Old", "timestamp": iso(past)}).status_code == 200
    assert RawEvent.objects.get(event_name="Old").time == past
    before = datetime.now(UTC)
    assert send("track", {"userId": ALICE, "event": "Future", "timestamp": "2030-01-01T00:00:00Z"}).status_code == 200
    assert before <= RawEvent.objects.get(event_name="Future").time <= datetime.now(UTC)


def test_identify_alias_and_group(send):
    body = {
        "batch": [
            {"type": "identify", "anonymousId": ANON, "traits": {"plan": "free"}},
            {"type": "identify", "userId": ALICE, "anonymousId": ANON, "traits": {"plan": "pro", "email": ALICE}},
            {"type": "identify", "userId": ALICE, "context": {"traits": {"company": "Acme"}}},
            {"type": "alias", "previousId": "old-anon", "userId": ALICE},
            {
                "type": "group",
                "messageId": "g-1",
                "userId": ALICE,
                "groupId": 42,
                "traits": {"name": "Acme", "seats": 5},
            },
        ]
    }
    response = send("batch", body)
    assert response.status_code == 200, response.content
    alice, anon, old = user_id_for_identity(ALICE), user_id_for_anonymous_id(ANON), user_id_for_anonymous_id("old-anon")
    users = {u.user_id: (u.identity, u.properties) for u in RawUser.objects.all()}
    assert users == {
        anon: (None, {"plan": "free"}),
        alice: (ALICE, {"plan": "pro", "email": ALICE, "company": "Acme", "group_id": "42"}),
        old: (None, {}),
    }
    assert sorted((m.from_user_id, m.to_user_id) for m in IdentityMerge.objects.all()) == sorted(
        [(anon, alice), (old, alice)]
    )
    group = RawEvent.objects.get()
    assert (group.event_id, group.type, group.event_name, group.user_id) == ("seg-g-1", "custom", "Group", alice)
    assert group.properties == {"name": "Acme", "seats": 5, "group_id": "42"}


def test_page_and_screen_are_pageviews(send):
    body = {
        "batch": [
            {
                "type": "page",
                "messageId": "p",
                "anonymousId": ANON,
                "name": "Pricing",
                "category": "Docs",
                "properties": {
                    "url": "https://s.test/pricing?x=1",
                    "title": "Pricing — S",
                    "referrer": "https://g.test/",
                    "plan": "pro",
                },
            },
            {"type": "screen", "messageId": "s", "userId": ALICE, "name": "Settings", "properties": {"tab": "billing"}},
        ]
    }
    assert send("batch", body).status_code == 200
    page = RawEvent.objects.get(event_id="seg-p")
    assert (page.type, page.domain, page.path, page.query, page.title, page.referrer, page.user_id) == (
        "pageview",
        "s.test",
        "/pricing",
        "?x=1",
        "Pricing — S",
        "https://g.test/",
        user_id_for_anonymous_id(ANON),
    )
    assert page.properties == {"plan": "pro", "name": "Pricing", "category": "Docs"}
    screen = RawEvent.objects.get(event_id="seg-s")
    assert (screen.type, screen.title, screen.path, screen.library) == ("pageview", "Settings", "", "segment")
    assert screen.properties == {"tab": "billing", "name": "Settings"}


def test_gzip_bodies_are_read(send):
    body = {"batch": [{"type": "track", "userId": ALICE, "event": "Zipped"}]}
    assert send("batch", body, compress=True).status_code == 200
    assert RawEvent.objects.get().event_name == "Zipped"


def test_a_zip_bomb_is_refused_without_being_inflated(send, settings):
    settings.INGEST_MAX_BODY_BYTES = 1_000_000
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}", compresslevel=9)
    assert len(bomb) < 100_000
    response = send("batch", bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert response.json()["code"] == "request_body_too_large"
    assert "decompresses to more than 1000000 bytes" in response.json()["message"]
    assert raw_counts()["events"] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip at all", "the body is not valid gzip"),
        (gzip.compress(b'{"batch": []}')[:-6], "the gzip body is truncated"),
    ],
)
def test_broken_gzip_is_a_400(send, data, message):
    response = send("batch", data, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_several_gzip_members_are_one_body(send):
    text = json.dumps({"batch": [{"type": "track", "userId": ALICE, "event": "Two members"}]}).encode()
    data = gzip.compress(text[:10]) + gzip.compress(text[10:])
    assert send("batch", data, HTTP_CONTENT_ENCODING="gzip").status_code == 200


def test_a_body_of_countless_tiny_gzip_members_is_refused(send):
    # Each member copied the rest of the body: 262,000 empty members (5 MB) took a minute of CPU,
    # before any key was checked. Past 64 members the body is refused.
    response = send("batch", gzip.compress(b"") * 65, HTTP_CONTENT_ENCODING="gzip", auth="")
    assert response.status_code == 400
    assert "more than 64 members" in response.json()["message"]
    text = json.dumps({"batch": [{"type": "track", "userId": ALICE, "event": "64 members"}]}).encode()
    assert send("batch", gzip.compress(text) + gzip.compress(b"") * 63, HTTP_CONTENT_ENCODING="gzip").status_code == 200


@pytest.mark.parametrize(
    ("auth", "error", "status"),
    [
        ("", "write_key_required", 401),
        (basic("not-a-key"), "unknown_write_key", 401),
        ("Bearer " + SERVER_KEY, "write_key_required", 401),
        ("Basic %%%", "malformed_credentials", 401),
    ],
)
def test_the_write_key_is_required(send, auth, error, status):
    response = send("track", {"userId": ALICE, "event": "E"}, auth=auth)
    assert response.status_code == status
    assert response.json()["code"] == error
    assert raw_counts()["events"] == 0


def test_write_key_in_the_body(send):
    assert send("track", {"userId": ALICE, "event": "E", "writeKey": SERVER_KEY}, auth="").status_code == 200
    response = send("track", {"userId": ALICE, "event": "E", "writeKey": "other"})
    assert response.status_code == 401
    assert response.json()["code"] == "conflicting_write_keys"


def test_a_write_key_with_a_lone_surrogate_is_unknown_not_a_500(send):
    response = send("track", {"userId": ALICE, "event": "E", "writeKey": "\ud800"}, auth="")
    assert (response.status_code, response.json()["code"]) == (401, "unknown_write_key")


@pytest.mark.parametrize(
    ("message", "field", "text"),
    [
        ({"type": "track", "event": "E", "context": {"ip": "fe80::1%eth0"}}, "context.ip", "with a zone"),
        ({"type": "page", "properties": {"url": "http://[::1"}}, "properties.url", "is not a URL"),
    ],
)
def test_values_python_reads_but_the_store_cannot_hold_are_named(send, message, field, text):
    response = send(
        "batch", {"batch": [{"userId": ALICE, **message}, {"type": "track", "userId": ALICE, "event": "Ok"}]}
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert any(d["field"] == f"batch[0].{field}" and text in d["message"] for d in details), details


def test_a_rotated_key_stops_working_at_once(send, environment):
    from heapsite.services import environment_rotate_key

    new_key = environment_rotate_key(environment=environment)
    assert send("track", {"userId": ALICE, "event": "E"}).status_code == 401
    assert send("track", {"userId": ALICE, "event": "E"}, auth=basic(new_key)).status_code == 200


def test_errors_name_the_message_and_field_and_nothing_is_written(send):
    body = {
        "batch": [
            {"type": "track", "userId": ALICE, "event": "Fine"},
            {"type": "track", "anonymousId": ANON},
            {"type": "alias", "userId": ALICE},
            {"type": "wave", "userId": ALICE},
            {"type": "identify", "userId": {"id": 1}},
            {"type": "track", "userId": ALICE, "event": "E", "properties": {"k": "x" * 1025}},
            {"type": "track", "userId": ALICE, "event": "E", "context": {"ip": "not an ip"}},
        ]
    }
    response = send("batch", body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False and payload["code"] == "invalid_payload"
    assert [(d["field"], d["message"]) for d in payload["details"]] == [
        ("batch[1].event", "is required for track calls"),
        ("batch[2].previousId", "is required for alias calls"),
        ("batch[3].type", "must be one of track, identify, page, screen, group, alias; got 'wave'"),
        ("batch[4].userId", "must be a string or a number, not an object"),
        ("batch[5].properties.k", "is 1025 characters long; the limit is 1024"),
        ("batch[6].context.ip", "is not an IP address"),
    ]
    assert payload["message"] == "batch[1].event: is required for track calls"
    assert raw_counts() == {"users": 0, "sessions": 0, "events": 0, "merges": 0}


def test_a_single_call_endpoint_checks_the_type(send):
    response = send("page", {"type": "track", "userId": ALICE, "event": "E"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "type"


@pytest.mark.parametrize(
    ("properties", "field", "message"),
    [
        (
            {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
            'properties["a.b.c.d.e.f.g.h"]',
            "nests objects more than 8 levels deep",
        ),
        (
            {"a.b": 1, "a": {"b": 2}},
            'properties["a.b"]',
            "names the same key as another field once nested objects are flattened",
        ),
        ({"list": list(range(400))}, "properties.list", "characters as JSON text; the limit is 1024"),
        ({"nul": "a\x00b"}, "properties.nul", "contains a NUL byte"),
        ({f"k{i}": i for i in range(1001)}, "properties", "has 1001 keys; the limit is 1000"),
    ],
)
def test_hostile_properties_are_refused_by_name(send, properties, field, message):
    response = send("track", {"userId": ALICE, "event": "E", "properties": properties})
    assert response.status_code == 400
    details = response.json()["details"]
    assert any(d["field"] == field and message in d["message"] for d in details), details


def test_a_deeply_nested_body_is_a_clear_400(send):
    deep = (
        '{"batch": [{"type": "track", "userId": "a", "event": "e", "properties": {"x": '
        + "[" * 100_000
        + "]" * 100_000
        + "}}]}"
    )
    response = send("batch", deep.encode())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_only_post(client):
    response = client.get("/v1/batch")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
