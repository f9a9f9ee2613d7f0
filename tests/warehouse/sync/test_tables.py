"""Hand-built raw data -> the exact warehouse rows of every table (docs/architecture.md §4)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from warehouse.citus import citus_active
from warehouse.identity import user_id_for_identity
from warehouse.services import sync_run_foreground

from .conftest import T0, column_types, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = user_id_for_identity("alice@example.com")


def sync(environment, full=False):
    settle()
    return sync_run_foreground(environment=environment, full=full)


def test_pageviews_sessions_users_and_merges(raw, sync_env):
    raw.user(ALICE, identity="alice@example.com", properties={"plan": "pro", "email": "a@example.com", "Seats": 3})
    raw.user(11, properties={"plan": "free", "referral code": "X1"})  # anonymous, later merged into alice
    raw.user(12, properties={"plan": "free"})
    raw.session(
        100,
        11,
        browser="Firefox",
        country="NL",
        utm_source="news",
        landing_page="https://shop.example/",
        ip="10.0.0.1",
        properties={"ab": "b"},
    )
    raw.session(200, 12, browser="Chrome")
    first = raw.event(
        "pageview", user_id=11, session_id=100, domain="shop.example", path="/", title="Home", properties={"n": 1}
    )
    raw.event("click", user_id=11, session_id=100, minutes=1, target_text="Buy")
    second = raw.event("pageview", user_id=12, session_id=200, minutes=2, path="/pricing")
    raw.merge(11, ALICE)
    run = sync(sync_env)
    assert run.status == "succeeded", run.traceback
    schema = sync_env.warehouse_schema

    pageviews = rows(f"SELECT * FROM {schema}.pageviews ORDER BY event_id")
    assert [p["event_id"] for p in pageviews] == [first.id, second.id]
    assert pageviews[0] | {} == pageviews[0]
    assert pageviews[0]["user_id"] == ALICE  # merged: under the identified id
    assert pageviews[0]["session_time"] == T0
    assert (pageviews[0]["browser"], pageviews[0]["country"], pageviews[0]["utm_source"]) == ("Firefox", "NL", "news")
    assert pageviews[0]["landing_page"] == "https://shop.example/"
    assert (pageviews[0]["domain"], pageviews[0]["path"], pageviews[0]["title"], pageviews[0]["n"]) == (
        "shop.example",
        "/",
        "Home",
        1,
    )
    assert pageviews[1]["user_id"] == 12 and pageviews[1]["browser"] == "Chrome" and pageviews[1]["n"] is None
    types = column_types(schema, "pageviews")
    assert types["n"] == "bigint" and types["time"] == "timestamp with time zone"
    assert "href" not in types

    users = rows(f"SELECT * FROM {schema}.users ORDER BY user_id")
    assert [u["user_id"] for u in users] == [12, ALICE]
    alice = users[1]
    assert alice["identity"] == "alice@example.com" and alice["email"] == "a@example.com"
    # The identified user's own values win; properties only the anonymous user had are kept.
    assert (alice["plan"], alice["seats"], alice["referral_code"]) == ("pro", 3, "X1")
    assert column_types(schema, "users")["seats"] == "bigint"

    sessions = rows(f"SELECT * FROM {schema}.sessions ORDER BY session_id")
    assert [(s["session_id"], s["user_id"]) for s in sessions] == [(100, ALICE), (200, 12)]
    assert sessions[0]["ab"] == "b" and str(sessions[0]["ip"]) == "10.0.0.1"

    assert rows(f"SELECT from_user_id, to_user_id FROM {schema}.user_migrations") == [
        {"from_user_id": 11, "to_user_id": ALICE}
    ]
    all_events = rows(f"SELECT event_id, user_id, event_table_name FROM {schema}.all_events ORDER BY event_id")
    assert all_events == [
        {"event_id": first.id, "user_id": ALICE, "event_table_name": "pageviews"},
        {"event_id": second.id, "user_id": 12, "event_table_name": "pageviews"},
    ]
    info = rows(f"SELECT * FROM {schema}._sync_info ORDER BY event_table_name")
    assert [(i["event_table_name"], i["inserted_row_count"]) for i in info] == [("all_events", 2), ("pageviews", 2)]
    history = rows(f"SELECT status FROM {schema}._sync_history")
    assert history == [{"status": "succeeded"}]
    assert datetime.now(UTC) > info[0]["sync_ended"]


def test_all_events_is_a_view_the_sql_role_reads_and_plans_by_table(raw, sync_env, set_specs):
    """all_events reads the event tables' shared columns; a filter on event_table_name reads only that table."""
    import psycopg2

    from warehouse.roles import sql_role_connect_kwargs, sql_role_drop, sql_role_ensure

    set_specs(
        sync_env.id,
        [{"key": "t:c", "table_name": "clicked", "predicate": "e.type = 'click'", "event_types": ["click"]}],
    )
    raw.session(1, 5)
    view = raw.event("pageview", user_id=5)
    click = raw.event("click", user_id=5)
    role = sql_role_ensure(sync_env)
    try:
        run = sync(sync_env)
        assert run.tables["all_events"] == {"rows": 2, "ms": 0, "action": "view"}
        assert run.total_rows == sum(run.tables[name]["rows"] for name in ("pageviews", "clicked", "users", "sessions"))
        schema = sync_env.warehouse_schema
        kind = rows(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'all_events'",
            [schema],
        )
        assert kind == [{"relkind": "v"}]
        with psycopg2.connect(**sql_role_connect_kwargs(role)) as analyst, analyst.cursor() as cursor:
            cursor.execute(f"SELECT event_id, event_table_name FROM {schema}.all_events ORDER BY 1")  # noqa: S608
            assert cursor.fetchall() == [(view.id, "pageviews"), (click.id, "clicked")]
            cursor.execute(f"EXPLAIN SELECT * FROM {schema}.all_events WHERE event_table_name = 'clicked'")  # noqa: S608
            plan = "\n".join(line for (line,) in cursor.fetchall())
            assert "clicked" in plan and "pageviews" not in plan
            cursor.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 2")
            assert [name for (where, name) in cursor.fetchall() if where == schema] == [
                "_sync_history",
                "_sync_info",
                "all_events",
                "clicked",
                "pageviews",
                "sessions",
                "user_migrations",
                "users",
            ]
    finally:
        sql_role_drop(sync_env)


