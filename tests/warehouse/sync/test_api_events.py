"""Events logged via the API get warehouse tables of their own: through the real ingestion endpoints
and a real sync, with the cap, the per-event switch, and definitions that want the same table name."""

import base64
import json
from datetime import UTC, datetime

import pytest
from django.db import connection

from definitions.services import definition_create, definition_delete, definition_sync_set, definition_update
from warehouse.apievents.selectors import api_event_state, api_event_states
from warehouse.apievents.services import api_event_sync_set, api_events_discover, api_events_record
from warehouse.identity import user_id_for_identity
from warehouse.models import ApiEvent, BuiltTable, DeletionSource, EnvironmentSync, UserDeletionRequest
from warehouse.privacy.services import user_deletion_execute, user_deletion_request
from warehouse.registry import event_tables_for
from warehouse.sync.watermark import watermark_bound

from .conftest import column_types, rows, sync

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "test-server-key"


@pytest.fixture
def track(client, sync_env):
    """POST /api/track (one event, or a bulk list of events) with the environment's server key."""

    def send(*events: dict):
        body = {"app_id": sync_env.app_id}
        body |= events[0] if len(events) == 1 else {"events": list(events)}
        response = client.post(
            "/api/track", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {KEY}"
        )
        assert response.status_code == 200, response.content
        return response

    return send


@pytest.fixture
def segment(client):
    """Segment's /v1/track with the write key (the environment's server key): one custom event."""

    def send(name: str):
        body = {"type": "track", "userId": "a@example.com", "event": name}
        auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
        response = client.post(
            "/v1/track", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
        )
        assert response.status_code == 200, response.content

    return send


def table(schema, name, columns="*"):
    return rows(f"SELECT {columns} FROM {schema}.{name} ORDER BY event_id")  # noqa: S608 - test names


def relation(schema, name):
    return rows("SELECT to_regclass(%s) IS NOT NULL AS present", [f"{schema}.{name}"])[0]["present"]


def event_tables_in_all_events(schema):
    return {r["event_table_name"] for r in rows(f"SELECT DISTINCT event_table_name FROM {schema}.all_events")}  # noqa: S608


def sync_info(schema):
    return {r["event_table_name"]: r["inserted_row_count"] for r in rows(f"SELECT * FROM {schema}._sync_info")}  # noqa: S608


def iso(minute: int) -> str:
    return datetime(2026, 3, 1, 12, minute, tzinfo=UTC).isoformat()


def test_every_custom_event_sent_to_track_gets_a_table_with_its_raw_rows(track, sync_env, raw):
    schema = sync_env.warehouse_schema
    track({"identity": "alice@example.com", "event": "Signed Up", "properties": {"plan": "pro"}, "timestamp": iso(0)})
    track(
        {"identity": "bob@example.com", "event": "Signed Up", "properties": {"plan": "team", "seats": 5}},
        {
            "identity": "bob@example.com",
            "event": "Order Placed",
            "timestamp": iso(5),
            "properties": {"amount": 49.5, "gift": False, "when": "2026-03-01T12:05:00Z", "order": 1001},
        },
    )
    # A pageview from the snippet shares nothing: only custom events get automatic tables.
    raw.session(99, 1)
    raw.event("pageview", user_id=1, session_id=99)
    sync(sync_env)

    alice, bob = user_id_for_identity("alice@example.com"), user_id_for_identity("bob@example.com")
    signed = table(schema, "signed_up", "event_id, user_id, library, type, plan, seats")
    raw_ids = [r["id"] for r in rows("SELECT id FROM raw_events WHERE event_name = 'Signed Up' ORDER BY id")]
    assert [r["event_id"] for r in signed] == raw_ids
    assert [(r["user_id"], r["library"], r["type"], r["plan"], r["seats"]) for r in signed] == [
        (alice, "server", "custom", "pro", None),
        (bob, "server", "custom", "team", 5),
    ]
    types = column_types(schema, "order_placed")
    assert (types["amount"], types["gift"], types["when_"], types["order_"]) == (
        "double precision",
        "boolean",
        "timestamp with time zone",
        "bigint",
    )
    (order,) = table(schema, "order_placed", "user_id, amount, gift, when_, order_")
    assert order == {
        "user_id": bob,
        "amount": 49.5,
        "gift": False,
        "when_": datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        "order_": 1001,
    }
    assert event_tables_in_all_events(schema) == {"pageviews", "signed_up", "order_placed"}
    info = sync_info(schema)
    assert (info["signed_up"], info["order_placed"]) == (2, 1)
    assert {(e.name, e.table_name, e.event_count) for e in ApiEvent.objects.all()} == {
        ("Signed Up", "signed_up", 2),
        ("Order Placed", "order_placed", 1),
    }


