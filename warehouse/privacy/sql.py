"""The SQL of deletions: a person's raw rows, retention's old raw rows, and the warehouse rows
that no longer exist in the raw store (identifiers via psycopg2.sql, values as parameters)."""

from psycopg2 import sql

from warehouse.models.raw import raw_events_partition

# Every user id of the people the seeds belong to: from each seed along its merges to the
# identified user it ended in, then back to every id merged into that user. Chains are bounded
# like the sync's merge map (warehouse/sql/sync.py merge_map).
_PEOPLE_IDS = sql.SQL("""
WITH RECURSIVE forward AS (
    SELECT seed AS user_id, 0 AS depth FROM unnest(%(seeds)s::bigint[]) AS s(seed)
    UNION
    SELECT m.to_user_id, f.depth + 1 FROM forward f
    JOIN raw_identity_merges m ON m.environment_id = %(environment_id)s AND m.from_user_id = f.user_id
    WHERE f.depth < 32
), people AS (
    SELECT DISTINCT f.user_id FROM forward f WHERE NOT EXISTS (
        SELECT 1 FROM raw_identity_merges m WHERE m.environment_id = %(environment_id)s AND m.from_user_id = f.user_id
    )
), backward AS (
    SELECT user_id, 0 AS depth FROM people
    UNION
    SELECT m.from_user_id, b.depth + 1 FROM backward b
    JOIN raw_identity_merges m ON m.environment_id = %(environment_id)s AND m.to_user_id = b.user_id
    WHERE b.depth < 32
)
SELECT DISTINCT user_id FROM backward ORDER BY user_id
""")

_IDENTITY_USERS = sql.SQL("""
SELECT user_id FROM raw_users WHERE environment_id = %(environment_id)s AND identity = ANY(%(identities)s)
""")


def people_user_ids(cursor, *, environment_id: int, seeds: list[int], identities: list[str]) -> list[int]:
    """Every user id of the people named by user ids or identities (merged anonymous ids included)."""
    if identities:
        cursor.execute(_IDENTITY_USERS, {"environment_id": environment_id, "identities": identities})
        seeds = seeds + [row[0] for row in cursor.fetchall()]
    if not seeds:
        return []
    cursor.execute(_PEOPLE_IDS, {"environment_id": environment_id, "seeds": sorted(set(seeds))})
    return [row[0] for row in cursor.fetchall()]


def people_delete(cursor, *, environment_id: int, user_ids: list[int]) -> dict[str, int]:
    """Delete every raw row of these user ids; returns the rows deleted per kind."""
    params = {"environment_id": environment_id, "user_ids": user_ids}
    counts = {}
    statements = {
        "events": sql.SQL(
            "DELETE FROM {} WHERE environment_id = %(environment_id)s AND user_id = ANY(%(user_ids)s)"
        ).format(sql.Identifier(raw_events_partition(environment_id))),
        "sessions": sql.SQL(
            "DELETE FROM raw_sessions WHERE environment_id = %(environment_id)s AND user_id = ANY(%(user_ids)s)"
        ),
        "merges": sql.SQL(
            "DELETE FROM raw_identity_merges WHERE environment_id = %(environment_id)s"
            " AND (from_user_id = ANY(%(user_ids)s) OR to_user_id = ANY(%(user_ids)s))"
        ),
        "users": sql.SQL(
            "DELETE FROM raw_users WHERE environment_id = %(environment_id)s AND user_id = ANY(%(user_ids)s)"
        ),
    }
    for kind, statement in statements.items():
        cursor.execute(statement, params)
        counts[kind] = cursor.rowcount
    return counts


def old_events_delete(cursor, *, environment_id: int, before, limit: int) -> int:
    """Delete up to `limit` raw events older than `before` (the oldest first); returns how many."""
    partition = sql.Identifier(raw_events_partition(environment_id))
    cursor.execute(
        sql.SQL(
            "DELETE FROM {partition} WHERE environment_id = %(environment_id)s AND id IN ("
            " SELECT id FROM {partition} WHERE environment_id = %(environment_id)s AND time < %(before)s"
            " ORDER BY time LIMIT %(limit)s)"
        ).format(partition=partition),
        {"environment_id": environment_id, "before": before, "limit": limit},
    )
    return cursor.rowcount


