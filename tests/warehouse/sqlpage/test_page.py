"""The SQL page as an analyst uses it: results, errors, limits, CSV, saved queries, history, permission, audit."""

import csv
import hashlib
import html
import io
import re
import threading
import time

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from warehouse.models import Membership, SavedQuery, SqlQueryRun, SqlRole
from warehouse.roles import sql_role_connect_kwargs, sql_role_name
from warehouse.sources.services import schema_attach
from warehouse.sqlpage import limits
from warehouse.sqlpage.checks import check_query
from warehouse.sqlpage.execute import QueryFailed, run_query

from .conftest import fragment_error, run_sql
from .world import PAGEVIEWS


def page_url(world, name="sql_page", *args):
    return reverse(name, args=[world.alpha.warehouse_schema, *args])


def test_page_shows_editor_schema_browser_and_starters(analyst_client, world):
    response = analyst_client.get(page_url(world))
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    body = response.content.decode()
    assert 'id="sql-editor"' in body and "codemirror-5.65.21/codemirror.js" in body
    # Tables with their columns and types, as buttons that insert the name.
    assert 'data-insert="pageviews"' in body and 'data-insert="path"' in body
    assert "timestamp with time zone" in body
    assert "<code>sqltest_alpha</code>" in body
    # Starters name a defined-event table of this environment.
    assert "Users by UTM source" in body and "Conversion: pageview to signed_up" in body


def test_results_grid_escapes_cells_and_shows_nulls(analyst_client, run_url, world):
    fragment = analyst_client.post(
        run_url,
        {"sql": "SELECT '<script>alert(1)</script>' AS x, NULL::text AS nothing, 42 AS answer, true AS yes"},
        HTTP_X_REQUESTED_WITH="fetch",
    ).content.decode()
    assert "<script>alert(1)</script>" not in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert '<td class="null">NULL</td>' in fragment
    assert '<td class="num">42</td>' in fragment and "<td>true</td>" in fragment
    assert "1 row" in fragment and " ms</span>" in fragment


def test_query_runs_as_the_environment_role_read_only(analyst_client, run_url, world):
    fragment = run_sql(
        analyst_client,
        run_url,
        "SELECT current_user AS who, current_setting('transaction_read_only') AS ro, current_schemas(false) AS path",
    )
    assert f"<td>{sql_role_name(world.alpha)}</td>" in fragment
    assert "<td>on</td>" in fragment
    assert '["sqltest_alpha"]' in fragment or "['sqltest_alpha']" in fragment or "sqltest_alpha" in fragment


def test_truncation_notice_at_the_row_cap(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "SELECT g FROM generate_series(1, 500) g")
    assert "100 rows" in fragment
    assert "Results truncated at 100 rows" in fragment
    assert fragment.count('<td class="rownum">') == 100
    run = SqlQueryRun.objects.get()
    assert run.row_count == 100 and run.truncated is True


def test_no_truncation_notice_below_the_cap(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "SELECT g FROM generate_series(1, 100) g")
    assert "100 rows" in fragment and "truncated" not in fragment


@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        ("SELECT nope FROM pageviews", 'column "nope" does not exist', 8),
        ("SELECT 1,\n  2 FROM nowhere", 'relation "nowhere" does not exist', 20),
        ("SELECT 1 FRM pageviews", 'syntax error at or near "pageviews"', 14),
        ("SELECT pg_notify('a', 'b')", "pg_notify() is not allowed", 8),
        ("SELECT 1;\n SELECT 2", "only one statement", 12),
    ],
)
def test_errors_carry_the_position_for_the_editor(analyst_client, run_url, world, sql, message, position):
    fragment = run_sql(analyst_client, run_url, sql)
    assert message in fragment_error(fragment)
    assert f'data-error-position="{position}"' in fragment


def test_error_position_is_relative_to_the_statement_after_leading_comments(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "-- note\nSELECT nope FROM pageviews;")
    assert 'data-error-position="16"' in fragment