def test_event_tables_are_views_over_stored_rows_the_sql_role_reads_only_through_them(
    raw, sync_env, set_specs, settings
):
    """Each event table is a view: session columns joined from `sessions`, properties cast from the
    stored jsonb; its stored rows live in the sync's private data schema, which analysts cannot read."""
    import psycopg2

    settings.SYNC_INDEX_MIN_ROWS = 0  # filters through the view use the stored rows' indexes

    from warehouse.roles import sql_role_connect_kwargs, sql_role_drop, sql_role_ensure

    set_specs(
        sync_env.id,
        [{"key": "t:c", "table_name": "clicked", "predicate": "e.type = 'click'", "event_types": ["click"]}],
    )
    raw.session(1, 5, browser="Firefox")
    raw.event("pageview", user_id=5)
    click = raw.event("click", user_id=5, target_text="Buy", properties={"plan": "pro"})
    role = sql_role_ensure(sync_env)
    try:
        run = sync(sync_env)
        assert run.status == "succeeded", run.traceback
        schema, data = sync_env.warehouse_schema, f"_hs_sync_data_{sync_env.id}"
        kinds = rows(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN (%s, %s) AND c.relname IN ('pageviews', 'clicked') ORDER BY 1, 2",
            [schema, data],
        )
        assert [(k["nspname"], k["relname"], k["relkind"]) for k in kinds] == [
            (data, "clicked", "r"),
            (data, "pageviews", "r"),
            (schema, "clicked", "v"),
            (schema, "pageviews", "v"),
        ]
        with psycopg2.connect(**sql_role_connect_kwargs(role)) as analyst, analyst.cursor() as cursor:
            cursor.execute(f"SELECT event_id, browser, target_text, plan FROM {schema}.clicked")  # noqa: S608
            assert cursor.fetchall() == [(click.id, "Firefox", "Buy", "pro")]
            # A count reads no session: the join to sessions (unique session_id) is planned away.
            cursor.execute(f"EXPLAIN SELECT count(*) FROM {schema}.pageviews")  # noqa: S608
            assert "sessions" not in "\n".join(line for (line,) in cursor.fetchall())
            # SET LOCAL, passed on to the workers on Citus (a placeholder setting elsewhere).
            cursor.execute("SET citus.propagate_set_commands = 'local'")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN SELECT * FROM {schema}.clicked WHERE user_id = 5")  # noqa: S608
            assert "clicked_user_id" in "\n".join(line for (line,) in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            if citus_active():  # its queries' pieces read the stored rows on the workers as the role
                cursor.execute(f"SELECT event_id FROM {data}.clicked")  # noqa: S608
                assert cursor.fetchall() == [(click.id,)]
            else:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"SELECT * FROM {data}.clicked")  # noqa: S608
    finally:
        sql_role_drop(sync_env)


