"""Running a checked query as the environment's role: its own connection, read-only, always rolled back.

This is the only module that talks to PostgreSQL as an environment's SQL role.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter

import psycopg2
from django.db import connection as app_connection
from psycopg2 import sql

from warehouse.models import SqlRole
from warehouse.roles import sql_page_connect_kwargs

from . import bounded
from .checks import CheckedQuery

CURSOR_NAME = "heapsite_sql"
# error_class of a refusal at the role's (or the server's) connection limit.
CONNECTION_LIMIT = "ConnectionLimit"
# Type names for the OIDs queries return most; others are looked up in pg_type.
TYPE_NAMES = {
    16: "boolean",
    17: "bytea",
    18: "char",
    19: "name",
    20: "bigint",
    21: "smallint",
    23: "integer",
    25: "text",
    26: "oid",
    114: "json",
    700: "real",
    701: "double precision",
    869: "inet",
    1042: "character",
    1043: "character varying",
    1082: "date",
    1083: "time",
    1114: "timestamp",
    1184: "timestamptz",
    1186: "interval",
    1700: "numeric",
    2950: "uuid",
    3802: "jsonb",
    705: "unknown",
    2249: "record",
    1009: "text[]",
    1007: "integer[]",
    1016: "bigint[]",
}


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str


@dataclass
class QueryResult:
    columns: list[Column]
    rows: list[tuple]
    truncated: bool  # by the row cap or the byte budget
    elapsed_ms: float
    truncated_by_bytes: bool = False

    @property
    def row_count(self) -> int:
        return len(self.rows)


class QueryFailed(Exception):
    """PostgreSQL refused or stopped the query. ``position`` is 1-based in the submitted text, if known."""

    def __init__(self, message: str, *, error_class: str, position: int | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.error_class = error_class
        self.position = position
        self.detail = detail


def _connect(sql_role: SqlRole):
    try:
        conn = psycopg2.connect(**sql_page_connect_kwargs(sql_role))
    except psycopg2.OperationalError as error:
        message = str(error).strip().splitlines()[-1] if str(error).strip() else "could not connect"
        if "too many connections" in message or "too many clients" in message:
            # The role (or the server) is at its connection limit: nothing is wrong with the role itself.
            raise QueryFailed(
                "this environment already runs as many queries as its connection limit allows; try again soon",
                error_class=CONNECTION_LIMIT,
            ) from None
        raise QueryFailed(message, error_class="ConnectionFailed") from None
    # Transactions are opened explicitly (_start) so the first round trip already does useful work.
    conn.autocommit = True
    return conn


@dataclass
class _Sent:
    """How many characters preceded the user's text in the last statement sent, for error positions."""

    prefix_length: int = 0


def _begin(cursor, checked: CheckedQuery, sent: _Sent) -> None:
    """The first round trip: open a read-only transaction with a harmless first statement (the user's
    statement never opens it), then describe the user's statement without running it (bounded.py), or run
    it if it is an EXPLAIN (its output is small; it cannot be a subquery).

    The transaction is never committed: closing the session (_close) rolls it back. The user's text is
    exactly one complete statement (checks.py), and a newline ends a trailing ``--`` comment, so it
    cannot run into what follows.
    """
    prefix = sql.SQL("BEGIN TRANSACTION READ ONLY; SELECT 1; ")
    suffix = sql.SQL("")
    if not checked.is_explain:
        describe_prefix, suffix = bounded.describe_statement()
        prefix += describe_prefix
    _execute(cursor, checked, prefix, suffix, sent)


def _execute(cursor, checked: CheckedQuery, prefix: sql.Composable, suffix: sql.Composable, sent: _Sent) -> None:
    """Run prefix + the user's statement + suffix; the length of the prefix places PostgreSQL's error positions."""
    sent.prefix_length = len(prefix.as_string(cursor.connection))
    cursor.execute(prefix + sql.SQL(checked.text) + suffix)


def _declare(
    cursor, checked: CheckedQuery, prefix: sql.Composable, suffix: sql.Composable, sent: _Sent, *, fetch: int
) -> None:
    """DECLARE the (wrapped) statement as a server-side cursor and FETCH its first rows, in one round trip."""
    declare = sql.SQL("DECLARE {} NO SCROLL CURSOR FOR ").format(sql.Identifier(CURSOR_NAME)) + prefix
    first_fetch = sql.SQL("; FETCH FORWARD {} FROM {}").format(sql.Literal(fetch), sql.Identifier(CURSOR_NAME))
    _execute(cursor, checked, declare, suffix + first_fetch, sent)


