"""One sync per environment (advisory lock) and statements that wait politely for readers."""

import contextlib
import logging
import time
import zlib

from django.db import OperationalError, connection, transaction
from psycopg2 import errors, sql

logger = logging.getLogger(__name__)

# Advisory locks are keyed by two int4s: a namespace for "warehouse sync" and the environment id.
_LOCK_NAMESPACE = zlib.crc32(b"heapsite.warehouse.sync") & 0x7FFFFFFF


@contextlib.contextmanager
def environment_lock(environment_id: int):
    """Hold the environment's sync lock for the block; a killed worker's connection releases it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, environment_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, environment_id])


def environment_is_locked(environment_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND granted)",
            [_LOCK_NAMESPACE, environment_id],
        )
        return cursor.fetchone()[0]


def atomic_with_lock_retry(work, *, lock_timeout_ms: int, attempts: int, on_retry=None):
    """Run work(cursor) in one transaction; when a reader holds a table lock too long, roll back and retry.

    A waiting ALTER/DROP queues every later reader behind it, so each attempt gives up after
    lock_timeout_ms: readers are delayed by at most that, and the swap happens between their queries.
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"])
                return work(cursor)
        except OperationalError as error:
            retryable = isinstance(error.__cause__, errors.LockNotAvailable | errors.DeadlockDetected)
            if not retryable or attempt == attempts:
                raise
            logger.info("warehouse swap waited %s ms for readers; retrying (%s/%s)", lock_timeout_ms, attempt, attempts)
            if on_retry:
                on_retry(attempt)
            time.sleep(min(2.0, 0.1 * attempt))
    return None


def lock_tables_exclusively(cursor, schema: str, names: list[str]) -> None:
    """Take ACCESS EXCLUSIVE on the tables, in the order given, without ever waiting while holding one.

    The first lock waits (up to lock_timeout) for readers to finish; the others use NOWAIT, and a
    reader still holding one makes the whole attempt roll back and retry a moment later. A view
    (all_events) goes first: locking it locks the tables it reads, in the order its readers do.
    """
    for position, name in enumerate(names):
        cursor.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE{}").format(
                sql.Identifier(schema, name), sql.SQL("" if position == 0 else " NOWAIT")
            )
        )
