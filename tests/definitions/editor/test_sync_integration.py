"""Definitions through the real sync: the provider's compiled predicates build warehouse tables."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from definitions.services import definition_create, definition_rename
from tests.conftest import drop_warehouse_schemas
from tests.warehouse.sync.conftest import settle
from warehouse.models import RawEvent, RawSession
from warehouse.services import sync_run_foreground

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def env(transactional_db, make_environment):
    environment = make_environment(name="defsync")
    yield environment
    drop_warehouse_schemas(environment)


def click(environment, event_id, hierarchy, **fields):
    target = hierarchy[0]
    return RawEvent.objects.create(
        environment=environment,
        event_id=event_id,
        user_id=7,
        session_id=1,
        time=T0,
        received_at=T0,
        type="click",
        target_tag=target["tag"],
        target_id=target.get("id", ""),
        target_classes=target.get("classes", []),
        hierarchy=hierarchy,
        **fields,
    )


def table_ids(schema, table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT event_id FROM "{schema}"."{table}" ORDER BY event_id')  # noqa: S608 - test names
        return [row[0] for row in cursor.fetchall()]


def test_a_definition_becomes_a_table_and_a_rename_renames_it(env):
    RawSession.objects.create(environment=env, session_id=1, user_id=7, time=T0, last_event_time=T0, last_modified=T0)
    body = [{"tag": "body"}, {"tag": "html"}]
    hit = click(env, "hit", [{"tag": "button", "classes": ["btn"]}, {"tag": "form", "id": "signup"}, *body])
    click(env, "miss", [{"tag": "button", "classes": ["btn"]}, {"tag": "form", "id": "login"}, *body])
    definition = definition_create(
        environment=env,
        name="Signup button",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "#signup .btn"}]}],
    )
    settle()
    run = sync_run_foreground(environment=env, full=True)
    assert run.status == "succeeded", run.traceback
    assert table_ids(env.warehouse_schema, "signup_button") == [hit.id]
    definition_rename(definition=definition, name="Clicked signup")
    settle()
    run = sync_run_foreground(environment=env, full=False)
    assert run.status == "succeeded", run.traceback
    assert table_ids(env.warehouse_schema, "clicked_signup") == [hit.id]