def test_a_name_first_seen_in_an_incremental_sync_gets_its_table_in_that_run(track, sync_env):
    schema = sync_env.warehouse_schema
    track({"identity": "alice@example.com", "event": "Signed Up"})
    sync(sync_env)
    track(
        {"identity": "alice@example.com", "event": "Signed Up"},
        {"identity": "carol@example.com", "event": "Trial Started"},
    )
    run = sync(sync_env)
    assert run.kind == "incremental"
    assert run.tables["trial_started"]["action"] == "rebuilt"
    assert run.tables["signed_up"] == {"rows": 1, "ms": 0, "action": "appended"}
    assert [r["user_id"] for r in table(schema, "trial_started", "user_id")] == [
        user_id_for_identity("carol@example.com")
    ]
    assert len(table(schema, "signed_up")) == 2
    assert {"trial_started", "signed_up"} <= event_tables_in_all_events(schema)
    assert sync_info(schema)["trial_started"] == 1
    assert ApiEvent.objects.get(name="Signed Up").event_count == 2  # counted once per run, not per rebuild


def test_counts_stay_exact_through_full_syncs_and_the_upgrade_that_starts_the_catalog(track, sync_env):
    schema = sync_env.warehouse_schema
    track({"identity": "a@example.com", "event": "Signed Up"}, {"identity": "b@example.com", "event": "Signed Up"})
    sync(sync_env)
    track({"identity": "c@example.com", "event": "Signed Up"})
    sync(sync_env, full=True)  # adds the new event's count; does not count history again
    sync(sync_env, full=True)
    assert ApiEvent.objects.get().event_count == 3
    # A warehouse synced before API events had tables: its next run, incremental and with no new
    # events, finds every name in all history.
    ApiEvent.objects.all().delete()
    run = sync(sync_env)
    assert run.kind == "incremental"
    assert ApiEvent.objects.get().event_count == 3
    assert len(table(schema, "signed_up")) == 3


def test_a_recount_follows_raw_events_that_were_deleted(track, sync_env):
    """For runs that apply deletions of raw events (user deletion, retention): counts from all history."""
    track(*[{"identity": f"u{n}@example.com", "event": "Signed Up"} for n in range(3)])
    sync(sync_env)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM raw_events WHERE id = (SELECT min(id) FROM raw_events)")
        until = watermark_bound(cursor)[0]
        state = EnvironmentSync.objects.get(environment=sync_env)
        discovered = api_events_discover(
            cursor=cursor, environment_id=sync_env.pk, since=state.events_xmin, until=until, recount=True
        )
        api_events_record(cursor=cursor, discovered=discovered)
    assert ApiEvent.objects.get().event_count == 2


def test_names_first_seen_together_are_built_each_by_its_own_statement(track, sync_env, raw):
    """Several new names in one incremental run: each table from its own rows (the name index), not a pass
    over all history; a definition edited in the same run still gets the pass, and every row lands once."""
    schema = sync_env.warehouse_schema
    track({"identity": "a@example.com", "event": "Signed Up"})
    raw.session(1, 7)
    for _ in range(3):
        raw.event("pageview", user_id=7, path="/pricing")
    sync(sync_env)
    track(*[{"identity": f"u{n}@example.com", "event": name} for n, name in enumerate(["A", "B", "B", "C", "C", "C"])])
    run = sync(sync_env)
    assert [run.tables[name]["action"] for name in ("a", "b", "c")] == ["rebuilt"] * 3
    assert [len(table(schema, name)) for name in ("a", "b", "c")] == [1, 2, 3]
    definition_create(
        environment=sync_env,
        name="Viewed Pricing",
        groups=[{"kind": "pageview", "conditions": [{"type": "path", "value": "/pricing"}]}],
    )
    track({"identity": "a@example.com", "event": "D"})
    sync(sync_env)
    assert (len(table(schema, "d")), len(table(schema, "viewed_pricing"))) == (1, 3)


