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
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, environment_id])
        except Exception as error:  # a lost connection took the lock with it
            logger.warning("could not release the sync lock of environment %s: %s", environment_id, error)


@contextlib.contextmanager
def environment_lock_if_free(environment_id: int):
    """Yield whether the environment's sync lock was free, holding it for the block if it was."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, environment_id])
        taken = cursor.fetchone()[0]
    try:
        yield taken
    finally:
        if taken:
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
    """ACCESS EXCLUSIVE on a swap's relations, never waiting for a reader while holding one; one per
    swap, across its attempts.

    The first lock waits (up to lock_timeout) for readers to finish; the others use NOWAIT, and a
    reader still holding one makes the whole attempt roll back and retry a moment later, taking that
    relation first (so a swap cannot deadlock with readers, nor queue them behind a lock it waits for
    while holding others). Views go first: locking a view locks the relations it reads, in the order
    its readers do.

    Autovacuum is the other holder: after a full sync it analyzes and vacuums every new table, one
    after the other, and the next swap replaces them. A relation held by autovacuum workers only is
    waited for on the spot: a worker never waits for the swap's locks (it skips tables it cannot
    lock), so waiting cannot deadlock, and PostgreSQL cancels a worker that blocks a waiting lock
    after deadlock_timeout. Where the app's role may signal autovacuum workers (a superuser, or
    pg_signal_autovacuum_worker on PostgreSQL 18), the swap cancels the worker at once instead: its
    work is on a table the swap is about to replace.
    """

    def __init__(self) -> None:
        self.busy: tuple[str, str] | None = None

    def take(self, cursor, relations: list[tuple[str, str]]) -> None:
        """Lock the (schema, name) relations, in the order given (the one a reader held last time first).

        First all of them in one statement without waiting (one round trip, where a relation each took
        three: a full sync of 500 tables locks a thousand relations while readers wait for it); when
        one is held, that statement's locks are let go and they are taken one by one as described above.
        """
        relations = list(dict.fromkeys(relations))
        if self.busy in relations:
            relations.remove(self.busy)
            relations.insert(0, self.busy)
        if not relations:
            return
        every = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
            sql.SQL(", ").join(sql.Identifier(*relation) for relation in relations)
        )
        try:
            with transaction.atomic():
                cursor.execute(every)
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, errors.LockNotAvailable):
                raise
        for position, relation in enumerate(relations):
            lock = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(*relation))
            try:
                with transaction.atomic():  # a savepoint: a refused NOWAIT leaves the swap's transaction usable
                    cursor.execute(lock + sql.SQL(" NOWAIT"))
                continue
            except OperationalError as error:
                if not isinstance(error.__cause__, errors.LockNotAvailable):
                    raise
                refused = error
            only_autovacuum = _only_autovacuum_holds(cursor, relation)
            if position > 0 and not only_autovacuum:
                self.busy = relation
                raise refused
            cursor.execute(lock)  # up to lock_timeout


def _only_autovacuum_holds(cursor, relation: tuple[str, str]) -> bool:
    """Whether every lock other sessions hold on the relation (and, for a view, on the relations it
    reads, which locking it locks too) is an autovacuum worker's; cancels those workers when this
    role may (see ExclusiveLocks)."""
    cursor.execute(
        "WITH target AS (SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) AS oid),"
        " locked AS (SELECT oid FROM target UNION SELECT d.refobjid FROM target t"
        "   JOIN pg_rewrite r ON r.ev_class = t.oid JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass"
        "   AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass),"
        " holders AS (SELECT DISTINCT a.pid, a.backend_type FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        "   WHERE l.relation IN (SELECT oid FROM locked) AND l.granted AND l.pid <> pg_backend_pid())"
        " SELECT coalesce(bool_and(backend_type = 'autovacuum worker'), true),"
        "   ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR EXISTS (SELECT FROM pg_roles r"
        "     WHERE r.rolname = 'pg_signal_autovacuum_worker' AND pg_has_role(r.oid, 'MEMBER'))),"
        "   array_agg(pid) FILTER (WHERE backend_type = 'autovacuum worker')"
        " FROM holders",
        list(relation),
    )
    only_autovacuum, may_signal, workers = cursor.fetchone()
    if only_autovacuum and may_signal and workers:
        cursor.execute("SELECT pg_cancel_backend(pid) FROM unnest(%s::int[]) AS pid", [workers])
    return only_autovacuum
