"""Reads for the dashboard: per-environment counts that stay fast on millions of raw rows.

Each count walks an (environment, ...) index but stops after EXACT_COUNT_LIMIT rows; past that
the planner's estimate is shown instead (marked approximate), so the page costs the same on a
demo database and on a billion events.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from warehouse.citus import citus_active
from warehouse.models import Environment, RawEvent, RawSession, RawUser

EXACT_COUNT_LIMIT = 100_000


@dataclass(frozen=True)
class Count:
    value: int
    approximate: bool = False


@dataclass(frozen=True)
class EnvironmentStats:
    environment: Environment
    users: Count
    sessions: Count
    events_last_24h: Count
    events: Count


def _capped_count(table: str, *, since: bool, environment_id: int) -> sql.Composable:
    condition = sql.SQL(" AND t.time >= %(since)s") if since else sql.SQL("")
    return sql.SQL(
        "(SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE t.environment_id = {environment}{condition}"
        " LIMIT %(cap)s) s)"
    ).format(table=sql.Identifier(table), environment=sql.Literal(environment_id), condition=condition)


METRICS = [
    ("users", RawUser._meta.db_table, False),
    ("sessions", RawSession._meta.db_table, False),
    ("events_last_24h", RawEvent._meta.db_table, True),
    ("events", RawEvent._meta.db_table, False),
]


def _estimate(table: str, environment_id: int, since: datetime | None) -> int:
    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE t.environment_id = %(id)s").format(
        sql.Identifier(table)
    )
    if since is not None:
        query += sql.SQL(" AND t.time >= %(since)s")
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), {"id": environment_id, "since": since})
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    if citus_active():  # the coordinator's plan holds no estimate: one shard's, times the shards
        job = top["Distributed Query"]["Job"]
        return int(job["Tasks"][0]["Remote Plan"][0][0]["Plan"]["Plan Rows"] * job["Task Count"])
    return int(top["Plan Rows"])


def environment_stats(*, environments: list[Environment], now: datetime | None = None) -> list[EnvironmentStats]:
    """Users, sessions, events in the last 24 h and all events, for each environment: one query
    (plus one estimate per count past EXACT_COUNT_LIMIT)."""
    if not environments:
        return []
    since = (now or timezone.now()) - timedelta(hours=24)
    params = {"since": since, "cap": EXACT_COUNT_LIMIT + 1}
    # One row per environment, its counts uncorrelated subqueries: Citus runs those on the shards
    # (it cannot run a subquery with a LIMIT once per row of another relation).
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, {}").format(
            sql.Literal(environment.id),
            sql.SQL(", ").join(
                _capped_count(table, since=recent, environment_id=environment.id) for _, table, recent in METRICS
            ),
        )
        for environment in environments
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    stats = []
    for environment in environments:
        counts = {}
        for (name, table, recent), value in zip(METRICS, rows[environment.id], strict=True):
            if value > EXACT_COUNT_LIMIT:
                estimate = _estimate(table, environment.id, since if recent else None)
                counts[name] = Count(max(estimate, EXACT_COUNT_LIMIT), approximate=True)
            else:
                counts[name] = Count(value)
        stats.append(EnvironmentStats(environment=environment, **counts))
    return stats
