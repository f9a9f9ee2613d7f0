"""Every URL that names an environment, for every role and for people of another environment.

The walk resolves every pattern of the URL conf; each one that takes an environment parameter must
have a rule in RULES, keyed by its URL name: who may call it (a Permission, or SERVER_KEY for the
definitions API) and a request that would change something if it got through. Each actor sends each
request; the test checks the status (404 for an environment one cannot see, 403 for what one may not
do, the rule's status when allowed) and that a refused request changed nothing in the database or
the job queues. Allowed requests run inside a savepoint that is rolled back, so every actor meets
the same world. A new URL without a rule fails test_every_environment_url_has_a_rule, saying what
to add.
"""

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from psycopg2 import sql

from definitions.models import Definition
from definitions.services import definition_create, definition_update
from warehouse.access import Permission
from warehouse.models import (
    ApiEvent,
    AttachedSchema,
    CsvUpload,
    Environment,
    Membership,
    Project,
    RawEvent,
    RawUser,
    Role,
    SavedQuery,
)
from warehouse.roles import sql_role_name
from warehouse.sources.services import csv_stage, uploads_schema_name
from warehouse.transform import transform_role_name

# URL parameters that name an environment: a pattern with one of these needs a rule.
ENVIRONMENT_PARAMETERS = {"schema", "app_id"}
SERVER_KEY = "server key"  # the definitions API: the environment's server key, whoever is logged in
PUBLIC = "public"  # served to anyone, logged in or not (what a customer's website loads)
# The labeler's JSON endpoints: only from the environment's labeler sites with a labeler token (a login is
# neither; tests/definitions/labeler/test_security.py walks the tokens and origins).
LABELER = "labeler token"
KEY_A, KEY_B, KEY_A2 = "walk-key-a", "walk-key-b", "walk-key-a2"
CLICKS = [{"kind": "click", "conditions": [{"type": "selector", "value": "#buy"}]}]


@dataclass(frozen=True)
class Call:
    need: Permission | str
    method: str = "GET"
    data: Callable[["World"], dict] | dict = field(default_factory=dict)
    ok: int = 200  # the status when allowed
    # Whether the allowed request changes the state (None: it depends on more than the URL, see the rule).
    changes: bool | None = False
    multipart: bool = False
    json: bool = False


def get(need, **kw) -> Call:
    return Call(need, "GET", **kw)


def post(need, *, ok=302, changes=True, **kw) -> Call:
    return Call(need, "POST", ok=ok, changes=changes, **kw)


def api(method, *, ok=200, changes=False, data=None) -> Call:
    return Call(SERVER_KEY, method, data=data or {}, ok=ok, changes=changes, json=True)


def labeler(method, data=None) -> Call:
    return Call(LABELER, method, data=data or {}, json=True)


V, S, E, A, SU = Permission.VIEW, Permission.SQL, Permission.EDIT, Permission.ADMIN, Permission.SUPERUSER


def _definition_form(w: "World") -> dict:
    return {"name": "Bought", "groups": json.dumps(CLICKS)}


def _import_file(w: "World") -> dict:
    document = {"format": "heapsite-definitions/1", "definitions": [{"name": "Imported", "groups": CLICKS}]}
    return {"file": SimpleUploadedFile("defs.json", json.dumps(document).encode(), "application/json")}


def _csv_file(w: "World") -> dict:
    return {"file": SimpleUploadedFile("people.csv", b"email,plan\na@example.com,pro\n", "text/csv")}


