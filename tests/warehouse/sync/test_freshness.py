"""Fresher than a minute (issue 24): a posted event is in the warehouse within seconds, an idle
environment costs nothing more than its interval syncs, and ingestion does not need Redis."""

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from warehouse import freshness
from warehouse.models import EnvironmentSync, RawEvent, SchedulerHeartbeat, SyncRun
from warehouse.scheduling import poll
from warehouse.services import environment_sync_state

from .conftest import REPO, rows, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def collect_body(environment, event_id: str) -> str:
    now = int(time.time() * 1000)
    event = {"id": event_id, "type": "pageview", "time": now, "domain": "shop.example", "path": f"/{event_id}"}
    event.update(query="", hash="", title="Fresh", referrer="", properties={})
    session = {"id": 42, "start_time": now - 1000, "referrer": "", "landing_page": "https://shop.example/fresh"}
    body = {"app_id": environment.app_id, "library": "web", "sent_at": now, "user_id": 7, "identity": None}
    return json.dumps({**body, "session": session, "events": [event]})


def post_event(client, environment, event_id: str):
    return client.post("/api/collect", data=collect_body(environment, event_id), content_type="application/json")


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=worker_env(LOG_LEVEL="INFO"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        return process.communicate(timeout=20)[0].decode()
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0].decode()


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)
    return result


@pytest.fixture
def scheduler_and_worker(request, sync_env, sync_queue):
    """`make run`'s scheduler and RQ worker, for an environment whose interval sync just ran (so only
    new data can start one before `interval` elapses). The scheduler ticks at its default pace unless
    the test passes other arguments (indirect parametrization)."""
    state = environment_sync_state(environment=sync_env)
    EnvironmentSync.objects.filter(pk=state.pk).update(last_scheduled_at=timezone.now(), interval_seconds=3600)
    processes = [start("rqworker", "sync"), start("scheduler", *getattr(request, "param", ()))]
    outputs: dict[str, str] = {}
    try:
        wait_until(SchedulerHeartbeat.objects.exists, 30, "the scheduler's first tick")
        yield outputs
    finally:
        for name, process in zip(("worker", "scheduler"), processes, strict=True):
            outputs[name] = stop(process)
        print("\n".join(f"--- {name}\n{output}" for name, output in outputs.items()))  # shown when a test fails


def pageview_paths(environment) -> list[str]:
    schema = environment.warehouse_schema
    if not rows(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'pageviews'", [schema]
    ):
        return []
    return [row["path"] for row in rows(f'SELECT path FROM "{schema}".pageviews')]  # noqa: S608


def test_a_posted_event_is_in_the_warehouse_within_seconds(client, admin_client, sync_env, scheduler_and_worker):
    for number in range(2):
        posted = time.monotonic()
        assert post_event(client, sync_env, f"fresh-{number}").status_code == 200
        wait_until(lambda n=number: f"/fresh-{n}" in pageview_paths(sync_env), 10, f"event fresh-{number} in pageviews")
        print(f"fresh-{number} visible after {time.monotonic() - posted:.1f} s")
    runs = list(SyncRun.objects.filter(environment=sync_env).order_by("created_at"))
    assert {run.trigger for run in runs} == {"new data"}
    assert len(runs) == 2  # one per post: the second came after the first run
    assert all(run.new_data_at is not None for run in runs)
    page = admin_client.get(f"/e/{sync_env.warehouse_schema}/sync/").content.decode()
    assert "Data as fresh as" in page


@pytest.mark.parametrize("scheduler_and_worker", [("--interval", "1")], ids=["tick 1 s"], indirect=True)
def test_an_idle_environment_is_synced_on_its_interval_only(sync_env, scheduler_and_worker):
    EnvironmentSync.objects.filter(environment=sync_env).update(interval_seconds=2, last_scheduled_at=None)
    time.sleep(5)
    triggers = list(SyncRun.objects.filter(environment=sync_env).values_list("trigger", flat=True))
    assert set(triggers) == {"schedule"}
    assert 2 <= len(triggers) <= 3  # at 0, ~2 and ~4 s (a tick a second)


def test_poll_starts_one_run_for_many_batches_and_waits_for_a_running_one(client, sync_env, sync_queue):
    for number in range(5):
        assert post_event(client, sync_env, f"batch-{number}").status_code == 200
    assert freshness.new_data_pending().keys() == {sync_env.pk}
    (run_id,) = poll()
    assert SyncRun.objects.get(pk=run_id).trigger == "new data"
    assert poll() == []  # the queued run will take the mark
    SyncRun.objects.filter(pk=run_id).update(status="running")
    assert poll() == []  # one at a time: new data waits for the running run to end
    SyncRun.objects.filter(pk=run_id).update(status="succeeded", created_at=timezone.now() - timedelta(minutes=1))
    (second,) = poll()
    assert second != run_id


def test_poll_leaves_paused_environments_and_respects_the_debounce(client, sync_env, sync_queue, settings):
    settings.SYNC_NEW_DATA_DEBOUNCE_SECONDS = 30
    EnvironmentSync.objects.update_or_create(environment=sync_env, defaults={"paused": True})
    assert post_event(client, sync_env, "paused-1").status_code == 200
    assert poll() == []
    EnvironmentSync.objects.filter(environment=sync_env).update(paused=False)
    SyncRun.objects.create(environment=sync_env, kind="incremental", trigger="manual", status="succeeded")
    assert poll() == []  # the last run was requested less than 30 s ago
    SyncRun.objects.update(created_at=timezone.now() - timedelta(seconds=31))
    assert len(poll()) == 1
    assert sync_env.pk in freshness.new_data_pending()  # taken by the run when it starts


def test_an_idle_environment_costs_the_poll_no_query(sync_env, sync_queue, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert poll() == []


def test_ingestion_succeeds_with_redis_down(client, sync_env, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(freshness, "_down_until", 0.0)
    started = time.monotonic()
    for number in range(3):
        assert post_event(client, sync_env, f"no-redis-{number}").status_code == 200
    assert time.monotonic() - started < 5
    assert RawEvent.objects.filter(event_id__startswith="no-redis-").count() == 3
    assert freshness._down_until > time.monotonic()  # later requests skip Redis for a while
