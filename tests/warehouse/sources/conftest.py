import io

import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from warehouse.roles import sql_role_name
from warehouse.sources.services import csv_load, csv_stage


@pytest.fixture
def drop_schemas(transactional_db):
    """Schemas a test creates outlive the flush between transactional tests; drop them after."""
    created: list[str] = []
    yield created.append
    with connection.cursor() as cursor:
        cursor.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE '%\_uploads'")
        uploads = [row[0] for row in cursor.fetchall()]
        for schema in [*created, *uploads, "heapsite_staging"]:
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sql_role(environment, transactional_db):
    """The environment's LOGIN role, as the SQL page would have it; dropped after the test."""
    role = sql_role_name(environment)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        # PUBLIC has no CONNECT once any SQL role was set up (warehouse/roles.py): grant it by name, as ensure does.
        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), sql.Identifier(role)
            )
        )
    yield role
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def as_role(sql_role):
    """Run one query as the environment's role, over its own connection (never SET ROLE)."""
    params = connection.get_connection_params()
    params.update(user=sql_role, password="")
    params.pop("options", None)

    def run(query: str):
        """Rows of `query` run as the role."""
        conn = psycopg2.connect(
            **{k: v for k, v in params.items() if k in {"host", "port", "dbname", "database", "user"}}
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(query)
                return cursor.fetchall()
        finally:
            conn.close()

    run.role = sql_role
    return run


@pytest.fixture
def load_csv(environment):
    def load(content: bytes | str, *, table: str = "data", **options):
        if isinstance(content, str):
            content = content.encode()
        upload = csv_stage(environment=environment, fileobj=io.BytesIO(content), filename=f"{table}.csv")
        return csv_load(upload=upload, table_name=table, **options)

    return load


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("sources-admin", "a@example.com", "pw-for-tests-only")
