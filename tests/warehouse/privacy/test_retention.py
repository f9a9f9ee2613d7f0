"""Retention with a fixed clock: old raw events go in short batches, the warehouse follows at the
next sync, ingestion never waits for it, and it is off unless an environment turns it on."""

import json
import time
from datetime import UTC, datetime, timedelta

import django_rq
import psycopg2
import pytest
from django.db import connection

from tests.warehouse.sync.conftest import T0, settle
from warehouse.models import RawEvent, RawSession, RawUser, RetentionRun, WarehouseDeletion
from warehouse.privacy import sql as privacy_sql
from warehouse.privacy.services import retention_due, retention_run
from warehouse.scheduling import tick
from warehouse.services import sync_run_foreground

from .conftest import run_worker, set_privacy, table_rows

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # with 30 days kept, the cutoff is 2026-01-30 12:00
DAY = 24 * 60


def history(raw):
    """Sessions and events around the cutoff (T0 is 2026-01-01 12:00)."""
    raw.user(1)
    raw.user(2)
    raw.session(10, 1, time=T0, last_event_time=T0 + timedelta(minutes=5))  # all before the cutoff
    raw.session(20, 2, time=T0 + timedelta(days=28), last_event_time=T0 + timedelta(days=32))  # spans it
    raw.session(30, 2, time=T0 + timedelta(days=50))  # after it
    old = [raw.event(user_id=1, session_id=10, minutes=minute) for minute in range(5)]
    old.append(raw.event(user_id=2, session_id=20, minutes=28 * DAY))
    new = [raw.event(user_id=2, session_id=20, minutes=32 * DAY)]
    new += [raw.event("click", user_id=2, session_id=30, minutes=50 * DAY + minute) for minute in range(2)]
    return old, new


def test_retention_deletes_old_raw_events_in_batches_and_the_warehouse_follows(raw, sync_env, set_specs, settings):
    set_specs(sync_env.id, [{"key": "d:c", "table_name": "clicks", "predicate": "e.type = 'click'"}])
    old, new = history(raw)
    settle()
    sync_run_foreground(environment=sync_env, full=True)
    schema = sync_env.warehouse_schema
    assert len(table_rows(schema, "all_events")) == 7 + 2  # 7 pageviews, 2 clicks

    assert retention_run(environment_id=sync_env.id, now=NOW) is None, "off by default: nothing happens"
    assert RawEvent.objects.count() == 9 and not RetentionRun.objects.exists()

    set_privacy(sync_env, retention_days=30)
    settings.RETENTION_BATCH_SIZE, settings.RETENTION_BATCH_PAUSE_MS = 2, 0
    batches = []
    run = retention_run(environment_id=sync_env.id, now=NOW, on_batch=lambda run: batches.append(run.events_deleted))
    assert (run.status, run.cutoff, run.events_deleted, run.sessions_deleted) == (
        "succeeded",
        datetime(2026, 1, 30, 12, tzinfo=UTC),
        6,
        1,
    )
    assert batches == [2, 4, 6, 6, 6], "at most two rows per transaction, then the sessions"
    assert sorted(RawEvent.objects.values_list("pk", flat=True)) == sorted(event.pk for event in new)
    assert sorted(RawSession.objects.values_list("session_id", flat=True)) == [20, 30]
    assert RawUser.objects.count() == 2, "users stay"
    # Each batch that deleted rows is recorded for the warehouse.
    assert WarehouseDeletion.objects.filter(kind="retention").count() == 4

    assert len(table_rows(schema, "pageviews")) == 7, "the warehouse changes at the next sync"
    settle()
    sync = sync_run_foreground(environment=sync_env, full=False)
    assert sync.tables["pageviews"]["deleted"] == 6 and sync.tables["sessions"]["deleted"] == 1
    assert sorted(row["event_id"] for row in table_rows(schema, "all_events")) == sorted(event.pk for event in new)
    assert sorted(row["session_id"] for row in table_rows(schema, "sessions")) == [20, 30]
    assert len(table_rows(schema, "users")) == 2
    assert not WarehouseDeletion.objects.exists(), "applied retention records are dropped"

    # The next day, nothing more is old enough: a run deletes nothing and requests no sync.
    again = retention_run(environment_id=sync_env.id, now=NOW + timedelta(days=1))
    assert (again.events_deleted, again.sessions_deleted, again.batches) == (0, 0, 2)


def test_retention_is_due_daily_and_the_scheduler_queues_it_once(raw, sync_env, make_environment):
    django_rq.get_connection("default").flushdb()
    make_environment("quiet", "production")  # retention off: never due
    set_privacy(sync_env, retention_days=30)
    assert retention_due(now=NOW) == [sync_env.id]
    retention_run(environment_id=sync_env.id, now=NOW)
    assert retention_due(now=NOW + timedelta(hours=23)) == []
    assert retention_due(now=NOW + timedelta(days=1)) == [sync_env.id]

    RetentionRun.objects.all().delete()
    tick()
    tick()
    queue = django_rq.get_queue("default")
    assert queue.job_ids == [f"privacy-retention-{sync_env.id}"]
    django_rq.get_queue("sync").empty()  # the tick's scheduled syncs are not what this test is about
    raw.session(1, 1, time=T0)
    raw.event(user_id=1, session_id=1)  # 2026-01-01: older than 30 days before any real today
    run_worker()
    assert RetentionRun.objects.get().events_deleted == 1
    assert RawEvent.objects.count() == 0
    django_rq.get_connection("default").flushdb()


def test_ingestion_never_waits_for_a_retention_batch(raw, sync_env, client):
    """A retention batch holds row locks on old rows only: ingestion goes on while it is open."""
    history(raw)
    set_privacy(sync_env, retention_days=30)
    holder = psycopg2.connect(**connection.get_connection_params())
    try:
        with holder.cursor() as cursor:
            deleted = privacy_sql.old_events_delete(cursor, environment_id=sync_env.id, before=NOW, limit=1000)
            assert deleted == 9  # not committed yet: the transaction stays open during the ingestion below
            privacy_sql.old_sessions_delete(cursor, environment_id=sync_env.id, before=NOW, limit=1000)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # any wait for the open batch fails the request
        now = int(time.time() * 1000)
        body = {
            "app_id": sync_env.app_id,
            "sent_at": now,
            "user_id": 2,  # a user whose old events and session the open batch is deleting
            "session": {"id": 40, "start_time": now - 1000},
            "events": [{"id": "fresh", "type": "pageview", "time": now - 500, "path": "/"}],
        }
        started = time.monotonic()
        answer = client.post("/api/collect", data=json.dumps(body), content_type="text/plain")
        assert answer.status_code == 200 and answer.json()["inserted"] == 1
        assert time.monotonic() - started < 1.0
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
