"""Hostile input on the SQL page: each case shows a clear error, changes nothing, and the next query works."""

import re
import threading

import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from warehouse.citus import citus_active
from warehouse.models import SqlQueryRun
from warehouse.roles import sql_role_connect_kwargs, sql_role_ensure, sql_role_name
from warehouse.sqlpage.checks import check_query
from warehouse.sqlpage.execute import run_query

from .conftest import fragment_error, role_backends, run_sql
from .world import PAGEVIEWS

ONE_STATEMENT = "only one statement can run at a time"
SET = "SET/RESET is not allowed"
TIMEOUT = "canceling statement due to statement timeout"


def denied(function: str) -> str:
    return f"the function {function}() is not allowed"


CASES = [
    # Several statements, however they are hidden.
    ("commit-then-delete", "SELECT 1; COMMIT; DELETE FROM pageviews", ONE_STATEMENT),
    ("then-set-role", "SELECT 1; SET ROLE postgres", ONE_STATEMENT),
    ("comment-hides-semicolon", "SELECT 1 /* ; */ ; DELETE FROM pageviews", ONE_STATEMENT),
    ("dollar-quote-hides-semicolon", "SELECT $$ ; $$; DROP TABLE pageviews", ONE_STATEMENT),
    ("trailing-line-comment", "SELECT 1 -- ; DELETE FROM pageviews\n; TRUNCATE pageviews", ONE_STATEMENT),
    # Session and transaction state.
    ("set-transaction-read-write", "SET TRANSACTION READ WRITE", SET),
    ("reset-role", "RESET ROLE", SET),
    ("set-session-authorization", "SET SESSION AUTHORIZATION postgres", SET),
    ("set-role", "SET ROLE postgres", SET),
    ("set-work-mem", "SET work_mem = '4GB'", SET),
    ("set-search-path", "SET search_path = public", SET),
    ("set-config-role-none", "SELECT set_config('role', 'none', false), * FROM public.auth_user", denied("set_config")),
    ("set-config-work-mem", "SELECT set_config('work_mem', '4GB', false)", denied("set_config")),
    ("begin", "BEGIN", "transaction control"),
    ("commit", "COMMIT", "transaction control"),
    ("prepare-transaction", "PREPARE TRANSACTION 'x'", "transaction control"),
    ("discard-all", "DISCARD ALL", "DISCARD is not allowed"),
    # Reading what is not the environment's warehouse.
    ("public-auth-user", "SELECT username, password FROM public.auth_user", "permission denied for schema public"),
    ("unqualified-auth-user", "SELECT * FROM auth_user", 'relation "auth_user" does not exist'),
    ("raw-store", "SELECT * FROM public.raw_events", "permission denied for schema public"),
    ("raw-store-in-values", "VALUES ((SELECT count(*) FROM public.raw_users))", "permission denied for schema public"),
    ("other-environment", "SELECT * FROM sqltest_beta.secrets", "permission denied for schema sqltest_beta"),
    ("other-environment-table", "TABLE sqltest_beta.pageviews", "permission denied for schema sqltest_beta"),
    ("pg-authid", "SELECT rolname, rolpassword FROM pg_authid", "permission denied for table pg_authid"),
    ("pg-shadow", "SELECT * FROM pg_shadow", "permission denied for view pg_shadow"),
    ("pg-largeobject", "SELECT * FROM pg_largeobject", "permission denied for table pg_largeobject"),
    # Files, programs, large objects.
    ("pg-read-file", "SELECT pg_read_file('/etc/passwd')", denied("pg_read_file")),
    ("pg-ls-dir", "SELECT * FROM pg_ls_dir('.')", denied("pg_ls_dir")),
    ("lo-import", "SELECT lo_import('/etc/passwd')", denied("lo_import")),
    ("lo-export", "SELECT lo_export(1, '/tmp/heapsite-stolen')", denied("lo_export")),
    ("copy-to-program", "COPY pageviews TO PROGRAM 'id'", "COPY is not allowed"),
    ("copy-to-file", "COPY pageviews TO '/tmp/heapsite-stolen.csv'", "COPY is not allowed"),
    ("copy-to-stdout", "COPY pageviews TO STDOUT", "COPY is not allowed"),
    ("dblink", "SELECT * FROM dblink('dbname=postgres', 'select 1') AS t(a int)", denied("dblink")),
    # Citus: SQL text on the workers, intermediate results on disk, shard locks.
    (
        "citus-run-command-on-workers",
        "SELECT * FROM run_command_on_workers('SELECT pg_sleep(30)')",
        denied("run_command_on_workers"),
    ),
    (
        "citus-intermediate-result",
        "SELECT create_intermediate_result('x', 'SELECT 1')",
        denied("create_intermediate_result"),
    ),
    ("citus-lock-shard", "SELECT lock_shard_resources(7, ARRAY[102008])", denied("lock_shard_resources")),
    ("citus-local-command", "SELECT citus_run_local_command('SELECT 1')", denied("citus_run_local_command")),
    ("query-to-xml", "SELECT query_to_xml('delete from pageviews', true, true, '')", denied("query_to_xml")),
    # Creating and changing things.
    ("do-block", "DO $$ BEGIN DELETE FROM pageviews; END $$", "DO is not allowed"),
    ("create-function", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", "CREATE FUNCTION is not allowed"),
    ("create-temp-table", "CREATE TEMP TABLE t (a int)", "CREATE TABLE is not allowed"),
    ("create-temp-table-as", "CREATE TEMP TABLE t AS SELECT 1", "CREATE TABLE AS is not allowed"),
    ("select-into", "SELECT * INTO stolen FROM pageviews", "SELECT ... INTO creates a table"),
    ("cte-delete", "WITH d AS (DELETE FROM pageviews RETURNING *) SELECT count(*) FROM d", "(DELETE) are not allowed"),
    ("cte-update", "WITH u AS (UPDATE pageviews SET path = 'x' RETURNING 1) SELECT 1", "(UPDATE) are not allowed"),
    (
        "cte-insert-nested",
        "SELECT * FROM (WITH i AS (INSERT INTO pageviews DEFAULT VALUES RETURNING 1) SELECT 1) s",
        "(INSERT) are not allowed",
    ),
    ("truncate", "TRUNCATE pageviews", "TRUNCATE is not allowed"),
    ("vacuum", "VACUUM", "VACUUM/ANALYZE is not allowed"),
    ("alter-role-timeout", "ALTER ROLE CURRENT_USER SET statement_timeout = 0", "ALTER ROLE is not allowed"),
    ("grant", "GRANT SELECT ON pageviews TO PUBLIC", "GRANT/REVOKE is not allowed"),
    ("lock-table", "LOCK TABLE pageviews", "LOCK is not allowed"),
    ("for-update", "SELECT * FROM pageviews FOR UPDATE", "locking clauses"),
    ("explain-analyze-delete", "EXPLAIN ANALYZE DELETE FROM pageviews", "EXPLAIN ANALYZE runs the statement"),
    ("explain-analyze-option", "EXPLAIN (ANALYZE true) SELECT 1", "EXPLAIN ANALYZE runs the statement"),
    ("explain-delete", "EXPLAIN DELETE FROM pageviews", "EXPLAIN is allowed only for read statements"),
    ("nextval", "SELECT nextval('pageviews_seq')", denied("nextval")),
    # Other sessions.
    ("listen", "LISTEN heapsite", "LISTEN is not allowed"),
    ("notify", "NOTIFY heapsite, 'x'", "NOTIFY is not allowed"),
    ("pg-notify", "SELECT pg_notify('heapsite', 'x')", denied("pg_notify")),
    ("advisory-lock", "SELECT pg_advisory_lock(1)", denied("pg_advisory_lock")),
    ("advisory-lock-quoted", 'SELECT pg_catalog."pg_advisory_xact_lock"(1)', denied("pg_advisory_xact_lock")),
    ("terminate-backend", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", denied("pg_terminate_backend")),
    ("cancel-backend", "SELECT pg_cancel_backend(pid) FROM pg_stat_activity", denied("pg_cancel_backend")),
    # The attribute notation: (x).f and t.f call f(x), f(t) (found in review: it took the raw store's
    # batch gate, which stopped every environment's ingestion and sync).
    ("advisory-lock-attribute", "SELECT (5211509193797795840::bigint).pg_advisory_lock", denied("pg_advisory_lock")),
    (
        "advisory-lock-row",
        "SELECT count(g.pg_advisory_lock_shared) FROM (SELECT 1::bigint) g",
        denied("pg_advisory_lock_shared"),
    ),
    (
        "terminate-attribute",
        "SELECT (pid).pg_terminate_backend FROM (SELECT pg_backend_pid() AS pid) s",
        denied("pg_terminate_backend"),
    ),
    ("activity-text", "SELECT query FROM pg_stat_get_activity(NULL)", denied("pg_stat_get_activity")),
    ("backend-activity", "SELECT pg_stat_get_backend_activity(1)", denied("pg_stat_get_backend_activity")),
    # Resource exhaustion: bounded by the role's limits.
    # pg_sleep is allowed (people try Cancel and the timeout with it); the statement timeout ends it.
    ("pg-sleep-past-timeout", "SELECT * FROM pageviews, pg_catalog.pg_sleep(30)", TIMEOUT),
    ("cartesian-join", "SELECT count(*) FROM big a, big b, big c", TIMEOUT),
    (
        "order-by-random-huge-series",
        "SELECT g FROM generate_series(1, 100000000) g ORDER BY random()",
        # PostgreSQL 18 (the embedded one) quotes the setting's name in this message; 15 does not.
        re.compile(r'canceling statement due to statement timeout|temporary file size exceeds "?temp_file_limit"?'),
    ),
    ("deep-nesting", "SELECT " + "(" * 10_000 + "1" + ")" * 10_000, "nested too deeply"),
    ("200-kb-literal", "SELECT '" + "x" * 200_000 + "'", "the limit is 100,000 bytes"),
    ("five-mb-literal", "SELECT '" + "x" * 5_000_000 + "'", "the limit is 100,000 bytes"),
    # Malformed input.
    ("nul-byte", "SELECT 1\x00; DROP TABLE pageviews", "contains a NUL byte"),
    ("empty", "", "there is no statement to run"),
    ("whitespace", "  \n\t ", "there is no statement to run"),
    ("comment-only", "-- just a comment\n/* and a block */", "there is no statement to run"),
    ("psql-meta-command", "\\dt", "syntax error"),
    ("psql-shell-escape", "\\! rm -rf /", "syntax error"),
    ("psql-gexec", "SELECT 'DROP TABLE pageviews' \\gexec", "syntax error"),
]


@pytest.mark.parametrize(("sql", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_hostile_query_is_refused_and_changes_nothing(analyst_client, run_url, world, database_state, sql, expected):
    before = database_state()

    fragment = run_sql(analyst_client, run_url, sql)

    error = fragment_error(fragment)
    if isinstance(expected, re.Pattern):
        assert expected.search(error), error
    else:
        assert expected in error, error
    assert 'class="sql-results"' not in fragment
    assert "alpha-secret" not in fragment and "beta-secret" not in fragment
    assert database_state() == before
    assert role_backends(world) == 0
    run = SqlQueryRun.objects.get()
    assert run.error_class and run.finished_at is not None and len(run.sql_sha256) == 64

    fragment = run_sql(analyst_client, run_url, "SELECT count(*) AS n FROM pageviews")
    assert fragment_error(fragment) == ""
    assert "1 row" in fragment and f'<td class="num">{PAGEVIEWS}</td>' in fragment


def test_invalid_utf8_is_refused(analyst_client, run_url, world, database_state):
    before = database_state()
    response = analyst_client.post(
        run_url,
        b"sql=SELECT+%27%FF%FE%27",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert "not valid UTF-8" in response.content.decode()
    assert database_state() == before
    assert "1 row" in run_sql(analyst_client, run_url, "SELECT 1")


def test_dollar_quoted_statements_stay_text(analyst_client, run_url, world, database_state):
    before = database_state()
    fragment = run_sql(analyst_client, run_url, "SELECT $x$; DELETE FROM pageviews; $x$ AS just_text")
    assert fragment_error(fragment) == ""
    assert "; DELETE FROM pageviews; " in fragment
    assert database_state() == before


def test_terminating_another_users_running_query_is_refused(analyst_client, run_url, world, database_state):
    """A query of beta's role runs meanwhile; alpha's analyst cannot touch it, and it is unharmed."""
    beta_role = world.beta.sql_role
    done = {}

    def other_user():
        try:
            done["result"] = run_query(
                sql_role=beta_role,
                checked=check_query("SELECT count(*) FROM pageviews a, pageviews b", max_bytes=1000),
                max_rows=10,
                max_bytes=1_000_000,
                cell_chars=1000,
            )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            done["error"] = error

    thread = threading.Thread(target=other_user)
    thread.start()
    try:
        fragment = run_sql(
            analyst_client,
            run_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'heapsite-sql'",
        )
        assert denied("pg_terminate_backend") in fragment_error(fragment)
    finally:
        thread.join()
    assert "error" not in done, done
    assert done["result"].rows == [(PAGEVIEWS**2,)]


def test_the_state_snapshot_notices_what_it_guards(world, database_state, db):
    """The 'nothing changed' assertion above can fail: rows, grants, locks and roles all show up."""
    before = database_state()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqltest_beta.secrets")
        assert database_state()["counts"] != before["counts"]
        cursor.execute("SELECT pg_advisory_lock(424242)")
        assert database_state()["advisory_locks"] == before["advisory_locks"] + 1
        cursor.execute("SELECT pg_advisory_unlock(424242)")
        cursor.execute("GRANT USAGE ON SCHEMA sqltest_beta TO PUBLIC")
        assert database_state()["schema_acls"] != before["schema_acls"]
        cursor.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 99").format(sql.Identifier(sql_role_name(world.alpha))))
        assert database_state()["roles"] != before["roles"]


def test_what_the_roles_holder_sets_on_the_role_never_reaches_the_page(world, analyst_client, run_url):
    """Whoever holds the role's password (psql, Metabase) may change the role's own defaults; the
    page's connections ask for the limits themselves, and read strings as its check does."""
    if citus_active():
        pytest.skip("Citus sends the holder's ALTER ROLE on to its workers, whose sessions are read-only: it fails")
    holder = psycopg2.connect(**sql_role_connect_kwargs(world.alpha.sql_role))
    holder.autocommit = True
    planted = (
        "SELECT count(*) FROM pg_db_role_setting WHERE setrole = %s::regrole AND array_to_string(setconfig, ',') ~ %s"
    )
    try:
        with holder.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
            cursor.execute("ALTER ROLE CURRENT_USER SET statement_timeout = 0")
            cursor.execute("ALTER ROLE CURRENT_USER SET standard_conforming_strings = off")
        fragment = run_sql(
            analyst_client,
            run_url,
            "SELECT current_setting('statement_timeout') AS t, current_setting('standard_conforming_strings') AS s",
        )
        assert ">3s<" in fragment and ">on<" in fragment, fragment
        # One statement to the check; with standard_conforming_strings off the server would have run four.
        escape = "SELECT 'a\\', ') q; COMMIT; SET default_transaction_read_only = off; COMMIT; "
        escape += "ALTER ROLE CURRENT_USER SET work_mem = 2097152; SELECT * FROM (SELECT 1 --'"
        run_sql(analyst_client, run_url, escape)
        role = sql_role_name(world.alpha)
        with connection.cursor() as cursor:
            cursor.execute(planted, [role, "work_mem=2097152"])
            assert cursor.fetchone()[0] == 0
    finally:
        holder.close()
        sql_role_ensure(world.alpha)  # what the holder set goes with the next ensure
    with connection.cursor() as cursor:
        cursor.execute(planted, [sql_role_name(world.alpha), "statement_timeout=0|standard_conforming_strings"])
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT query FROM pg_stat_get_activity(NULL)",
        "SELECT (1).pg_stat_get_backend_activity",
        "SELECT lo_from_bytea(0, 'x')",
    ],
)
def test_the_role_cannot_reach_past_its_query_from_psql_either(world, statement):
    """What the page refuses by name, the role may not do where nothing checks names (psql, BI tools)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("only a superuser owns the catalog's functions and views: the app cannot close them")
    holder = psycopg2.connect(**sql_role_connect_kwargs(world.alpha.sql_role))
    try:
        with holder.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(statement)
    finally:
        holder.close()