def _stop_if_cancelled(cancelled: Callable[[], bool] | None) -> None:
    """Between the describe and the run: a cancel that came while the connection was idle stops the run here."""
    if cancelled is not None and cancelled():
        raise QueryFailed("the query was cancelled", error_class="QueryCanceled")


def _failure(error: psycopg2.Error, checked: CheckedQuery, sent: _Sent) -> QueryFailed:
    diag = error.diag
    message = diag.message_primary or str(error).strip()
    position = None
    if diag.statement_position:
        position = int(diag.statement_position) - sent.prefix_length + checked.offset
        if position < 1:
            position = None
    if isinstance(error, psycopg2.errors.QueryCanceled) and "user request" in message:
        message = "the query was cancelled"
    return QueryFailed(
        message,
        error_class=type(error).__name__,
        position=position,
        detail=" ".join(part for part in (diag.message_detail, diag.message_hint) if part),
    )


def _columns(conn, description) -> list[Column]:
    unknown = {col.type_code for col in description if col.type_code not in TYPE_NAMES}
    names = dict(TYPE_NAMES)
    if unknown:
        with conn.cursor() as cursor:
            cursor.execute("SELECT oid, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)", [list(unknown)])
            names.update(dict(cursor.fetchall()))
    return [Column(name=col.name, type_name=names.get(col.type_code, "unknown")) for col in description]


class TruncatedText(str):
    """A value cut to the page's cell cap; ``full_bytes`` is the size of the whole value."""

    full_bytes: int

    def __new__(cls, value: str, full_bytes: int):
        text = super().__new__(cls, value)
        text.full_bytes = full_bytes
        return text


def _page_rows(records: list[tuple], layout: bounded.Layout, cell_chars: int) -> tuple[list[tuple], bool]:
    """The user's rows out of page_statement's records (cut values marked), and whether the byte budget
    ended them."""
    small = [layout.is_small(index) for index in range(len(layout.type_oids))]
    rows = []
    for record in records:
        if record[-1]:
            return rows, True
        values, position = [], 0
        for is_small in small:
            if is_small:
                values.append(record[position])
                position += 1
                continue
            value, size = record[position], record[position + 1]
            position += 2
            if value is not None and size > cell_chars and len(value.encode()) < size:
                value = TruncatedText(value, size)
            values.append(value)
        rows.append(tuple(values))
    return rows, False


