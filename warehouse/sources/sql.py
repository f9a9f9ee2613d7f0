"""The SQL behind CSV uploads and attached schemas (identifiers via psycopg2.sql, values as parameters)."""

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from django.db import connection as django_connection
from psycopg2 import errors as pg_errors
from psycopg2 import sql

from .csvfile import CsvError

logger = logging.getLogger(__name__)

STAGING_SCHEMA = "heapsite_staging"

# What each column type accepts (on the trimmed value). A value fits at most one of these, except
# that every integer is also numeric, which lets inference test them in order and stop early.
# Digits are spelled out ([0-9][0-9] rather than [0-9]{2}): PostgreSQL's regex engine is several
# times slower on bounded repetitions, and these run on every value of a typed column.
_D2, _D4 = "[0-9]" * 2, "[0-9]" * 4
TYPE_PATTERNS = {
    "integer": r"^[-+]?[0-9]+$",
    "numeric": r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$",
    "timestamp": (rf"^{_D4}-{_D2}-{_D2}([ T]{_D2}:{_D2}(:{_D2}(\.[0-9]+)?)?\s*(Z|[-+]{_D2}(:?{_D2})?)?)?$"),
}
_FIT_BITS = {"integer": 1, "numeric": 2, "boolean": 4, "timestamp": 8}
# Integers beyond bigint's 19 digits are loaded as numeric.
_BIGINT_DIGITS = 18
COLUMN_TYPES = ("integer", "numeric", "boolean", "timestamp", "text")
_PG_TYPES = {"integer": "bigint", "numeric": "numeric", "boolean": "boolean", "timestamp": "timestamptz"}
# Inference reads a sample: the file's first rows and about 1% of the staging table's pages at random.
SAMPLE_ROWS = 10_000
_SAMPLE_PERCENT = 1
# The common shapes of timestamps (every digit as 0), tested before the regular expression.
_TIMESTAMP_SHAPES = ("0000-00-00", "0000-00-00T00:00:00Z", "0000-00-00 00:00:00", "0000-00-00T00:00:00")
_COPY_CONTEXT = re.compile(r"line (\d+)(?:, column (\w+))?")


def staging_columns(count: int) -> list[str]:
    return [f"c{i}" for i in range(1, count + 1)]


def stage_create(cursor, *, table: str, column_count: int) -> None:
    """The staging table: text columns in file order. Rows keep the file's order on disk (one COPY into a
    new table); reads that need it scan it in that order (scan_in_file_order)."""
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(STAGING_SCHEMA)))
    columns = [sql.SQL("{} text").format(sql.Identifier(name)) for name in staging_columns(column_count)]
    cursor.execute(
        sql.SQL("CREATE UNLOGGED TABLE {}.{} ({})").format(
            sql.Identifier(STAGING_SCHEMA), sql.Identifier(table), sql.SQL(", ").join(columns)
        )
    )


def stage_copy(cursor, *, table: str, header: Sequence[str], delimiter: str, source: BinaryIO) -> int:
    """COPY the file into the staging table (created in this transaction: FREEZE spares every later read
    from setting hint bits); errors come back as CsvError with the file's line."""
    names = staging_columns(len(header))
    statement = sql.SQL(
        "COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER {}, ENCODING 'UTF8', FREEZE)"
    ).format(
        sql.Identifier(STAGING_SCHEMA),
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.Literal(delimiter),
    )
    raw_cursor = getattr(cursor, "cursor", cursor)  # Django's wrapper hides the psycopg2 cursor
    try:
        raw_cursor.copy_expert(statement.as_string(raw_cursor), source, size=1 << 20)
    except (pg_errors.BadCopyFileFormat, pg_errors.CharacterNotInRepertoire, pg_errors.UntranslatableCharacter) as exc:
        raise _copy_error(exc, header) from None
    return raw_cursor.rowcount


