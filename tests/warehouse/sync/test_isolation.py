"""One table that cannot be built never stops the others: it keeps its last good version, the run is
partial and names it, the pages render, and later runs try it again (issue 17)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from psycopg2 import sql

from definitions.models import Definition
from definitions.services import definition_create
from warehouse.models import EnvironmentSync, SyncRun
from warehouse.services import sync_run_foreground
from warehouse.sync.build import Builder

from .conftest import T0, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

CLICKS = {"key": "d:1", "table_name": "clicked", "predicate": "e.type = 'click'", "label": "Clicked"}
# A cast of every click's `n` property: fails on the first click whose `n` is not an integer.
BIG_N = {
    "key": "d:2",
    "table_name": "big_n",
    "predicate": "e.type = 'click' AND (e.properties ->> 'n')::int > 5",
    "label": "Big n",
}


def run_sync(environment, *, full=False, status="succeeded"):
    settle()
    run = sync_run_foreground(environment=environment, full=full)
    assert run.status == status, (run.error, run.traceback)
    return run


def count(schema, table):
    return rows(f"SELECT count(*) AS n FROM {schema}.{table}")[0]["n"]  # noqa: S608


def test_a_statement_that_fails_at_build_time_fails_its_table_only(raw, sync_env, set_specs, admin_client):
    schema = sync_env.warehouse_schema
    set_specs(sync_env.id, [CLICKS, BIG_N])
    raw.session(1, 2)
    raw.event("click", user_id=2, properties={"n": 9})
    raw.event("click", user_id=2, properties={"n": 1})
    run_sync(sync_env, full=True)
    assert (count(schema, "clicked"), count(schema, "big_n")) == (2, 1)

    raw.event("click", user_id=2, properties={"n": "many"})  # the cast in big_n's predicate fails on it
    raw.event("click", user_id=2, properties={"n": 7})
    raw.event("pageview", user_id=2)
    for full in (False, False, True):  # the failing append, then a retry from all history, then a full sync
        run = run_sync(sync_env, full=full, status="partial")
        assert (count(schema, "clicked"), count(schema, "pageviews"), count(schema, "big_n")) == (4, 1, 1)
        assert run.tables["big_n"]["action"] == "failed"
        assert 'invalid input syntax for type integer: "many"' in run.tables["big_n"]["error"]
        assert "big_n (Big n)" in run.error
        history = rows(f"SELECT status, error FROM {schema}._sync_history ORDER BY finish_time DESC LIMIT 1")
        assert history[0]["status"] == "partial" and "big_n (Big n): InvalidTextRepresentation" in history[0]["error"]
        info = {row["event_table_name"]: row for row in rows(f"SELECT * FROM {schema}._sync_info")}
        assert info["big_n"]["error"].startswith("InvalidTextRepresentation") and info["clicked"]["error"] is None
        assert info["big_n"]["synced_to_time"] < info["clicked"]["synced_to_time"]  # its last good version's
    # The failing table is still in all_events, with its last good rows.
    assert count(schema, "all_events") == 4 + 1 + 1
    failing = EnvironmentSync.objects.get(environment=sync_env).failing_tables
    assert set(failing) == {"d:2"} and failing["d:2"]["table"] == "big_n"

    page = admin_client.get(f"/e/{schema}/sync/").content.decode()
    assert "Tables that cannot be built" in page and "Big n" in page and "invalid input syntax" in page

    # Fixed (a new version of the spec): the next run builds it from all history, and all is well.
    fixed = BIG_N | {"predicate": "e.type = 'click' AND (e.properties ->> 'n') ~ '^[0-9]+$'", "version": "2"}
    set_specs(sync_env.id, [CLICKS, fixed])
    run = run_sync(sync_env)
    assert run.tables["big_n"]["action"] == "rebuilt" and count(schema, "big_n") == 3
    assert EnvironmentSync.objects.get(environment=sync_env).failing_tables == {}
    assert "Tables that cannot be built" not in admin_client.get(f"/e/{schema}/sync/").content.decode()


def test_a_new_table_that_fails_is_absent_and_the_others_are_built(raw, sync_env, set_specs):
    set_specs(sync_env.id, [CLICKS, BIG_N])
    raw.session(1, 2)
    raw.event("click", user_id=2, properties={"n": "x"})
    run = run_sync(sync_env, full=True, status="partial")
    schema = sync_env.warehouse_schema
    assert count(schema, "clicked") == 1
    assert rows(f"SELECT to_regclass('{schema}.big_n') AS t") == [{"t": None}]
    assert run.tables["big_n"]["action"] == "failed"
    info = {row["event_table_name"]: row for row in rows(f"SELECT * FROM {schema}._sync_info")}
    assert info["big_n"]["sync_ended"] is None and "invalid input syntax" in info["big_n"]["error"]


# A definition whose stored groups the compiler rejects: one an older compiler accepted, or a row
# written by hand. A 199-step descendant chain (the compiler now allows 32), and an unsupported
# pseudo-class.
DEEP = " ".join(["a"] * 199)


@pytest.mark.parametrize("selector", [DEEP, "button:hover"], ids=["deep-chain", "pseudo-class"])
def test_a_stored_definition_that_does_not_compile(raw, sync_env, admin_client, selector):
    schema = sync_env.warehouse_schema
    raw.session(1, 2)
    raw.event("click", user_id=2, target_tag="button", hierarchy=[{"tag": "button"}, {"tag": "html"}])
    good = definition_create(
        environment=sync_env,
        name="Any click",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "*"}]}],
    )
    bad = definition_create(
        environment=sync_env,
        name="Buttons",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "button"}]}],
    )
    run_sync(sync_env, full=True)
    assert count(schema, bad.table_name) == 1
    broken = [{"kind": "click", "conditions": [{"type": "selector", "value": selector}]}]
    Definition.objects.filter(pk=bad.pk).update(groups=broken)
    raw.event("click", user_id=2, target_tag="button", hierarchy=[{"tag": "button"}, {"tag": "html"}])

    run = run_sync(sync_env, status="partial")
    assert run.tables[bad.table_name]["action"] == "failed"
    assert "does not compile" in run.tables[bad.table_name]["error"]
    assert count(schema, good.table_name) == 2 and count(schema, bad.table_name) == 1  # kept its last version

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="sync partial") as raised:
        call_command("sync", schema, "--full", stdout=out, stderr=err)
    assert raised.value.returncode == 3
    assert f"full sync of {schema} partial" in out.getvalue() and count(schema, bad.table_name) == 1
    assert SyncRun.objects.filter(status="failed").count() == 0

    listing = admin_client.get(f"/e/{schema}/definitions/")
    assert listing.status_code == 200 and "does not compile" in listing.content.decode()
    edit = admin_client.get(f"/e/{schema}/definitions/{bad.pk}/")
    html = edit.content.decode()
    assert edit.status_code == 200 and 'id="sync-failure"' in html and 'id="compile-error"' in html
    assert admin_client.get(f"/e/{schema}/definitions/{good.pk}/").status_code == 200
    preview = admin_client.post(
        f"/e/{schema}/definitions/preview",
        {
            "groups": '[{"kind": "click", "conditions": [{"type": "selector", "value": "button"}]}]',
            "definition": bad.pk,
        },
    )
    assert preview.status_code == 200  # the saved version does not compile: nothing to compare with
    preview = admin_client.post(f"/e/{schema}/definitions/preview", {"groups": __import__("json").dumps(broken)})
    assert preview.status_code == 400
    assert admin_client.get(f"/e/{schema}/sync/").status_code == 200


def test_the_list_page_survives_a_predicate_that_fails_when_run(raw, sync_env, admin_client):
    """A stored regex PostgreSQL rejects (saved definitions' regexes are checked; this one was written by hand)."""
    raw.session(1, 2)
    an_hour_ago = (timezone.now() - T0).total_seconds() / 60 - 60  # the list counts the last 7 days
    raw.event("click", user_id=2, target_text="Buy", minutes=an_hour_ago)
    good = definition_create(
        environment=sync_env,
        name="Buy",
        groups=[{"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": "Buy"}]}],
    )
    bad = definition_create(
        environment=sync_env,
        name="Regex",
        groups=[{"kind": "click", "conditions": [{"type": "text", "op": "regex", "value": "B.y"}]}],
    )
    Definition.objects.filter(pk=bad.pk).update(
        groups=[{"kind": "click", "conditions": [{"type": "text", "op": "regex", "value": "B(y"}]}]
    )
    html = admin_client.get(f"/e/{sync_env.warehouse_schema}/definitions/").content.decode()
    assert "fails when run" in html and "invalid" in html
    run = run_sync(sync_env, full=True, status="partial")
    assert run.tables[bad.table_name]["action"] == "failed" and count(sync_env.warehouse_schema, good.table_name) == 1


def test_users_that_cannot_be_built_keep_their_last_version(raw, sync_env, monkeypatch):
    schema = sync_env.warehouse_schema
    raw.user(5, properties={"plan": "pro"})
    raw.session(1, 5)
    raw.event("pageview", user_id=5)
    run_sync(sync_env, full=True)

    def failing(self, **kwargs):  # a statement of the users build that fails in PostgreSQL
        self.execute(sql.SQL("SELECT 1 / 0"))

    monkeypatch.setattr(Builder, "stage_users", failing)
    raw.user(6, properties={"plan": "free"})
    raw.event("pageview", user_id=6)
    for full in (False, True):
        run = run_sync(sync_env, full=full, status="partial")
        assert count(schema, "users") == 1 and count(schema, "pageviews") == 2
        assert "users (Users): DivisionByZero: division by zero" in run.error
    monkeypatch.undo()
    run_sync(sync_env)  # rebuilt from all users, since the changes it missed are below the watermark
    assert rows(f"SELECT user_id, plan FROM {schema}.users ORDER BY 1") == [
        {"user_id": 5, "plan": "pro"},
        {"user_id": 6, "plan": "free"},
    ]