def test_merged_users_and_session_columns_reach_the_automatic_table(client, sync_env, track):
    """heap.track()'s path, without a browser: an anonymous visitor's custom event, then identify."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    anonymous = 4503599627370495
    body = {
        "app_id": sync_env.app_id,
        "library": "web",
        "sent_at": now,
        "user_id": anonymous,
        "session": {"id": 123456789012, "start_time": now - 5000, "utm_source": "newsletter", "referrer": ""},
        "events": [{"id": "c-1", "type": "custom", "time": now - 1000, "name": "Played Video", "properties": {"s": 3}}],
    }
    assert client.post("/api/collect", data=json.dumps(body), content_type="application/json").status_code == 200
    identify = {"app_id": sync_env.app_id, "identity": "dora@example.com", "user_id": anonymous}
    response = client.post(
        "/api/identify", data=json.dumps(identify), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {KEY}"
    )
    assert response.status_code == 200, response.content
    sync(sync_env)
    (row,) = table(sync_env.warehouse_schema, "played_video", "user_id, session_id, utm_source, s")
    assert row == {
        "user_id": user_id_for_identity("dora@example.com"),
        "session_id": 123456789012,
        "utm_source": "newsletter",
        "s": 3,
    }


def test_automatic_tables_stop_at_the_cap_and_a_name_past_it_can_be_turned_on(track, sync_env, settings):
    settings.SYNC_API_EVENT_TABLES_MAX = 2
    schema = sync_env.warehouse_schema
    track(*[{"identity": "a@example.com", "event": f"Order #{n}", "timestamp": iso(n)} for n in (1, 2, 3, 3)])
    sync(sync_env)
    assert relation(schema, "order_1") and relation(schema, "order_2")
    assert not relation(schema, "order_3")
    registered = event_tables_for(sync_env.pk)
    states = {
        s.event.name: s for s in api_event_states(ApiEvent.objects.order_by("first_seen_id"), registered=registered)
    }
    assert [states[f"Order #{n}"].state for n in (1, 2, 3)] == ["auto", "auto", "limit"]
    assert states["Order #3"].event.event_count == 2
    # New names past the cap in incremental runs get no table either (the run reads no more than the cap).
    track({"identity": "a@example.com", "event": "Order #4"})
    sync(sync_env)
    assert not relation(schema, "order_4")
    api_event_sync_set(event=states["Order #3"].event, sync="on")
    run = sync(sync_env)
    assert run.tables["order_3"]["action"] == "rebuilt"
    assert len(table(schema, "order_3")) == 2
    assert {"order_1", "order_2", "order_3"} <= event_tables_in_all_events(schema)


def test_names_a_server_api_logged_take_automatic_tables_before_junk_sent_to_collect(
    track, heap_track, segment, sync_env, settings
):
    """Anyone with the public app id can post names to /api/collect; they cannot keep the names the
    customer's servers log (/api/track, Segment's /v1/track) from getting tables."""
    settings.SYNC_API_EVENT_TABLES_MAX = 3
    schema = sync_env.warehouse_schema
    for n in (1, 2, 3):
        heap_track(f"Junk {n}")
    sync(sync_env)
    assert all(relation(schema, f"junk_{n}") for n in (1, 2, 3))
    heap_track("Junk 4")
    track({"identity": "a@example.com", "event": "Signed Up"})
    sync(sync_env)
    assert relation(schema, "signed_up") and relation(schema, "junk_1") and relation(schema, "junk_2")
    assert not relation(schema, "junk_3") and not relation(schema, "junk_4")  # the browser's last seen lost its slot
    segment("Order Completed")
    sync(sync_env)
    assert relation(schema, "order_completed") and not relation(schema, "junk_2")
    states = api_event_states(ApiEvent.objects.order_by("first_seen_id"), registered=event_tables_for(sync_env.pk))
    assert {state.event.name: state.state for state in states} == {
        "Junk 1": "auto",
        "Junk 2": "limit",
        "Junk 3": "limit",
        "Junk 4": "limit",
        "Signed Up": "auto",
        "Order Completed": "auto",
    }
    assert [api_event_state(state.event).state for state in states] == [state.state for state in states]


def test_each_group_gets_automatic_tables_in_first_seen_order(track, heap_track, sync_env):
    """Server names first, then the browser's, each group first seen first (interleaved here)."""
    for name in ("Browser 1", "Server 1", "Browser 2", "Server 2", "Browser 3", "Server 3"):
        if name.startswith("Server"):
            track({"identity": "a@example.com", "event": name})
        else:
            heap_track(name)
    sync(sync_env)
    events = list(ApiEvent.objects.order_by("first_seen_id"))
    assert [event.name for event in events] == [
        "Browser 1",
        "Server 1",
        "Browser 2",
        "Server 2",
        "Browser 3",
        "Server 3",
    ]
    priority = ["Server 1", "Server 2", "Server 3", "Browser 1", "Browser 2", "Browser 3"]
    registered = event_tables_for(sync_env.pk)
    for cap in range(len(priority) + 1):
        states = api_event_states(events, registered=registered, cap=cap)
        assert {state.event.name for state in states if state.state == "auto"} == set(priority[:cap]), cap