def _copy_error(exc, header: Sequence[str]) -> CsvError:
    message = exc.diag.message_primary or str(exc)
    match = _COPY_CONTEXT.search(exc.diag.context or "")
    line = int(match.group(1)) if match else None
    column = None
    missing = re.match(r'missing data for column "c(\d+)"', message)
    if missing:
        column = header[int(missing.group(1)) - 1]
        message = f"the row has fewer fields than the header's {len(header)} columns"
    elif message.startswith("extra data after last expected column"):
        message = f"the row has more fields than the header's {len(header)} columns"
    elif message.startswith("unterminated CSV quoted field"):
        message = "a quoted field is never closed (unterminated quote)"
    elif message.startswith("invalid byte sequence"):
        message = f"not valid UTF-8 ({message.split(':', 1)[-1].strip()})"
    elif match and match.group(2):
        column = header[int(match.group(2)[1:]) - 1] if match.group(2).startswith("c") else match.group(2)
    return CsvError(message, line=line, column=column)


_BOOLEAN_WORDS = ("true", "false", "t", "f", "yes", "no", "y", "n")


def _fit_mask(value: sql.Composable) -> sql.Composable:
    """The types a trimmed value fits, as bits. Cheap tests on the first characters decide which
    pattern can apply, so most values run at most one regular expression."""
    return sql.SQL(
        "CASE WHEN {v} IS NULL THEN 15"
        " WHEN substr({v}, 5, 1) = '-' THEN CASE WHEN {v} ~ {timestamp} THEN 8 ELSE 0 END"
        " WHEN strpos('0123456789+-.', left({v}, 1)) > 0 THEN CASE"
        "  WHEN {v} ~ {integer} THEN CASE WHEN length(ltrim({v}, '+-')) <= {digits} THEN 3 ELSE 2 END"
        "  WHEN {v} ~ {numeric} THEN 2 ELSE 0 END"
        " WHEN lower({v}) IN ({booleans}) THEN 4"
        " ELSE 0 END"
    ).format(
        v=value,
        digits=sql.Literal(_BIGINT_DIGITS),
        booleans=sql.SQL(", ").join(map(sql.Literal, _BOOLEAN_WORDS)),
        **{kind: sql.Literal(pattern) for kind, pattern in TYPE_PATTERNS.items() if kind != "boolean"},
    )


def scan_in_file_order(cursor) -> None:
    """For the rest of the transaction, a sequential scan of a staging table returns its rows in file
    order (one COPY filled it): none joins another scan midway, none is split among parallel workers."""
    cursor.execute(
        "SELECT set_config('synchronize_seqscans', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)"
    )


def _sampled(table: str) -> sql.Composable:
    staging = sql.SQL("{}.{}").format(sql.Identifier(STAGING_SCHEMA), sql.Identifier(table))
    return sql.SQL(
        "((SELECT * FROM {t} LIMIT {rows}) UNION ALL (SELECT * FROM {t} TABLESAMPLE SYSTEM ({percent}) REPEATABLE (0)))"
    ).format(t=staging, rows=sql.Literal(SAMPLE_ROWS), percent=sql.Literal(_SAMPLE_PERCENT))


def column_fits(cursor, *, table: str, columns: Sequence[int], sample: bool) -> dict[int, "ColumnFit"]:
    """What the non-empty values of each column (0-based index) fit: in a sample of the rows (inference),
    or in every row (the check after a sampled type turned out too narrow)."""
    source = (
        _sampled(table) if sample else sql.SQL("{}.{}").format(sql.Identifier(STAGING_SCHEMA), sql.Identifier(table))
    )
    fits = {}
    for batch in _batches(columns):
        checks = []
        for index in batch:
            value = sql.SQL("NULLIF(btrim({}), '')").format(sql.Identifier(staging_columns(index + 1)[-1]))
            checks.append(sql.SQL("count({}), bit_and({})").format(value, _fit_mask(value)))
        cursor.execute(sql.SQL("SELECT {} FROM {} AS s").format(sql.SQL(", ").join(checks), source))
        row = cursor.fetchone()
        for position, index in enumerate(batch):
            bits = row[2 * position + 1]
            fits[index] = ColumnFit(non_empty=row[2 * position], bits=15 if bits is None else bits)
    return fits


