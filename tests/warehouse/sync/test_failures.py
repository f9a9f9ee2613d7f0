"""Killed workers, long readers and concurrent requests leave a correct warehouse (real RQ workers)."""

import os
import signal
import threading
import time

import psycopg2
import pytest
from django.db import connection

from warehouse.models import SyncKind, SyncRun
from warehouse.services import sync_request, sync_run_foreground
from warehouse.sync.progress import PAUSE_AT_ENV, PAUSE_FILE_ENV
from warehouse.sync.tables import sync_private_schema

from .conftest import rows, settle, start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def sync(environment, full=False):
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback
    return run


def seed(raw, count, path="/"):
    for _ in range(count):
        raw.event("pageview", user_id=3, session_id=1, path=path)


def wait_for(path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, "the worker never reached the pause point"
        time.sleep(0.05)
    return int(path.read_text().strip())


def count(schema, table="pageviews"):
    return rows(f"SELECT count(*) AS n FROM {schema}.{table}")[0]["n"]


@pytest.mark.parametrize("point", ["mid-build", "before-swap", "mid-swap"])
def test_sigkill_leaves_previous_tables_and_next_run_completes(raw, sync_env, sync_queue, tmp_path, point):
    raw.session(1, 3)
    seed(raw, 3)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    seed(raw, 2, path="/new")
    settle()
    run = sync_request(environment=sync_env, kind=SyncKind.FULL)
    marker = tmp_path / "paused"
    worker = start_worker(**{PAUSE_AT_ENV: point, PAUSE_FILE_ENV: str(marker)})
    try:
        horse = wait_for(marker)
        blocked_reader = {}
        if point == "mid-swap":
            # A reader arriving during the swap waits for it; when the swap dies it reads the old table.
            def read():
                other = psycopg2.connect(**connection.get_connection_params())
                other.autocommit = True
                with other.cursor() as cursor:
                    cursor.execute(f"SELECT count(*) FROM {schema}.pageviews")
                    blocked_reader["n"] = cursor.fetchone()[0]
                other.close()

            reader = threading.Thread(target=read)
            reader.start()
            time.sleep(0.3)
        os.kill(horse, signal.SIGKILL)
        worker.wait(timeout=30)
        if point == "mid-swap":
            reader.join(timeout=10)
            assert blocked_reader == {"n": 3}
    finally:
        if worker.poll() is None:
            worker.kill()
    assert count(schema) == 3
    assert SyncRun.objects.get(pk=run.pk).status != "succeeded"
    next_run = sync(sync_env)
    assert count(schema) == 5
    killed = SyncRun.objects.get(pk=run.pk)
    assert next_run.status == "succeeded" and killed.status == "failed"
    # The true reason: the worker process, where it was, and what RQ saw.
    assert f"the worker {killed.worker} stopped while the run was" in killed.error
    assert "waitpid returned 9 (signal 9)" in killed.error
    history = rows(f"SELECT status, start_time, error FROM {schema}._sync_history ORDER BY start_time")
    assert [row["status"] for row in history] == ["succeeded", "failed", "succeeded"]
    assert history[1]["start_time"] == killed.started_at and history[1]["error"] == killed.error


def test_replaced_rows_are_dropped_after_the_swap_and_by_the_next_run_when_the_worker_dies_first(
    raw, sync_env, sync_queue, tmp_path
):
    raw.session(1, 3)
    seed(raw, 3)
    sync(sync_env)
    replaced = sync_private_schema("replaced", sync_env.id)
    schema_exists = f"SELECT count(*) AS n FROM pg_namespace WHERE nspname = '{replaced}'"
    assert rows(schema_exists)[0]["n"] == 0
    seed(raw, 2, path="/new")
    settle()
    run = sync_request(environment=sync_env, kind=SyncKind.FULL)
    marker = tmp_path / "paused"
    worker = start_worker(**{PAUSE_AT_ENV: "after-swap", PAUSE_FILE_ENV: str(marker)})
    try:
        os.kill(wait_for(marker), signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    # Killed between the swap's commit and the drop: the new rows are in, the old ones are still
    # there, under the replaced schema only (the views read the new data schema).
    assert count(sync_env.warehouse_schema) == 5
    assert rows(schema_exists)[0]["n"] == 1
    assert rows(f"SELECT count(*) AS n FROM {replaced}.pageviews")[0]["n"] == 3
    assert SyncRun.objects.get(pk=run.pk).status != "succeeded"
    sync(sync_env, full=True)
    assert rows(schema_exists)[0]["n"] == 0
    assert count(sync_env.warehouse_schema) == 5


def test_readers_during_swaps_see_no_errors(raw, sync_env):
    raw.session(1, 3)
    seed(raw, 20)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    errors, seen, stop = [], set(), threading.Event()

    def reader():
        other = psycopg2.connect(**connection.get_connection_params())
        other.autocommit = True
        try:
            while not stop.is_set():
                with other.cursor() as cursor:
                    cursor.execute(
                        f"SELECT count(*) FROM {schema}.pageviews p JOIN {schema}.all_events a USING (event_id)"
                    )
                    seen.add(cursor.fetchone()[0])
                time.sleep(0.01)
        except Exception as error:  # any error a reader would see
            errors.append(error)
        finally:
            other.close()

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            seed(raw, 5)
            sync(sync_env, full=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert seen <= {20, 25, 30, 35} and count(schema) == 35 and len(seen) > 1


def test_a_long_reader_delays_the_swap_but_does_not_fail_it(raw, sync_env, settings):
    settings.SYNC_LOCK_TIMEOUT_MS = 100
    raw.session(1, 3)
    seed(raw, 2)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    seed(raw, 1)
    reader = psycopg2.connect(**connection.get_connection_params())
    with reader.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {schema}.pageviews")  # holds its lock until the transaction ends
    timer = threading.Timer(1.0, lambda: (reader.commit(), reader.close()))
    timer.start()
    try:
        run = sync(sync_env, full=True)
    finally:
        timer.join()
    assert run.status == "succeeded" and count(schema) == 3


def test_requests_coalesce_and_concurrent_workers_serialise(raw, sync_env, sync_queue):
    raw.session(1, 3)
    seed(raw, 4)
    settle()
    first = sync_request(environment=sync_env)
    again = sync_request(environment=sync_env, kind=SyncKind.FULL)
    assert again.pk == first.pk and SyncRun.objects.get(pk=first.pk).kind == "full"
    assert len(sync_queue.jobs) == 1
    # Two workers at once, each with its own run of the same environment.
    second = SyncRun.objects.create(environment=sync_env, kind="incremental", trigger="manual")
    from warehouse.jobs import sync_run_enqueue

    sync_run_enqueue(run_id=second.pk)
    workers = [start_worker(), start_worker()]
    for worker in workers:
        output = worker.communicate(timeout=60)[0].decode()
        assert worker.returncode == 0, output
    statuses = sorted(SyncRun.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == ["succeeded", "succeeded"]
    assert count(sync_env.warehouse_schema) == 4
    job = sync_queue.fetch_job(SyncRun.objects.get(pk=first.pk).rq_job_id)
    assert job.meta["run_id"] == first.pk and job.meta["progress"] == 1.0


def test_a_table_busy_in_one_attempt_is_waited_for_first_in_the_next(raw, sync_env, settings, caplog):
    """Autovacuum works on the tables the last full sync made: the swap waits for the busy one
    instead of failing on it attempt after attempt (here a SHARE UPDATE EXCLUSIVE lock, autovacuum's)."""
    settings.SYNC_LOCK_TIMEOUT_MS = 5000
    raw.session(1, 3)
    seed(raw, 2)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    holder = psycopg2.connect(**connection.get_connection_params())
    with holder.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {schema}.users IN SHARE UPDATE EXCLUSIVE MODE")

    def release_once_waited_for() -> None:
        # Held until the swap waits for it (its second attempt), however long the build takes.
        watcher = psycopg2.connect(**connection.get_connection_params())
        watcher.autocommit = True
        deadline = time.monotonic() + 60
        with watcher.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = %s::regclass)",
                    [f"{schema}.users"],
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
        watcher.close()
        holder.commit()
        holder.close()

    timer = threading.Thread(target=release_once_waited_for)
    timer.start()
    caplog.set_level("INFO", logger="warehouse.sync.locking")
    try:
        run = sync(sync_env, full=True)
    finally:
        timer.join()
    assert run.status == "succeeded" and count(schema) == 2
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 1


def test_the_swap_cancels_autovacuum_workers_only(raw, sync_env):
    """A relation a reader holds, or a view over one, is not taken for autovacuum's; readers are never cancelled."""
    from warehouse.sync.locking import _only_autovacuum_holds

    raw.session(1, 3)
    seed(raw, 2)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    with connection.cursor() as cursor:
        assert _only_autovacuum_holds(cursor, (schema, "pageviews"))  # nobody holds it
    reader = psycopg2.connect(**connection.get_connection_params())
    finished = []

    def read():
        with reader.cursor() as cursor:
            cursor.execute(f"SELECT count(*), pg_sleep(1.5) FROM {schema}.sessions")  # noqa: S608
            finished.append(cursor.fetchone()[0])

    thread = threading.Thread(target=read)
    thread.start()
    try:
        time.sleep(0.5)
        with connection.cursor() as cursor:
            assert not _only_autovacuum_holds(cursor, (schema, "sessions"))
            assert not _only_autovacuum_holds(cursor, (schema, "pageviews"))  # a view that reads sessions
            assert _only_autovacuum_holds(cursor, (schema, "users"))
    finally:
        thread.join(timeout=10)
        reader.close()
    assert finished == [1]  # the reader's query was not cancelled
