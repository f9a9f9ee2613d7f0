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


class ExclusiveLocks:
    """ACCESS EXCLUSIVE on a swap's relations, never waiting while holding one; one per swap, across its attempts.

    The first lock waits (up to lock_timeout) for readers to finish; the others use NOWAIT, and a
    reader still holding one makes the whole attempt roll back and retry a moment later (so a swap
    cannot deadlock with readers, nor queue them behind a lock it waits for while holding others).
    Views go first: locking a view locks the relations it reads, in the order its readers do.

    Autovacuum is the other holder: after a full sync it analyzes and vacuums every new table, and
    the next swap replaces them. The relation that was busy is taken first in the next attempt, so
    the attempt waits for it instead of failing again (PostgreSQL cancels an autovacuum worker that
    blocks a waiting lock after deadlock_timeout). Where the app's role may signal autovacuum workers
    (a superuser, or pg_signal_autovacuum_worker on PostgreSQL 18), the swap cancels those working
    on its relations before locking: their work is on tables it is about to replace.
    """

    def __init__(self) -> None:
        self.busy: tuple[str, str] | None = None

    def take(self, cursor, relations: list[tuple[str, str]]) -> None:
        """Lock the (schema, name) relations, in the order given (the one busy last time first)."""
        relations = list(dict.fromkeys(relations))
        if self.busy in relations:
            relations.remove(self.busy)
            relations.insert(0, self.busy)
        if not relations:
            return
        _cancel_autovacuum_on(cursor, relations)
        for position, relation in enumerate(relations):
            try:
                cursor.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE{}").format(
                        sql.Identifier(*relation), sql.SQL("" if position == 0 else " NOWAIT")
                    )
                )
            except OperationalError as error:
                if isinstance(error.__cause__, errors.LockNotAvailable):
                    self.busy = relation
                raise


def _cancel_autovacuum_on(cursor, relations: list[tuple[str, str]]) -> None:
    """Cancel the autovacuum workers holding locks on these relations, if this role may (else nothing)."""
    cursor.execute(
        "SELECT count(pg_cancel_backend(a.pid)) FROM pg_stat_activity a"
        " WHERE a.backend_type = 'autovacuum worker' AND a.datname = current_database()"
        " AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR EXISTS ("
        "   SELECT FROM pg_roles r WHERE r.rolname = 'pg_signal_autovacuum_worker' AND pg_has_role(r.oid, 'MEMBER')))"
        " AND EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.relation IN ("
        "   SELECT to_regclass(format('%%I.%%I', s, n)) FROM unnest(%s::text[], %s::text[]) AS r(s, n)))",
        [[schema for schema, _ in relations], [name for _, name in relations]],
    )
