"""Every sync statement runs on fresh statistics and within a time budget (docs/warehouse.md, "Time budgets").

A plan made on missing statistics can turn a 0.2 s statement into one that runs for many minutes
while the environment's lock blocks every other sync of it (issue 17: raw_sessions freshly loaded,
before autovacuum's first ANALYZE). So a run first ANALYZEs the raw tables it reads whose
statistics are missing or stale, and every statement on its connections runs under a
`statement_timeout` sized from the raw data: SYNC_STATEMENT_TIMEOUT_MS plus SYNC_STATEMENT_MS_PER_MB
for each MB of it. A build statement that goes over is tried once more after a forced ANALYZE;
over again, it fails naming itself (and, isolated, only its table's build fails).
"""

import logging

from django.conf import settings
from django.db import utils as django_db
from psycopg2 import errors, sql

from warehouse.citus import citus_active
from warehouse.models.raw import raw_events_partition

logger = logging.getLogger(__name__)

# The raw tables the sync reads besides the environment's partition of raw_events.
_SHARED_RAW_TABLES = ("raw_sessions", "raw_users", "raw_identity_merges")
# Like autovacuum's defaults (autovacuum_analyze_threshold/scale_factor): statistics are stale once
# this many rows changed since the last ANALYZE; also when the table grew by more than a fifth
# since (the change counters reach the statistics system with a delay, the table's size does not).
_CHANGED_ROWS, _CHANGED_FRACTION, _GROWN_FRACTION = 50, 0.1, 0.2
# An ANALYZE waits at most this long for its lock (a long VACUUM holds it); then the sync goes on.
_ANALYZE_LOCK_TIMEOUT = "1s"


class StatementOverBudget(Exception):  # noqa: N818 - named for what happened
    pass


def raw_tables(environment_id: int) -> list[str]:
    return [raw_events_partition(environment_id), *_SHARED_RAW_TABLES]


def analyze_stale(cursor, tables: list[str], *, force: bool = False) -> list[str]:
    """ANALYZE those of `tables` whose statistics are missing or stale (all of them with `force`); returns them."""
    cursor.execute(
        "SELECT t.name, c.reltuples, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::bigint,"
        "  coalesce(s.n_mod_since_analyze, 0), s.last_analyze IS NULL AND s.last_autoanalyze IS NULL"
        " FROM unnest(%s::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)"
        " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid",
        [tables],
    )
    stale = [
        name
        for name, tuples, pages_then, pages_now, changed, never in cursor.fetchall()
        if force
        or never
        or tuples < 0
        or pages_now > (1 + _GROWN_FRACTION) * pages_then + 10
        or changed > _CHANGED_ROWS + _CHANGED_FRACTION * max(tuples, 0)
    ]
    if not stale:
        return []
    analyzed = []
    cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
    previous_lock, previous_statement = cursor.fetchone()
    # An ANALYZE reads a sample of fixed size: it needs no budget, only a bound on its wait for the lock.
    cursor.execute("SET lock_timeout = %s", [_ANALYZE_LOCK_TIMEOUT])
    cursor.execute("SET statement_timeout = 0")
    try:
        for name in stale:
            try:
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))
            except (errors.LockNotAvailable, django_db.OperationalError) as error:
                if not _is(error, errors.LockNotAvailable):
                    raise
                logger.info("ANALYZE %s skipped: another process holds the table (%s)", name, error)
                continue
            analyzed.append(name)
    finally:
        cursor.execute("SET lock_timeout = %s", [previous_lock])
        cursor.execute("SET statement_timeout = %s", [previous_statement])
    if analyzed:
        logger.info("analyzed %s before planning the sync", ", ".join(analyzed))
    return analyzed


def statement_budget_ms(cursor, tables: list[str]) -> int:
    """The statement_timeout of a run's statements: a floor plus a share per MB of the raw data it reads."""
    size = "pg_relation_size(to_regclass(t))"
    if citus_active():  # a distributed table's own relation is an empty shell: its shards hold the data
        size = (
            "CASE WHEN EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass(t))"
            " THEN citus_relation_size(to_regclass(t)) ELSE pg_relation_size(to_regclass(t)) END"
        )
    cursor.execute(f"SELECT coalesce(sum({size}), 0) FROM unnest(%s::text[]) AS t", [tables])  # noqa: S608 - fixed text
    megabytes = int(cursor.fetchone()[0]) / 2**20
    return settings.SYNC_STATEMENT_TIMEOUT_MS + int(megabytes * settings.SYNC_STATEMENT_MS_PER_MB)


def over_budget(error: BaseException, *, ran_ms: float, budget_ms: float) -> bool:
    """Whether `error` is PostgreSQL cancelling a statement for its statement_timeout: said so, or a
    cancellation once the statement had run its whole budget (Citus may report the coordinator's
    timeout as its workers' "canceling statement due to user request")."""
    if not _is(error, errors.QueryCanceled):
        return False
    return "statement timeout" in str(error) or ran_ms >= budget_ms


def _is(error: BaseException, kind: type) -> bool:
    return isinstance(error, kind) or isinstance(error.__cause__, kind)
