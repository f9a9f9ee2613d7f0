"""The sync with 500 definitions equals, table by table and row by row, each definition evaluated alone.

Whatever the pass over raw events does to be fast (one statement for every table, predicates
reached through gates on per-row features: definitions/compiler/gates.py, warehouse/sql/sync.py),
each table must hold exactly the raw events its predicate alone selects. The definitions are the
benchmark's realistic ones (bench/_definitions.py) drawn from demo data, plus hand-written ones
that reach the gates' edges (selector lists, classes at every position, duplicate classes,
wildcards at every depth, combos).
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from psycopg2 import sql

from definitions.compiler import compile_definition, definition_event_types, definition_gates
from definitions.compiler.gates import path_prefix
from demo.seed.services import demo_seed
from warehouse.models.raw import raw_events_partition
from warehouse.registry import EventTableSpec, register_event_table_provider
from warehouse.sql.sync import GATE_FEATURES

from .conftest import settle

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from _definitions import GeneratedDefinition, compiled_specs, generate_definitions  # noqa: E402

_state: dict = {"environment_id": None, "specs": []}


def _provide(environment_id: int) -> list[EventTableSpec]:
    return _state["specs"] if environment_id == _state["environment_id"] else []


register_event_table_provider(_provide)

EDGES = [
    [{"kind": "click", "conditions": [{"type": "selector", "value": ".btn.btn-primary, .btn.btn-secondary"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": ".btn-sm"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": ".dup"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": ".c6"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": "a, button"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": "#header-signup, #hero-cta"}]}],
    [{"kind": "click", "conditions": [{"type": "selector", "value": "#a#b"}]}],
    [
        {
            "kind": "click",
            "conditions": [{"type": "selector", "value": "#main a.nav-link"}, {"type": "path", "value": "/demo/*"}],
        }
    ],
    [{"kind": "pageview", "conditions": [{"type": "path", "value": "/demo/app/*"}]}],
    [{"kind": "pageview", "conditions": [{"type": "path", "value": "/demo/app/boards/*"}]}],
    [{"kind": "pageview", "conditions": [{"type": "path", "value": "/demo*"}]}],
    [{"kind": "pageview", "conditions": [{"type": "path", "value": "/*"}]}],
    [{"kind": "pageview", "conditions": [{"type": "path", "value": "/50%_off/*"}]}],
    [{"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": "50% off"}]}],
    [
        {"kind": "pageview", "conditions": [{"type": "path", "value": "/demo/pricing/"}]},
        {"kind": "click", "conditions": [{"type": "selector", "value": "#header-signup"}]},
        {"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": "Pricing"}]},
    ],
    [{"kind": "custom", "event_name": "Signed Up", "conditions": [{"type": "path", "value": "/demo/signup/*"}]}],
    [{"kind": "combo", "definitions": [1, 2]}],
]


def _edge_events(environment_id: int) -> None:
    """Raw events the demo does not have: duplicate classes, six classes, a `%` in text and path."""
    hierarchy = '[{"tag": "button"}, {"tag": "body"}, {"tag": "html"}]'
    with connection.cursor() as cursor:
        for n, (classes, text, path) in enumerate(
            [
                (["dup", "x", "dup"], "Dup", "/demo/"),
                (["c1", "c2", "c3", "c4", "c5", "c6"], "Six", "/demo/app/x"),
                (["btn", "btn-sm", "btn-primary", "btn-secondary", "btn-lg"], "50% off", "/50%_off/a"),
                (["btn-secondary", "btn"], "Pricing", "/50%_off/"),
            ]
        ):
            for type_ in ("click", "pageview"):
                cursor.execute(
                    "INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type,"
                    " event_name, domain, path, query, hash, title, referrer, target_tag, target_id, target_classes,"
                    " target_text, target_href, hierarchy, library, properties) VALUES (%s, %s, 1, 1, now(), now(),"
                    " %s, '', 'shop.example', %s, '', '', '', '', 'button', '', %s, %s, '', %s::jsonb, 'web', '{}')",
                    [environment_id, f"edge-{type_}-{n}", type_, path, classes, text, hierarchy],
                )


def _alone(environment_id: int, spec: EventTableSpec) -> list[int]:
    where = sql.SQL("e.environment_id = %(env)s AND ({})").format(spec.predicate)
    if spec.event_types:
        where += sql.SQL(" AND e.type IN ({})").format(sql.SQL(", ").join(map(sql.Literal, spec.event_types)))
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT e.id FROM raw_events e WHERE {} ORDER BY e.id").format(where),
            {"env": environment_id, **spec.params},
        )
        return [row[0] for row in cursor.fetchall()]


def _synced(schema: str, table: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT event_id FROM {} ORDER BY event_id").format(sql.Identifier(schema, table)))
        return [row[0] for row in cursor.fetchall()]


def _assert_equal(environment, specs) -> int:
    mismatched = {}
    total = 0
    for spec in specs:
        alone, synced = _alone(environment.id, spec), _synced(environment.warehouse_schema, spec.table_name)
        total += len(synced)
        if alone != synced:
            mismatched[spec.table_name] = (len(alone), len(synced), spec.label)
    assert not mismatched, mismatched
    return total


def _sync(environment, *, full: bool) -> None:
    from warehouse.services import sync_run_foreground

    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == "succeeded", run.traceback


@pytest.mark.django_db(transaction=True)
def test_sync_with_500_definitions_equals_each_definition_alone(sync_env):
    demo_seed(schema=sync_env.warehouse_schema, events=4000, seed=3, end=datetime(2026, 12, 1, tzinfo=UTC))
    _edge_events(sync_env.id)
    generated = generate_definitions(sync_env.id, 500 - len(EDGES))
    edges = [GeneratedDefinition(len(generated) + i + 1, f"edge {i}", groups) for i, groups in enumerate(EDGES)]
    definitions = generated + edges
    specs = compiled_specs(definitions, key_prefix="eq:", table_prefix="eq_")
    assert len(specs) == 500
    gated = sum(1 for spec in specs if spec.gates)
    assert gated > 400, gated  # the realistic definitions mostly have gates: the dispatch is what is tested
    _state.update(environment_id=sync_env.id, specs=specs)
    try:
        _sync(sync_env, full=True)
        assert _assert_equal(sync_env, specs) > 0
        # New events (copies of a tenth, with new ids), then an incremental sync: the same again.
        with connection.cursor() as cursor:
            partition = sql.Identifier(raw_events_partition(sync_env.id))
            cursor.execute(
                sql.SQL(
                    "INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type,"
                    " event_name, domain, path, query, hash, title, referrer, target_tag, target_id, target_classes,"
                    " target_text, target_href, hierarchy, library, properties, batch) SELECT environment_id,"
                    " 'again-' || id, user_id, session_id, time, received_at, type, event_name, domain, path, query,"
                    " hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href,"
                    " hierarchy, library, properties, (SELECT heapsite_raw_batch())"  # one batch, as ingestion stamps it
                    " FROM {} WHERE id % 10 = 0"
                ).format(partition)
            )
        _sync(sync_env, full=False)
        _assert_equal(sync_env, specs)
    finally:
        _state.update(environment_id=None, specs=[])


def test_gates_of_common_definitions():
    def gates(*groups):
        return definition_gates(list(groups))

    click = {"kind": "click"}
    assert gates({**click, "conditions": [{"type": "selector", "value": "#signup"}]}) == {
        "click": ("target_id", ("signup",))
    }
    assert gates(
        {
            **click,
            "conditions": [{"type": "selector", "value": "a.nav"}, {"type": "text", "op": "exact", "value": "Go"}],
        }
    ) == {"click": ("target_text", ("Go",))}
    assert gates({**click, "conditions": [{"type": "selector", "value": ".a.b, .b.c"}]}) == {
        "click": ("target_class", ("b",))
    }
    assert gates({**click, "conditions": [{"type": "selector", "value": ".a, .c"}]}) == {}
    assert gates({**click, "conditions": [{"type": "selector", "value": "a.x, button"}]}) == {
        "click": ("target_tag", ("a", "button"))
    }
    assert gates({**click, "conditions": [{"type": "text", "op": "contains", "value": "Go"}]}) == {}
    assert gates({"kind": "pageview", "conditions": [{"type": "path", "value": "/blog/2024/*"}]}) == {
        "pageview": ("path_prefix_3", ("/blog/2024/",))
    }
    assert gates({"kind": "pageview", "conditions": [{"type": "path", "value": "/blog*"}]}) == {}
    assert gates({"kind": "custom", "event_name": "Paid", "conditions": []}) == {"custom": ("event_name", ("Paid",))}
    assert gates({"kind": "combo", "definitions": [1]}) == {}
    # A combo's types and gates are its members' (resolved as the compiler resolves them).
    members = {
        1: [{**click, "conditions": [{"type": "selector", "value": "#x"}]}],
        2: [{"kind": "combo", "definitions": [1, 3]}],
    }
    members[3] = [{"kind": "pageview", "conditions": [{"type": "path", "value": "/p"}]}]
    combo = [{"kind": "combo", "definitions": [2]}]
    assert definition_gates(combo, resolve_combo=members.__getitem__) == {
        "click": ("target_id", ("x",)),
        "pageview": ("path", ("/p",)),
    }
    assert definition_event_types(combo, resolve_combo=members.__getitem__) == ("click", "pageview")
    assert definition_event_types(combo) == ()
    cycle = {1: [{"kind": "combo", "definitions": [1]}]}
    assert definition_gates([{"kind": "combo", "definitions": [1]}], resolve_combo=cycle.__getitem__) == {}
    # Groups of one type must all have the feature; other types have their own gate.
    two = gates(
        {**click, "conditions": [{"type": "selector", "value": "#x"}]},
        {**click, "conditions": [{"type": "text", "op": "exact", "value": "Go"}]},
        {"kind": "pageview", "conditions": [{"type": "path", "value": "/x"}]},
    )
    assert two == {"pageview": ("path", ("/x",))}
    predicate, _ = compile_definition([{**click, "conditions": [{"type": "selector", "value": "#x"}]}], prefix="t_")
    assert definition_event_types([{**click, "conditions": []}]) == ("click",) and predicate


@pytest.mark.django_db
def test_path_prefix_feature_is_what_sql_computes():
    paths = ["", "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c/d", "a/b", "//x", "/é/ü/", "/50%_off/x"]
    with connection.cursor() as cursor:
        for depth in (2, 3):
            expression = GATE_FEATURES[f"path_prefix_{depth}"].replace("e.path", "p")
            cursor.execute(
                f"SELECT {expression} FROM unnest(%s::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n", [paths]
            )
            assert [row[0] for row in cursor.fetchall()] == [path_prefix(path, depth) for path in paths]
