"""Defined-event tables: predicates, property columns, widening, retroactive edits, renames, deletes."""

import pytest
from django.db import connection

from warehouse.services import sync_run_foreground

from .conftest import T0, column_types, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

SIGNUP = {
    "key": "definition:1",
    "table_name": "signed_up",
    # Two match groups OR-ed: a click on the CTA, or the custom "Signed Up" event.
    "predicate": (
        "(e.type = 'click' AND e.target_text = %(d1_text)s) OR (e.type = 'custom' AND e.event_name = %(d1_name)s)"
    ),
    "params": {"d1_text": "Start trial", "d1_name": "Signed Up"},
    "version": "1",
}
PRICING = {
    "key": "definition:2",
    "table_name": "viewed_pricing",
    "predicate": "e.type = 'pageview' AND e.path LIKE %(d2_path)s",
    "params": {"d2_path": "/pricing%"},
    "version": "1",
}
# A combo: any of the two definitions above.
COMBO = {
    "key": "definition:3",
    "table_name": "converted",
    "predicate": f"({SIGNUP['predicate']}) OR ({PRICING['predicate'].replace('d2_', 'd3_')})",
    "params": {"d1_text": "Start trial", "d1_name": "Signed Up", "d3_path": "/pricing%"},
    "version": "1",
}
COMBO["predicate"] = COMBO["predicate"].replace("d1_", "d3_")
COMBO["params"] = {"d3_text": "Start trial", "d3_name": "Signed Up", "d3_path": "/pricing%"}


def sync(environment, full=False):
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback
    return run


def ids(schema, table):
    return [r["event_id"] for r in rows(f"SELECT event_id FROM {schema}.{table} ORDER BY event_id")]


def test_multi_group_and_combo_tables(raw, sync_env, set_specs):
    set_specs(sync_env.id, [SIGNUP, PRICING, COMBO])
    raw.session(1, 7, browser="Safari")
    click = raw.event("click", user_id=7, target_text="Start trial", target_href="/signup", properties={"plan": "pro"})
    raw.event("click", user_id=7, target_text="Other")
    custom = raw.event("custom", user_id=7, event_name="Signed Up", properties={"plan": "team", "seats": 5})
    pricing = raw.event("pageview", user_id=7, path="/pricing/team")
    sync(sync_env)
    schema = sync_env.warehouse_schema
    assert ids(schema, "signed_up") == [click.id, custom.id]
    assert ids(schema, "viewed_pricing") == [pricing.id]
    assert ids(schema, "converted") == [click.id, custom.id, pricing.id]
    signed = rows(f"SELECT * FROM {schema}.signed_up ORDER BY event_id")
    assert signed[0]["href"] == "/signup" and signed[0]["target_text"] == "Start trial"
    assert signed[0]["browser"] == "Safari"  # session data on every event row
    assert [(r["plan"], r["seats"]) for r in signed] == [("pro", None), ("team", 5)]
    assert column_types(schema, "signed_up")["seats"] == "bigint"
    counts = rows(f"SELECT event_table_name, count(*) AS n FROM {schema}.all_events GROUP BY 1 ORDER BY 1")
    # The custom event "Signed Up" has a table of its own too (as every event logged via the API):
    # `signed_up` is the definition's, another event (it also matches a click), so it is `signed_up_2`.
    assert ids(schema, "signed_up_2") == [custom.id]
    assert counts == [
        {"event_table_name": "converted", "n": 3},
        {"event_table_name": "pageviews", "n": 1},
        {"event_table_name": "signed_up", "n": 2},
        {"event_table_name": "signed_up_2", "n": 1},
        {"event_table_name": "viewed_pricing", "n": 1},
    ]


