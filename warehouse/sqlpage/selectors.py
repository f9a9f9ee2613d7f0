"""Reads of the SQL page: the schema browser, history, saved queries."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from warehouse.models import Environment, SavedQuery, SqlQueryRun
from warehouse.sources.services import readable_extra_schemas

HISTORY_LENGTH = 50


@dataclass(frozen=True)
class BrowserTable:
    schema: str
    name: str
    columns: list[tuple[str, str]]
    # What a click inserts: the bare name in the warehouse schema (the role's search_path), else qualified.
    insert: str


@dataclass(frozen=True)
class BrowserSchema:
    name: str
    tables: list[BrowserTable]


def sql_schema_tables(*, environment: Environment) -> list[BrowserSchema]:
    """The schemas the environment's role reads — its warehouse first, then its uploads and attached schemas
    (docs/joining.md) — with their tables, views, columns and types."""
    schemas = [environment.warehouse_schema, *readable_extra_schemas(environment)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
            ORDER BY n.nspname, c.relname, a.attnum
            """,
            [schemas],
        )
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, type_name in cursor.fetchall():
            columns.setdefault((schema, table), []).append((column, type_name))
    result = []
    for schema in schemas:
        tables = [
            BrowserTable(
                schema=schema,
                name=table,
                columns=cols,
                insert=table if schema == environment.warehouse_schema else f"{schema}.{table}",
            )
            for (table_schema, table), cols in columns.items()
            if table_schema == schema
        ]
        if tables or schema == environment.warehouse_schema:
            result.append(BrowserSchema(name=schema, tables=tables))
    return result


def sql_history(*, user: AbstractBaseUser, environment: Environment) -> list[SqlQueryRun]:
    return list(SqlQueryRun.objects.filter(environment=environment, user=user)[:HISTORY_LENGTH])


def sql_history_entry(*, user: AbstractBaseUser, environment: Environment, run_id: int) -> SqlQueryRun | None:
    return SqlQueryRun.objects.filter(environment=environment, user=user, pk=run_id).first()


def saved_queries(*, environment: Environment) -> list[SavedQuery]:
    return list(SavedQuery.objects.filter(environment=environment).select_related("owner"))


def saved_query_get(*, environment: Environment, saved_id: int) -> SavedQuery | None:
    return SavedQuery.objects.filter(environment=environment, pk=saved_id).select_related("owner").first()
