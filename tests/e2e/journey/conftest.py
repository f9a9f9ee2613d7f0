"""Fixtures for the journey test: a fresh install as `manage.py up` leaves it, a live server on this
area's ports, and real RQ workers (burst mode, own process) started when a step needs a sync (loaded ahead)."""

import re
from io import StringIO
from pathlib import Path

import django_rq
import psycopg2
import pytest
from django.conf import settings
from django.core.management.base import OutputWrapper
from django.db import connection
from psycopg2 import sql

from heapsite.launcher import WORKER_QUEUES, first_run_setup
from tests.e2e.conftest import WarmWorker
from warehouse.models import Environment
from warehouse.roles import sql_role_drop

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "journey"


@pytest.fixture
def journey_server(live_server, transactional_db) -> str:
    return live_server.url


@pytest.fixture
def fresh_install(transactional_db) -> dict:
    """What the first `manage.py up --no-demo` does before serving: migrate, admin login, environments.

    Returns the admin password exactly as `up` prints it; drops the warehouse schemas and SQL roles
    the journey created afterwards (they live outside the tables the test database flushes).
    """
    django_rq.get_queue("sync").connection.flushdb()
    out = StringIO()
    first_run_setup(out=OutputWrapper(out), demo=False)
    printed = out.getvalue()
    password = re.search(r"password: (\S+)", printed)
    assert password, f"up did not print the admin password:\n{printed}"
    yield {"username": "admin", "password": password.group(1), "printed": printed}
    django_rq.get_queue("sync").connection.flushdb()
    for environment in Environment.objects.all():
        sql_role_drop(environment)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'main\\_%%' OR nspname LIKE '\\_hs\\_sync\\_%%'"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class Workers:
    """Real RQ workers in burst mode, each in its own process on the test database, like `up` runs them.

    One is kept warm (loaded, waiting to be started): the fixture warms the first, and watch_sync the next one
    while the test goes on in the browser."""

    def __init__(self):
        self.all: list[WarmWorker] = []
        self.spare: WarmWorker | None = None

    def warm(self) -> None:
        if self.spare is None:
            self.spare = WarmWorker(*WORKER_QUEUES, SYNC_LOCK_TIMEOUT_MS="100")
            self.all.append(self.spare)

    def start(self) -> WarmWorker:
        self.warm()
        worker, self.spare = self.spare, None
        worker.start()
        return worker

    def wait(self, worker: WarmWorker, timeout: float = 30) -> str:
        return worker.wait(timeout)

    def stop_all(self) -> None:
        for worker in self.all:
            worker.stop()


@pytest.fixture
def workers(transactional_db):
    pool = Workers()
    pool.warm()
    yield pool
    pool.stop_all()


class ReaderLock:
    """An analyst's open transaction holding a read lock on warehouse tables: the sync's swap waits for it."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.connection = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
        )

    def hold(self, schema: str, *tables: str) -> None:
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(schema, table)))

    def release(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def reader_lock(transactional_db):
    lock = ReaderLock()
    yield lock
    lock.close()


@pytest.fixture
def shots(request):
    """Screenshots numbered in the order taken, under test-artifacts/journey/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    taken: list[Path] = []

    def shoot(page, name: str) -> Path:
        path = ARTIFACTS / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=path)
        taken.append(path)
        return path

    return shoot
