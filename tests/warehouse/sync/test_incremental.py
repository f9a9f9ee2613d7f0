"""Incremental syncs append only what is new, and bring users, sessions and merges up to date."""

from datetime import timedelta

import pytest
from django.db import connection

from warehouse.identity import user_id_for_identity
from warehouse.ingest.enrich import ClientInfo
from warehouse.ingest.services import collect_batch_ingest
from warehouse.models import RawSession
from warehouse.models.raw import raw_batch
from warehouse.services import sync_run_foreground

from .conftest import T0, column_types, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

BOB = user_id_for_identity("bob")


def sync(environment, full=False):
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback
    return run


def test_incremental_appends_and_applies_merges_users_sessions(raw, sync_env):
    raw.user(21, properties={"plan": "free"})
    raw.session(1, 21, browser="Firefox")
    first = raw.event("pageview", user_id=21, path="/")
    run = sync(sync_env)
    assert run.kind == "incremental" and "pageviews" in run.tables  # first sync ever is a full build
    schema = sync_env.warehouse_schema

    # Later: the anonymous user identifies as bob, changes a property, and the session's geo fills in.
    raw.user(BOB, identity="bob", properties={"plan": "pro", "team size": 4})
    raw.merge(21, BOB)
    RawSession.objects.filter(session_id=1).update(country="DE", batch=raw_batch())
    raw.session(2, BOB)
    second = raw.event("pageview", user_id=21, session_id=1, path="/later")
    third = raw.event("pageview", user_id=BOB, session_id=2, path="/b")
    run = sync(sync_env)
    assert run.tables["pageviews"] == {"rows": 2, "ms": 0, "action": "appended"}
    got = rows(f"SELECT event_id, user_id, country FROM {schema}.pageviews ORDER BY event_id")
    assert got == [
        {"event_id": first.id, "user_id": BOB, "country": "DE"},
        {"event_id": second.id, "user_id": BOB, "country": "DE"},
        {"event_id": third.id, "user_id": BOB, "country": ""},
    ]
    assert rows(f"SELECT DISTINCT user_id FROM {schema}.all_events") == [{"user_id": BOB}]
    users = rows(f"SELECT user_id, identity, plan, team_size FROM {schema}.users ORDER BY user_id")
    assert users == [{"user_id": BOB, "identity": "bob", "plan": "pro", "team_size": 4}]
    assert rows(f"SELECT session_id, user_id, country FROM {schema}.sessions ORDER BY 1") == [
        {"session_id": 1, "user_id": BOB, "country": "DE"},
        {"session_id": 2, "user_id": BOB, "country": ""},
    ]

    # Nothing new: nothing appended, same rows.
    run = sync(sync_env)
    assert run.tables["pageviews"]["rows"] == 0
    assert len(rows(f"SELECT 1 FROM {schema}.pageviews")) == 3
    # A full sync gives exactly the same warehouse.
    before = rows(f"SELECT * FROM {schema}.pageviews ORDER BY event_id")
    sync(sync_env, full=True)
    assert rows(f"SELECT * FROM {schema}.pageviews ORDER BY event_id") == before


def test_event_committed_late_below_a_visible_id_is_not_missed(raw, sync_env):
    """A writer that took a lower id but commits after a higher id was synced is still picked up."""
    import psycopg2
    from django.db import connection

    raw.session(1, 5)
    raw.event("pageview", user_id=5)
    sync(sync_env)
    other = psycopg2.connect(**connection.get_connection_params())  # the slow ingest transaction
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type,"
            " event_name, domain, path, query, hash, title, referrer, target_tag, target_id, target_classes,"
            " target_text, target_href, hierarchy, library, properties)"
            " VALUES (%s, 'slow', 5, 1, now(), now(), 'pageview', '', '', '/slow', '', '', '', '', '', '', '{}',"
            " '', '', '[]', '', '{}') RETURNING id",
            [sync_env.id],
        )
        slow_id = cursor.fetchone()[0]
    fast = raw.event("pageview", user_id=5, path="/fast")
    assert fast.id > slow_id
    run = sync_run_foreground(environment=sync_env, full=False)  # the slow writer is still in flight
    assert run.status == "succeeded"
    other.commit()
    other.close()
    sync(sync_env)
    paths = [r["path"] for r in rows(f"SELECT path FROM {sync_env.warehouse_schema}.pageviews ORDER BY event_id")]
    assert sorted(paths) == ["", "/fast", "/slow"]


def test_user_change_committed_after_a_sync_read_the_users_is_not_missed(raw, sync_env):
    """Users are re-read by their writer's batch: a slow writer's change lands in the next sync."""
    import psycopg2
    from django.db import connection

    raw.user(BOB, identity="bob", properties={"plan": "free"})
    raw.session(1, BOB)
    raw.event("pageview", user_id=BOB)
    sync(sync_env)
    other = psycopg2.connect(**connection.get_connection_params())  # a slow add_user_properties request
    with other.cursor() as cursor:
        cursor.execute(
            'UPDATE raw_users SET properties = properties || \'{"plan": "pro"}\', batch = (SELECT heapsite_raw_batch()) '
            "WHERE environment_id = %s AND user_id = %s",
            [sync_env.id, BOB],
        )
    run = sync_run_foreground(environment=sync_env, full=False)  # the writer is still in flight
    assert run.status == "succeeded"
    schema = sync_env.warehouse_schema
    assert rows(f"SELECT plan FROM {schema}.users") == [{"plan": "free"}]
    other.commit()
    other.close()
    sync(sync_env)
    assert rows(f"SELECT plan FROM {schema}.users") == [{"plan": "pro"}]