# One line per URL name: who may call it and a request that would change something if let through.
RULES: dict[str, list[Call]] = {
    "environment_home": [get(V)],
    "environment_settings": [post(A, data={"display_name": "Walked"})],
    # Deleting needs the admin role of the whole project (none of the walk's actors has it) or a superuser. The
    # walk types a wrong name: a real deletion drops a partition, which cannot happen inside its transaction
    # (tests/heapsite/platform/test_environments_in_app.py deletes for real).
    "environment_delete": [get(SU), post(SU, ok=400, changes=False, data={"confirm": "not_the_schema"})],
    "environment_server_key_rotate": [post(A, ok=200)],
    "environment_keyless_server_api": [post(A, data={"keyless_server_api": "on"})],
    "environment_labeler_sites": [post(A, data={"labeler_origins": "https://walk.example.com"})],
    "heap-script": [get(PUBLIC)],
    "members": [get(A)],
    "members_add": [post(A, data=lambda w: {"username": "stranger", "role": "viewer"})],
    "members_update": [post(A, data={"role": "editor", "can_run_sql": "on"})],
    "members_remove": [post(A)],
    "privacy_settings": [post(A, data={"redacted_query_params": "", "ip_mode": "none"})],
    "privacy_user_delete": [post(A)],
    "warehouse_api_event": [get(V)],
    "warehouse_api_event_sync": [post(E, data={"sync": "off"})],
    "warehouse_sync_status": [get(V)],
    "warehouse_sync_progress": [get(V)],
    "warehouse_sync_now": [post(E, data={"kind": "full"})],
    "warehouse_sync_settings": [post(A, data={"interval_seconds": "600", "paused": "on"})],
    "sql_page": [get(S)],
    "sql_run": [post(S, ok=200, data={"sql": "DELETE FROM pageviews"})],  # refused by the page, and audited
    "sql_cancel": [post(S, ok=200, changes=False, data={"run_token": "walk-token-123"})],
    "sql_csv": [post(S, ok=400, data={"sql": "DELETE FROM pageviews"})],
    "sql_history": [get(S)],
    "sql_saved_create": [post(S, data={"name": "Walked", "sql": "SELECT 1"})],
    # The saved query is viewer_sql's own: its owner and admins change and delete it.
    "sql_saved_update": [post(S, data={"name": "Renamed", "sql": "SELECT 2"})],
    "sql_saved_delete": [post(S)],
    "sources": [get(V)],
    "sources_attach": [post(SU, data={"schema_name": "walk_external"})],
    "sources_detach": [post(SU, data={"schema_name": "walk_attached"})],
    "sources_upload": [post(E, multipart=True, data=_csv_file)],
    "csv_upload": [get(V), post(E, data={"discard": "1"})],
    "sources_drop": [post(E, data={"table_name": "people"})],
    "definitions:raw_events": [get(V)],
    "definitions:raw_events_csv": [get(V)],
    "definitions:raw_top": [get(V)],
    "definitions:raw_event": [get(V)],
    "definitions:users": [get(V)],
    "definitions:user": [get(V)],
    "definitions:index": [get(V)],
    "definitions:new": [get(E), post(E, data=_definition_form)],
    "definitions:preview": [post(V, ok=200, changes=False, data={"groups": json.dumps(CLICKS)})],
    "definitions:export": [get(V)],
    "definitions:import": [post(E, multipart=True, data=_import_file)],
    # Copying needs EDIT on the target too, which not every actor who may read here has (test_copy_*).
    "definitions:copy": [post(V, changes=None, data=lambda w: {"target": "walk_a2", "definition": w.definition.pk})],
    "definitions:edit": [get(V), post(E, data=_definition_form)],
    "definitions:delete": [post(E)],
    "definitions:history": [get(V)],
    "definitions:sync": [post(E, data={"sync": "off"})],
    "definitions:restore": [post(E)],
    # Makes a one-time launch token for the demo shop (served by this heapsite, so allowed by default).
    "definitions:labeler_launch": [post(V, ok=200, data={"url": "http://testserver/demo/"})],
    "definitions:labeler_session": [labeler("POST", {"launch_token": "walk"}), labeler("DELETE")],
    "definitions:labeler_count": [labeler("POST", {"groups": CLICKS, "days": 7})],
    "definitions:labeler_clickmap": [labeler("POST", {"path": "/"})],
    "definitions:labeler_definitions": [labeler("GET"), labeler("POST", {"name": "Labeled", "groups": CLICKS})],
    "definitions:api-collection": [
        api("GET"),
        api("POST", ok=201, changes=True, data={"name": "From the API", "groups": CLICKS}),
    ],
    "definitions:api-validate": [api("POST", data={"groups": CLICKS})],
    "definitions:api-preview": [api("POST", data={"groups": CLICKS})],
    "definitions:api-export": [api("GET")],
    "definitions:api-import": [
        api(
            "POST",
            changes=True,
            data={"format": "heapsite-definitions/1", "definitions": [{"name": "Imp", "groups": CLICKS}]},
        )
    ],
    "definitions:api-copy": [
        api("POST", changes=True, data={"target": "walk_a2", "target_server_key": KEY_A2, "ids": "DEFINITION"})
    ],
    "definitions:api-item": [
        api("GET"),
        api("PATCH", changes=True, data={"description": "patched"}),
        api("DELETE", ok=204, changes=True),
    ],
}