def test_property_types_widen_and_names_follow_the_rules(raw, sync_env, set_specs):
    spec = {"key": "d:9", "table_name": "custom_all", "predicate": "e.type = 'custom'", "version": "1"}
    set_specs(sync_env.id, [spec])
    raw.session(1, 7)
    values = [
        {"count": 1, "ratio": 1, "flag": True, "when": "2026-01-02T03:04:05Z", "mixed": 1, "Time": "x", "9 lives": 9},
        {"count": 2, "ratio": 2.5, "flag": False, "when": "2026-01-03T00:00:00+02:00", "mixed": "one"},
        {"count": 3, "ratio": 3, "mixed": True, "when": None, "weird-Key!!": "v"},
    ]
    for props in values:
        raw.event("custom", user_id=7, event_name="x", properties=props)
    sync(sync_env)
    schema = sync_env.warehouse_schema
    types = column_types(schema, "custom_all")
    assert types["count"] == "bigint"
    assert types["ratio"] == "double precision"
    assert types["flag"] == "boolean"
    assert types["when_"] == "timestamp with time zone"  # WHEN is reserved: the column works unquoted
    assert types["mixed"] == "text"
    assert types["time_2"] == "text"  # "Time" collides with the built-in `time` column
    assert types["_9_lives"] == "bigint"
    assert types["weird_key"] == "text"
    got = rows(f"SELECT count, ratio, flag, mixed, time_2 FROM {schema}.custom_all ORDER BY event_id")
    assert got == [
        {"count": 1, "ratio": 1.0, "flag": True, "mixed": "1", "time_2": "x"},
        {"count": 2, "ratio": 2.5, "flag": False, "mixed": "one", "time_2": None},
        {"count": 3, "ratio": 3.0, "flag": None, "mixed": "true", "time_2": None},
    ]
    # Incremental: a later value that no longer fits widens the column; nothing is discarded.
    raw.event("custom", user_id=7, event_name="x", properties={"count": "many", "new one": 1})
    run = sync(sync_env)
    # The stored rows keep their jsonb: only the table's view changes (the run appends, no rebuild).
    assert run.tables["custom_all"] == {"rows": 1, "ms": 0, "action": "appended"}
    types = column_types(schema, "custom_all")
    assert types["count"] == "text" and types["new_one"] == "bigint"
    assert [r["count"] for r in rows(f"SELECT count FROM {schema}.custom_all ORDER BY event_id")] == [
        "1",
        "2",
        "3",
        "many",
    ]


def test_retroactive_define_edit_rename_delete(raw, sync_env, set_specs):
    raw.session(1, 7)
    a = raw.event("pageview", user_id=7, path="/pricing")
    b = raw.event("pageview", user_id=7, path="/pricing/team")
    raw.event("pageview", user_id=7, path="/about")
    sync(sync_env)
    schema = sync_env.warehouse_schema
    # Defined after the data exists: the next (incremental) sync builds it from all history.
    set_specs(sync_env.id, [PRICING])
    run = sync(sync_env)
    assert run.kind == "incremental" and run.tables["viewed_pricing"]["action"] == "rebuilt"
    assert ids(schema, "viewed_pricing") == [a.id, b.id]
    # Edited: rows change.
    set_specs(sync_env.id, [PRICING | {"params": {"d2_path": "/pricing"}, "version": "2"}])
    sync(sync_env)
    assert ids(schema, "viewed_pricing") == [a.id]
    # Renamed: same rows, no rebuild.
    set_specs(sync_env.id, [PRICING | {"params": {"d2_path": "/pricing"}, "version": "2", "table_name": "pricing"}])
    run = sync(sync_env)
    assert run.tables["pricing"]["action"] == "renamed"
    assert run.tables["pricing"]["renamed_from"] == "viewed_pricing"
    assert ids(schema, "pricing") == [a.id]
    assert rows(f"SELECT to_regclass('{schema}.viewed_pricing') AS t") == [{"t": None}]
    assert rows(f"SELECT event_table_name FROM {schema}.all_events WHERE event_id = %s ORDER BY 1", [a.id]) == [
        {"event_table_name": "pageviews"},
        {"event_table_name": "pricing"},
    ]
    # New data after the rename lands in the renamed table.
    c = raw.event("pageview", user_id=7, path="/pricing")
    sync(sync_env)
    assert ids(schema, "pricing") == [a.id, c.id]
    # Deleted: the table and its all_events rows are gone.
    set_specs(sync_env.id, [])
    sync(sync_env)
    assert rows(f"SELECT to_regclass('{schema}.pricing') AS t") == [{"t": None}]
    assert rows(f"SELECT DISTINCT event_table_name FROM {schema}.all_events") == [{"event_table_name": "pageviews"}]


