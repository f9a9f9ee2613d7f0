"""Running a checked query as the environment's role: its own connection, read-only, always rolled back.

This is the only module that talks to PostgreSQL as an environment's SQL role.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg2
from django.db import connection as app_connection
from psycopg2 import sql

from warehouse.models import SqlRole
from warehouse.roles import sql_role_connect_kwargs

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
    truncated: bool
    elapsed_ms: float

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
        conn = psycopg2.connect(**sql_role_connect_kwargs(sql_role))
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


def _start(conn, checked: CheckedQuery, *, fetch: int) -> tuple[sql.Composed, int]:
    """One round trip that opens a read-only transaction with a harmless first statement (the user's
    statement never opens it), DECLAREs the user's statement as a server-side cursor and FETCHes the
    first ``fetch`` rows. Also returns how many characters precede the user's text, for error positions.

    The transaction is never committed: closing the session (_close) rolls it back. The user's text is
    exactly one complete statement (checks.py), and the newline ends a trailing ``--`` comment, so it
    cannot run into what follows. EXPLAIN cannot be a cursor; its output is small and read directly.
    """
    begin = sql.SQL("BEGIN TRANSACTION READ ONLY; SELECT 1; ")
    if checked.is_explain:
        prefix = begin
        suffix = sql.SQL("")
    else:
        prefix = begin + sql.SQL("DECLARE {} NO SCROLL CURSOR FOR ").format(sql.Identifier(CURSOR_NAME))
        suffix = sql.SQL("\n; FETCH FORWARD {} FROM {}").format(sql.Literal(fetch), sql.Identifier(CURSOR_NAME))
    return prefix + sql.SQL(checked.text) + suffix, len(prefix.as_string(conn))


def _failure(error: psycopg2.Error, checked: CheckedQuery, prefix_length: int) -> QueryFailed:
    diag = error.diag
    message = diag.message_primary or str(error).strip()
    position = None
    if diag.statement_position:
        position = int(diag.statement_position) - prefix_length + checked.offset
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


def run_query(
    *, sql_role: SqlRole, checked: CheckedQuery, max_rows: int, on_backend: Callable[[int], None] | None = None
) -> QueryResult:
    """Run the statement and fetch at most ``max_rows`` rows (one more is fetched to know it was truncated)."""
    started = time.perf_counter()
    conn = _connect(sql_role)
    prefix_length = 0
    try:
        if on_backend is not None:
            on_backend(conn.get_backend_pid())
        with conn.cursor() as cursor:
            statement, prefix_length = _start(conn, checked, fetch=max_rows + 1)
            cursor.execute(statement)
            rows = cursor.fetchmany(max_rows + 1)
            columns = _columns(conn, cursor.description)
    except psycopg2.Error as error:
        raise _failure(error, checked, prefix_length) from None
    finally:
        _close(conn)
    truncated = len(rows) > max_rows
    return QueryResult(
        columns=columns,
        rows=rows[:max_rows],
        truncated=truncated,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


@dataclass
class StreamOutcome:
    row_count: int = 0
    truncated: bool = False
    error: QueryFailed | None = None


def stream_query(
    *,
    sql_role: SqlRole,
    checked: CheckedQuery,
    max_rows: int,
    outcome: StreamOutcome,
    batch_size: int = 5000,
    on_backend: Callable[[int], None] | None = None,
) -> tuple[list[Column], Iterator[list[tuple]]]:
    """Columns now, then batches of rows as the caller iterates; the connection closes when iteration ends.

    Errors before the first row raise QueryFailed; later ones end the stream and land in ``outcome``.
    """
    conn = _connect(sql_role)
    prefix_length = 0
    try:
        if on_backend is not None:
            on_backend(conn.get_backend_pid())
        cursor = conn.cursor()
        statement, prefix_length = _start(conn, checked, fetch=min(batch_size, max_rows + 1))
        cursor.execute(statement)
        first = cursor.fetchall()
        columns = _columns(conn, cursor.description)
    except psycopg2.Error as error:
        _close(conn)
        raise _failure(error, checked, prefix_length) from None
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
                if rows:
                    outcome.row_count += len(rows)
                    yield rows
                if outcome.truncated or checked.is_explain:
                    break
                rows = _fetch(cursor, min(batch_size, max_rows - outcome.row_count + 1))
        except psycopg2.Error as error:
            outcome.error = _failure(error, checked, prefix_length)
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