# A query's select list holds at most 1,664 entries: the checks read this many columns at a time.
_COLUMNS_PER_QUERY = 200


def _batches(indexes: Sequence[int]) -> list[list[int]]:
    indexes = list(indexes)
    return [indexes[start : start + _COLUMNS_PER_QUERY] for start in range(0, len(indexes), _COLUMNS_PER_QUERY)]


@dataclass(frozen=True)
class ColumnFit:
    non_empty: int
    bits: int  # _FIT_BITS of the types every non-empty value fits

    @property
    def narrowest(self) -> str:
        """The inferred type: the narrowest every value fits; text when there is no value at all."""
        if not self.non_empty:
            return "text"
        return next((kind for kind, bit in _FIT_BITS.items() if self.bits & bit), "text")

    def fits(self, column_type: str) -> bool:
        return column_type == "text" or bool(self.bits & _FIT_BITS[column_type])


def infer_types(cursor, *, table: str, column_count: int) -> list[str]:
    """Each column's type from a sample of the staging table (the load checks every value: build_table):
    what column_fits says of the sample, read from each column's values joined (one regular expression
    per column and type); a column whose values cannot all be joined is read value by value."""
    scan_in_file_order(cursor)
    kinds = list(_FIT_BITS)
    inferred: dict[int, str] = {}
    for batch in _batches(range(column_count)):
        checks = []
        for index in batch:
            j = sql.Identifier(f"j{index}")
            checks.append(_joined_whole(index))
            checks.append(sql.SQL("coalesce({} ~ {}, false)").format(j, sql.Literal(_NOT_BLANK)))
            checks.extend(
                sql.SQL("coalesce({}, false)").format(_joined_fit(index, kind, blanks=True)) for kind in kinds
            )
        cursor.execute(
            sql.SQL("SELECT {} FROM (SELECT {} FROM {} AS s) AS joined").format(
                sql.SQL(", ").join(checks),
                sql.SQL(", ").join(_joined(index, index) for index in batch),
                _sampled(table),
            )
        )
        row = cursor.fetchone()
        width = 2 + len(kinds)
        for position, index in enumerate(batch):
            whole, not_blank, *fits = row[position * width : (position + 1) * width]
            if whole:
                first_fit = next((kind for kind, fit in zip(kinds, fits, strict=True) if fit), "text")
                inferred[index] = first_fit if not_blank else "text"
    unjoined = [index for index in range(column_count) if index not in inferred]
    for index, fit in column_fits(cursor, table=table, columns=unjoined, sample=True).items():
        inferred[index] = fit.narrowest
    return [inferred[index] for index in range(column_count)]


def first_misfit(cursor, *, table: str, column_index: int, column_type: str) -> tuple[int, str] | None:
    """The first row (1-based, header excluded) whose value in a column does not fit a type."""
    name = sql.Identifier(staging_columns(column_index + 1)[-1])
    scan_in_file_order(cursor)
    cursor.execute(
        sql.SQL(
            "SELECT n, v FROM (SELECT row_number() OVER () AS n, {name} AS v FROM {schema}.{table}) numbered"
            " WHERE {mask} & {bit} = 0 LIMIT 1"
        ).format(
            name=name,
            schema=sql.Identifier(STAGING_SCHEMA),
            table=sql.Identifier(table),
            mask=_fit_mask(sql.SQL("NULLIF(btrim(v), '')")),
            bit=sql.Literal(_FIT_BITS[column_type]),
        )
    )
    return cursor.fetchone()


