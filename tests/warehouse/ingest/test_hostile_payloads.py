"""Malformed and hostile payloads: each gets the right status, names the bad field, and nothing it
refuses is written (on /api/collect one bad event is refused alone, see docs/api.md)."""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import RequestFactory

from warehouse.ingest import views
from warehouse.models import RawEvent

from .conftest import button_click, now_ms, raw_counts

NOTHING = {"users": 0, "sessions": 0, "events": 0, "merges": 0}
FAR_FUTURE_MS = 7258118400000  # 2200-01-01


@dataclass
class Case:
    path: str
    change: Callable[[dict], object]  # edits the valid body in place, or returns a replacement (dict/bytes/str)
    status: int
    field: str
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


def setter(path: str, value) -> Callable[[dict], None]:
    """Set a dotted path like 'events.0.target.tag' in the body."""

    def change(body: dict) -> None:
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def remover(path: str) -> Callable[[dict], None]:
    def change(body: dict) -> None:
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def with_events(*events) -> Callable[[dict], None]:
    return setter("events", list(events))


def deep_json(body: dict) -> str:
    # 100,000 levels: more than any JSON parser recursion allows.
    return '{"app_id": "x", "events": [' + "[" * 100_000 + "]" * 100_000 + "]}"


def long_hierarchy(body: dict) -> None:
    click = body["events"][1]
    click["hierarchy"] = click["hierarchy"][:1] + [{"tag": "div"}] * 511 + click["hierarchy"][-2:]


C = "/api/collect"
T = "/api/track"
I = "/api/identify"  # noqa: E741
U = "/api/add_user_properties"

