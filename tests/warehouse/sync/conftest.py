import itertools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.databases import database_url
from tests.warehouse.sync import provider
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser
from warehouse.services import sync_run_foreground
from warehouse.sync.watermark import watermark_bound

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_event_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _specs_file(tmp_path, monkeypatch):
    monkeypatch.setenv(provider.SPECS_FILE_ENV, str(tmp_path / "specs.json"))


@pytest.fixture
def set_specs():
    return provider.set_specs


def sync(environment, full: bool = False):
    """Run a sync in this process once every earlier write is visible to it; it must succeed."""
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback
    return run


class Raw:
    """Hand-built raw store rows for one environment."""

    def __init__(self, environment):
        self.environment = environment

    def user(self, user_id, identity=None, properties=None, joindate=T0):
        return RawUser.objects.create(
            environment=self.environment,
            user_id=user_id,
            identity=identity,
            joindate=joindate,
            last_modified=datetime.now(UTC),
            properties=properties or {},
        )

    def session(self, session_id, user_id, time=T0, **fields):
        fields.setdefault("last_event_time", time)
        return RawSession.objects.create(
            environment=self.environment,
            session_id=session_id,
            user_id=user_id,
            time=time,
            last_modified=datetime.now(UTC),
            **fields,
        )

    def event(self, type="pageview", user_id=1, session_id=1, minutes=0, **fields):
        return RawEvent.objects.create(
            environment=self.environment,
            event_id=f"ev-{next(_event_ids)}",
            user_id=user_id,
            session_id=session_id,
            time=T0 + timedelta(minutes=minutes),
            received_at=datetime.now(UTC),
            type=type,
            **fields,
        )

    def merge(self, from_user_id, to_user_id, time=T0):
        return IdentityMerge.objects.create(
            environment=self.environment, from_user_id=from_user_id, to_user_id=to_user_id, time=time
        )


@pytest.fixture
def raw(sync_env):
    return Raw(sync_env)


@pytest.fixture
def heap_track(sync_env):
    """heap.track() in a browser: one POST /api/collect (public: the app id alone) per call, a custom event per name."""
    client, ids = Client(), itertools.count(1)

    def send(*names: str):
        now = int(datetime.now(UTC).timestamp() * 1000)
        events = [{"id": f"c-{next(ids)}", "type": "custom", "time": now, "name": name} for name in names]
        body = {
            "app_id": sync_env.app_id,
            "library": "web",
            "sent_at": now,
            "user_id": 4503599627370495,
            "session": {"id": 123456789012, "start_time": now - 5000},
            "events": events,
        }
        response = client.post("/api/collect", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content

    return send


def settle(timeout: float = 30.0) -> None:
    """Wait until every transaction that wrote before now has finished (as the sync's watermark sees it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('raw_batch_seq')")
        mine = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            if watermark_bound(cursor)[0] > mine:
                return
        if time.monotonic() > deadline:
            raise AssertionError("another transaction on the cluster kept the sync watermark back for 30s")
        time.sleep(0.02)


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def column_types(schema, table):
    return {
        row["column_name"]: row["data_type"]
        for row in rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
    }


def worker_env(**extra) -> dict:
    env = dict(os.environ)
    # The test database, also when it is the embedded server's (a unix-socket host).
    env["DATABASE_URL"] = database_url(settings.DATABASES["default"]["NAME"])
    env.update(extra)
    return env


WORKER_SCRIPT = (
    "import django; django.setup(); import tests.warehouse.sync.provider; "
    "from django.core.management import call_command; call_command('rqworker', 'sync', burst=True)"
)


def start_worker(**extra) -> subprocess.Popen:
    """A real RQ worker (burst mode) in its own process, seeing the test database and the test specs."""
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=REPO,
        env=worker_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
