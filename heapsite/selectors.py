"""Reads for the dashboard: per-environment counts that stay fast on millions of raw rows.

Users are people as the warehouse's `users` table counts them (a merged anonymous id is its person).

Each count walks an (environment, ...) index but stops after EXACT_COUNT_LIMIT rows; past that
the planner's estimate is shown instead (marked approximate), so the page costs the same on a
demo database and on a billion events. The whole page shares one budget of EXACT_COUNT_LIMIT raw
events to walk: environments are taken by the size of their raw events' partition by its
statistics (one catalog read for all), smallest first, and each one that still fits the budget is
counted exactly; the others are estimated first: the planner estimates each of their counts, and
the page walks those from the smallest up while their estimates add up to no more than what is
left of the budget (still capped, should the statistics be behind); the rest show the estimate.
So several large environments cost a few estimates each and at most one count's walk in all, not
four walks of up to EXACT_COUNT_LIMIT index entries each (20M events and three of 1M: 11 ms
instead of 109, bench/dashboard.py), and neither do many environments each just under the cap.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from warehouse.citus import citus_active
from warehouse.models import Environment, IdentityMerge, RawEvent, RawSession, RawUser
from warehouse.models.raw import raw_events_partition

EXACT_COUNT_LIMIT = 100_000
# What each count counts, shown with it (the dashboard and the environment page).
COUNT_HELP = {
    "users": "People, as the warehouse's users table counts them: an anonymous id merged into an identified "
    "user counts once",
    "sessions": "Sessions started (the warehouse's sessions table)",
    "events_last_24h": "Raw events (pageviews, clicks, submits, changes, custom events) whose time is in the last "
    "24 hours",
    "events": "Every raw event captured or sent, all time",
}


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


# Users are counted as the warehouse's `users` table has them: an anonymous id merged into an
# identified user is that user, not another one.
_NOT_MERGED = sql.SQL(
    " AND NOT EXISTS (SELECT 1 FROM {merges} m WHERE m.environment_id = t.environment_id AND m.from_user_id = t.user_id)"
).format(merges=sql.Identifier(IdentityMerge._meta.db_table))


def _condition(*, since: bool, people: bool) -> sql.Composable:
    condition = sql.SQL(" AND t.time >= %(since)s") if since else sql.SQL("")
    return condition + _NOT_MERGED if people else condition


def _capped_count(table: str, *, since: bool, people: bool, environment_id: int) -> sql.Composable:
    condition = _condition(since=since, people=people)
    parts = {"table": sql.Identifier(table), "environment": sql.Literal(environment_id), "condition": condition}
    if people and not citus_active():
        # Past the cap in raw rows, people are estimated: the exact count's anti-join reads every merge of
        # the environment (0.6 s at 20M events) and runs only below it (PostgreSQL evaluates the ELSE's
        # subquery only when it is reached). Citus would run both subqueries first, as subplans over
        # several connections, which a transaction that wrote the raw tables cannot.
        return sql.SQL(
            "(SELECT CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE t.environment_id = {environment}"
            " LIMIT %(cap)s) s) >= %(cap)s THEN %(cap)s"
            " ELSE (SELECT count(*) FROM {table} t WHERE t.environment_id = {environment}{condition}) END)"
        ).format(**parts)
    return sql.SQL(
        "(SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE t.environment_id = {environment}{condition}"
        " LIMIT %(cap)s) s)"
    ).format(**parts)


# (name, table, counts the last 24 hours only, counts people as the warehouse does)
METRICS = [
    ("users", RawUser._meta.db_table, False, True),
    ("sessions", RawSession._meta.db_table, False, False),
    ("events_last_24h", RawEvent._meta.db_table, True, False),
    ("events", RawEvent._meta.db_table, False, False),
]


def _estimate(table: str, environment_id: int, since: datetime | None, people: bool) -> int:
    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE t.environment_id = %(id)s{}").format(
        sql.Identifier(table), _condition(since=since is not None, people=people)
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), {"id": environment_id, "since": since})
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    if citus_active():  # the coordinator's plan holds no estimate: one shard's, times the shards
        job = top["Distributed Query"]["Job"]
        return int(job["Tasks"][0]["Remote Plan"][0][0]["Plan"]["Plan Rows"] * job["Task Count"])
    return int(top["Plan Rows"])


def _estimated_first(environments: list[Environment]) -> tuple[set[int], int]:
    """(the environments to estimate before walking, what is left of the walks' budget).

    By the size of each environment's raw events' partition in its statistics (reltuples, kept by
    ANALYZE and autovacuum; -1 before the first, taken as empty): one catalog read. Smallest first,
    an environment whose raw events fit what is left of EXACT_COUNT_LIMIT is counted exactly (and
    uses that much of it); the others are estimated first.
    """
    if citus_active():  # the coordinator's partition is an empty shell: its statistics hold no rows
        return set(), EXACT_COUNT_LIMIT
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, greatest(coalesce(c.reltuples, 0), 0) FROM unnest(%s::bigint[], %s::text[]) AS t(id, name)"
            " LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)",
            [
                [environment.id for environment in environments],
                [raw_events_partition(environment.id) for environment in environments],
            ],
        )
        sizes = sorted(cursor.fetchall(), key=lambda row: (row[1], row[0]))
    estimated, budget = set(), EXACT_COUNT_LIMIT
    for environment_id, rows in sizes:
        if rows > budget:
            estimated.add(environment_id)
        else:
            budget -= rows
    return estimated, int(budget)


def environment_stats(*, environments: list[Environment], now: datetime | None = None) -> list[EnvironmentStats]:
    """Users, sessions, events in the last 24 h and all events, for each environment: one count query
    (plus one estimate per count of an environment past the cap, see the module's docstring)."""
    if not environments:
        return []
    since = (now or timezone.now()) - timedelta(hours=24)
    params = {"since": since, "cap": EXACT_COUNT_LIMIT + 1}
    large, budget = _estimated_first(environments)
    estimates = {
        (environment.id, name): _estimate(table, environment.id, since if recent else None, people)
        for environment in environments
        if environment.id in large
        for name, table, recent, people in METRICS
    }
    walked = set()
    for key, estimate in sorted(estimates.items(), key=lambda item: item[1]):
        if estimate > budget:
            break
        walked.add(key)
        budget -= estimate
    counted = {
        environment.id: {
            name for name, *_ in METRICS if environment.id not in large or (environment.id, name) in walked
        }
        for environment in environments
    }
    # One row per environment, its counts uncorrelated subqueries (NULL where the estimate stands):
    # Citus runs those on the shards (it cannot run a subquery with a LIMIT once per row of another relation).
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, {}").format(
            sql.Literal(environment.id),
            sql.SQL(", ").join(
                _capped_count(table, since=recent, people=people, environment_id=environment.id)
                if name in counted[environment.id]
                else sql.SQL("NULL::bigint")
                for name, table, recent, people in METRICS
            ),
        )
        for environment in environments
        if counted[environment.id]
    )
    rows = {}
    if any(counted.values()):
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(cursor.connection), params)
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
    stats = []
    for environment in environments:
        counts = {}
        values = rows.get(environment.id, (None,) * len(METRICS))
        for (name, table, recent, people), value in zip(METRICS, values, strict=True):
            if value is None:  # a count of a large environment past the walks' budget
                counts[name] = Count(estimates[(environment.id, name)], approximate=True)
            elif value > EXACT_COUNT_LIMIT:
                estimate = estimates.get((environment.id, name))
                if estimate is None:
                    estimate = _estimate(table, environment.id, since if recent else None, people)
                # Past the cap, events and sessions are more than it; people may be fewer (merged ids) when
                # the cap counted raw users (not on Citus, see _capped_count).
                fewer = people and not citus_active()
                counts[name] = Count(estimate if fewer else max(estimate, EXACT_COUNT_LIMIT), approximate=True)
            else:
                counts[name] = Count(value)
        stats.append(EnvironmentStats(environment=environment, **counts))
    return stats


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting an environment removes, for the confirmation page."""

    stats: EnvironmentStats
    tables: int
    definitions: int
    saved_queries: int
    members: int
    uploads: int


def environment_deletion_summary(*, environment: Environment) -> DeletionSummary:
    # Imported here: the dashboard's counts do not need the definitions app.
    from definitions.models import Definition
    from warehouse.models import BuiltTable, CsvUpload, Membership, SavedQuery

    (stats,) = environment_stats(environments=[environment])
    return DeletionSummary(
        stats=stats,
        tables=BuiltTable.objects.filter(environment=environment).count(),
        definitions=Definition.objects.filter(environment=environment).count(),
        saved_queries=SavedQuery.objects.filter(environment=environment).count(),
        members=Membership.objects.filter(environment=environment).count(),
        uploads=CsvUpload.objects.filter(environment=environment).exclude(table_name="").count(),
    )
