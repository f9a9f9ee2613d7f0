import socket
import threading

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

from tests.databases import database_url

PORTS = range(8100, 8110)  # this area's port range on the shared machine


@pytest.fixture
def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PORTS}")


def _server_connection():
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or None
    )
    connection.autocommit = True
    return connection


def _drop_database(name: str) -> None:
    connection = _server_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


@pytest.fixture(scope="session")
def _databases_being_dropped():
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join()


@pytest.fixture
def fresh_database_url(django_db_blocker, _databases_being_dropped):
    """URL of a new, empty database on the test server, dropped afterwards in the background: DROP
    DATABASE waits for a checkpoint (seconds, once the suite has written much); the next test that
    needs one, or the session's end, waits for it instead."""
    for thread in _databases_being_dropped:
        thread.join()
    db = settings.DATABASES["default"]
    name = f"{db['TEST'].get('NAME') or 'test_' + db['NAME']}_up"
    with django_db_blocker.unblock():
        _drop_database(name)  # left by a run that was killed
        connection = _server_connection()
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        connection.close()
    yield database_url(name)
    thread = threading.Thread(target=_drop_database, args=(name,), name=f"drop {name}")
    thread.start()
    _databases_being_dropped.append(thread)
