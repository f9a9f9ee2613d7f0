"""End to end with the real definitions app: saving, renaming and deleting a definition reaches the warehouse."""

import pytest

from definitions.services import definition_create, definition_delete, definition_rename
from warehouse.models import SyncRun, TableChangeRequest
from warehouse.services import sync_run_foreground

from .conftest import rows, settle

pytestmark = pytest.mark.django_db(transaction=True)


def sync(environment):
    settle()
    run = sync_run_foreground(environment=environment, full=False)
    assert run.status == "succeeded", run.traceback
    return run


def test_definition_lifecycle_reaches_the_warehouse(raw, sync_env, sync_queue):
    raw.session(1, 4)
    hit = raw.event(
        "click",
        user_id=4,
        target_tag="button",
        target_id="cta",
        target_text="Start",
        hierarchy=[{"tag": "button", "id": "cta", "classes": [], "attrs": {}}, {"tag": "body"}, {"tag": "html"}],
    )
    raw.event(
        "click",
        user_id=4,
        target_tag="a",
        target_text="Other",
        hierarchy=[{"tag": "a", "classes": [], "attrs": {}}, {"tag": "body"}, {"tag": "html"}],
    )
    sync(sync_env)
    schema = sync_env.warehouse_schema
    definition = definition_create(
        environment=sync_env,
        name="Clicked CTA",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "#cta"}]}],
    )
    assert TableChangeRequest.objects.filter(change="saved").count() == 1
    assert SyncRun.objects.filter(trigger="definition change", status="queued").count() == 1
    assert len(sync_queue.jobs) == 1
    sync(sync_env)
    table = definition.table_name
    assert [r["event_id"] for r in rows(f"SELECT event_id FROM {schema}.{table}")] == [hit.id]
    assert TableChangeRequest.objects.filter(handled_at__isnull=True).count() == 0

    definition = definition_rename(definition=definition, name="Pressed CTA")
    assert definition.table_name != table
    run = sync(sync_env)
    assert run.tables[definition.table_name]["action"] == "renamed"
    assert [r["event_id"] for r in rows(f"SELECT event_id FROM {schema}.{definition.table_name}")] == [hit.id]

    definition_delete(definition=definition)
    sync(sync_env)
    assert rows(f"SELECT to_regclass('{schema}.{definition.table_name}') AS t") == [{"t": None}]