def test_a_name_a_browser_sent_first_becomes_a_server_name_once_a_server_api_logs_it(
    track, heap_track, sync_env, settings
):
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    schema = sync_env.warehouse_schema
    heap_track("Junk")
    heap_track("Signed Up")
    sync(sync_env)
    assert relation(schema, "junk") and not relation(schema, "signed_up")
    assert ApiEvent.objects.get(name="Signed Up").from_server is False
    track({"identity": "a@example.com", "event": "Signed Up"})
    run = sync(sync_env)
    assert run.kind == "incremental"
    assert ApiEvent.objects.get(name="Signed Up").from_server is True
    assert relation(schema, "signed_up") and not relation(schema, "junk")
    assert len(table(schema, "signed_up")) == 2  # from all history: the browser's event too


def test_a_server_name_stays_one_through_a_recount_that_finds_no_server_event_of_it(
    track, heap_track, sync_env, settings, sync_queue
):
    """Once true, stays true: deleting the person a server logged it for does not hand its table back to junk."""
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    schema = sync_env.warehouse_schema
    heap_track("Junk")
    heap_track("Signed Up")
    track({"identity": "gone@example.com", "event": "Signed Up"})
    sync(sync_env)
    assert relation(schema, "signed_up") and not relation(schema, "junk")
    user_deletion_request(environment=sync_env, users=[{"identity": "gone@example.com"}], source=DeletionSource.API)
    user_deletion_execute(request_id=UserDeletionRequest.objects.get().pk)
    sync(sync_env, full=True)
    signed_up = ApiEvent.objects.get(name="Signed Up")
    assert signed_up.event_count == 1  # recounted from all history: the browser's event is left
    assert signed_up.from_server is True
    assert relation(schema, "signed_up") and not relation(schema, "junk")


def test_the_first_run_after_the_upgrade_finds_where_cataloged_names_came_from(track, heap_track, sync_env, settings):
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    schema = sync_env.warehouse_schema
    heap_track("Junk")
    track({"identity": "a@example.com", "event": "Signed Up"})
    sync(sync_env)
    ApiEvent.objects.update(from_server=None)  # as migration 0021 leaves the names cataloged before it
    run = sync(sync_env)
    assert run.kind == "incremental"
    assert dict(ApiEvent.objects.values_list("name", "from_server")) == {"Junk": False, "Signed Up": True}
    assert dict(ApiEvent.objects.values_list("name", "event_count")) == {"Junk": 1, "Signed Up": 1}  # not twice
    assert relation(schema, "signed_up") and not relation(schema, "junk")


def test_switching_an_api_event_off_drops_its_table_and_on_rebuilds_it(track, sync_env):
    schema = sync_env.warehouse_schema
    track({"identity": "a@example.com", "event": "Signed Up"}, {"identity": "b@example.com", "event": "Signed Up"})
    sync(sync_env)
    event = ApiEvent.objects.get(name="Signed Up")
    api_event_sync_set(event=event, sync="off")
    track({"identity": "c@example.com", "event": "Signed Up"})
    run = sync(sync_env)
    assert run.tables["signed_up"]["action"] == "dropped"
    assert not relation(schema, "signed_up")
    assert "signed_up" not in event_tables_in_all_events(schema)
    assert "signed_up" not in sync_info(schema)
    api_event_sync_set(event=event, sync="on")
    sync(sync_env)
    assert len(table(schema, "signed_up")) == 3  # rebuilt from all history, including what came while off
    assert "signed_up" in event_tables_in_all_events(schema)
    assert ApiEvent.objects.get(pk=event.pk).event_count == 3