def fits_guard(value: sql.Composable, column_type: str) -> sql.Composable:
    """True when a non-empty raw value fits the type, exactly as `_fit_mask(NULLIF(btrim(value), ''))
    & bit` says (tests/warehouse/sources/test_csv.py holds them to it), but cheap enough to run on every
    value of the typed pass: one regular expression on the raw value (spaces around allowed, as btrim
    removes them), a shape test before the timestamp's."""
    patterns = {kind: "^ *" + pattern[1:-1] + " *$" for kind, pattern in TYPE_PATTERNS.items()}
    if column_type == "integer":
        return sql.SQL(
            "({v} ~ {integer} AND (length({v}) <= {digits} OR length(ltrim(btrim({v}), '+-')) <= {digits}))"
        ).format(v=value, integer=sql.Literal(patterns["integer"]), digits=sql.Literal(_BIGINT_DIGITS))
    if column_type == "numeric":
        # A value with '-' as its fifth character is tested as a timestamp only (the mask's first branch).
        return sql.SQL("({v} ~ {numeric} AND (strpos({v}, '-') = 0 OR substr(btrim({v}), 5, 1) <> '-'))").format(
            v=value, numeric=sql.Literal(patterns["numeric"])
        )
    if column_type == "boolean":
        return sql.SQL("lower(btrim({v})) IN ({words})").format(
            v=value, words=sql.SQL(", ").join(map(sql.Literal, _BOOLEAN_WORDS))
        )
    # The common shapes first: a LIKE pins length and separators, and the digits left between them
    # must be all there is. Any other value gets the regular expression (about 2 µs a value).
    shapes = [
        sql.SQL("WHEN {v} LIKE {like} THEN translate({v}, '0123456789', '') = {rest}").format(
            v=value, like=sql.Literal(shape.replace("0", "_")), rest=sql.Literal(shape.replace("0", ""))
        )
        for shape in _TIMESTAMP_SHAPES
    ]
    return sql.SQL("CASE {shapes} ELSE {v} ~ {timestamp} END").format(
        v=value, shapes=sql.SQL(" ").join(shapes), timestamp=sql.Literal(patterns["timestamp"])
    )


# The load's check of a whole typed column: its values joined by a character no pattern matches, one regular
# expression per chunk of the staging table's pages (a chunk's string stays a few MB: a value longer than
# _JOINED_VALUE_BYTES is not joined, which sends the column to the per-value check).
_JOINED_SEPARATOR = "\x01"
_JOINED_CHUNK_PAGES = 1024
_JOINED_VALUE_BYTES = 1000
_NOT_BLANK = rf"[^ \u{ord(_JOINED_SEPARATOR):04x}]"  # in joined values: one is neither empty nor spaces


def _trimmed_pattern(column_type: str, *, negative_exponents: bool = True) -> str:
    """What a value trimmed of spaces and not empty matches exactly when _fit_mask gives it the type's bit
    (no anchor); for numeric without `negative_exponents`, exactly on values without 'e-' or 'E-'."""
    if column_type == "integer":  # at most _BIGINT_DIGITS digits, else it is numeric only
        return r"[-+]?[0-9]" + "[0-9]?" * (_BIGINT_DIGITS - 1)
    if column_type == "numeric" and negative_exponents:
        # The mask tests a value whose fifth character is '-' as a timestamp only: for a number that is a
        # three-character mantissa followed by a negative exponent (1.5e-3). The lookahead costs.
        return "(?![-+0-9.][-+0-9.][-+0-9.][eE]-)" + TYPE_PATTERNS["numeric"][1:-1]
    if column_type == "boolean":  # lower() gives the words' letters only from themselves and their ASCII capitals
        return "(?:" + "|".join("".join(f"[{c}{c.upper()}]" for c in word) for word in _BOOLEAN_WORDS) + ")"
    return TYPE_PATTERNS[column_type][1:-1]


def joined_pattern(column_type: str, *, blanks: bool, negative_exponents: bool = True) -> str:
    """The whole-string pattern for values joined by _JOINED_SEPARATOR that all fit the type (spaces around
    allowed, as btrim removes them), or are blank (empty or spaces: NULL once typed) when `blanks`."""
    trimmed = _trimmed_pattern(column_type, negative_exponents=negative_exponents)
    value = f" *(?:{trimmed} *){'?' if blanks else ''}"
    return rf"^(?:{value})(?:\u{ord(_JOINED_SEPARATOR):04x}(?:{value}))*$"


