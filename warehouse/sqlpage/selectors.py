"""Reads of the SQL page: permission, the schema browser, history, saved queries."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from warehouse.models import Environment, SavedQuery, SqlAccess, SqlQueryRun

HISTORY_LENGTH = 50


def sql_can_run(*, user: AbstractBaseUser, environment: Environment) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or SqlAccess.objects.filter(environment=environment, user=user).exists()


@dataclass(frozen=True)
class BrowserTable:
    name: str
    columns: list[tuple[str, str]]


def sql_schema_tables(*, environment: Environment) -> list[BrowserTable]:
    """Tables and views of the environment's warehouse schema with their columns and types, as the role sees them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
            ORDER BY c.relname, a.attnum
            """,
            [environment.warehouse_schema],
        )
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, column, type_name in cursor.fetchall():
            tables.setdefault(table, []).append((column, type_name))
    return [BrowserTable(name=name, columns=columns) for name, columns in tables.items()]


def sql_history(*, user: AbstractBaseUser, environment: Environment) -> list[SqlQueryRun]:
    return list(SqlQueryRun.objects.filter(environment=environment, user=user)[:HISTORY_LENGTH])


def sql_history_entry(*, user: AbstractBaseUser, environment: Environment, run_id: int) -> SqlQueryRun | None:
    return SqlQueryRun.objects.filter(environment=environment, user=user, pk=run_id).first()


def saved_queries(*, environment: Environment) -> list[SavedQuery]:
    return list(SavedQuery.objects.filter(environment=environment).select_related("owner"))


def saved_query_get(*, environment: Environment, saved_id: int) -> SavedQuery | None:
    return SavedQuery.objects.filter(environment=environment, pk=saved_id).select_related("owner").first()