def test_only_changes_the_warehouse_shows_mark_rows_for_the_next_sync(sync_env):
    """A live session's later batches only move last_event_time: its batch stays, so the sync does not
    re-read it; a user whose properties change (and only then) gets the new batch."""

    def stamps():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT batch FROM raw_sessions WHERE environment_id = %(e)s),"
                " (SELECT batch FROM raw_users WHERE environment_id = %(e)s AND identity IS NOT NULL)",
                {"e": sync_env.id},
            )
            return cursor.fetchone()

    def send(seconds, **properties):
        events = [{"type": "user_properties", "time": T0.timestamp() + seconds, "properties": properties}]
        payload = {
            "sent_at": T0.timestamp() + seconds,
            "user_id": 77,
            "identity": "bob",
            "library": "web",
            "session": {"id": 1, "start_time": T0.timestamp()},
            "events": events,
        }
        collect_batch_ingest(
            environment=sync_env, payload=payload, client=ClientInfo(), received_at=T0 + timedelta(seconds=seconds)
        )

    send(1, plan="free")
    first = stamps()
    send(60, plan="free")
    assert stamps() == first
    send(120, plan="pro")
    session, user = stamps()
    assert session == first[0] and user > first[1]


def test_a_wider_session_property_replaces_sessions_and_every_view_reads_the_new_table(raw, sync_env, set_specs):
    set_specs(
        sync_env.id,
        [{"key": "t:c", "table_name": "clicked", "predicate": "e.type = 'click'", "event_types": ["click"]}],
    )
    raw.session(1, 7, browser="Firefox", properties={"visits": 1})
    view = raw.event("pageview", user_id=7)
    click = raw.event("click", user_id=7)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    raw.session(2, 7, browser="Chrome", properties={"visits": "many"})  # no longer fits bigint
    later = raw.event("click", user_id=7, session_id=2)
    sync(sync_env)
    assert column_types(schema, "sessions")["visits"] == "text"  # sessions was rebuilt
    assert rows(f"SELECT event_id, browser FROM {schema}.pageviews") == [{"event_id": view.id, "browser": "Firefox"}]
    assert rows(f"SELECT event_id, browser FROM {schema}.clicked ORDER BY 1") == [
        {"event_id": click.id, "browser": "Firefox"},
        {"event_id": later.id, "browser": "Chrome"},
    ]


def test_a_merge_alone_moves_the_merged_users_sessions(raw, sync_env):
    """A session that did not change itself is re-read when its user is merged into another."""
    raw.session(5, 31)
    raw.session(6, 32)
    raw.event("pageview", user_id=31, session_id=5)
    sync(sync_env)
    raw.merge(31, BOB)
    sync(sync_env)
    assert rows(f"SELECT session_id, user_id FROM {sync_env.warehouse_schema}.sessions ORDER BY 1") == [
        {"session_id": 5, "user_id": BOB},
        {"session_id": 6, "user_id": 32},
    ]


def test_one_session_id_sent_by_two_visitors_who_become_one_user_is_one_session(raw, sync_env):
    """Raw sessions are keyed by (session id, user): two anonymous visitors sending one session id
    (a buggy or hostile client) who both identify as bob make one warehouse session, not a failed sync."""
    raw.session(1, 21, browser="Firefox")
    raw.session(1, 22, time=T0 + timedelta(minutes=1), browser="Chrome")
    raw.event("pageview", user_id=21, session_id=1)
    raw.event("pageview", user_id=22, session_id=1)
    raw.merge(21, BOB)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    sessions = f"SELECT session_id, user_id, browser FROM {schema}.sessions ORDER BY user_id"
    assert rows(sessions) == [
        {"session_id": 1, "user_id": 22, "browser": "Chrome"},
        {"session_id": 1, "user_id": BOB, "browser": "Firefox"},
    ]
    raw.merge(22, BOB)
    sync(sync_env)  # incremental: both raw rows of session 1 land on bob, the earlier one kept
    assert rows(sessions) == [{"session_id": 1, "user_id": BOB, "browser": "Firefox"}]
    assert rows(f"SELECT user_id, browser FROM {schema}.pageviews") == [{"user_id": BOB, "browser": "Firefox"}] * 2
    sync(sync_env, full=True)
    assert rows(sessions) == [{"session_id": 1, "user_id": BOB, "browser": "Firefox"}]


def _indexes(schema, table):
    return rows(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s ORDER BY indexname",
        [schema, table],
    )


def test_small_event_tables_get_indexes_once_an_append_takes_them_past_the_threshold(raw, sync_env, settings):
    """Stored rows under SYNC_INDEX_MIN_ROWS have no indexes; the incremental run that reaches it adds both."""
    settings.SYNC_INDEX_MIN_ROWS = 3
    data = f"_hs_sync_data_{sync_env.id}"
    raw.session(1, 7)
    raw.event("pageview", user_id=7, path="/a")
    raw.event("pageview", user_id=7, path="/b")
    sync(sync_env, full=True)
    assert _indexes(data, "pageviews") == []
    assert len(rows(f"SELECT 1 FROM {sync_env.warehouse_schema}.pageviews WHERE user_id = 7")) == 2

    raw.event("pageview", user_id=7, path="/c")
    sync(sync_env)
    assert [row["indexdef"].split(" USING ")[1] for row in _indexes(data, "pageviews")] == [
        'btree ("time")',
        "btree (user_id)",
    ]
    # A later append past the threshold, or a full sync, keeps exactly these two.
    raw.event("pageview", user_id=7, path="/d")
    sync(sync_env)
    assert len(_indexes(data, "pageviews")) == 2
    sync(sync_env, full=True)
    assert len(_indexes(data, "pageviews")) == 2