def test_predicates_grouped_by_declared_event_types(raw, sync_env, set_specs):
    """Specs that declare their event types match exactly as without the declaration, next to untyped ones."""
    typed = [
        {**SIGNUP, "event_types": ["click", "custom"]},
        {**PRICING, "event_types": ["pageview"]},
        {**COMBO, "event_types": []},  # untyped: evaluated for every type
    ]
    set_specs(sync_env.id, typed)
    raw.session(1, 7)
    click = raw.event("click", user_id=7, target_text="Start trial")
    raw.event("submit", user_id=7, target_text="Start trial")
    custom = raw.event("custom", user_id=7, event_name="Signed Up")
    pricing = raw.event("pageview", user_id=7, path="/pricing/team")
    blog = raw.event("pageview", user_id=7, path="/blog")
    sync(sync_env, full=True)
    schema = sync_env.warehouse_schema
    assert ids(schema, "signed_up") == [click.id, custom.id]
    assert ids(schema, "viewed_pricing") == [pricing.id]
    assert ids(schema, "converted") == [click.id, custom.id, pricing.id]
    assert sorted((r["event_table_name"], r["event_id"]) for r in rows(f"SELECT * FROM {schema}.all_events")) == sorted(
        [("signed_up", click.id), ("signed_up", custom.id), ("viewed_pricing", pricing.id)]
        + [("signed_up_2", custom.id)]  # the API event's own table (test_multi_group_and_combo_tables)
        + [("converted", i) for i in (click.id, custom.id, pricing.id)]
        + [("pageviews", pricing.id), ("pageviews", blog.id)]
    )
    later = raw.event("click", user_id=7, target_text="Start trial")
    sync(sync_env)  # incremental: the same grouped pass over the new events
    assert ids(schema, "signed_up") == [click.id, custom.id, later.id]
    assert ids(schema, "converted") == [click.id, custom.id, pricing.id, later.id]
    # An edit rebuilds one table alone (a plain filter, no table arrays): its declared types still
    # decide which events its predicate sees; the submit with the same text stays out.
    typed[0] = {**SIGNUP, "predicate": "e.target_text = %(d1_text)s", "event_types": ["click"], "version": "2"}
    set_specs(sync_env.id, typed)
    assert sync(sync_env).tables["signed_up"]["action"] == "rebuilt"
    assert ids(schema, "signed_up") == [click.id, later.id]


@pytest.mark.parametrize("layout", ["alone", "among others"])
def test_the_build_split_over_connections_gives_the_rows_of_a_single_connection(
    raw, sync_env, set_specs, settings, make_environment, layout
):
    """The pass over raw events runs in parts side by side; together they stage every event once.

    The parts are block ranges of the environment's own partition of raw_events, whatever other
    environments hold.
    """
    from warehouse.models import RawEvent
    from warehouse.sync.build import Builder

    if layout == "among others":  # another environment's events before and after this one's
        other = make_environment(name="other")
        filler = [
            RawEvent(environment=other, event_id=f"o{n}", user_id=1, session_id=1, time=T0, received_at=T0)
            for n in range(1500)
        ]
        RawEvent.objects.bulk_create(filler[:750])
    raw.session(1, 7)
    expected = {"pageviews": [], "viewed_pricing": [], "signed_up": []}
    for n in range(400):  # enough events for raw_events to span many blocks
        if n % 3 == 0:
            event = raw.event("click", user_id=7, minutes=n, target_text="Start trial" if n % 2 else "Other")
            if n % 2:
                expected["signed_up"].append(event.id)
        else:
            event = raw.event("pageview", user_id=7, minutes=n, path="/pricing" if n % 2 else "/docs")
            expected["pageviews"].append(event.id)
            if n % 2:
                expected["viewed_pricing"].append(event.id)
    if layout == "among others":
        RawEvent.objects.bulk_create(filler[750:])
    set_specs(sync_env.id, [SIGNUP, PRICING])
    with connection.cursor() as cursor:
        parts = Builder(cursor=cursor, environment_id=sync_env.id, progress=None).pass_parts(2)
    (first, cut), (again, end) = parts[0]["blocks"], parts[1]["blocks"]
    assert first == 0 and cut == again > 0 and end is None
    schema = sync_env.warehouse_schema

    def tables():
        got = {name: ids(schema, name) for name in expected}
        got["all_events"] = rows(
            f"SELECT event_table_name, count(*) AS n FROM {schema}.all_events GROUP BY 1 ORDER BY 1"
        )
        got["columns"] = column_types(schema, "signed_up")
        return got

    settings.SYNC_PARALLELISM = 2
    sync(sync_env, full=True)
    side_by_side = tables()
    assert {name: side_by_side[name] for name in expected} == expected
    settings.SYNC_PARALLELISM = 1
    sync(sync_env, full=True)
    assert tables() == side_by_side
    # A rebuilt definition's own statement (one table, its declared types first) gives the same rows.
    settings.SYNC_PARALLELISM = 2
    set_specs(sync_env.id, [{**SIGNUP, "version": "2", "event_types": ["click", "custom"]}, PRICING])
    run = sync(sync_env)
    assert run.tables["signed_up"]["action"] == "rebuilt"
    assert tables() == side_by_side