CASES = {
    # Transport: body, encoding, content type, method.
    "invalid json": Case(C, lambda b: '{"app_id": ', 400, "body"),
    "json array body": Case(C, lambda b: "[1, 2]", 400, "body"),
    "blank body": Case(C, lambda b: " \n", 400, "body"),
    "invalid utf-8": Case(C, lambda b: b'{"app_id": "\xff\xfe"}', 400, "body"),
    "NaN literal": Case(C, lambda b: json.dumps(b).replace('"seats": 3', '"seats": NaN'), 400, "body"),
    "json nested 100k deep": Case(C, deep_json, 400, "body"),
    "wrong content type": Case(C, lambda b: None, 415, "Content-Type", content_type="text/html"),
    "non-utf8 charset": Case(C, lambda b: None, 415, "Content-Type", content_type="text/plain; charset=latin-1"),
    "gzip encoding": Case(C, lambda b: None, 415, "Content-Encoding", headers={"HTTP_CONTENT_ENCODING": "gzip"}),
    "server api as text/plain": Case(T, lambda b: None, 415, "Content-Type", content_type="text/plain"),
    # Authentication.
    "unknown app id": Case(C, setter("app_id", "999"), 401, "app_id"),
    "track unknown app id": Case(T, setter("app_id", "999"), 401, "app_id"),
    "track without key": Case(T, lambda b: None, 401, "Authorization", headers={"HTTP_AUTHORIZATION": ""}),
    "track wrong key": Case(T, lambda b: None, 401, "Authorization", headers={"HTTP_AUTHORIZATION": "Bearer nope"}),
    "identify basic auth": Case(I, lambda b: None, 401, "Authorization", headers={"HTTP_AUTHORIZATION": "Basic eDp5"}),
    # Batch header.
    "missing app id": Case(C, remover("app_id"), 400, "app_id"),
    "app id not a string": Case(C, setter("app_id", 1234567890), 400, "app_id"),
    "unknown top-level field": Case(C, setter("events_typo", []), 400, "events_typo"),
    "missing events": Case(C, remover("events"), 400, "events"),
    "empty events": Case(C, setter("events", []), 400, "events"),
    "events not a list": Case(C, setter("events", {"0": {}}), 400, "events"),
    "too many events": Case(C, lambda b: b["events"].extend(b["events"] * 3), 400, "events"),
    "user id a string": Case(C, setter("user_id", "4503599627370495"), 400, "user_id"),
    "user id a boolean": Case(C, setter("user_id", True), 400, "user_id"),
    "user id above 2**53": Case(C, setter("user_id", 2**53), 400, "user_id"),
    "sent_at in seconds": Case(C, setter("sent_at", 1764325000), 400, "sent_at"),
    "identity too long": Case(C, setter("identity", "x" * 256), 400, "identity"),
    "missing session": Case(C, remover("session"), 400, "session"),
    "negative session id": Case(C, setter("session.id", -5), 400, "session.id"),
    "NUL in utm_source": Case(C, setter("session.utm_source", "a\x00b"), 400, "session.utm_source"),
    # Events.
    "event time a string": Case(C, setter("events.0.time", "yesterday"), 400, "events[0].time"),
    "event time year 2200": Case(C, setter("events.0.time", FAR_FUTURE_MS), 400, "events[0].time"),
    "property 1e400": Case(
        C, lambda b: json.dumps(b).replace('"seats": 3', '"seats": 1e400'), 400, "events[1].properties.seats"
    ),
    "unknown event type": Case(C, setter("events.0.type", "hover"), 400, "events[0].type"),
    "missing event id": Case(C, remover("events.0.id"), 400, "events[0].id"),
    "event id too long": Case(C, setter("events.0.id", "e" * 65), 400, "events[0].id"),
    "duplicate event ids": Case(C, setter("events.1.id", "e-pv-1"), 400, "events[1].id"),
    "custom without name": Case(C, setter("events.0.type", "custom"), 400, "events[0].name"),
    "event name too long": Case(
        C, with_events({"id": "c1", "type": "custom", "time": now_ms(), "name": "n" * 1025}), 400, "events[0].name"
    ),
    "identify without identity": Case(
        C, with_events({"id": "i1", "type": "identify", "time": now_ms()}), 400, "events[0].identity"
    ),
    "NUL in title": Case(C, setter("events.0.title", "Pricing\x00"), 400, "events[0].title"),
    "lone surrogate in path": Case(
        C, lambda b: json.dumps(b).replace('"/pricing"', '"/\\ud800"', 1), 400, "events[0].path"
    ),
    # Properties.
    "nested property": Case(C, setter("events.1.properties.plan", {"name": "pro"}), 400, "events[1].properties.plan"),
    "deeply nested property": Case(C, setter("events.1.properties.plan", nested(50)), 400, "events[1].properties.plan"),
    "property list": Case(C, setter("events.1.properties.plan", ["a"]), 400, "events[1].properties.plan"),
    "property value too long": Case(
        C, setter("events.1.properties.note", "v" * 1025), 400, "events[1].properties.note"
    ),
    "property key too long": Case(C, setter("events.1.properties." + "k" * 1025, 1), 400, 'events[1].properties["kkkk'),
    "NUL in property key": Case(C, setter("events.1.properties.a\x00b", 1), 400, 'events[1].properties["a\\u0000b"]'),
    "empty property key": Case(C, setter("events.1.properties.", 1), 400, 'events[1].properties[""]'),
    "properties not an object": Case(C, setter("events.1.properties", "plan=pro"), 400, "events[1].properties"),
    # Element hierarchy (docs/api.md).
    "click without hierarchy": Case(C, remover("events.1.hierarchy"), 400, "events[1].hierarchy"),
    "click without target": Case(C, remover("events.1.target"), 400, "events[1].target"),
    "pageview with a target": Case(C, setter("events.0.target", {"tag": "a"}), 400, "events[0].target"),
    "unknown element key": Case(C, setter("events.1.hierarchy.1.style", "x"), 400, "events[1].hierarchy[1].style"),
    "event handler attr": Case(
        C, setter("events.1.hierarchy.0.attrs.onclick", "x()"), 400, "events[1].hierarchy[0].attrs.onclick"
    ),
    "value attr": Case(
        C, setter("events.1.hierarchy.0.attrs.value", "secret"), 400, "events[1].hierarchy[0].attrs.value"
    ),
    "attr value not a string": Case(
        C, setter("events.1.hierarchy.0.attrs.data-plan", 3), 400, "events[1].hierarchy[0].attrs.data-plan"
    ),
    "attr value too long": Case(
        C, setter("events.1.hierarchy.1.attrs.action", "/" * 1025), 400, "events[1].hierarchy[1].attrs.action"
    ),
    "empty tag": Case(C, setter("events.1.hierarchy.1.tag", ""), 400, "events[1].hierarchy[1].tag"),
    "class token with space": Case(
        C, setter("events.1.hierarchy.1.classes", ["a b"]), 400, "events[1].hierarchy[1].classes[0]"
    ),
    "duplicate classes": Case(
        C, setter("events.1.hierarchy.1.classes", ["a", "a"]), 400, "events[1].hierarchy[1].classes"
    ),
    "hierarchy not ending in html": Case(
        C, lambda b: b["events"][1]["hierarchy"].pop() and None, 400, "events[1].hierarchy[2].tag"
    ),
    "target differs from hierarchy[0]": Case(C, setter("events.1.target.tag", "a"), 400, "events[1].target.tag"),
    "hierarchy over 512 elements": Case(C, long_hierarchy, 400, "events[1].hierarchy"),
    # Server APIs.
    "track bulk too big": Case(
        T, lambda b: {"app_id": b["app_id"], "events": [{"identity": "a", "event": "e"}] * 5}, 400, "events"
    ),
    "track timestamp year 2200": Case(T, setter("timestamp", "2200-01-01T00:00:00Z"), 400, "timestamp"),
    "track timestamp tomorrow+": Case(T, setter("timestamp", now_ms() + 3 * 86400 * 1000), 400, "timestamp"),
    "track naive iso timestamp": Case(T, setter("timestamp", "2026-01-31T12:00:00"), 400, "timestamp"),
    "track garbage timestamp": Case(T, setter("timestamp", "last tuesday"), 400, "timestamp"),
    "track timestamp 1970": Case(T, setter("timestamp", 1000), 400, "timestamp"),
    "track duplicate key in bulk": Case(
        T,
        lambda b: {"app_id": b["app_id"], "events": [{"identity": "a", "event": "e", "idempotency_key": "k"}] * 2},
        400,
        "events[1].idempotency_key",
    ),
    "track single and bulk": Case(T, setter("events", [{"identity": "a", "event": "e"}]), 400, "event"),
    "track empty identity": Case(T, setter("identity", ""), 400, "identity"),
    "track missing event": Case(T, remover("event"), 400, "event"),
    "track bulk item missing identity": Case(
        T, lambda b: {"app_id": b["app_id"], "events": [{"event": "e"}]}, 400, "events[0].identity"
    ),
    "identify missing user id": Case(I, remover("user_id"), 400, "user_id"),
    "identify identified user id": Case(I, setter("user_id", 2**62 + 1), 400, "user_id"),
    "user properties nested": Case(U, setter("properties.address", {"city": "Paris"}), 400, "properties.address"),
    "bulk user properties too many": Case(
        U, lambda b: {"app_id": b["app_id"], "users": [{"identity": "a", "properties": {}}] * 5}, 400, "users"
    ),
    "bulk user properties identity too long": Case(
        U,
        lambda b: {"app_id": b["app_id"], "users": [{"identity": "x" * 256, "properties": {}}]},
        400,
        "users[0].identity",
    ),
}