def _joined(index: int, position: int) -> sql.Composable:
    """Aggregates of one column for the joined checks: j<position> its values joined (those not too long),
    n<position> how many values it has."""
    return sql.SQL(
        "string_agg({v}, {sep}) FILTER (WHERE octet_length({v}) <= {most}) AS {j}, count({v}) AS {n}"
    ).format(
        v=sql.Identifier(staging_columns(index + 1)[-1]),
        sep=sql.Literal(_JOINED_SEPARATOR),
        most=sql.Literal(_JOINED_VALUE_BYTES),
        j=sql.Identifier(f"j{position}"),
        n=sql.Identifier(f"n{position}"),
    )


def _joined_whole(position: int) -> sql.Composable:
    """True when j<position> holds every value of the column, each once: as many separators as values
    but one (a value holding the separator, or left out for its length, makes them differ)."""
    j = sql.Identifier(f"j{position}")
    return sql.SQL(
        "coalesce({n} = 0 OR octet_length({j}) - octet_length(replace({j}, {sep}, '')) = {n} - 1, false)"
    ).format(j=j, n=sql.Identifier(f"n{position}"), sep=sql.Literal(_JOINED_SEPARATOR))


def _joined_fit(position: int, column_type: str, *, blanks: bool) -> sql.Composable:
    """True when every value joined in j<position> fits the type (or is blank, when `blanks`)."""
    j = sql.Identifier(f"j{position}")
    matches = sql.SQL("{j} ~ {pattern}").format(j=j, pattern=sql.Literal(joined_pattern(column_type, blanks=blanks)))
    if column_type == "numeric":
        matches = sql.SQL(
            "CASE WHEN strpos({j}, 'e-') = 0 AND strpos({j}, 'E-') = 0 THEN {j} ~ {plain} ELSE {matches} END"
        ).format(
            j=j,
            plain=sql.Literal(joined_pattern(column_type, blanks=blanks, negative_exponents=False)),
            matches=matches,
        )
    return matches


def columns_fit_whole(cursor, *, table: str, columns: dict[int, str], blanks: bool) -> set[int]:
    """The columns (0-based index: type) whose every value fits the type as _fit_mask says (blank values
    too when `blanks`, else a blank value fails), read in one scan that joins each chunk of pages' values
    and tests one regular expression per column and chunk. A column whose values cannot all be joined
    (_joined_whole) is not said to fit."""
    fit = set()
    for batch in _batches(sorted(columns)):
        joined, checks = [], []
        for position, index in enumerate(batch):
            joined.append(_joined(index, position))
            checks.append(
                sql.SQL("coalesce(bool_and({whole} AND coalesce({fit}, true)), true)").format(
                    whole=_joined_whole(position), fit=_joined_fit(position, columns[index], blanks=blanks)
                )
            )
        # A TID range scan reads each chunk's pages alone (PostgreSQL 14+).
        cursor.execute(
            sql.SQL(
                "SELECT {checks} FROM generate_series(0, pg_relation_size(format('%I.%I', {schema_name}, {table_name})"
                "::regclass) / current_setting('block_size')::int, {pages}) AS chunk(first_page), LATERAL (SELECT"
                " {joined} FROM {schema}.{table} WHERE ctid >= format('(%s,0)', first_page)::tid"
                " AND ctid < format('(%s,0)', first_page + {pages})::tid) AS joined"
            ).format(
                checks=sql.SQL(", ").join(checks),
                schema_name=sql.Literal(STAGING_SCHEMA),
                table_name=sql.Literal(table),
                pages=sql.Literal(_JOINED_CHUNK_PAGES),
                joined=sql.SQL(", ").join(joined),
                schema=sql.Identifier(STAGING_SCHEMA),
                table=sql.Identifier(table),
            )
        )
        row = cursor.fetchone()
        fit.update(index for position, index in enumerate(batch) if row[position])
    return fit


