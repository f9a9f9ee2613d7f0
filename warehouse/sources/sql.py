"""The SQL behind CSV uploads and attached schemas (identifiers via psycopg2.sql, values as parameters)."""

import re
from collections.abc import Sequence
from typing import BinaryIO

from psycopg2 import errors as pg_errors
from psycopg2 import sql

from .csvfile import CsvError

STAGING_SCHEMA = "heapsite_staging"

# What each column type accepts (on the trimmed value). A value fits at most one of these, except
# that every integer is also numeric, which lets inference test them in order and stop early.
TYPE_PATTERNS = {
    "integer": r"^[-+]?[0-9]+$",
    "numeric": r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[-+][0-9]{2}(:?[0-9]{2})?)?)?$",
}
_FIT_BITS = {"integer": 1, "numeric": 2, "boolean": 4, "timestamp": 8}
# Integers beyond bigint's 19 digits are loaded as numeric.
_BIGINT_DIGITS = 18
COLUMN_TYPES = ("integer", "numeric", "boolean", "timestamp", "text")
_PG_TYPES = {"integer": "bigint", "numeric": "numeric", "boolean": "boolean", "timestamp": "timestamptz"}
_COPY_CONTEXT = re.compile(r"line (\d+)(?:, column (\w+))?")


def staging_columns(count: int) -> list[str]:
    return [f"c{i}" for i in range(1, count + 1)]


def stage_create(cursor, *, table: str, column_count: int) -> None:
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(STAGING_SCHEMA)))
    columns = [sql.SQL("{} text").format(sql.Identifier(name)) for name in staging_columns(column_count)]
    cursor.execute(
        sql.SQL("CREATE UNLOGGED TABLE {}.{} (_row bigserial, {})").format(
            sql.Identifier(STAGING_SCHEMA), sql.Identifier(table), sql.SQL(", ").join(columns)
        )
    )


def stage_copy(cursor, *, table: str, header: Sequence[str], delimiter: str, source: BinaryIO) -> int:
    """COPY the file into the staging table; errors come back as CsvError with the file's line."""
    names = staging_columns(len(header))
    statement = sql.SQL(
        "COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER {}, ENCODING 'UTF8')"
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


def infer_types(cursor, *, table: str, column_count: int) -> list[str]:
    """One scan of the staging table: the narrowest type every non-empty value of a column fits."""
    checks = []
    for name in staging_columns(column_count):
        value = sql.SQL("NULLIF(btrim({}), '')").format(sql.Identifier(name))
        checks.append(sql.SQL("count({}), bit_and({})").format(value, _fit_mask(value)))
    cursor.execute(
        sql.SQL("SELECT {} FROM {}.{}").format(
            sql.SQL(", ").join(checks), sql.Identifier(STAGING_SCHEMA), sql.Identifier(table)
        )
    )
    row = cursor.fetchone()
    inferred = []
    for index in range(column_count):
        non_empty, fits = row[2 * index], row[2 * index + 1] or 0
        choice = "text"
        if non_empty:
            choice = next((kind for kind, bit in _FIT_BITS.items() if fits & bit), "text")
        inferred.append(choice)
    return inferred


def first_misfit(cursor, *, table: str, column_index: int, column_type: str) -> tuple[int, str] | None:
    """The first row (1-based, header excluded) whose value in a column does not fit a type."""
    name = sql.Identifier(staging_columns(column_index + 1)[-1])
    cursor.execute(
        sql.SQL("SELECT _row, {name} FROM {schema}.{table} WHERE {mask} & {bit} = 0 ORDER BY _row LIMIT 1").format(
            name=name,
            schema=sql.Identifier(STAGING_SCHEMA),
            table=sql.Identifier(table),
            mask=_fit_mask(sql.SQL("NULLIF(btrim({}), '')").format(name)),
            bit=sql.Literal(_FIT_BITS[column_type]),
        )
    )
    return cursor.fetchone()


def column_expression(staging_name: str, column_type: str) -> sql.Composable:
    if column_type == "text":
        return sql.Identifier(staging_name)
    return sql.SQL("NULLIF(btrim({}), '')::{}").format(sql.Identifier(staging_name), sql.SQL(_PG_TYPES[column_type]))


def build_table(
    cursor, *, staging: str, schema: str, table: str, columns: Sequence[tuple[str, str]], replace: bool
) -> int:
    """Create schema.table from the staging rows in file order; the caller's transaction makes it atomic."""
    selects = [
        sql.SQL("{} AS {}").format(column_expression(staging_name, column_type), sql.Identifier(name))
        for staging_name, (name, column_type) in zip(staging_columns(len(columns)), columns, strict=True)
    ]
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    if replace:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
    cursor.execute(
        sql.SQL("CREATE TABLE {}.{} AS SELECT {} FROM {}.{} ORDER BY _row").format(
            sql.Identifier(schema),
            sql.Identifier(table),
            sql.SQL(", ").join(selects),
            sql.Identifier(STAGING_SCHEMA),
            sql.Identifier(staging),
        )
    )
    return cursor.rowcount


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