def environment_patterns() -> dict[str, str]:
    """URL name -> route of every pattern (included ones too) that takes an environment parameter."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                space = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), space)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if set(pattern.pattern.regex.groupindex) & ENVIRONMENT_PARAMETERS:
                    found[f"{namespace}{pattern.name}"] = route

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_environment_url_has_a_rule():
    routes = environment_patterns()
    missing = sorted(set(routes) - set(RULES))
    assert not missing, "\n".join(
        f"URL {name!r} ({routes[name]}) has no access rule: add a line to RULES in {__file__}, e.g.\n"
        f'    "{name}": [get(V)],   # or post(E, data=...), get(A), api("GET"), ...'
        for name in missing
    )
    stale = sorted(set(RULES) - set(routes))
    assert not stale, f"RULES names URLs that no longer exist (or take no environment): {stale}"


@dataclass
class World:
    a: Environment
    a2: Environment
    b: Environment
    definition: Definition
    event: RawEvent
    raw_user: RawUser
    api_event: ApiEvent
    saved: SavedQuery
    upload: CsvUpload
    memberships: dict[str, Membership]
    actors: dict[str, Client | None]


def build_world(django_user_model) -> World:
    walk, other = Project.objects.create(name="walk"), Project.objects.create(name="other")

    def environment(project, name, key):
        env = Environment(project=project, name=name, warehouse_schema=f"{project.name}_{name}")
        env.set_api_key(key)
        env.save()
        return env

    a, a2, b = environment(walk, "a", KEY_A), environment(walk, "a2", KEY_A2), environment(other, "b", KEY_B)
    users = {
        name: django_user_model.objects.create_user(name, f"{name}@example.com")
        for name in ("stranger", "viewer", "viewer_sql", "editor", "project_editor", "admin", "other_admin")
    }
    users["superuser"] = django_user_model.objects.create_superuser("superuser", "root@example.com")
    users["other_admin"].is_staff = True
    users["other_admin"].save(update_fields=["is_staff"])
    memberships = {
        "viewer": Membership.objects.create(user=users["viewer"], environment=a, role=Role.VIEWER),
        "viewer_sql": Membership.objects.create(user=users["viewer_sql"], environment=a, can_run_sql=True),
        "editor": Membership.objects.create(user=users["editor"], environment=a, role=Role.EDITOR),
        "project_editor": Membership.objects.create(user=users["project_editor"], project=walk, role=Role.EDITOR),
        "admin": Membership.objects.create(user=users["admin"], environment=a, role=Role.ADMIN),
        "other_admin": Membership.objects.create(
            user=users["other_admin"], environment=b, role=Role.ADMIN, can_run_sql=True
        ),
    }
    definition = definition_create(environment=a, name="Signed up", groups=CLICKS)
    definition_update(definition=definition, description="two versions, so one can be restored")
    now = timezone.now()
    event = RawEvent.objects.create(
        environment=a, event_id="walk-1", type="click", user_id=7, session_id=7, time=now, received_at=now
    )
    raw_user = RawUser.objects.create(environment=a, user_id=7, joindate=now - timedelta(days=1), last_modified=now)
    api_event = ApiEvent.objects.create(
        environment=a, name="Signed Up", name_hash="walk", first_seen_id=1, first_seen_at=now, last_seen_at=now
    )
    saved = SavedQuery.objects.create(environment=a, owner=users["viewer_sql"], name="Mine", sql="SELECT 1")
    upload = csv_stage(
        environment=a, fileobj=io.BytesIO(b"x\n1\n"), filename="staged.csv", size=4, delimiter=None, user=None
    )
    with connection.cursor() as cursor:
        uploads = sql.Identifier(uploads_schema_name(a))
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(uploads))
        cursor.execute(sql.SQL("CREATE TABLE {}.people (email text)").format(uploads))
        cursor.execute("CREATE SCHEMA walk_external; CREATE SCHEMA walk_attached")
    AttachedSchema.objects.create(environment=a, schema_name="walk_attached")

    actors: dict[str, Client | None] = {"anonymous": Client()}
    for name, user in users.items():
        actors[name] = Client()
        actors[name].force_login(user)
    return World(a, a2, b, definition, event, raw_user, api_event, saved, upload, memberships, actors)


def url_kwargs(w: World, name: str) -> dict[str, Any]:
    route_kwargs = {
        "schema": w.a.warehouse_schema,
        "app_id": w.a.app_id,
        "pk": w.definition.pk,
        "number": 1,
        "event_id": w.event.pk,
        "user_id": w.raw_user.user_id,
        "api_event_id": w.api_event.pk,
        "saved_id": w.saved.pk,
        "upload_id": w.upload.pk,
        "membership_id": w.memberships["viewer"].pk,
    }
    return {key: route_kwargs[key] for key in _pattern_parameters(name)}


_PARAMETERS: dict[str, set[str]] = {}


def _pattern_parameters(name: str) -> set[str]:
    if not _PARAMETERS:
        for url_name, route in environment_patterns().items():
            _PARAMETERS[url_name] = {part.split(">")[0].split(":")[-1] for part in route.split("<")[1:]}
    return _PARAMETERS[name]


def expected_status(actor: str, call: Call) -> tuple[int, bool]:
    """What each actor gets for a call that needs ``call.need`` in environment walk/a, and whether it is let in."""
    if call.need == SERVER_KEY:
        return 401, False  # a login is no server key, whoever it is
    if call.need == PUBLIC:
        return call.ok, True
    if call.need == LABELER:
        return 403, False  # no labeler site's Origin, no token: refused before anything else
    if actor == "anonymous":
        return 302, False  # to the login page
    if actor in ("stranger", "other_admin"):
        return 404, False  # walk/a does not exist for them
    allowed = {
        "superuser": set(Permission),
        "admin": {V, S, E, A},
        "editor": {V, E},
        "project_editor": {V, E},
        "viewer_sql": {V, S},
        "viewer": {V},
    }[actor]
    return (call.ok, True) if call.need in allowed else (403, False)


def state_query() -> sql.Composed:
    """One query hashing every app table's rows (sessions and login attempts aside), every relation's name
    and privileges outside the system schemas, and the SQL roles."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'django_session' AND tablename NOT LIKE 'axes\\_%%' ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall()]
    rows = [
        sql.SQL("SELECT {name}, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t").format(
            name=sql.Literal(table), table=sql.Identifier(table)
        )
        for table in tables
    ]
    rows.append(
        sql.SQL(
            "SELECT 'relations', md5(string_agg(n.nspname || '.' || c.relname || coalesce(c.relacl::text, ''), ',' "
            "ORDER BY n.nspname, c.relname)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'v', 'p')"
        )
    )
    # This test's environments' roles only: the server may be shared with other test runs.
    roles = sql.SQL(", ").join(
        sql.Literal(name(environment))
        for environment in Environment.objects.all()
        for name in (sql_role_name, transform_role_name)
    )
    rows.append(
        sql.SQL(
            "SELECT 'roles', md5(coalesce(string_agg(rolname || coalesce(rolconfig::text, ''), ',' ORDER BY rolname), '')) "
            "FROM pg_roles WHERE rolname IN ({})"
        ).format(roles)
    )
    return sql.SQL(" UNION ALL ").join(rows)