def test_explain_works(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "EXPLAIN SELECT * FROM pageviews WHERE user_id = 3")
    assert fragment_error(fragment) == "" and "Seq Scan on pageviews" in fragment


def test_every_run_is_audited(analyst_client, analyst, run_url, world):
    text = "SELECT count(*) FROM pageviews"
    run_sql(analyst_client, run_url, text)
    run_sql(analyst_client, run_url, "SELECT * FROM public.auth_user")
    ok, failed = SqlQueryRun.objects.order_by("id")
    assert ok.user == analyst and ok.environment == world.alpha and ok.sql == text
    assert ok.sql_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert ok.row_count == 1 and not ok.truncated and ok.error_class == "" and ok.finished_at >= ok.started_at
    assert failed.error_class == "InsufficientPrivilege" and "permission denied" in failed.error_message


def test_permission_is_per_environment(analyst, analyst_client, world):
    beta_run = reverse("sql_run", args=[world.beta.warehouse_schema])
    # Not a member of beta: it does not exist for them.
    assert analyst_client.post(beta_run, {"sql": "SELECT 1"}).status_code == 404
    Membership.objects.create(environment=world.beta, user=analyst)  # a viewer of beta, without SQL
    response = analyst_client.post(beta_run, {"sql": "SELECT 1"})
    assert response.status_code == 403
    assert "do not have permission to run SQL" in response.content.decode()
    assert analyst_client.get(reverse("sql_page", args=[world.beta.warehouse_schema])).status_code == 403
    assert not SqlQueryRun.objects.exists()


def test_admin_can_run_anywhere(admin_client, world):
    fragment = run_sql(admin_client, reverse("sql_run", args=[world.beta.warehouse_schema]), "SELECT note FROM secrets")
    assert "beta-secret" in fragment


def test_run_requires_post_and_csrf(analyst, world, run_url):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(analyst)
    assert strict.get(run_url).status_code == 405
    assert strict.post(run_url, {"sql": "SELECT 1"}).status_code == 403
    assert not SqlQueryRun.objects.exists()