def test_event_tables_from_before_the_views_are_replaced_by_a_full_sync(raw, sync_env):
    """Upgrading: physical event tables in the schema (and a partitioned all_events before them)
    make the next run a full one, which leaves only views and the built-in tables."""
    raw.session(1, 5)
    first = raw.event("pageview", user_id=5)
    sync(sync_env)
    schema, legacy = sync_env.warehouse_schema, f"_hs_all_events_{sync_env.id}"
    with connection.cursor() as cursor:  # the layout of 2026-12-03: tables, and all_events partitioned
        cursor.execute(f"DROP VIEW {schema}.all_events, {schema}.pageviews")
        cursor.execute(f"DROP SCHEMA _hs_sync_data_{sync_env.id} CASCADE")
        cursor.execute(f"CREATE TABLE {schema}.pageviews (event_id bigint, user_id bigint, time timestamptz)")
        cursor.execute(
            f"CREATE TABLE {schema}.all_events (event_id bigint, user_id bigint, session_id bigint,"
            " time timestamptz, event_table_name text) PARTITION BY LIST (event_table_name)"
        )
        cursor.execute(f"CREATE SCHEMA {legacy}")
        cursor.execute(f"CREATE TABLE {legacy}.pageviews PARTITION OF {schema}.all_events FOR VALUES IN ('pageviews')")
    second = raw.event("pageview", user_id=5)
    run = sync(sync_env)
    assert run.tables["pageviews"]["action"] == "built"  # a full build
    assert rows(f"SELECT event_id FROM {schema}.all_events ORDER BY 1") == [
        {"event_id": first.id},
        {"event_id": second.id},
    ]
    assert rows(f"SELECT event_id FROM {schema}.pageviews ORDER BY 1") == [
        {"event_id": first.id},
        {"event_id": second.id},
    ]
    assert rows("SELECT nspname FROM pg_namespace WHERE nspname = %s", [legacy]) == []
    # Built with autovacuum off (so it cannot get in the build's way), published with it on again.
    options = rows(
        "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN (%s, %s) AND c.relkind = 'r' AND c.relname NOT LIKE '\\_sync%%' ORDER BY 1",
        [schema, f"_hs_sync_data_{sync_env.id}"],
    )
    assert options == [
        {"relname": name, "reloptions": None} for name in ["pageviews", "sessions", "user_migrations", "users"]
    ]
    relations = rows(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v') ORDER BY 1",
        [schema],
    )
    assert [(r["relname"], r["relkind"]) for r in relations] == [
        ("_sync_history", "r"),
        ("_sync_info", "r"),
        ("all_events", "v"),
        ("pageviews", "v"),
        ("sessions", "r"),
        ("user_migrations", "r"),
        ("users", "r"),
    ]


def test_event_tables_rows_and_property_types_from_the_pass(raw, sync_env, set_specs, settings):
    """Each table's rows and property types are read from what the pass wrote into its partition:
    the keys that get columns are the most used (values that are not null), then by key."""
    settings.SYNC_MAX_PROPERTY_COLUMNS = 2
    set_specs(
        sync_env.id,
        [{"key": "t:c", "table_name": "clicked", "predicate": "e.type = 'click'", "event_types": ["click"]}],
    )
    raw.session(1, 5)
    for properties in ({"n": 1}, {"n": 2.5, "flag": True}, {"n": None, "seen": "2026-01-02T03:04:05Z"}, {}, {}):
        raw.event("pageview", user_id=5, properties=properties)
    raw.event("pageview", user_id=5, properties={"seen": "2026-01-03T00:00:00+01:00"})
    for properties in ({"b": 1, "a": 1}, {"b": "two", "a": None}, {"c": 1}):
        raw.event("click", user_id=5, properties=properties)
    run = sync(sync_env)
    assert run.status == "succeeded", run.traceback
    assert (run.tables["pageviews"]["rows"], run.tables["clicked"]["rows"]) == (6, 3)
    schema = sync_env.warehouse_schema
    pageviews, clicked = column_types(schema, "pageviews"), column_types(schema, "clicked")
    assert (pageviews["n"], pageviews["seen"]) == ("double precision", "timestamp with time zone")
    assert "flag" not in pageviews  # used once: after n and seen (twice each)
    assert (clicked["b"], clicked["a"]) == ("text", "bigint")
    assert "c" not in clicked  # as used as a (a's null is no value), after it by key
    assert rows(f"SELECT count(*) AS n FROM {schema}.pageviews WHERE n IS NOT NULL") == [{"n": 2}]
