"""npm clients against a live server: heap-api (Heap's server-side client) and @segment/analytics-node.

The clients run in node (tests/warehouse/ingest/clients/send.js) from the folder `make test` installs them
into; without npm these tests skip, saying so.
"""

import json
import os
import subprocess

import pytest

from warehouse.identity import user_id_for_anonymous_id, user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser
from warehouse.services import environment_settings_update

from .conftest import HERE, NODE_CLIENTS, api_event_table, node_or_skip, synced, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

# The versions these tests were written against (package.json pins them).
CLIENT_VERSIONS = {"heap-api": "1.0.1", "@segment/analytics-node": "3.1.0"}


def send(client: str, env) -> dict:
    node = node_or_skip()
    result = subprocess.run(
        [node, str(HERE / "send.js"), client, env.base_url, env.app_id, "test-server-key"],
        env={**os.environ, "NODE_PATH": str(NODE_CLIENTS / "node_modules")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["versions"]


def test_heap_api_lands_in_the_warehouse(env):
    environment_settings_update(environment=env, keyless_server_api=True)
    assert send("heap-api", env) == {"heap-api": CLIENT_VERSIONS["heap-api"]}
    carol = user_id_for_identity("carol@example.com")
    event = RawEvent.objects.get()
    assert (event.type, event.event_name, event.user_id, event.properties, event.library) == (
        "custom",
        "Order Completed",
        carol,
        {"total": 19, "currency": "EUR"},
        "server",
    )
    user = RawUser.objects.get()
    assert (user.user_id, user.identity, user.properties) == (carol, "carol@example.com", {"plan": "team", "seats": 4})
    table = api_event_table(env, "Order Completed")
    synced(env)
    assert warehouse_rows(env, "SELECT user_id, identity, plan, seats FROM {s}.users") == [
        {"user_id": carol, "identity": "carol@example.com", "plan": "team", "seats": 4}
    ]
    assert warehouse_rows(env, f"SELECT user_id, session_id, total, currency FROM {{s}}.{table}") == [
        {"user_id": carol, "session_id": event.session_id, "total": 19, "currency": "EUR"}
    ]
    assert warehouse_rows(env, "SELECT session_id, user_id, library FROM {s}.sessions") == [
        {"session_id": event.session_id, "user_id": carol, "library": "server"}
    ]


def test_heap_api_without_the_switch_is_refused(env):
    node_or_skip()
    with pytest.raises(AssertionError, match="401"):
        send("heap-api", env)
    assert RawEvent.objects.count() == 0


def test_segment_analytics_node_lands_in_the_warehouse(env):
    assert send("analytics-node", env) == {"@segment/analytics-node": CLIENT_VERSIONS["@segment/analytics-node"]}
    dave, anon, anon2 = (
        user_id_for_identity("dave@example.com"),
        user_id_for_anonymous_id("node-anon"),
        user_id_for_anonymous_id("node-anon-2"),
    )
    assert {u.user_id: (u.identity, u.properties) for u in RawUser.objects.all()} == {
        anon: (None, {"plan": "trial"}),
        dave: ("dave@example.com", {"plan": "team", "company.name": "Acme", "group_id": "g-7"}),
        anon2: (None, {}),
    }
    assert sorted((m.from_user_id, m.to_user_id) for m in IdentityMerge.objects.all()) == sorted(
        [(anon, dave), (anon2, dave)]
    )
    events = {e.event_id: e for e in RawEvent.objects.all()}
    assert sorted(events) == ["seg-n-g", "seg-n-p", "seg-n-s", "seg-n-t"]
    track = events["seg-n-t"]
    assert (track.event_name, track.user_id, track.domain, track.path, track.query, track.hash, track.properties) == (
        "Order Completed",
        dave,
        "shop.example",
        "/cart",
        "?c=1",
        "#top",
        {"total": 99.5},
    )
    assert {e.library for e in events.values()} == {"@segment/analytics-node"}
    session = RawSession.objects.get(session_id=track.session_id)
    assert (
        session.browser,
        session.platform,
        session.device_type,
        session.ip,
        session.utm_source,
        session.utm_term,
    ) == (
        "Mobile Safari",
        "iOS",
        "Mobile",
        "192.0.2.44",
        "ads",
        "boards",
    )
    table = api_event_table(env, "Order Completed")
    synced(env)
    assert warehouse_rows(env, "SELECT user_id, identity, plan, company_name, group_id FROM {s}.users") == [
        {"user_id": dave, "identity": "dave@example.com", "plan": "team", "company_name": "Acme", "group_id": "g-7"}
    ]
    assert warehouse_rows(env, f"SELECT user_id, total, device_type, utm_campaign, title FROM {{s}}.{table}") == [
        {"user_id": dave, "total": 99.5, "device_type": "Mobile", "utm_campaign": "launch", "title": "Cart"}
    ]
