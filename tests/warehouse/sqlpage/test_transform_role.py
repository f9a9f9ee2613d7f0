"""The transform role and models schema: dbt's place to write, readable from the SQL page, nothing else."""

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg2 import errors

from warehouse.models import SqlRole, TransformRole
from warehouse.roles import sql_role_connect_kwargs
from warehouse.sources.services import SourceError, readable_extra_schemas, schema_attach
from warehouse.transform import models_schema_name, transform_role_drop, transform_role_ensure

from .conftest import fragment_error, run_sql


@pytest.fixture
def transform(world):
    role = transform_role_ensure(world.alpha)
    yield role
    transform_role_drop(world.alpha)


def connect(role) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(**sql_role_connect_kwargs(role))
    conn.autocommit = True
    return conn


def run(conn, statement: str):
    with conn.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall() if cursor.description else None


def test_it_reads_the_warehouse_and_writes_only_in_its_schema(transform, world):
    assert transform.schema_name == "sqltest_alpha_models" == models_schema_name(world.alpha)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS sqltest_alpha_uploads")
    conn = connect(transform)
    try:
        run(
            conn,
            "CREATE TABLE sqltest_alpha_models.paths AS SELECT path, count(*) AS n FROM sqltest_alpha.pageviews GROUP BY path",
        )
        assert run(conn, "SELECT sum(n) FROM paths") == [(200,)], "search_path starts with the models schema"
        run(conn, "CREATE VIEW sqltest_alpha_models.recent AS SELECT * FROM pageviews LIMIT 1")
        run(conn, "CREATE TEMPORARY TABLE scratch (n int)")  # dbt's incremental models need these
        for statement in [
            "CREATE TABLE sqltest_alpha.mine (n int)",
            "INSERT INTO sqltest_alpha.pageviews (event_id) VALUES (1)",
            "CREATE TABLE public.mine (n int)",
            "CREATE TABLE sqltest_alpha_uploads.mine (n int)",
            "SELECT * FROM sqltest_beta.pageviews",
            "SELECT * FROM public.raw_events",
            "SELECT * FROM public.auth_user",
            "CREATE SCHEMA elsewhere",
        ]:
            with pytest.raises(errors.InsufficientPrivilege):
                run(conn, statement)
    finally:
        conn.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA sqltest_alpha_uploads")
    attributes = "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = %s"
    with connection.cursor() as cursor:
        cursor.execute(attributes, [transform.role_name])
        assert cursor.fetchone() == (False, False, False, False)


def test_the_sql_page_reads_the_models_but_cannot_write_them(transform, world, analyst_client, run_url):
    conn = connect(transform)
    try:
        run(conn, "CREATE TABLE sqltest_alpha_models.later AS SELECT 42 AS answer")
    finally:
        conn.close()
    assert "sqltest_alpha_models" in readable_extra_schemas(world.alpha)
    fragment = run_sql(analyst_client, run_url, "SELECT answer FROM sqltest_alpha_models.later")
    assert fragment_error(fragment) == "" and ">42<" in fragment
    page_role = connect(SqlRole.objects.get(environment=world.alpha))
    try:
        with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
            run(page_role, "INSERT INTO sqltest_alpha_models.later VALUES (1)")
        with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
            run(page_role, "SET default_transaction_read_only = off; CREATE TABLE sqltest_alpha_models.x (n int)")
    finally:
        page_role.close()
    # The beta environment's role sees none of it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_schema_privilege(%s, 'sqltest_alpha_models', 'USAGE')",
            [SqlRole.objects.get(environment=world.beta).role_name],
        )
        assert cursor.fetchone() == (False,)


def test_another_environment_cannot_attach_the_models_schema(transform, world, admin_user):
    with pytest.raises(SourceError, match="holds the derived models of environment sqltest/alpha"):
        schema_attach(environment=world.beta, schema_name="sqltest_alpha_models", user=admin_user)


def test_the_command_prints_connection_settings_and_drops(world, capsys):
    call_command("transform_role", world.alpha.warehouse_schema)
    out = capsys.readouterr().out
    role = TransformRole.objects.get(environment=world.alpha)
    assert f"user: {role.role_name}\n" in out
    assert "schema: sqltest_alpha_models\nreads: sqltest_alpha\n" in out
    assert "password: (hidden; pass --show-password)" in out
    call_command("transform_role", world.alpha.warehouse_schema, "--show-password")
    assert f"password: {role.password}\n" in capsys.readouterr().out
    call_command("transform_role", world.alpha.warehouse_schema, "--drop")
    assert not TransformRole.objects.filter(environment=world.alpha).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regnamespace('sqltest_alpha_models'), (SELECT count(*) FROM pg_roles WHERE rolname = %s)",
            [role.role_name],
        )
        assert cursor.fetchone() == (None, 0)