def run_query(
    *,
    sql_role: SqlRole,
    checked: CheckedQuery,
    max_rows: int,
    max_bytes: int,
    cell_chars: int,
    on_backend: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> QueryResult:
    """Run the statement and fetch at most ``max_rows`` rows (one more is fetched to know it was truncated)
    and at most ``max_bytes`` of cell text, each value cut to ``cell_chars`` characters."""
    started = time.perf_counter()
    conn = _connect(sql_role)
    sent = _Sent()
    truncated_by_bytes = False
    try:
        if on_backend is not None:
            on_backend(conn.get_backend_pid())
        with conn.cursor() as cursor:
            _begin(cursor, checked, sent)
            if checked.is_explain:
                rows = cursor.fetchmany(max_rows + 1)
                columns = _columns(conn, cursor.description)
            else:
                columns = _columns(conn, cursor.description)
                layout = bounded.Layout([col.type_code for col in cursor.description])
                if columns:
                    prefix, suffix = bounded.page_statement(layout, cell_chars=cell_chars, budget=max_bytes)
                else:
                    prefix, suffix = sql.SQL(""), sql.SQL("")  # `SELECT` alone: no columns, no bytes
                _stop_if_cancelled(cancelled)
                _declare(cursor, checked, prefix, suffix, sent, fetch=max_rows + 1)
                records = cursor.fetchall()
                rows, truncated_by_bytes = _page_rows(records, layout, cell_chars) if columns else (records, False)
    except psycopg2.Error as error:
        raise _failure(error, checked, sent) from None
    finally:
        _close(conn)
    truncated = len(rows) > max_rows
    return QueryResult(
        columns=columns,
        rows=rows[:max_rows],
        truncated=truncated or truncated_by_bytes,
        truncated_by_bytes=truncated_by_bytes,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


@dataclass
class StreamOutcome:
    row_count: int = 0
    truncated: bool = False
    error: QueryFailed | None = None


def _over_budget(rows: list[tuple], budget: int) -> int | None:
    """Index of the first row csv_statement sent without its values (its window of rows is over the budget)."""
    if not rows or max(map(itemgetter(-1), rows)) <= budget:
        return None
    return next(index for index, row in enumerate(rows) if row[-1] > budget)


def _too_large(row_number: int, budget: int) -> QueryFailed:
    return QueryFailed(
        f"row {row_number:,} does not fit in a CSV batch: it and the rows just before it (at most "
        f"{bounded.CSV_BATCH_ROWS:,}) hold more than {budget:,} bytes (SQLPAGE_CSV_MAX_BATCH_BYTES); "
        "select fewer or shorter columns, or use psql",
        error_class="ResultTooLarge",
    )


def stream_query(
    *,
    sql_role: SqlRole,
    checked: CheckedQuery,
    max_rows: int,
    max_batch_bytes: int,
    neutralise_formulas: bool,
    outcome: StreamOutcome,
    on_backend: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[Column], Iterator[list[tuple]]]:
    """Columns now, then batches of rows (every value text or None) as the caller iterates; the connection
    closes when iteration ends. Each batch is at most bounded.CSV_BATCH_ROWS rows and ``max_batch_bytes``.

    Errors in the first batch raise QueryFailed; later ones end the stream and land in ``outcome``.
    """
    conn = _connect(sql_role)
    sent = _Sent()
    batch = min(bounded.CSV_BATCH_ROWS, max_rows + 1)
    try:
        if on_backend is not None:
            on_backend(conn.get_backend_pid())
        cursor = conn.cursor()
        _begin(cursor, checked, sent)
        columns = _columns(conn, cursor.description)
        if checked.is_explain:
            first = cursor.fetchall()
        else:
            layout = bounded.Layout([col.type_code for col in cursor.description])
            prefix, suffix = bounded.csv_statement(layout, budget=max_batch_bytes, neutralise=neutralise_formulas)
            if not columns:
                raise QueryFailed("the query returns no columns: there is nothing to write", error_class="NoColumns")
            _stop_if_cancelled(cancelled)
            _declare(cursor, checked, prefix, suffix, sent, fetch=batch)
            first = cursor.fetchall()
            over = _over_budget(first, max_batch_bytes)
            if over is not None:
                raise _too_large(over + 1, max_batch_bytes)
    except psycopg2.Error as error:
        _close(conn)
        raise _failure(error, checked, sent) from None
    except BaseException:
        _close(conn)
        raise

    def batches() -> Iterator[list[tuple]]:
        rows = first
        try:
            while rows:
                room = max_rows - outcome.row_count
                if len(rows) > room:
                    outcome.truncated = True
                    rows = rows[:room]
                if checked.is_explain:
                    outcome.row_count += len(rows)
                    yield rows
                    break
                over = _over_budget(rows, max_batch_bytes)
                if over is not None:
                    outcome.error = _too_large(outcome.row_count + over + 1, max_batch_bytes)
                    rows = rows[:over]
                if rows:
                    outcome.row_count += len(rows)
                    yield [row[:-1] for row in rows]
                if outcome.truncated or outcome.error:
                    break
                rows = _fetch(cursor, min(batch, max_rows - outcome.row_count + 1))
        except psycopg2.Error as error:
            outcome.error = _failure(error, checked, sent)
        finally:
            _close(conn)

    return columns, batches()


def _fetch(cursor, count: int) -> list[tuple]:
    cursor.execute(sql.SQL("FETCH FORWARD {} FROM {}").format(sql.Literal(count), sql.Identifier(CURSOR_NAME)))
    return cursor.fetchall()


def _close(conn) -> None:
    # Ending the session rolls back its open transaction; an explicit ROLLBACK would only add a round trip.
    conn.close()


def cancel_backend(*, pid: int, role_name: str) -> bool:
    """Cancel the statement running on ``pid`` if that backend belongs to the role. Done as the app's user."""
    with app_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = %s AND usename = %s",
            [pid, role_name],
        )
        row = cursor.fetchone()
    return bool(row and row[0])