def test_login_required(client, world, run_url):
    response = client.post(run_url, {"sql": "SELECT 1"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_without_javascript_the_page_renders_results(analyst_client, run_url, world):
    response = analyst_client.post(run_url, {"sql": "SELECT 7 AS seven"})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="sql-editor"' in body and '<td class="num">7</td>' in body


def test_rate_limit_has_a_clear_message(analyst_client, run_url, world, settings):
    settings.SQLPAGE_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert fragment_error(run_sql(analyst_client, run_url, "SELECT 1")) == ""
    error = fragment_error(run_sql(analyst_client, run_url, "SELECT 1"))
    assert "rate limit: you can run 3 queries per minute" in error
    assert SqlQueryRun.objects.filter(error_class="RateLimited").count() == 1


def test_concurrent_query_limit_has_a_clear_message(analyst_client, analyst, run_url, world):
    for token in ("running-one", "running-two"):
        limits.query_slot_acquire(user_id=analyst.pk, token=token, ttl_seconds=60)
    error = fragment_error(run_sql(analyst_client, run_url, "SELECT 1"))
    assert "you already have 2 queries running" in error
    limits.query_slot_release(user_id=analyst.pk, token="running-one")
    assert fragment_error(run_sql(analyst_client, run_url, "SELECT 1")) == ""


def _long_query_in_thread(world, analyst, token):
    """The page's execution path for a long query, registered the way the run view registers it."""
    outcome = {}

    def target():
        try:
            run_query(
                sql_role=world.alpha.sql_role,
                checked=check_query("SELECT count(*) FROM big a, big b", max_bytes=1000),
                max_rows=10,
                max_bytes=1_000_000,
                cell_chars=1000,
                on_backend=lambda pid: limits.backend_register(
                    user_id=analyst.pk, token=token, pid=pid, ttl_seconds=60
                ),
                cancelled=lambda: limits.cancel_marked(user_id=analyst.pk, token=token),
            )
        except QueryFailed as error:
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 5
    while limits.backend_lookup(user_id=analyst.pk, token=token) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    return thread, outcome


def test_cancel_stops_the_owners_running_query(analyst_client, analyst, world, settings):
    thread, outcome = _long_query_in_thread(world, analyst, "cancel-me-please")
    response = analyst_client.post(page_url(world, "sql_cancel"), {"run_token": "cancel-me-please"})
    thread.join(5)
    assert response.json()["cancelled"] is True
    assert outcome["error"].message == "the query was cancelled"


def test_a_cancel_that_arrives_between_the_runs_statements_still_stops_it(analyst, world):
    # pg_cancel_backend finds nothing to cancel while the connection is idle between the describe and the
    # run; the mark the cancel leaves stops the run before its next statement.
    limits.cancel_mark(user_id=analyst.pk, token="between-statements")
    with pytest.raises(QueryFailed, match="the query was cancelled"):
        run_query(
            sql_role=world.alpha.sql_role,
            checked=check_query("SELECT count(*) FROM big a, big b", max_bytes=1000),
            max_rows=10,
            max_bytes=1_000_000,
            cell_chars=1000,
            cancelled=lambda: limits.cancel_marked(user_id=analyst.pk, token="between-statements"),
        )


def test_cancel_by_another_user_does_nothing(analyst, world, django_user_model):
    client = Client()
    other = django_user_model.objects.create_user("other")
    Membership.objects.create(environment=world.alpha, user=other, can_run_sql=True)
    client.force_login(other)
    thread, outcome = _long_query_in_thread(world, analyst, "not-yours-to-cancel")
    response = client.post(page_url(world, "sql_cancel"), {"run_token": "not-yours-to-cancel"})
    thread.join(5)
    assert response.json()["cancelled"] is False
    assert "canceling statement due to statement timeout" in outcome["error"].message


def test_csv_download_streams_with_its_own_cap(analyst_client, world):
    response = analyst_client.post(
        page_url(world, "sql_csv"),
        {"sql": "SELECT g AS n, NULL::text AS empty, 'a,b' AS text FROM generate_series(1, 5000) g"},
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["n", "empty", "text"]
    assert rows[1] == ["1", "", "a,b"]
    assert len(rows) == 1 + 1000  # SQLPAGE_CSV_MAX_ROWS in these tests, above the page's 100
    run = SqlQueryRun.objects.get()
    assert run.kind == "csv" and run.row_count == 1000 and run.truncated is True


def test_csv_of_a_refused_query_shows_the_error(analyst_client, world):
    response = analyst_client.post(page_url(world, "sql_csv"), {"sql": "DELETE FROM pageviews"})
    assert response.status_code == 400
    assert "CSV export failed: DELETE is not allowed" in response.content.decode()


def test_saved_queries_are_shared_by_link_and_deleted_by_owner(analyst_client, world, django_user_model):
    client = Client()
    response = analyst_client.post(
        page_url(world, "sql_saved_create"),
        {
            "name": "Top paths",
            "description": "Most viewed paths",
            "sql": "SELECT path, count(*) FROM pageviews GROUP BY 1",
        },
    )
    saved = SavedQuery.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?saved={saved.pk}")

    admin = django_user_model.objects.create_superuser("boss", "boss@example.com")
    client.force_login(admin)
    body = client.get(f"{page_url(world)}?saved={saved.pk}").content.decode()
    assert "Top paths" in body and "Most viewed paths" in body
    assert "SELECT path, count(*) FROM pageviews GROUP BY 1</textarea>" in body
    assert f"{page_url(world)}?saved={saved.pk}" in body

    other = django_user_model.objects.create_user("colleague")
    Membership.objects.create(environment=world.alpha, user=other, can_run_sql=True)
    client.force_login(other)
    response = client.post(page_url(world, "sql_saved_delete", saved.pk))
    assert response.status_code == 403 and SavedQuery.objects.exists()
    analyst_client.post(page_url(world, "sql_saved_delete", saved.pk))
    assert not SavedQuery.objects.exists()


def test_a_saved_query_opens_to_run_and_is_edited_in_place_under_a_unique_name(
    analyst_client, world, django_user_model
):
    make = page_url(world, "sql_saved_create")
    analyst_client.post(make, {"name": "Top paths", "sql": "SELECT path FROM pageviews"})
    saved = SavedQuery.objects.get()
    opened = analyst_client.get(f"{page_url(world)}?saved={saved.pk}").content.decode()
    assert 'data-autorun="1"' in opened  # the page's script runs it on opening
    assert f'value="http://testserver{page_url(world)}?saved={saved.pk}"' in opened  # the link to share
    # Edit in place: new name, description and SQL; the link stays the same.
    update = page_url(world, "sql_saved_update", saved.pk)
    response = analyst_client.post(
        update,
        {
            "name": "Paths by views",
            "description": "most viewed",
            "sql": "SELECT path, count(*) FROM pageviews GROUP BY 1",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith(f"?saved={saved.pk}")
    saved.refresh_from_db()
    assert (saved.name, saved.description) == ("Paths by views", "most viewed") and "count(*)" in saved.sql
    # Names are unique per environment, whatever their case, for new queries and renames alike.
    analyst_client.post(make, {"name": "Sessions", "sql": "SELECT 1"})
    clash = analyst_client.post(make, {"name": "paths BY views", "sql": "SELECT 2"})
    body = clash.content.decode().replace("&#x27;", "'")
    assert clash.status_code == 400 and 'id="save-name-error">there is already a saved query named' in body
    assert 'value="paths BY views"' in body  # what was typed stays in the form
    renamed = analyst_client.post(update, {"name": "SESSIONS", "sql": "SELECT 3"})
    assert renamed.status_code == 400 and 'id="update-name-error"' in renamed.content.decode()
    assert SavedQuery.objects.count() == 2
    # Someone else with SQL may open and run it, not change it.
    other = django_user_model.objects.create_user("colleague2")
    Membership.objects.create(environment=world.alpha, user=other, can_run_sql=True)
    client = Client()
    client.force_login(other)
    assert 'id="sql-update-form"' not in client.get(f"{page_url(world)}?saved={saved.pk}").content.decode()
    refused = client.post(update, {"name": "Mine now", "sql": "SELECT 4"})
    assert refused.status_code == 403 and "only the person who saved this query" in refused.content.decode()


def test_saving_without_a_name_says_so(analyst_client, world):
    response = analyst_client.post(page_url(world, "sql_saved_create"), {"name": " ", "sql": "SELECT 1"})
    assert response.status_code == 400 and "give the query a name" in response.content.decode()


def test_history_is_per_user_and_reloads_a_query(analyst_client, run_url, world, django_user_model):
    client = Client()
    run_sql(analyst_client, run_url, "SELECT 'mine' AS whose")
    history = analyst_client.get(page_url(world, "sql_history")).content.decode()
    assert "SELECT &#x27;mine&#x27; AS whose" in history
    run = SqlQueryRun.objects.get()
    body = analyst_client.get(f"{page_url(world)}?run={run.pk}").content.decode()
    assert "SELECT &#x27;mine&#x27; AS whose</textarea>" in body

    admin = django_user_model.objects.create_superuser("boss", "boss@example.com")
    client.force_login(admin)
    assert "mine" not in client.get(page_url(world, "sql_history")).content.decode()
    assert "mine" not in client.get(f"{page_url(world)}?run={run.pk}").content.decode()


def test_page_works_with_the_real_row_count(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "SELECT count(*) FROM pageviews")
    assert f'<td class="num">{PAGEVIEWS}</td>' in fragment


def test_csv_writes_booleans_json_and_nulls_like_the_grid(analyst_client, world):
    response = analyst_client.post(
        page_url(world, "sql_csv"),
        {"sql": """SELECT true AS yes, '{"a": 1}'::jsonb AS doc, NULL::int AS missing, 'x"y' AS quoted"""},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["yes", "doc", "missing", "quoted"], ["true", '{"a": 1}', "", 'x"y']]


def test_sql_role_command_prints_connection_settings(world, db):
    out = io.StringIO()
    call_command("sql_role", world.alpha.warehouse_schema, stdout=out)
    text = out.getvalue()
    assert f"user: {sql_role_name(world.alpha)}" in text and "schema: sqltest_alpha" in text
    assert world.alpha.sql_role.password not in text
    out = io.StringIO()
    call_command("sql_role", world.alpha.warehouse_schema, "--show-password", stdout=out)
    assert world.alpha.sql_role.password in out.getvalue()


def test_crlf_line_breaks_from_the_browser_count_as_one_character(analyst_client, run_url, world):
    fragment = run_sql(analyst_client, run_url, "SELECT 1,\r\n  nope\r\nFROM pageviews")
    assert 'data-error-position="13"' in fragment


def test_schema_browser_lists_attached_schemas_with_qualified_names(analyst_client, analyst, world):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA sqltest_crm")
        cursor.execute("CREATE TABLE sqltest_crm.accounts (email text, is_won boolean)")
    schema_attach(environment=world.alpha, schema_name="sqltest_crm", user=analyst)
    body = analyst_client.get(page_url(world)).content.decode()
    assert "<code>sqltest_crm</code>" in body
    assert 'data-insert="sqltest_crm.accounts"' in body and 'data-insert="is_won"' in body
    assert body.index("<code>sqltest_alpha</code>") < body.index("<code>sqltest_crm</code>")


def test_superusers_manage_memberships_and_read_the_audit_log_in_the_admin(
    analyst_client, run_url, world, django_user_model
):
    run_sql(analyst_client, run_url, "SELECT 1")
    admin_client = Client()
    admin_client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com"))
    assert admin_client.get("/admin/warehouse/membership/").status_code == 200
    assert admin_client.get("/admin/warehouse/membership/add/").status_code == 200
    log = admin_client.get("/admin/warehouse/sqlqueryrun/")
    assert log.status_code == 200 and "analyst" in log.content.decode()
    assert admin_client.get("/admin/warehouse/sqlqueryrun/add/").status_code == 403


def test_every_starter_query_runs_on_the_heap_schema(analyst_client, run_url, world):
    body = analyst_client.get(page_url(world)).content.decode()
    starters = [html.unescape(sql) for sql in re.findall(r'class="sql-load linklike" data-sql="([^"]*)"', body)]
    assert len(starters) == 6
    for text in starters:
        fragment = run_sql(analyst_client, run_url, text)
        assert fragment_error(fragment) == "", (text, fragment_error(fragment))
        assert "sql-results" in fragment


def test_role_connection_limit_has_a_clear_message_and_leaves_the_role_alone(analyst_client, run_url, world):
    run_sql(analyst_client, run_url, "SELECT 1")
    configured = SqlRole.objects.get(environment=world.alpha).updated_at
    held = [psycopg2.connect(**sql_role_connect_kwargs(world.alpha.sql_role)) for _ in range(5)]
    try:
        fragment = run_sql(analyst_client, run_url, "SELECT 1")
        assert "as many queries as its connection limit allows" in fragment_error(fragment)
    finally:
        for conn in held:
            conn.close()
    assert fragment_error(run_sql(analyst_client, run_url, "SELECT 1")) == ""
    # A full connection limit is not a broken role: it was not set up again (ALTER ROLE, GRANTs).
    assert SqlRole.objects.get(environment=world.alpha).updated_at == configured