def test_switching_a_definition_off_drops_its_table_and_on_rebuilds_it(raw, sync_env):
    schema = sync_env.warehouse_schema
    raw.session(1, 7)
    raw.event("pageview", user_id=7, path="/pricing")
    definition = definition_create(
        environment=sync_env,
        name="Viewed Pricing",
        groups=[{"kind": "pageview", "conditions": [{"type": "path", "value": "/pricing"}]}],
    )
    sync(sync_env)
    assert len(table(schema, "viewed_pricing")) == 1
    definition_sync_set(definition=definition, enabled=False)
    raw.event("pageview", user_id=7, path="/pricing")
    sync(sync_env)
    assert not relation(schema, "viewed_pricing")
    assert "viewed_pricing" not in event_tables_in_all_events(schema)
    assert not BuiltTable.objects.filter(key=definition.event_table_key).exists()
    definition_sync_set(definition=definition, enabled=True)
    run = sync(sync_env)
    assert run.tables["viewed_pricing"]["action"] == "rebuilt"
    assert len(table(schema, "viewed_pricing")) == 2


SIGNED_UP = [{"kind": "custom", "event_name": "Signed Up", "conditions": []}]
CLICKED_SIGN_UP = [{"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": "Sign up"}]}]


def test_a_definition_that_is_exactly_the_api_event_shares_its_table(track, sync_env):
    """Rule 1: one table, the definition's; edited into another event, the definition keeps the name."""
    schema = sync_env.warehouse_schema
    track({"identity": "a@example.com", "event": "Signed Up", "properties": {"plan": "pro"}})
    sync(sync_env)
    assert ApiEvent.objects.get().table_name == "signed_up"
    definition = definition_create(environment=sync_env, name="Signed Up", groups=SIGNED_UP)
    assert definition.table_name == "signed_up"  # shared, not signed_up_2
    track({"identity": "b@example.com", "event": "Signed Up"})
    run = sync(sync_env)
    assert run.tables["signed_up"]["action"] == "rebuilt"  # now the definition's table
    assert BuiltTable.objects.get(table_name="signed_up").key == definition.event_table_key
    assert not relation(schema, "signed_up_2")
    assert len(table(schema, "signed_up")) == 2
    assert sorted(r["event_table_name"] for r in rows(f"SELECT event_table_name FROM {schema}.all_events")) == [
        "signed_up",
        "signed_up",
    ]
    (state,) = api_event_states(ApiEvent.objects.all(), registered=event_tables_for(sync_env.pk))
    assert (state.state, state.table_name) == ("defined", "signed_up")
    # The definition's switch governs the one table.
    definition_sync_set(definition=definition, enabled=False)
    sync(sync_env)
    assert not relation(schema, "signed_up")
    definition_sync_set(definition=definition, enabled=True)
    sync(sync_env)
    # Edited into something else: the definition keeps `signed_up`, the API event's rows move to a table of their own.
    definition_update(
        definition=definition,
        groups=[
            {
                "kind": "custom",
                "event_name": "Signed Up",
                "conditions": [{"type": "property", "key": "plan", "op": "equals", "value": "pro"}],
            }
        ],
    )
    sync(sync_env)
    assert len(table(schema, "signed_up")) == 1
    assert ApiEvent.objects.get().table_name == "signed_up_2"
    assert len(table(schema, "signed_up_2")) == 2
    # Deleted: the API event keeps its table.
    definition_delete(definition=definition)
    sync(sync_env)
    assert not relation(schema, "signed_up") and len(table(schema, "signed_up_2")) == 2


def test_a_definition_of_another_event_with_the_same_name_never_takes_an_api_events_table(track, raw, sync_env):
    """Different events, same wanted name: the first to have the name keeps it, the other gets a suffix."""
    schema = sync_env.warehouse_schema
    raw.session(1, 7)
    click = raw.event("click", user_id=7, target_text="Sign up")
    # The definition first: the API event seen later gets `signed_up_2`.
    definition = definition_create(environment=sync_env, name="Signed Up", groups=CLICKED_SIGN_UP)
    track({"identity": "a@example.com", "event": "Signed Up"})
    sync(sync_env)
    assert [r["event_id"] for r in table(schema, "signed_up")] == [click.id]
    assert [r["type"] for r in table(schema, "signed_up_2", "type")] == ["custom"]
    # The API event first: a definition created later gets `order_placed_2`.
    track({"identity": "a@example.com", "event": "Order Placed"})
    sync(sync_env)
    later = definition_create(environment=sync_env, name="Order Placed", groups=CLICKED_SIGN_UP)
    assert later.table_name == "order_placed_2"
    sync(sync_env)
    assert [r["type"] for r in table(schema, "order_placed", "type")] == ["custom"]
    assert [r["event_id"] for r in table(schema, "order_placed_2")] == [click.id]
    assert definition.table_name == "signed_up"