@contextmanager
def columns_fit_whole_meanwhile(
    *, table: str, columns: dict[int, str], blanks: bool
) -> Iterator[Callable[[], set[int]]]:
    """columns_fit_whole on a connection of its own, in a thread, while the caller goes on (the staging
    table must be committed); the function yielded waits for its answer. Cancelled if not waited for.
    The check only spares work: when it fails, no column is said to fit (logged)."""
    checker = _new_connection()
    answer: list[set[int]] = []
    failures: list[BaseException] = []

    def check() -> None:
        try:
            with checker.cursor() as cursor:
                answer.append(columns_fit_whole(cursor, table=table, columns=columns, blanks=blanks))
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            failures.append(error)

    thread = threading.Thread(target=check, name="csv-whole-column-check")
    thread.start()

    def wait() -> set[int]:
        thread.join()
        if failures:
            logger.warning("csv load: the whole-column check failed, each value is checked instead: %s", failures[0])
            return set()
        return answer[0]

    try:
        yield wait
    finally:
        if thread.is_alive():
            checker.cancel()
        thread.join()
        checker.close()


MISFIT_PREFIX = "heapsite: does not fit: "


# What build_table knows of a typed column's values before it reads them: nothing (each value is checked),
# that every value fits or is blank (columns_fit_whole with blanks), or that every value fits.
CHECK_EACH, FIT_OR_BLANK, ALL_FIT = "check each", "fit or blank", "all fit"


def column_expression(staging_name: str, column_type: str, known: str = CHECK_EACH) -> sql.Composable:
    """The typed value of a staging column; unless the values are known to fit, a value that does not
    fit the type fails the statement (a cast of MISFIT_PREFIX + the value), as the sample may have
    missed it. The three forms give the same value wherever they apply."""
    value = sql.Identifier(staging_name)
    if column_type == "text":
        return value
    pg_type = sql.SQL(_PG_TYPES[column_type])
    if known == ALL_FIT:
        return sql.SQL("{v}::{type}").format(v=value, type=pg_type)
    if known == FIT_OR_BLANK:
        return sql.SQL("CASE WHEN btrim({v}) = '' THEN NULL ELSE {v}::{type} END").format(v=value, type=pg_type)
    return sql.SQL(
        "CASE WHEN {v} IS NULL THEN NULL WHEN {fits} THEN {v}::{type} WHEN btrim({v}) = '' THEN NULL"
        " ELSE ({misfit} || {v})::{type} END"
    ).format(v=value, fits=fits_guard(value, column_type), type=pg_type, misfit=sql.Literal(MISFIT_PREFIX))


def build_table(
    cursor,
    *,
    staging: str,
    schema: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    replace: bool,
    relay: bool = True,
    known: Sequence[str] | None = None,
) -> int:
    """Create schema.table from the staging rows in file order, typed and checked in one pass; the caller's
    transaction makes it atomic. A value that does not fit its column's type raises DataError. `known`:
    what is known of each column's values (column_expression), else each value is checked.

    With `relay`, the pass is a COPY: a second connection reads the staging table through the typed
    expressions (COPY ... TO STDOUT, binary) while this one writes what it sends into the new table
    (COPY ... FROM STDIN), two backends side by side; COPY writes pages in batches where CREATE TABLE AS
    logs every row (1M rows, 7 columns: 1.6-1.9 s against 2.2-2.4 s). It needs the staging table
    committed. Without it, one CREATE TABLE AS on this connection: one core, which leaves the other to
    a check running meanwhile (columns_fit_whole_meanwhile: 2.2-2.5 s for both against 2.5-3.3 s).
    """
    selects = [
        sql.SQL("{} AS {}").format(column_expression(staging_name, column_type, kind), sql.Identifier(name))
        for staging_name, (name, column_type), kind in zip(
            staging_columns(len(columns)), columns, known or [CHECK_EACH] * len(columns), strict=True
        )
    ]
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    query = sql.SQL("SELECT {} FROM {}.{}").format(
        sql.SQL(", ").join(selects), sql.Identifier(STAGING_SCHEMA), sql.Identifier(staging)
    )
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    if replace:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    if not relay:
        scan_in_file_order(cursor)
        # JIT would compile the per-column expressions of a wide file for seconds; the pass is I/O and casts.
        cursor.execute("SELECT set_config('jit', 'off', true)")
        cursor.execute(sql.SQL("CREATE TABLE {} AS {}").format(target, query))
        return cursor.rowcount
    definitions = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_PG_TYPES.get(column_type, "text")))
        for name, column_type in columns
    ]
    cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(definitions)))
    raw_cursor = getattr(cursor, "cursor", cursor)
    reader = _reader_connection(raw_cursor)
    export = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT binary)").format(query).as_string(reader)
    load = sql.SQL("COPY {} FROM STDIN WITH (FORMAT binary)").format(target).as_string(raw_cursor)
    read_end, write_end = os.pipe()
    failures: list[BaseException] = []

    def send() -> None:
        try:
            with os.fdopen(write_end, "wb") as pipe, reader.cursor() as reading:
                reading.copy_expert(export, pipe)
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            failures.append(error)

    sender = threading.Thread(target=send, name="csv-typed-pass")
    sender.start()
    loading_error = None
    try:
        with os.fdopen(read_end, "rb") as pipe:
            raw_cursor.copy_expert(load, pipe)
    except Exception as error:  # the reader's error, when it has one, says why (a value that does not fit)
        loading_error = error
    finally:
        sender.join()
        reader.close()
    reading_error = next((error for error in failures if not isinstance(error, BrokenPipeError)), None)
    if reading_error is not None:
        raise reading_error
    if loading_error is not None:
        raise loading_error
    return raw_cursor.rowcount


