"""Input the ingestion API accepts cannot stop a sync: property columns are bounded (issue 17)."""

import json
import time

import pytest

from warehouse.models import BuiltTable, RawUser
from warehouse.services import sync_run_foreground

from .conftest import column_types, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

USER = 4503599627370495


def collect(client, environment, *events, session_id=77):
    sent = int(time.time() * 1000)
    body = {
        "app_id": environment.app_id,
        "sent_at": sent,
        "user_id": USER,
        "session": {"id": session_id, "start_time": sent - 5000},
        "events": [{"id": f"e{i}-{sent}", "time": sent - 1000, **event} for i, event in enumerate(events)],
    }
    return client.post("/api/collect", data=json.dumps(body), content_type="text/plain")


def pageview(**properties):
    return {"type": "pageview", "domain": "shop.example", "path": "/", "properties": properties}


def synced(environment, *, full):
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback
    return run


def property_columns(schema, table, builtin):
    return {name: kind for name, kind in column_types(schema, table).items() if name not in builtin}


def test_a_thousand_numeric_user_properties_then_incremental_and_full_syncs(client, sync_env, settings):
    schema = sync_env.warehouse_schema
    assert collect(client, sync_env, pageview()).status_code == 200
    synced(sync_env, full=True)
    poison = {f"n{i:04}": i for i in range(1000)}
    response = collect(client, sync_env, {"type": "user_properties", "properties": poison})
    assert response.status_code == 200
    assert len(RawUser.objects.get(user_id=USER).properties) == 1000

    for full in (False, True, False):
        synced(sync_env, full=full)
        users = property_columns(
            schema, "users", {"user_id", "identity", "handle", "email", "joindate", "last_modified"}
        )
        # A stored row must fit in a page: users keep 324 property columns whatever the setting (500).
        assert len(users) == 324 and set(users.values()) == {"bigint"}
        left_out = BuiltTable.objects.get(environment=sync_env, key="builtin:users").omitted_properties
        assert left_out["count"] == 676 and left_out["limit"] == 324 and len(left_out["keys"]) == 100
    (row,) = rows(f"SELECT n0000, n0323, user_id FROM {schema}.users")  # noqa: S608
    assert (row["n0000"], row["n0323"], row["user_id"]) == (0, 323, USER)

    # The limit is a setting; a lower one applies to the next full sync (the most used keys first).
    settings.SYNC_MAX_PROPERTY_COLUMNS = 10
    synced(sync_env, full=True)
    assert (
        len(property_columns(schema, "users", {"user_id", "identity", "handle", "email", "joindate", "last_modified"}))
        == 10
    )


def test_users_with_a_thousand_long_text_properties_fit_their_rows(client, sync_env):
    """The row-size bound holds for the widest values the API accepts (1024-character strings)."""
    import secrets

    poison = {f"t{i:04}": secrets.token_hex(512) for i in range(1000)}
    assert collect(client, sync_env, {"type": "user_properties", "properties": poison}).status_code == 200
    synced(sync_env, full=True)
    users = column_types(sync_env.warehouse_schema, "users")
    assert len(users) == 6 + 324 and list(users.values()).count("text") == 3 + 324


def test_two_pageviews_with_a_thousand_distinct_properties_each(client, sync_env, admin_client):
    schema = sync_env.warehouse_schema
    assert collect(client, sync_env, pageview(plan="pro")).status_code == 200
    synced(sync_env, full=True)
    first = pageview(**{f"a{i:04}": f"value {i}" for i in range(1000)})
    second = pageview(**{f"b{i:04}": f"value {i}" for i in range(999)}, plan="free")
    assert collect(client, sync_env, first, second).status_code == 200

    for full in (False, True):
        synced(sync_env, full=full)
        columns = property_columns(
            schema,
            "pageviews",
            set(column_types(schema, "sessions"))
            | {"event_id", "type", "session_time", "domain", "path", "query", "hash", "title"},
        )
        assert len(columns) == 500
        # The most used key wins first: `plan` is on two pageviews, every other key on one.
        assert "plan" in columns
        table = BuiltTable.objects.get(environment=sync_env, key="builtin:pageviews")
        assert table.omitted_properties["count"] == 2000 - 500
    assert rows(f"SELECT count(*) AS n FROM {schema}.pageviews WHERE plan = 'free'")[0]["n"] == 1  # noqa: S608
    page = admin_client.get(f"/e/{schema}/sync/").content.decode()
    assert "1500 properties without a column" in page and "limit 500" in page


def test_ten_thousand_properties(client, sync_env):
    # One request with 10,000 properties is refused, naming the field; nothing is stored.
    response = collect(client, sync_env, pageview(**{f"k{i}": i for i in range(10_000)}))
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "events[0].properties", "message": "has 10000 keys; the limit is 1000"}
    ]
    # Ten pageviews with 1,000 keys each (9,991 distinct) are accepted; the sync keeps the most used 500.
    for batch in range(10):
        event = pageview(**{f"k{batch}_{i:03}": i for i in range(999)}, common=batch)
        assert collect(client, sync_env, event).status_code == 200
    synced(sync_env, full=True)
    table = BuiltTable.objects.get(environment=sync_env, key="builtin:pageviews")
    assert len(table.columns) == 500 and "common" in table.columns
    assert table.omitted_properties["count"] == 9_991 - 500
    assert rows(f"SELECT count(*) AS n FROM {sync_env.warehouse_schema}.pageviews")[0]["n"] == 10  # noqa: S608
