"""A stall is never silent: the environment and sync pages, `manage.py sync_status` and /healthz (issue 17)."""

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rq import Worker

from warehouse.jobs import queue_connection
from warehouse.models import Environment, EnvironmentSync, SchedulerHeartbeat, SyncRun
from warehouse.services import environment_sync_settings_update, environment_sync_state

from .conftest import REPO, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def finished_run(environment, status, minutes_ago, error=""):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(
        environment=environment,
        kind="incremental",
        trigger="schedule",
        status=status,
        started_at=at,
        finished_at=at,
        error=error,
        history_recorded=True,
    )


def sync_status(*schemas):
    out = StringIO()
    try:
        call_command("sync_status", *schemas, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def test_a_stalled_environment_says_why_on_its_pages_and_to_sync_status(admin_client, sync_env):
    schema = sync_env.warehouse_schema
    finished_run(sync_env, "succeeded", minutes_ago=10)
    failed = finished_run(sync_env, "failed", minutes_ago=1, error="OperationalError: could not connect")
    for url in (f"/e/{schema}/", f"/e/{schema}/sync/"):
        html = admin_client.get(url).content.decode()
        assert 'id="sync-stalled"' in html and "Sync stalled since" in html
        assert f"run #{failed.pk} failed: OperationalError: could not connect" in html
    code, out = sync_status()
    assert code == 1 and f"{schema}: STALLED since" in out and "could not connect" in out

    finished_run(sync_env, "succeeded", minutes_ago=0)  # a successful run: fresh again
    assert 'id="sync-stalled"' not in admin_client.get(f"/e/{schema}/").content.decode()
    code, out = sync_status(schema)
    assert f"{schema}: ok" in out  # (the exit status also reflects the processes: no scheduler here)

    # Within SYNC_STALL_INTERVALS intervals (3 × 60 s) is not stalled; paused is never stalled.
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(seconds=170))
    assert 'id="sync-stalled"' not in admin_client.get(f"/e/{schema}/").content.decode()
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(seconds=190))
    assert 'id="sync-stalled"' in admin_client.get(f"/e/{schema}/").content.decode()
    environment_sync_settings_update(environment=sync_env, interval_seconds=60, paused=True)
    html = admin_client.get(f"/e/{schema}/").content.decode()
    assert 'id="sync-stalled"' not in html and 'id="sync-paused"' in html


def test_a_never_synced_environment_and_a_missing_scheduler_are_named(admin_client, sync_env):
    Environment.objects.filter(pk=sync_env.pk).update(created_at=timezone.now() - timedelta(hours=1))
    html = admin_client.get(f"/e/{sync_env.warehouse_schema}/").content.decode()
    assert "no sync was ever requested" in html and "the scheduler has never run" in html


def test_a_failing_table_is_shown_at_once(admin_client, sync_env):
    finished_run(sync_env, "partial", minutes_ago=0)
    since = timezone.now().isoformat()
    failing = {"definition:7": {"table": "signed_up", "label": "Signed up", "error": "DataError: bad", "since": since}}
    state = environment_sync_state(environment=sync_env)
    EnvironmentSync.objects.filter(pk=state.pk).update(failing_tables=failing)
    html = admin_client.get(f"/e/{sync_env.warehouse_schema}/").content.decode()
    assert 'id="sync-failing-tables"' in html and "<code>signed_up</code>" in html
    assert 'id="sync-stalled"' not in html
    code, out = sync_status(sync_env.warehouse_schema)
    assert code == 1 and "table signed_up FAILING since" in out and "DataError: bad" in out


def start_listening_worker() -> subprocess.Popen:
    script = "import django; django.setup(); from django.core.management import call_command; call_command('rqworker', 'sync')"
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )  # noqa: S603


def test_healthz_reports_processes_and_stalls_without_naming_environments_to_strangers(
    admin_client, sync_env, sync_queue
):
    schema = sync_env.warehouse_schema
    client = Client()  # anonymous (admin_client is the logged-in `client`)
    finished_run(sync_env, "succeeded", minutes_ago=0)
    response = client.get("/healthz")  # anonymous: no scheduler has ticked and no worker listens
    assert response.status_code == 503
    report = response.json()
    assert report["ok"] is False and report["database"] == {"ok": True} and report["redis"] == {"ok": True}
    assert report["scheduler"]["ok"] is False and report["workers"] == {"ok": False, "count": 0}
    assert schema not in response.content.decode() and "problems" not in report

    # The scheduler's last error names schemas and hosts: staff see it, strangers do not.
    problem = f"{schema}: ConnectionError: Error connecting to redis.internal:6379"
    SchedulerHeartbeat.objects.create(ticked_at=timezone.now(), problem=problem)
    worker = start_listening_worker()
    try:
        client_redis = queue_connection()
        deadline = time.monotonic() + 30
        while not any("sync" in w.queue_names() for w in Worker.all(connection=client_redis)):
            assert time.monotonic() < deadline, "the worker never registered"
            time.sleep(0.1)
        response = client.get("/healthz")
        assert response.status_code == 200, response.json()
        assert response.json()["workers"] == {"ok": True, "count": 1} and response.json()["sync"]["stalled"] == 0

        SyncRun.objects.update(finished_at=timezone.now() - timedelta(hours=1))  # now it is stalled
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json()["sync"] == {
            "ok": False,
            "environments": 1,
            "stalled": 1,
            "failing_tables": 0,
        }
        assert schema not in response.content.decode()
        assert "redis.internal" not in response.content.decode()
        staff = admin_client.get("/healthz").json()
        assert staff["scheduler"]["problem"] == problem
        (stall,) = staff["sync"]["problems"]
        assert stall["environment"] == schema and stall["reason"] == "no run was requested since"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    code, out = sync_status()
    assert code == 1
    report = json.loads(_json_status())
    assert report["sync"]["stalled"] == 1


def _json_status() -> str:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("sync_status", "--json", stdout=out)
    return out.getvalue()


def test_anonymous_healthz_costs_the_same_for_two_environments_or_thirty(make_environment):
    """/healthz answers anyone: what it costs must not grow with the environments (it read each one's
    schedule and last good run, one query each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/healthz")
        return len(captured)

    for number in range(2):
        finished_run(make_environment("few", f"e{number}"), "succeeded", minutes_ago=600)
    few = queries()
    for number in range(28):
        finished_run(make_environment("many", f"e{number}"), "succeeded", minutes_ago=600)
    assert queries() == few
    report = client.get("/healthz").json()
    assert report["sync"]["environments"] == 30 and report["sync"]["stalled"] == 30
