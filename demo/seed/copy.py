"""The demo's only SQL: bulk loads with COPY, and the join that turns numbered rows into raw_events."""

import io
from collections.abc import Callable, Iterable

from psycopg2 import sql

from warehouse.models.raw import raw_events_partition

from .templates import PART_COLUMNS, ROW_COLUMNS, TEMPLATE_COLUMNS

_TEMP_TABLES = {
    "demo_templates": [
        ("template", "integer PRIMARY KEY"),
        ("type", "text"),
        ("event_name", "text"),
        ("domain", "text"),
        ("path", "text"),
        ("hash", "text"),
        ("title", "text"),
        ("target_tag", "text"),
        ("target_id", "text"),
        ("target_classes", "text[]"),
        ("target_text", "text"),
        ("target_href", "text"),
        ("hierarchy", "jsonb"),
        ("library", "text"),
    ],
    "demo_parts": [("part", "integer PRIMARY KEY"), ("query", "text"), ("referrer", "text"), ("properties", "jsonb")],
    "demo_rows": [
        ("n", "bigint"),
        ("user_id", "bigint"),
        ("session_id", "bigint"),
        ("time_ms", "bigint"),
        ("template", "integer"),
        ("part", "integer"),
    ],
}
assert [name for name, _ in _TEMP_TABLES["demo_templates"]] == TEMPLATE_COLUMNS
assert [name for name, _ in _TEMP_TABLES["demo_parts"]] == PART_COLUMNS
assert [name for name, _ in _TEMP_TABLES["demo_rows"]] == ROW_COLUMNS

# Event columns filled from the joined template (t) and part (p).
_FROM_TEMPLATE = TEMPLATE_COLUMNS[1:]
_FROM_PART = PART_COLUMNS[1:]

_INSERT_EVENTS = sql.SQL(
    """
    INSERT INTO raw_events (event_id, user_id, session_id, time, received_at, environment_id, {part_columns},
                            {template_columns})
    -- fixed-width ids sort in insertion order: the unique index on event_id only ever appends
    -- float8 arithmetic (4x cheaper than numeric); to_timestamp rounds to whole microseconds, exact for ms
    SELECT %(prefix)s || lpad(to_hex(r.n + %(first_number)s), 8, '0'), r.user_id, r.session_id, to_timestamp(r.time_ms::float8 / 1000),
           -- arrival a little after the event, varied without another column
           to_timestamp((r.time_ms + 90 + r.n * 7919 %% 1900)::float8 / 1000), %(environment_id)s,
           {part_values}, {template_values}
    FROM demo_rows r
    JOIN demo_templates t ON t.template = r.template
    JOIN demo_parts p ON p.part = r.part
    """
).format(
    part_columns=sql.SQL(", ").join(map(sql.Identifier, _FROM_PART)),
    template_columns=sql.SQL(", ").join(map(sql.Identifier, _FROM_TEMPLATE)),
    part_values=sql.SQL(", ").join(sql.Identifier("p", c) for c in _FROM_PART),
    template_values=sql.SQL(", ").join(sql.Identifier("t", c) for c in _FROM_TEMPLATE),
)


def copy_text_rows(cursor, *, table: str, columns: list[str], text: str) -> None:
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table), columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    cursor.copy_expert(statement.as_string(cursor), io.StringIO(text), size=1 << 20)


def copy_lines(cursor, *, table: str, columns: list[str], lines: list[str], rows_per_chunk: int = 50_000) -> None:
    for start in range(0, len(lines), rows_per_chunk):
        copy_text_rows(cursor, table=table, columns=columns, text="".join(lines[start : start + rows_per_chunk]))


def create_demo_temp_tables(cursor) -> None:
    for table, columns in _TEMP_TABLES.items():
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(table)))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ({})").format(
                sql.Identifier(table),
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns),
            )
        )


def drop_demo_temp_tables(cursor) -> None:
    for table in _TEMP_TABLES:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(table)))


def insert_demo_events(
    cursor,
    *,
    environment_id: int,
    event_id_prefix: str,
    first_number: int = 0,
    templates: list[str],
    parts: list[str],
    row_chunks: Iterable[tuple[str, int]],
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Load templates and parts once, then each chunk of numbered rows through the join into raw_events.

    Chunks keep the progress bar honest and the temp table small; the join keeps demo_rows' order
    (hash tables on the small sides), so raw_events ids grow with time. Rows are numbered from
    `first_number` + 1 (event ids stay unique over the slices of a large seed).
    """
    create_demo_temp_tables(cursor)
    copy_lines(cursor, table="demo_templates", columns=TEMPLATE_COLUMNS, lines=templates)
    copy_lines(cursor, table="demo_parts", columns=PART_COLUMNS, lines=parts)
    cursor.execute("ANALYZE pg_temp.demo_templates, pg_temp.demo_parts")
    params = {"prefix": event_id_prefix, "environment_id": environment_id, "first_number": first_number}
    for text, rows in row_chunks:
        copy_text_rows(cursor, table="demo_rows", columns=ROW_COLUMNS, text=text)
        cursor.execute(_INSERT_EVENTS, params)
        cursor.execute("TRUNCATE pg_temp.demo_rows")
        if on_rows:
            on_rows(rows)
    drop_demo_temp_tables(cursor)


def analyze_people_tables(cursor) -> None:
    """Fresh statistics for the (small) users/sessions/merges tables right away: a bulk load changes
    an environment's share of them by orders of magnitude, and the raw browser's plans depend on it.
    raw_events is left to autovacuum: sampling it costs more than the rest of a small seed."""
    for table in ("raw_sessions", "raw_users", "raw_identity_merges"):
        cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def analyze_raw_events(cursor, *, environment_id: int) -> None:
    """Statistics of one environment's raw_events partition (ANALYZE reads a sample: seconds at 20M events)."""
    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(raw_events_partition(environment_id))))
