"""Heap's server API fields and key rules, and /js/heap-<app id>.js for Heap's classic snippet."""

from pathlib import Path

import pytest

from warehouse.identity import user_id_for_identity
from warehouse.ingest.minify import minify_js
from warehouse.models import IdentityMerge, RawEvent, RawSession
from warehouse.services import environment_settings_update

from .conftest import raw_counts

ALICE = "alice@example.com"
HEAP_USER_ID = "4503599627370495"


@pytest.mark.parametrize(
    "path",
    ["/api/track", "/api/add_user_properties", "/api/identify", "/api/v1/identify"],
)
def test_keys_stay_required_until_the_environment_opts_in(post, environment, path):
    body = {
        "/api/track": {"app_id": environment.app_id, "identity": ALICE, "event": "Paid"},
        "/api/add_user_properties": {"app_id": environment.app_id, "identity": ALICE, "properties": {"a": 1}},
        "/api/identify": {"app_id": environment.app_id, "identity": ALICE, "user_id": HEAP_USER_ID},
        "/api/v1/identify": {"app_id": environment.app_id, "identity": ALICE, "user_id": HEAP_USER_ID},
    }[path]
    response = post(path, body, key=None)
    assert response.status_code == 401
    assert response.json()["details"] == [
        {"field": "Authorization", "message": "send the environment's server key as 'Authorization: Bearer <key>'"}
    ]
    assert raw_counts() == {"users": 0, "sessions": 0, "events": 0, "merges": 0}

    environment_settings_update(environment=environment, keyless_server_api=True)
    assert post(path, body, key=None).status_code == 200
    # A key that is sent must still be the right one: a wrong key is a misconfiguration worth reporting.
    assert post(path, body, key="wrong").status_code == 401


def test_keyless_is_per_environment(post, make_environment, environment):
    other = make_environment(name="staging")
    environment_settings_update(environment=other, keyless_server_api=True)
    body = {"app_id": environment.app_id, "identity": ALICE, "event": "Paid"}
    assert post("/api/track", body, key=None).status_code == 401


def test_track_for_an_anonymous_heap_user_in_a_given_session(post, environment):
    body = {
        "app_id": environment.app_id,
        "events": [
            {"user_id": HEAP_USER_ID, "event": "Viewed Invoice", "session_id": "123456789", "idempotency_key": "i-1"},
            {"identity": ALICE, "event": "Paid", "timestamp": "2026-03-01T12:00:00Z"},
        ],
    }
    assert post("/api/track", body).status_code == 200
    anonymous = RawEvent.objects.get(event_name="Viewed Invoice")
    assert (anonymous.user_id, anonymous.session_id, anonymous.event_id) == (int(HEAP_USER_ID), 123456789, "srv-i-1")
    session = RawSession.objects.get(session_id=123456789)
    assert (session.user_id, session.library) == (int(HEAP_USER_ID), "server")
    assert RawEvent.objects.get(event_name="Paid").user_id == user_id_for_identity(ALICE)


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"event": "E"}, "identity", "is required (or user_id, the anonymous heap.userId)"),
        ({"event": "E", "identity": ALICE, "user_id": 5}, "user_id", "send identity or user_id, not both"),
        ({"event": "E", "user_id": "12x"}, "user_id", "must be an integer, not a string"),
        ({"event": "E", "user_id": str(2**53)}, "user_id", f"must be between 1 and {2**53 - 1}"),
    ],
)
def test_track_user_errors(post, environment, event, field, message):
    response = post("/api/track", {"app_id": environment.app_id, **event})
    assert response.status_code == 400
    assert {"field": field, "message": message} in response.json()["details"]


def test_heap_identify_takes_heap_user_id_as_a_string(post, environment):
    body = {
        "app_id": environment.app_id,
        "identity": ALICE,
        "user_id": HEAP_USER_ID,
        "timestamp": "2026-03-01T12:00:00Z",
    }
    response = post("/api/v1/identify", body)
    assert response.status_code == 200
    merge = IdentityMerge.objects.get()
    assert (merge.from_user_id, merge.to_user_id) == (int(HEAP_USER_ID), user_id_for_identity(ALICE))


def test_heap_script_is_heap_js_configured_for_the_environment(client, environment):
    response = client.get(f"/js/heap-{environment.app_id}.js", HTTP_HOST="127.0.0.1:8123")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    body = response.content.decode()
    served = minify_js(Path("static/heap.js").read_text(encoding="utf-8"))
    preamble, _, rest = body.partition(served)
    assert f'if(!h.appid)h.appid="{environment.app_id}";' in preamble
    assert 'new URL("/api/collect",s.src).href' in preamble
    assert '"http://127.0.0.1:8123/api/collect"' in preamble
    assert body.endswith(served) and not rest
    assert "max-age=300" in response["Cache-Control"] and "public" in response["Cache-Control"]
    again = client.get(
        f"/js/heap-{environment.app_id}.js", HTTP_HOST="127.0.0.1:8123", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


# A NUL in the URL never reaches the view (tests/heapsite/platform/test_unstorable_urls.py: 400).
@pytest.mark.parametrize("app_id", ["999", "x*<script>", "9" * 40])
def test_heap_script_for_an_unknown_app_id_is_a_404(client, db, app_id):
    response = client.get(f"/js/heap-{app_id}.js")
    assert response.status_code == 404
    assert response.content == b"/* heapsite: no environment has this app id */\n"
