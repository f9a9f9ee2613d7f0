import html
import re
import time

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from psycopg2 import sql

from heapsite.redis_client import redis_client
from warehouse.models import Membership
from warehouse.roles import sql_role_name
from warehouse.sqlpage import limits

from .world import build_world, teardown_world

# Small limits so hostile queries fail fast; roles are configured with these.
TEST_LIMITS = {
    "SQLPAGE_STATEMENT_TIMEOUT_MS": 3000,
    "SQLPAGE_TEMP_FILE_LIMIT_KB": 10_240,
    "SQLPAGE_MAX_ROWS": 100,
    "SQLPAGE_CSV_MAX_ROWS": 1000,
    "SQLPAGE_RATE_LIMIT_PER_MINUTE": 10_000,
    "SQLPAGE_MAX_CONCURRENT_PER_USER": 2,
    "SQLPAGE_ROLE_CONNECTION_LIMIT": 5,
    "SQLPAGE_MAX_QUERY_BYTES": 100_000,
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with override_settings(**TEST_LIMITS), django_db_blocker.unblock():
        built = build_world()
        try:
            yield built
        finally:
            teardown_world(built)


@pytest.fixture(autouse=True)
def _sqlpage_settings_and_redis(settings):
    for name, value in TEST_LIMITS.items():
        setattr(settings, name, value)
    client = redis_client()
    pattern = limits._key("*")
    for key in client.scan_iter(pattern):
        client.delete(key)
    yield


@pytest.fixture
def analyst(db, world, django_user_model):
    # No password: hashing one costs a second per test on a busy machine, and force_login needs none.
    user = django_user_model.objects.create_user("analyst", "analyst@example.com")
    Membership.objects.create(environment=world.alpha, user=user, can_run_sql=True)
    return user


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def run_url(world):
    return reverse("sql_run", args=[world.alpha.warehouse_schema])


def run_sql(client, url: str, text: str, **extra):
    """POST a query the way the page's script does and return the fragment as text (entities decoded)."""
    response = client.post(url, {"sql": text, **extra}, HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 200, response.status_code
    assert "private" in response["Cache-Control"]
    return html.unescape(response.content.decode())


def fragment_error(fragment: str) -> str:
    match = re.search(r'<span class="sql-error-message">(.*?)</span>', fragment, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def database_state(world):
    """A function returning everything a hostile query must not change."""
    roles = [sql_role_name(world.alpha), sql_role_name(world.beta)]

    def state() -> dict:
        with connection.cursor() as cursor:
            counts = {}
            cursor.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('public', %s, %s) AND table_type = 'BASE TABLE' AND table_name <> %s "
                "ORDER BY 1, 2",
                [world.alpha.warehouse_schema, world.beta.warehouse_schema, "sql_query_runs"],
            )
            tables = cursor.fetchall()
            # One query for every table's row count: this runs twice per hostile case.
            cursor.execute(
                sql.SQL(" UNION ALL ").join(
                    sql.SQL("SELECT {}, count(*) FROM {}.{}").format(
                        sql.Literal(f"{schema}.{table}"), sql.Identifier(schema), sql.Identifier(table)
                    )
                    for schema, table in tables
                )
            )
            counts.update(dict(cursor.fetchall()))
            cursor.execute(
                "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
                "rolbypassrls, rolconnlimit, rolconfig FROM pg_roles WHERE rolname = ANY(%s) OR rolname = current_user "
                "ORDER BY rolname",
                [roles],
            )
            role_rows = cursor.fetchall()
            cursor.execute(
                "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
                "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = ANY(%s) OR m.rolname = ANY(%s) ORDER BY 1, 2",
                [roles, roles],
            )
            memberships = cursor.fetchall()
            cursor.execute(
                "SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname IN ('public', %s, %s) ORDER BY 1",
                [world.alpha.warehouse_schema, world.beta.warehouse_schema],
            )
            schema_acls = cursor.fetchall()
            cursor.execute("SELECT datacl::text FROM pg_database WHERE datname = current_database()")
            database_acl = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            advisory_locks = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_largeobject_metadata")
            large_objects = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_prepared_xacts")
            prepared = cursor.fetchone()[0]
        return {
            "counts": counts,
            "roles": role_rows,
            "memberships": memberships,
            "schema_acls": schema_acls,
            "database_acl": database_acl,
            "advisory_locks": advisory_locks,
            "large_objects": large_objects,
            "prepared": prepared,
        }

    return state


def role_backends(world) -> int:
    """Sessions still open as either environment's role (a finished query leaves none)."""
    roles = [sql_role_name(world.alpha), sql_role_name(world.beta)]
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, usename, state, query, backend_start FROM pg_stat_activity WHERE usename = ANY(%s)",
                [roles],
            )
            rows = cursor.fetchall()
        if not rows:
            return 0
        if time.monotonic() > deadline:
            print("lingering role sessions:", rows)
            return len(rows)
        time.sleep(0.02)