@pytest.fixture
def valid_bodies(environment, batch):
    return {
        C: batch(),
        T: {"app_id": environment.app_id, "identity": "alice@example.com", "event": "Purchase", "properties": {"n": 1}},
        I: {"app_id": environment.app_id, "identity": "alice@example.com", "user_id": 4503599627370495},
        U: {"app_id": environment.app_id, "identity": "alice@example.com", "properties": {"plan": "pro"}},
    }


def bad_event(case: Case, sent: dict) -> int | None:
    """The position of the one bad event of a /api/collect batch that has others, or None."""
    match = re.match(r"events\[(\d+)\]", case.field)
    if case.path != C or not match or len(sent["events"]) < 2:
        return None
    return int(match[1])


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_payload_is_refused_and_nothing_of_it_is_stored(case, valid_bodies, post, settings):
    """Everything is refused whole, except one bad event among good ones on /api/collect: that
    event alone is refused (named in the 200 reply) and the others are stored (docs/api.md)."""
    settings.INGEST_MAX_BATCH = 4
    sent = valid_bodies[case.path]
    replaced = case.change(sent)
    body = replaced if replaced is not None else sent
    response = post(case.path, body, content_type=case.content_type, **case.headers)

    index = bad_event(case, sent)
    if index is not None:
        assert response.status_code == 200, response.content
        reply = response.json()
        assert reply["rejected"] == [index]
        fields = [detail["field"] for detail in reply["details"]]
        assert any(name.startswith(case.field) for name in fields), fields
        assert all(name.startswith(f"events[{index}]") for name in fields), fields
        kept = [event["id"] for position, event in enumerate(sent["events"]) if position != index]
        assert sorted(RawEvent.objects.values_list("event_id", flat=True)) == sorted(kept)
        assert reply["inserted"] == len(kept) == 1
        return
    assert response.status_code == case.status, response.content
    reply = response.json()
    assert reply["error"]
    fields = [detail["field"] for detail in reply["details"]]
    assert any(name.startswith(case.field) for name in fields), fields
    assert all(detail["message"] for detail in reply["details"])
    assert raw_counts() == NOTHING


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


def test_declared_length_over_the_limit_is_413(post, batch, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    body = batch(*[button_click(f"e{index}") for index in range(4)])
    response = post("/api/collect", body)
    assert response.status_code == 413
    assert response.json()["details"][0]["field"] == "body"
    assert raw_counts() == NOTHING


def test_chunked_body_over_the_limit_is_413_by_bytes_read(db, batch, settings):
    # No Content-Length to trust: the limit applies to the bytes actually read.
    settings.INGEST_MAX_BODY_BYTES = 2048
    data = json.dumps(batch(*[button_click(f"e{index}") for index in range(4)])).encode()
    request = RequestFactory().generic("POST", "/api/collect", HTTP_TRANSFER_ENCODING="chunked")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["CONTENT_TYPE"] = "text/plain;charset=UTF-8"
    request.META["wsgi.input"] = io.BytesIO(data)
    response = views.collect(request)
    assert response.status_code == 413
    assert raw_counts() == NOTHING


def test_error_details_are_capped(post, batch):
    body = batch(*[dict(button_click(f"e{index}"), time="x", type="hover") for index in range(200)])
    response = post("/api/collect", body)
    assert response.status_code == 400
    assert 10 < len(response.json()["details"]) <= 50


def test_get_is_405_with_allow_header(client):
    response = client.get("/api/track")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["details"][0]["field"] == "method"