def old_sessions_delete(cursor, *, environment_id: int, before, limit: int) -> int:
    """Delete up to `limit` raw sessions that started and last saw an event before `before`."""
    cursor.execute(
        "DELETE FROM raw_sessions WHERE environment_id = %(environment_id)s AND session_id IN ("
        " SELECT session_id FROM raw_sessions WHERE environment_id = %(environment_id)s AND time < %(before)s"
        " AND last_event_time < %(before)s ORDER BY time LIMIT %(limit)s)",
        {"environment_id": environment_id, "before": before, "limit": limit},
    )
    return cursor.rowcount


def pending_warehouse_deletions(cursor, *, environment_id: int, until: str) -> list[tuple[int, str, list, object]]:
    """(id, kind, user_ids, before) of the deletions not applied yet whose transaction has finished
    (batch below the sync's upper bound `until`, warehouse/sync/watermark.py)."""
    cursor.execute(
        "SELECT id, kind, user_ids, before FROM privacy_warehouse_deletion"
        " WHERE environment_id = %s AND applied_at IS NULL AND batch < %s::bigint ORDER BY id",
        [environment_id, until],
    )
    return cursor.fetchall()


# The warehouse rows a pending deletion may remove, and where the raw store says whether each still
# exists: {table: (rows of the deleted users or past the retention cutoff, as SQL over an alias,
# raw table, its key, the row's key)}. The same condition picks the raw rows that may still back them.
_BY_USERS = "{a}.user_id = ANY(%(user_ids)s)"
_BY_USERS_OR_TIME = "({a}.user_id = ANY(%(user_ids)s) OR {a}.time < %(before)s)"
_BY_MIGRATION_USERS = "({a}.from_user_id = ANY(%(user_ids)s) OR {a}.to_user_id = ANY(%(user_ids)s))"
WAREHOUSE_TABLES = {
    "sessions": (_BY_USERS_OR_TIME, "raw_sessions", "session_id", "session_id"),
    "users": (_BY_USERS, "raw_users", "user_id", "user_id"),
    "user_migrations": (_BY_MIGRATION_USERS, "raw_identity_merges", "from_user_id", "from_user_id"),
}


def warehouse_rows_delete(cursor, *, table: sql.Composable, kind: str | None, environment_id: int, params: dict) -> int:
    """Delete the rows of `table` of the deleted users (or older than the retention cutoff) whose raw
    row is gone, so rows that arrived later for the same user stay. `kind` is a WAREHOUSE_TABLES
    key, or None for an event table's stored rows.

    The raw rows that still exist are read by a subquery of their own, not one per warehouse row:
    on Citus the warehouse rows and the raw rows of a merged user are on different nodes, and the
    raw rows of the same users or times are all that can back them (a person's ids include every id
    merged into them; an event keeps its time).
    """
    if kind is None:
        match, raw, raw_key, key = _BY_USERS_OR_TIME, raw_events_partition(environment_id), "id", "event_id"
    else:
        match, raw, raw_key, key = WAREHOUSE_TABLES[kind]
    cursor.execute(
        sql.SQL(
            "DELETE FROM {table} w WHERE {match} AND w.{key} NOT IN ("
            " SELECT r.{raw_key} FROM {raw} r WHERE r.environment_id = %(environment_id)s AND {raw_match})"
        ).format(
            table=table,
            match=sql.SQL(match.format(a="w")),
            raw=sql.Identifier(raw),
            raw_key=sql.Identifier(raw_key),
            key=sql.Identifier(key),
            raw_match=sql.SQL(match.format(a="r")),
        ),
        {**params, "environment_id": environment_id},
    )
    return cursor.rowcount
