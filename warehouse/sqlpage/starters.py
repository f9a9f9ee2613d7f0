"""Starter queries for the Heap-style warehouse schema (docs/warehouse.md), shown on the SQL page.

Only starters whose tables exist in the environment are offered: a starter that fails on a fresh
environment ("relation does not exist") is worse than none.
"""

from dataclasses import dataclass

BUILT_IN_TABLES = {"users", "sessions", "pageviews", "all_events", "user_migrations", "_sync_info", "_sync_history"}


@dataclass(frozen=True)
class Starter:
    name: str
    description: str
    sql: str
    tables: tuple[str, ...] = ()  # what it reads: offered only when all exist


EVENT_COLUMNS = {"event_id", "user_id", "session_id", "time"}


def starter_queries(*, tables: list[tuple[str, list[str]]]) -> list[Starter]:
    """The starters, using one of the environment's defined-event tables where a query needs one.

    ``tables`` holds (table name, column names); a defined-event table is one with the event columns.
    """
    existing = {name for name, _ in tables}
    event = next(
        (name for name, columns in tables if name not in BUILT_IN_TABLES and set(columns) >= EVENT_COLUMNS),
        None,
    )
    starters = _starters(event)
    return [starter for starter in starters if set(starter.tables) <= existing]


def _starters(event: str | None) -> list[Starter]:
    event_starters = []
    if event is not None:
        event_starters = [
            Starter(
                f"Conversion: pageview to {event}",
                "Share of users with a pageview who later did the defined event.",
                "WITH viewers AS (\n"
                "  SELECT user_id, min(time) AS first_view FROM pageviews GROUP BY user_id\n"
                "), converted AS (\n"
                f"  SELECT DISTINCT v.user_id FROM viewers v JOIN {event} e\n"
                "    ON e.user_id = v.user_id AND e.time >= v.first_view\n"
                ")\n"
                "SELECT (SELECT count(*) FROM viewers) AS viewers,\n"
                "       (SELECT count(*) FROM converted) AS converted,\n"
                "       round(100.0 * (SELECT count(*) FROM converted)\n"
                "             / nullif((SELECT count(*) FROM viewers), 0), 1) AS conversion_pct",
                ("pageviews", event),
            ),
            Starter(
                f"Identified users who did {event}",
                "Join users with an event table on user_id; users.identity is your own user id.",
                f"SELECT u.identity, u.joindate, count(*) AS times, max(e.time) AS last_time\n"
                f"FROM users u\nJOIN {event} e ON e.user_id = u.user_id\n"
                "WHERE u.identity IS NOT NULL\n"
                "GROUP BY u.identity, u.joindate\nORDER BY times DESC\nLIMIT 100",
                ("users", event),
            ),
        ]
    return [
        Starter(
            "Pageviews per day",
            "Daily pageviews and distinct users over the last 30 days.",
            "SELECT date_trunc('day', time)::date AS day,\n"
            "       count(*) AS pageviews,\n"
            "       count(DISTINCT user_id) AS users\n"
            "FROM pageviews\n"
            "WHERE time > now() - interval '30 days'\n"
            "GROUP BY 1\nORDER BY 1",
            ("pageviews",),
        ),
        Starter(
            "Users by UTM source",
            "Where users' sessions came from.",
            "SELECT coalesce(nullif(utm_source, ''), '(none)') AS utm_source,\n"
            "       count(DISTINCT user_id) AS users,\n"
            "       count(*) AS sessions\n"
            "FROM sessions\n"
            "GROUP BY 1\nORDER BY users DESC\nLIMIT 20",
            ("sessions",),
        ),
        *event_starters,
        Starter(
            "Events per table",
            "How many rows each event table has (all_events has one row per event and table).",
            "SELECT event_table_name, count(*) AS events, max(time) AS latest\n"
            "FROM all_events\nGROUP BY 1\nORDER BY 2 DESC",
            ("all_events",),
        ),
        Starter(
            "Last sync",
            "When each table was last synced.",
            "SELECT * FROM _sync_info ORDER BY sync_ended DESC NULLS LAST",
            ("_sync_info",),
        ),
    ]