def test_names_people_can_type_for_api_events_and_definitions(track, sync_env):
    schema = sync_env.warehouse_schema
    for name in ("select", "user", "Order", "table", "Clicked nav ünïcode", "users", "x" * 1024):
        track({"identity": "a@example.com", "event": name})
    definition = definition_create(environment=sync_env, name="Table", groups=CLICKED_SIGN_UP)
    assert definition.table_name == "table_"
    sync(sync_env)
    names = dict(ApiEvent.objects.values_list("name", "table_name"))
    assert names["select"] == "select_" and names["user"] == "user_" and names["Order"] == "order_"
    assert names["table"] == "table_2"  # the definition "Table" had `table_` first
    assert names["Clicked nav ünïcode"] == "clicked_nav_unicode"
    assert names["users"] == "users_2"  # never a built-in table's name
    assert len(names["x" * 1024]) <= 63
    with pytest.raises(Exception):  # noqa: B017, PT011 - any error: the point is that quoting was needed before
        rows(f"SELECT count(*) FROM {schema}.select")  # noqa: S608
    for table_name in [*names.values(), definition.table_name]:
        assert rows(f"SELECT count(*) AS n FROM {schema}.{table_name}")[0]["n"] == (0 if table_name == "table_" else 1)  # noqa: S608


def test_existing_property_columns_keep_their_names_through_a_full_sync(track, sync_env):
    """No silent renames on upgrade: a column named by older rules keeps its name when its table is rebuilt."""
    schema = sync_env.warehouse_schema
    track({"identity": "a@example.com", "event": "Measured", "properties": {"Größe": 3, "select": 1}})
    sync(sync_env)
    assert {"grosse", "select_"} <= set(column_types(schema, "measured"))
    built = BuiltTable.objects.get(table_name="measured")
    built.columns = {"Größe": ["gr_e", "bigint"], "select": ["select", "bigint"]}  # as the old rules named them
    built.save(update_fields=["columns"])
    sync(sync_env, full=True)
    (row,) = rows(f'SELECT gr_e, "select" FROM {schema}.measured')  # noqa: S608
    assert row == {"gr_e": 3, "select": 1}


def test_a_server_name_takes_its_table_name_back_from_browser_names(track, heap_track, sync_env, settings):
    """`signed-up` and `SIGNED UP` posted to the public /api/collect before the customer's server logs
    `Signed Up` do not send it to `signed_up_2`: the browser names give the name up (one renamed
    with its table, one that has none any more just loses it)."""
    settings.SYNC_API_EVENT_TABLES_MAX = 2
    schema = sync_env.warehouse_schema
    heap_track("signed-up")
    sync(sync_env)
    assert table(schema, "signed_up")
    heap_track("SIGNED UP", "Other")
    track({"identity": "a@example.com", "event": "Signed Up"})
    sync(sync_env)
    names = dict(ApiEvent.objects.values_list("name", "table_name"))
    assert names["Signed Up"] == "signed_up"
    assert len(table(schema, "signed_up")) == 1  # the server's event, not the browser's
    assert names["signed-up"] == "signed_up_2" and len(table(schema, "signed_up_2")) == 1
    assert names["SIGNED UP"] == "" and not relation(schema, "signed_up_3")  # past the cap: no table, no name
    sync(sync_env, full=True)
    assert dict(ApiEvent.objects.values_list("name", "table_name")) == names
    assert len(table(schema, "signed_up")) == 1


def test_names_sent_to_track_without_a_key_do_not_count_as_a_servers(client, heap_track, sync_env, settings):
    """Where the environment accepts server events without a key, anyone can post to /api/track: its
    names cannot take the browser's names' tables."""
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    sync_env.keyless_server_api = True
    sync_env.save(update_fields=["keyless_server_api"])
    schema = sync_env.warehouse_schema
    heap_track("Add To Cart")
    sync(sync_env)
    body = {"app_id": sync_env.app_id, "identity": "x@example.com", "event": "Spam"}
    assert client.post("/api/track", data=json.dumps(body), content_type="application/json").status_code == 200
    sync(sync_env)
    assert dict(ApiEvent.objects.values_list("name", "from_server")) == {"Add To Cart": False, "Spam": False}
    assert relation(schema, "add_to_cart") and not relation(schema, "spam")