def _new_connection():
    """A psycopg2 connection of its own (autocommit) to the database Django uses."""
    other = django_connection.get_new_connection(django_connection.get_connection_params())
    other.autocommit = True
    return other


def _reader_connection(raw_cursor):
    """A new connection like this one, reading the staging table in file order (see scan_in_file_order)
    and in the same time zone (a date without one is read as this connection would)."""
    with raw_cursor.connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        time_zone = cursor.fetchone()[0]
    reader = _new_connection()
    with reader.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('TimeZone', %s, false), set_config('synchronize_seqscans', 'off', false),"
            " set_config('max_parallel_workers_per_gather', '0', false), set_config('jit', 'off', false)",
            [time_zone],
        )
    return reader


def stage_drop(cursor, *, table: str) -> None:
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(sql.Identifier(STAGING_SCHEMA), sql.Identifier(table)))


def table_exists(cursor, *, schema: str, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        [schema, table],
    )
    return cursor.fetchone() is not None


def schema_exists(cursor, *, schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    return cursor.fetchone() is not None


def schema_table_names(cursor, *, schema: str) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s", [schema]
    )
    return {row[0] for row in cursor.fetchall()}


def schema_owners(cursor, *, schema: str) -> set[str]:
    """The schema's owner and every owner of a table in it: whose future tables the role should see."""
    # ALTER DEFAULT PRIVILEGES FOR ROLE needs membership in that role; others are covered by the
    # regrant every sync does.
    cursor.execute(
        """
        SELECT owner FROM (
            SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = %(schema)s
            UNION
            SELECT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(schema)s
            UNION SELECT current_user
        ) owners WHERE pg_has_role(owner, 'MEMBER')
        """,
        {"schema": schema},
    )
    return {row[0] for row in cursor.fetchall()}


def grant_read(cursor, *, schema: str, role: str, owners: set[str]) -> None:
    """USAGE + SELECT on every table now, and on tables the owners create later."""
    schema_id, role_id = sql.Identifier(schema), sql.Identifier(role)
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id))
    cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema_id, role_id))
    for owner in sorted(owners):
        cursor.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                sql.Identifier(owner), schema_id, role_id
            )
        )


def revoke_read(cursor, *, schema: str, role: str, owners: set[str]) -> None:
    schema_id, role_id = sql.Identifier(schema), sql.Identifier(role)
    for owner in sorted(owners):
        cursor.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE ALL ON TABLES FROM {}").format(
                sql.Identifier(owner), schema_id, role_id
            )
        )
    cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema_id, role_id))
    cursor.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(schema_id, role_id))


def role_exists(cursor, *, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def drop_table(cursor, *, schema: str, table: str) -> None:
    cursor.execute(sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
