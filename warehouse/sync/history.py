"""The warehouse's own record of its syncs: `_sync_history` (one row per run) and `_sync_info`'s table.

Written in the transaction that publishes a run, or, for a run that failed, right after it (its own
worker when it can, else the next run of the environment: a run killed with its worker or its
connection is written by whoever finds it, docs/warehouse.md "Atomicity and failure").
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from psycopg2 import sql

from warehouse.models import Environment, SyncRun, SyncStatus

# Runs that published something: a stall is reported since the last of them, which is always kept.
GOOD_STATUSES = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL)

logger = logging.getLogger(__name__)


def ensure_kept_tables(cursor, schema: str) -> None:
    """_sync_info and _sync_history, which the sync appends to and never swaps."""
    info = sql.Identifier(schema, "_sync_info")
    cursor.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (event_table_name text, sync_started timestamptz, sync_ended timestamptz,"
            " synced_to_time timestamptz, inserted_row_count bigint, error text)"
        ).format(info)
    )
    # Warehouses from before failing tables were reported.
    cursor.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS error text").format(info))
    cursor.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (status text, start_time timestamptz, finish_time timestamptz,"
            " error text, next_scheduled_sync_at timestamptz)"
        ).format(sql.Identifier(schema, "_sync_history"))
    )


def history_record(cursor, schema: str, *, status: str, started, finished, error: str | None, next_at) -> None:
    cursor.execute(
        sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(sql.Identifier(schema, "_sync_history")),
        [status, started, finished, error, next_at],
    )


def history_record_dead_runs(cursor, environment: Environment) -> None:
    """Failed runs of the environment not in its _sync_history yet (their worker or connection died with them)."""
    dead = list(
        SyncRun.objects.filter(
            environment=environment, status=SyncStatus.FAILED, history_recorded=False, started_at__isnull=False
        ).order_by("started_at")
    )
    for run in dead:
        history_record(
            cursor,
            environment.warehouse_schema,
            status=SyncStatus.FAILED,
            started=run.started_at,
            finished=run.finished_at,
            error=run.error,
            next_at=None,
        )
    SyncRun.objects.filter(pk__in=[run.pk for run in dead]).update(history_recorded=True)


def history_record_failure(run: SyncRun) -> None:
    """Right after a run failed: its row (and those of earlier dead runs) in the environment's _sync_history."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            schema = run.environment.warehouse_schema
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            ensure_kept_tables(cursor, schema)
            history_record_dead_runs(cursor, run.environment)
    except Exception as error:
        logger.error("sync run %s: could not write _sync_history now (%s); the next run will", run.pk, error)


def history_prune(*, now: datetime) -> int:
    """Forget runs older than SYNC_HISTORY_DAYS: their SyncRun rows and their _sync_history rows.

    Syncs started by new data come every few seconds on a busy site, so the record is bounded in
    time. An environment's last run that published something, and every run after it, stay
    whatever their age (the sync page and the stall report read them). Returns SyncRun rows deleted.
    """
    cutoff = now - timedelta(days=settings.SYNC_HISTORY_DAYS)
    last_good = (
        SyncRun.objects.filter(environment=OuterRef("environment"), status__in=GOOD_STATUSES)
        .order_by("-id")
        .values("id")[:1]
    )
    deleted = SyncRun.objects.filter(finished_at__lt=cutoff, id__lt=Subquery(last_good)).delete()[0]
    with connection.cursor() as cursor:
        for schema in Environment.objects.values_list("warehouse_schema", flat=True):
            cursor.execute("SELECT to_regclass(format('%%I._sync_history', %s::text))", [schema])
            if cursor.fetchone()[0] is None:  # never synced
                continue
            history = sql.Identifier(schema, "_sync_history")
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE finish_time < %s"
                    " AND finish_time < (SELECT max(finish_time) FROM {} WHERE status = ANY(%s))"
                ).format(history, history),
                [cutoff, [status.value for status in GOOD_STATUSES]],
            )
    return deleted