def snapshot(query: sql.Composed) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        state = dict(cursor.fetchall())
    return {**state, **queue_counts()}


def queue_counts() -> dict[str, str]:
    return {f"rq:{name}": str(django_rq.get_queue(name).count) for name in settings.RQ_QUEUES}


def writes_seen() -> tuple[int, int]:
    """(rows this transaction has inserted, updated or deleted in any table, system catalogs included —
    a new relation, a grant or a role is a row of pg_class or pg_authid —, the next transaction id any
    connection's finished writes have left). While neither moves, the database is as it was: reading
    them costs a fraction of snapshot()."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid)"
            " + pg_stat_get_xact_tuples_deleted(c.oid)), 0), pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
            " FROM pg_class c WHERE c.relkind IN ('r', 'p', 'm', 't')"
        )
        return tuple(cursor.fetchone())


class _Rollback(Exception):
    pass


def send(w: World, client: Client, name: str, call: Call, *, key: str | None = None):
    kwargs = url_kwargs(w, name)
    data = call.data(w) if callable(call.data) else dict(call.data)
    if data.get("ids") == "DEFINITION":
        data["ids"] = [w.definition.pk]
    path = reverse(name, kwargs=kwargs)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    method = getattr(client, call.method.lower())
    if call.json:
        if call.method == "GET":
            return client.get(path, **headers)
        return method(path, json.dumps(data), content_type="application/json", **headers)
    if call.method == "GET":
        return client.get(path, data, **headers)
    return method(path, data, **headers)  # multipart, the test client's default for POST


def test_every_role_gets_what_its_rule_says_and_a_refusal_changes_nothing(django_user_model, db):
    world = build_world(django_user_model)
    query = state_query()
    before = snapshot(query)
    failures: list[str] = []

    def attempt(name, call, actor, client, expected, let_in, key=None):
        try:
            with transaction.atomic():
                written = writes_seen()
                response = send(world, client, name, call, key=key)
                # Every table hashed again only when something was written (perhaps the same values,
                # perhaps by another connection): most refusals write nothing, and hashing after each
                # of the ~660 requests took as long as a third of the walk.
                after = snapshot(query) if writes_seen() != written else {**before, **queue_counts()}
                raise _Rollback(response, after)
        except _Rollback as rolled_back:
            response, after = rolled_back.args
        changed = sorted(k for k in before if before[k] != after.get(k))
        label = f"{call.method} {name} as {actor}{' with ' + key if key else ''}"
        if response.status_code != expected:
            failures.append(f"{label}: status {response.status_code}, expected {expected}")
        elif let_in and call.changes is not None:
            if bool(changed) != call.changes:
                failures.append(f"{label}: {'changed ' + str(changed) if changed else 'changed nothing'}")
        elif not let_in and changed:
            failures.append(f"{label}: refused with {expected} but changed {changed}")

    for name, calls in RULES.items():
        for call in calls:
            for actor, client in world.actors.items():
                attempt(name, call, actor, client, *expected_status(actor, call))
            if call.need == SERVER_KEY:
                anonymous = world.actors["anonymous"]
                attempt(name, call, "anonymous", anonymous, 401, False, key=KEY_B)  # another environment's key
                attempt(name, call, "anonymous", anonymous, call.ok, True, key=KEY_A)
    assert snapshot(query) == before
    assert not failures, "\n".join(failures)


def test_copy_needs_edit_on_the_target(client, django_user_model, db):
    world = build_world(django_user_model)
    url = reverse("definitions:copy", args=["walk_a"])
    body = {"target": "walk_a2", "definition": world.definition.pk}
    world.actors["editor"].post(url, body)  # editor of walk/a only: walk/a2 is not theirs
    assert not Definition.objects.filter(environment=world.a2).exists()
    world.actors["project_editor"].post(url, body)  # editor of every environment of the project
    assert Definition.objects.filter(environment=world.a2, name="Signed up").exists()
    world.actors["viewer"].post(url, {**body, "target": "other_b"})  # a target one cannot see reads as missing
    assert not Definition.objects.filter(environment=world.b).exists()
