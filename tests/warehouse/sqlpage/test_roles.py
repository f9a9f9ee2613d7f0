"""The per-environment LOGIN role: attributes, limits, grants, and what PUBLIC no longer gives it."""

import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from warehouse.models import SqlRole
from warehouse.roles import sql_role_drop, sql_role_ensure, sql_role_grant_schema, sql_role_is_current, sql_role_name


def one(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def test_role_is_a_plain_login_role_with_limits(world):
    role = sql_role_name(world.alpha)
    row = one(
        "SELECT rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
        "rolconnlimit, rolconfig FROM pg_roles WHERE rolname = %s",
        [role],
    )
    login, superuser, inherit, createrole, createdb, replication, bypassrls, connlimit, config = row
    assert login and not (superuser or inherit or createrole or createdb or replication or bypassrls)
    assert connlimit == 5
    assert "statement_timeout=3000" in config
    assert "idle_in_transaction_session_timeout=60000" in config
    assert "temp_file_limit=10240" in config
    assert "work_mem=16384" in config
    assert "default_transaction_read_only=on" in config
    assert "search_path=sqltest_alpha" in config
    assert one("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = %s", [role])[0]


def test_role_name_mixes_in_the_database(world):
    role = sql_role_name(world.alpha)
    assert role.startswith("sqltest_alpha_sql_") and role != sql_role_name(world.beta)


def test_role_reads_its_schema_only(world):
    role = sql_role_name(world.alpha)
    assert one("SELECT has_schema_privilege(%s, 'sqltest_alpha', 'USAGE')", [role])[0]
    assert one("SELECT has_table_privilege(%s, 'sqltest_alpha.pageviews', 'SELECT')", [role])[0]
    assert not one("SELECT has_table_privilege(%s, 'sqltest_alpha.pageviews', 'INSERT')", [role])[0]
    assert not one("SELECT has_schema_privilege(%s, 'sqltest_beta', 'USAGE')", [role])[0]
    assert not one("SELECT has_schema_privilege(%s, 'sqltest_alpha', 'CREATE')", [role])[0]
    # What every role gets by default is taken back in the app database.
    assert not one("SELECT has_schema_privilege(%s, 'public', 'USAGE')", [role])[0]
    assert not one("SELECT has_schema_privilege(%s, 'public', 'CREATE')", [role])[0]
    assert not one("SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", [role])[0]
    assert not one("SELECT has_table_privilege(%s, 'public.auth_user', 'SELECT')", [role])[0]
    assert not one("SELECT has_table_privilege(%s, 'public.raw_events', 'SELECT')", [role])[0]
    # Superuser-only server functions stay that way.
    assert not one("SELECT has_function_privilege(%s, 'pg_read_file(text)', 'EXECUTE')", [role])[0]
    assert not one("SELECT has_function_privilege(%s, 'lo_import(text)', 'EXECUTE')", [role])[0]


def test_tables_the_sync_creates_later_are_readable(world):
    role = sql_role_name(world.alpha)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sqltest_alpha.built_later (a int)")
    assert one("SELECT has_table_privilege(%s, 'sqltest_alpha.built_later', 'SELECT')", [role])[0]


def test_grant_schema_gives_select_on_existing_tables(world):
    role = sql_role_name(world.alpha)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sqltest_alpha.regranted (a int)")
        cursor.execute(sql.SQL("REVOKE SELECT ON sqltest_alpha.regranted FROM {}").format(sql.Identifier(role)))
        assert not one("SELECT has_table_privilege(%s, 'sqltest_alpha.regranted', 'SELECT')", [role])[0]
        sql_role_grant_schema(cursor=cursor, environment=world.alpha)
    assert one("SELECT has_table_privilege(%s, 'sqltest_alpha.regranted', 'SELECT')", [role])[0]


def test_ensure_creates_schema_and_role_for_a_new_environment_and_drop_removes_them(make_environment):
    environment = make_environment(project="sqlfresh", name="prod")
    role = sql_role_name(environment)
    stored = sql_role_ensure(environment)
    assert stored.role_name == role and len(stored.password) >= 32
    assert one("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role])[0] == 1
    assert one("SELECT has_schema_privilege(%s, 'sqlfresh_prod', 'USAGE')", [role])[0]
    assert sql_role_is_current(environment) is not None
    # Idempotent, and keeps the password.
    again = sql_role_ensure(environment)
    assert again.password == stored.password
    sql_role_drop(environment)
    assert one("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role])[0] == 0
    assert not SqlRole.objects.filter(environment=environment).exists()


def test_changed_limits_are_reapplied(make_environment, settings):
    environment = make_environment(project="sqlfresh", name="limits")
    sql_role_ensure(environment)
    settings.SQLPAGE_STATEMENT_TIMEOUT_MS = 4321
    assert sql_role_is_current(environment) is None
    sql_role_ensure(environment)
    config = one("SELECT rolconfig FROM pg_roles WHERE rolname = %s", [sql_role_name(environment)])[0]
    assert "statement_timeout=4321" in config
    sql_role_drop(environment)


def test_catalog_what_public_gave_is_taken_back(world, settings):
    """Other environments' table names and counts are not in the statistics views; only granted roles connect."""
    role = sql_role_name(world.alpha)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        app_is_superuser = cursor.fetchone()[0]
    assert not one("SELECT has_database_privilege('public', current_database(), 'CONNECT')")[0]
    assert one("SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role])[0]
    if app_is_superuser:  # only a superuser may change the catalog views' privileges
        for view in ("pg_stat_user_tables", "pg_statio_all_tables", "pg_stat_activity", "pg_stat_all_indexes"):
            assert not one("SELECT has_table_privilege(%s, %s, 'SELECT')", [role, f"pg_catalog.{view}"])[0], view
        # The advisory locks (ingestion's batch gate, the sync's locks): the app's user and the
        # database's owner only; a role's holder in psql may not take them.
        owner = one("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")[0]
        for function in (
            "pg_advisory_lock(bigint)",
            "pg_advisory_xact_lock_shared(bigint)",
            "pg_try_advisory_lock(integer,integer)",
        ):
            assert not one("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, function])[0], function
            for user in (one("SELECT current_user")[0], owner):
                assert one("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [user, function])[0], (user, function)
    # Privilege-filtered statistics stay, for the role's own columns: tools use them.
    assert one("SELECT has_table_privilege(%s, 'pg_catalog.pg_stats', 'SELECT')", [role])[0]


@pytest.fixture
def other_database(django_db_setup):
    """A database of the same server, made and dropped outside the test's transaction (which locks it)."""
    name = f"{connection.settings_dict['NAME']}_other"[:63]
    server = psycopg2.connect(**connection.get_connection_params())
    server.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with server.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with server.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
    server.close()


def test_databases_heapsite_is_told_about_are_closed_to_the_roles(other_database, make_environment, settings):
    """A database named in SQLPAGE_CLOSED_DATABASES loses PUBLIC CONNECT when a role is set up."""
    settings.SQLPAGE_CLOSED_DATABASES = [other_database, "no_such_database"]
    environment = make_environment(project="closed", name="dbs")
    assert one("SELECT has_database_privilege('public', %s, 'CONNECT')", [other_database])[0]
    sql_role_ensure(environment)
    role = sql_role_name(environment)
    assert not one("SELECT has_database_privilege(%s, %s, 'CONNECT')", [role, other_database])[0]
