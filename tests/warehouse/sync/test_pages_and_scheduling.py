"""The sync status page, manual/scheduled/definition-change requests, and the scheduler tick."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from heapsite.scheduler import scheduler_run
from warehouse.models import SchedulerHeartbeat, SyncRun, TableChangeRequest
from warehouse.registry import notify_event_table_changed
from warehouse.scheduling import tick
from warehouse.services import environment_sync_settings_update, sync_run_foreground

from .conftest import settle, start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_status_page_shows_tables_history_chart_and_buttons(admin_client, raw, sync_env, set_specs):
    set_specs(
        sync_env.id,
        [{"key": "d:1", "table_name": "clicked_buy", "predicate": "e.type = 'click'", "label": "Clicked Buy"}],
    )
    raw.session(1, 2)
    raw.event("click", user_id=2)
    settle()
    sync_run_foreground(environment=sync_env, full=True)
    sync_run_foreground(environment=sync_env, full=False)
    page = admin_client.get("/e/main_production/sync/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "clicked_buy",
        "Clicked Buy",
        "pageviews",
        "all_events",
        "Incremental sync now",
        "Full sync now",
        "/admin/rq/",
        "<svg",
        "succeeded",
        "No sync is running",
    ):
        assert text in html, text
    assert admin_client.get("/e/nope/sync/").status_code == 404


def test_the_last_runs_steps_stay_on_the_page_with_their_times(admin_client, raw, sync_env):
    """A demo-sized run takes a fraction of a second: the page keeps what it did, step by step."""
    raw.session(1, 2)
    raw.event("pageview", user_id=2)
    settle()
    sync_run_foreground(environment=sync_env, full=True)
    run = SyncRun.objects.get()
    assert "resolving identity merges" in [step["step"] for step in run.steps]
    assert [step["at"] for step in run.steps] == sorted(step["at"] for step in run.steps)
    assert any(step["table"] == "pageviews" and step["rows"] == 1 for step in run.steps)
    html = admin_client.get("/e/main_production/sync/").content.decode()
    section = html[html.index('id="sync-steps"') :]
    assert f'Steps of the last run <span class="muted">#{run.pk} full, succeeded' in section
    assert "resolving identity merges" in section and "swapping in new tables" in section
    assert re.search(r'<td class="num">\+0\.\d{3} s</td>\s*<td class="num">\d+\.\d{3} s</td>', section)


def test_the_sync_page_shows_the_schedulers_heartbeat(admin_client, sync_env):
    SchedulerHeartbeat.objects.all().delete()
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert "Scheduler not running" in html and "manage.py scheduler" in html
    scheduler_run(interval_seconds=0.01, once=True)  # the real loop, one tick (it writes the heartbeat)
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert "Scheduler running</span>: last tick" in html and "just now" in html
    SchedulerHeartbeat.objects.update(ticked_at=timezone.now() - timedelta(hours=2))
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert "Scheduler stopped</span>: its last tick was" in html and "2 hours ago" in html


def test_status_page_with_one_run_a_running_sync_and_a_change_it_applies(admin_client, sync_env):
    started = timezone.now()
    SyncRun.objects.create(
        environment=sync_env,
        kind="full",
        trigger="manual",
        status="succeeded",
        started_at=started,
        finished_at=started,
        tables={"pricing": {"rows": 0, "ms": 0, "action": "renamed", "renamed_from": "viewed"}},
    )
    change = TableChangeRequest.objects.create(environment=sync_env, key="d:1", change="renamed")
    SyncRun.objects.create(
        environment=sync_env,
        kind="incremental",
        trigger="definition",
        status="running",
        started_at=timezone.now(),
    )
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert "pricing: renamed from viewed, 0 new rows" in html
    assert "last 1 finished runs" in html and 'points=""' not in html  # one run still draws a line
    assert "waiting for the next run" not in html  # the running sync applies the change
    TableChangeRequest.objects.filter(pk=change.pk).update(created_at=timezone.now())
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert "1 definition change waiting for the next run" in html


def test_progress_endpoint_reports_the_running_run(admin_client, sync_env):
    run = SyncRun.objects.create(
        environment=sync_env,
        kind="full",
        trigger="manual",
        status="running",
        started_at=timezone.now(),
        step="building table",
        current_table="pageviews",
        rows_done=1234,
        progress=0.5,
    )
    data = admin_client.get("/e/main_production/sync/progress.json").json()
    assert data["running"] and data["run_id"] == run.pk and data["percent"] == 50 and data["rows"] == 1234
    assert data["table"] == "pageviews"
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert 'style="width: 50%"' in html and "building table pageviews" in html


def test_progress_endpoint_counts_queued_runs_so_the_page_notices_a_run_that_came_and_went(admin_client, sync_env):
    # The page polls once a second; a run that starts and finishes between two polls is only
    # visible as one queued run fewer, so the page (data-queued) and the endpoint both report it.
    run = SyncRun.objects.create(environment=sync_env, kind="incremental", trigger="definition")
    assert admin_client.get("/e/main_production/sync/progress.json").json() == {"running": False, "queued": 1}
    assert 'data-queued="1"' in admin_client.get("/e/main_production/sync/").content.decode()
    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", started_at=timezone.now(), finished_at=timezone.now())
    assert admin_client.get("/e/main_production/sync/progress.json").json() == {"running": False, "queued": 0}


def test_sync_now_button_queues_one_run_and_a_worker_runs_it(admin_client, raw, sync_env, sync_queue):
    raw.session(1, 2)
    raw.event("pageview", user_id=2)
    settle()
    response = admin_client.post("/e/main_production/sync/run", {"kind": "full"})
    assert response.status_code == 302
    admin_client.post("/e/main_production/sync/run", {"kind": "incremental"})
    run = SyncRun.objects.get()
    assert (run.kind, run.trigger, run.status) == ("full", "manual", "queued")
    worker = start_worker()
    assert worker.wait(timeout=60) == 0, worker.stdout.read().decode()
    run.refresh_from_db()
    assert run.status == "succeeded" and run.tables["pageviews"]["rows"] == 1
    html = admin_client.get("/e/main_production/sync/").content.decode()
    assert f"#{run.pk}" in html


def test_definition_changes_are_recorded_and_coalesced(sync_env, sync_queue):
    with transaction.atomic():
        notify_event_table_changed(environment_id=sync_env.id, key="d:1", change="saved")
        notify_event_table_changed(environment_id=sync_env.id, key="d:2", change="renamed")
        assert len(sync_queue.jobs) == 0  # enqueued only after the commit
    assert TableChangeRequest.objects.filter(handled_at__isnull=True).count() == 2
    run = SyncRun.objects.get()
    assert run.trigger == "definition change" and len(sync_queue.jobs) == 1


def test_scheduler_tick_respects_interval_and_pause(sync_env, sync_queue, admin_client):
    assert len(tick()) == 1
    assert tick() == []  # not due again yet
    state = environment_sync_settings_update(environment=sync_env, interval_seconds=5, paused=True)
    state.last_scheduled_at = None
    state.save(update_fields=["last_scheduled_at"])
    assert tick() == []
    response = admin_client.post("/e/main_production/sync/settings", {"interval_seconds": "2"})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.interval_seconds == 60 - 55 and state.paused  # rejected: below the 5 s minimum
    admin_client.post("/e/main_production/sync/settings", {"interval_seconds": "30"})
    state.refresh_from_db()
    assert (state.interval_seconds, state.paused) == (30, False)
    assert len(tick()) == 1 and SyncRun.objects.filter(trigger="schedule").count() == 1  # coalesced


def test_manage_py_sync_runs_in_the_foreground_with_progress(raw, sync_env):
    from io import StringIO

    from django.core.management import call_command

    raw.session(1, 2)
    raw.event("pageview", user_id=2)
    settle()
    out, err = StringIO(), StringIO()
    call_command("sync", "main_production", "--full", stdout=out, stderr=err)
    assert "full sync of main_production succeeded" in out.getvalue()
    assert "pageviews" in out.getvalue() and "1 rows" in out.getvalue()
    assert "[" in err.getvalue() and "100%" in err.getvalue()
    with pytest.raises(Exception, match="no environment"):
        call_command("sync", "nope")


def test_runs_older_than_the_history_days_are_forgotten_but_the_last_good_one_stays(raw, sync_env, settings):
    from django.db import connection

    from warehouse.models import SyncStatus
    from warehouse.sync.history import history_prune

    raw.session(1, 2)
    raw.event("pageview", user_id=2)
    settle()
    old, last_good = (sync_run_foreground(environment=sync_env, full=True) for _ in range(2))
    failed = SyncRun.objects.create(environment=sync_env, kind="incremental", trigger="schedule")
    recent = sync_run_foreground(environment=sync_env, full=False)
    months_ago = timezone.now() - timedelta(days=60)
    SyncRun.objects.filter(pk__in=[old.pk, last_good.pk, failed.pk]).update(finished_at=months_ago)
    SyncRun.objects.filter(pk=failed.pk).update(status=SyncStatus.FAILED)
    SyncRun.objects.filter(pk=recent.pk).update(status=SyncStatus.FAILED)  # nothing good since last_good
    with connection.cursor() as cursor:  # the warehouse's record: the two full runs months ago
        cursor.execute(
            "UPDATE main_production._sync_history SET finish_time = %s"
            " WHERE start_time < (SELECT max(start_time) FROM main_production._sync_history)",
            [months_ago],
        )
    settings.SYNC_HISTORY_DAYS = 30

    assert history_prune(now=timezone.now()) == 1
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {last_good.pk, failed.pk, recent.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, finish_time > %s FROM main_production._sync_history", [months_ago])
        assert cursor.fetchall() == [("succeeded", True)]


def test_a_failing_prune_does_not_stop_the_tick(sync_env, sync_queue, monkeypatch, caplog):
    from django.db import connection

    from warehouse import scheduling

    with connection.cursor() as cursor:  # a _sync_history the prune cannot read
        cursor.execute("CREATE SCHEMA IF NOT EXISTS main_production")
        cursor.execute("CREATE TABLE main_production._sync_history (status text)")
    monkeypatch.setattr(scheduling, "_pruned_at", None)

    assert len(tick()) == 1  # the environment's sync was queued all the same
    assert 'forgetting old sync runs failed: ProgrammingError: column "finish_time" does not exist' in caplog.text
    assert SchedulerHeartbeat.objects.get().problem == ""


def test_the_hourly_tick_vacuums_the_catalogs_only_where_autovacuum_is_off(sync_env, sync_queue, monkeypatch):
    from django.db import connection

    from warehouse import scheduling
    from warehouse.sync.catalog import CHURNED_CATALOGS

    def last_vacuums():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, last_vacuum FROM pg_stat_sys_tables WHERE schemaname = 'pg_catalog'"
                " AND relname = ANY(%s)",
                [list(CHURNED_CATALOGS)],
            )
            return dict(cursor.fetchall())

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('autovacuum')::bool, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        )
        autovacuum, superuser = cursor.fetchone()
    before = last_vacuums()
    started = timezone.now()
    monkeypatch.setattr(scheduling, "_pruned_at", None)
    tick()
    if autovacuum:  # the embedded PostgreSQL: autovacuum's job
        assert last_vacuums() == before
        return
    assert superuser  # this machine's server: autovacuum off, the tests' role a superuser
    after = last_vacuums()  # the statistics of this backend's VACUUM are flushed at its end
    assert set(after) == set(CHURNED_CATALOGS)
    assert all(vacuumed is not None and vacuumed >= started for vacuumed in after.values())
    tick()  # not again within the hour
    assert last_vacuums() == after


def test_a_role_that_may_not_vacuum_the_catalogs_is_told_once(sync_env, monkeypatch, caplog):
    import uuid

    from django.db import connection

    from warehouse.sync import catalog

    monkeypatch.setattr(catalog, "_warned", False)
    assert not connection.in_atomic_block  # where the scheduler runs it (VACUUM cannot run in a transaction)
    role = f"heapsite_test_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum')::bool, current_setting('server_version_num')::int")
        autovacuum, version = cursor.fetchone()
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        try:
            cursor.execute(f'SET ROLE "{role}"')
            assert catalog.catalog_vacuum() == [] and catalog.catalog_vacuum() == []
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute(f'DROP ROLE "{role}"')
    warnings = [record for record in caplog.records if "may not vacuum the system catalogs" in record.getMessage()]
    # Where autovacuum runs there is nothing to say; PostgreSQL 17+ roles may hold MAINTAIN (this one does not).
    assert len(warnings) == (0 if autovacuum else 1), version


def test_the_hourly_tick_drops_what_stopped_sync_workers_left(sync_env, sync_queue, monkeypatch):
    """A dead worker's work, build and replaced-rows schemas go within the hour (a paused
    environment's next run may be far off); not those of a run holding its lock, nor the stored rows."""
    import psycopg2
    from django.db import connection

    from warehouse import scheduling
    from warehouse.sync.locking import _LOCK_NAMESPACE
    from warehouse.sync.tables import sync_private_schema

    running = sync_env.id + 1000  # an environment whose sync holds its lock
    left = [sync_private_schema(kind, sync_env.id) for kind in ("work", "build", "replaced")]
    kept = [sync_private_schema("data", sync_env.id), sync_private_schema("work", running), "_hs_sync_work_1x"]
    with connection.cursor() as cursor:
        for schema in left + kept:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cursor.execute(f'CREATE TABLE "{schema}".t (a int)')
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, running])
        monkeypatch.setattr(scheduling, "_pruned_at", None)
        tick()
    finally:
        other.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [left + kept])
        assert sorted(name for (name,) in cursor.fetchall()) == sorted(kept)
        for schema in kept:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