def test_property_types_at_the_edges_of_each_type(raw, sync_env, set_specs):
    """Integers of up to 18 digits are bigint, 19 or a decimal point double precision; a date-time
    string is timestamptz only with a zone, and only when PostgreSQL parses it."""
    set_specs(sync_env.id, [{"key": "d:9", "table_name": "custom_all", "predicate": "e.type = 'custom'"}])
    raw.session(1, 7)
    edges = {
        "digits18": 999999999999999999,
        "digits19": 1000000000000000000,
        "negative": -12,
        "point_zero": 1.0,
        "zoned": "2026-01-02T03:04:05.123456+05:30",
        "short_zone": "2026-01-02 03:04+05",
        "no_zone": "2026-01-02T03:04:05",
        "not_a_day": "2026-13-45T03:04:05Z",
        "dashed_text": "2026-is-a-year-of-change",
    }
    event = raw.event("custom", user_id=7, event_name="x", properties=edges)
    # Numbers only the raw store's jsonb can hold (the API parses JSON into doubles): double precision
    # cannot, so they are text, and the view over them reads without an error.
    outside = {"tiny": "1e-400", "huge": "1e400", "small": "1e-310"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE raw_events SET properties = properties || %s::jsonb WHERE id = %s",
            ["{" + ", ".join(f'"{key}": {value}' for key, value in outside.items()) + "}", event.id],
        )
    edges |= outside
    sync(sync_env)
    types = {key: column_types(sync_env.warehouse_schema, "custom_all")[key] for key in edges}
    (row,) = rows(f"SELECT tiny, huge, small FROM {sync_env.warehouse_schema}.custom_all")  # noqa: S608
    assert row["tiny"].startswith("0.000") and row["huge"].startswith("1000")
    assert types == {
        "digits18": "bigint",
        "digits19": "double precision",
        "negative": "bigint",
        "point_zero": "double precision",
        "zoned": "timestamp with time zone",
        "short_zone": "timestamp with time zone",
        "no_zone": "text",
        "not_a_day": "text",
        "dashed_text": "text",
        "tiny": "text",
        "huge": "text",
        "small": "text",
    }


def test_the_pass_tables_failing_to_be_created_fail_the_run_not_a_definition(raw, sync_env, set_specs, monkeypatch):
    # The partitions are created on a build connection while users and sessions are built on the others.
    from psycopg2 import sql

    from warehouse.models import SyncRun
    from warehouse.sql import sync as q

    set_specs(sync_env.id, [SIGNUP, PRICING])
    raw.session(1, 7)
    raw.event("pageview", user_id=7, path="/pricing")
    parts_parent = q.parts_parent
    monkeypatch.setattr(
        q, "parts_parent", lambda *args, **kwargs: [*parts_parent(*args, **kwargs), sql.SQL("SELECT 'no parts'::int")]
    )
    settle()
    with pytest.raises(Exception, match='invalid input syntax for type integer: "no parts"'):
        sync_run_foreground(environment=sync_env, full=True)
    run = SyncRun.objects.get(environment=sync_env)
    assert run.status == "failed"
    assert 'invalid input syntax for type integer: "no parts"' in run.error
    assert "definition:" not in run.error  # the pass did not run, so no predicate was blamed
    monkeypatch.setattr(q, "parts_parent", parts_parent)
    sync(sync_env, full=True)
    assert len(ids(sync_env.warehouse_schema, "viewed_pricing")) == 1
