"""The SQL of the API-event catalog: which custom event names a range of raw events holds, and how many."""

from datetime import datetime
from typing import NamedTuple

from psycopg2 import sql

from warehouse.models.raw import raw_events_partition


class NameCount(NamedTuple):
    name: str
    count: int
    first_id: int
    first_time: datetime
    last_time: datetime
    from_server: bool  # one of them came from a server API (ApiEvent.from_server)


def custom_event_names(
    cursor, *, environment_id: int, since: str | None, until: str, server_prefixes: tuple[str, ...]
) -> list[NameCount]:
    """Every custom event name written by transactions in [since, until) (all history when since is None),
    and whether a server API wrote one of them (only server APIs give ids their prefixes).

    The environment's own partition of raw_events: a bounded range reads the (environment_id,
    batch) index, so an incremental sync pays for its new events only.
    """
    where = [sql.SQL("e.type = 'custom'"), sql.SQL("e.batch < %(until)s::bigint")]
    if since is not None:
        where.append(sql.SQL("e.environment_id = %(environment_id)s AND e.batch >= %(since)s::bigint"))
    cursor.execute(
        sql.SQL(
            "SELECT e.event_name, count(*), min(e.id), min(e.time), max(e.time),"
            " bool_or(e.event_id LIKE ANY(%(server_ids)s)) FROM {} e WHERE {} GROUP BY e.event_name"
        ).format(sql.Identifier(raw_events_partition(environment_id)), sql.SQL(" AND ").join(where)),
        {
            "environment_id": environment_id,
            "since": since,
            "until": until,
            "server_ids": [prefix + "%" for prefix in server_prefixes],
        },
    )
    return [NameCount(*row) for row in cursor.fetchall()]


def any_custom_events(cursor, *, environment_id: int) -> bool:
    """Whether the environment has any custom event at all (one probe of raw_events_env_custom_name)."""
    cursor.execute(
        sql.SQL("SELECT EXISTS (SELECT 1 FROM {} e WHERE e.type = 'custom')").format(
            sql.Identifier(raw_events_partition(environment_id))
        )
    )
    return cursor.fetchone()[0]


def record_counts(cursor, *, environment_id: int, counts: list[NameCount], hashes: list[str], full: bool) -> None:
    """Add a run's counts to the catalog (replace them after a full sync, whose counts cover all history)."""
    count = sql.SQL("v.n") if full else sql.SQL("a.event_count + v.n")
    cursor.execute(
        sql.SQL(
            "UPDATE warehouse_api_event a SET event_count = {count},"
            " last_seen_at = greatest(a.last_seen_at, v.last_time) "
            "FROM unnest(%(hashes)s::text[], %(counts)s::bigint[], %(last)s::timestamptz[]) AS v(h, n, last_time) "
            "WHERE a.environment_id = %(environment_id)s AND a.name_hash = v.h"
        ).format(count=count),
        {
            "environment_id": environment_id,
            "hashes": hashes,
            "counts": [row.count for row in counts],
            "last": [row.last_time for row in counts],
        },
    )
    if full:  # names with no raw events left (e.g. deleted with their user)
        cursor.execute(
            "UPDATE warehouse_api_event SET event_count = 0"
            " WHERE environment_id = %(environment_id)s AND event_count <> 0 AND NOT name_hash = ANY(%(hashes)s)",
            {"environment_id": environment_id, "hashes": hashes},
        )


def recent_counts(cursor, *, environment_id: int, since: datetime) -> dict[str, int]:
    """{name: custom events since `since`} (the partial index raw_events_env_custom_name covers it)."""
    cursor.execute(
        "SELECT e.event_name, count(*) FROM raw_events e"
        " WHERE e.environment_id = %(environment_id)s AND e.type = 'custom' AND e.time >= %(since)s"
        " GROUP BY e.event_name",
        {"environment_id": environment_id, "since": since},
    )
    return dict(cursor.fetchall())
