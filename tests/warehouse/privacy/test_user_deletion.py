"""User deletion through the real API, a real worker and the real sync: nothing of the person stays."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client

from tests.warehouse.sync.conftest import settle
from warehouse.identity import user_id_for_identity
from warehouse.models import (
    IdentityMerge,
    Membership,
    RawEvent,
    RawSession,
    RawUser,
    Role,
    SyncRun,
    UserDeletionRequest,
)
from warehouse.services import sync_run_foreground
from warehouse.sync import engine
from warehouse.sync.tables import sync_private_schema

from .conftest import SERVER_KEY, relations, run_worker, table_rows

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@example.com"
ALICE_ID = user_id_for_identity(ALICE)
BOB_ID = user_id_for_identity("bob@example.com")
ALICE_PHONE_ANON, ALICE_LAPTOP_ANON, BOB_ANON = 1111111111, 2222222222, 3333333333
SPECS = [
    {"key": "d:cta", "table_name": "clicked_cta", "predicate": "e.type = 'click'", "event_types": ["click"]},
    {
        "key": "d:paid",
        "table_name": "paid",
        "predicate": "e.type = 'custom' AND e.event_name = 'Paid'",
        "event_types": ["custom"],
    },
]


def browser_batch(app_id: str, anonymous_id: int, session_id: int, identity: str, prefix: str) -> dict:
    now = int(time.time() * 1000)
    hierarchy = [{"tag": "button", "id": "cta"}, {"tag": "body"}, {"tag": "html"}]
    return {
        "app_id": app_id,
        "sent_at": now,
        "user_id": anonymous_id,
        "identity": identity,
        "session": {"id": session_id, "start_time": now - 5000, "landing_page": "https://shop.example/"},
        "events": [
            {"id": f"{prefix}-pv", "type": "pageview", "time": now - 4000, "path": "/", "title": "Shop"},
            {
                "id": f"{prefix}-click",
                "type": "click",
                "time": now - 3000,
                "path": "/",
                "target": {"tag": "button", "id": "cta", "text": "Buy"},
                "hierarchy": hierarchy,
            },
        ],
    }


def post_json(client, path: str, body: dict, key: str = SERVER_KEY):
    return client.post(path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def ingest_person(client, app_id: str, identity: str, devices: list[tuple[int, int]], label: str) -> None:
    """A person who browsed (and identified) on each device, then paid (a server-side event)."""
    for number, (anonymous_id, session_id) in enumerate(devices):
        body = browser_batch(app_id, anonymous_id, session_id, identity, f"{label}{number}")
        assert client.post("/api/collect", data=json.dumps(body), content_type="text/plain").status_code == 200
    paid = {"app_id": app_id, "identity": identity, "event": "Paid", "properties": {"amount": 30}}
    assert post_json(client, "/api/track", paid).status_code == 200


def warehouse_rows(environment) -> dict[str, list[dict]]:
    """Every row of every table and view of the environment's warehouse and of its stored event rows
    (also those a full sync replaced, until it drops them)."""
    schemas = [environment.warehouse_schema] + [sync_private_schema(k, environment.id) for k in ("data", "replaced")]
    return {
        f"{schema}.{name}": sorted(table_rows(schema, name), key=repr)
        for schema in schemas
        for name in relations(schema)
        if not name.startswith("_sync")
    }


def mentions(rows: dict[str, list[dict]], user_ids: set[int], text: str) -> list[str]:
    """Tables with a row carrying one of the user ids, or the text, anywhere."""
    found = []
    for table, table_rows_ in rows.items():
        for row in table_rows_:
            if user_ids & {value for value in row.values() if isinstance(value, int)} or text in str(row):
                found.append(table)
                break
    return found


def raw_of(user_ids: set[int]) -> dict[str, int]:
    return {
        "events": RawEvent.objects.filter(user_id__in=user_ids).count(),
        "sessions": RawSession.objects.filter(user_id__in=user_ids).count(),
        "users": RawUser.objects.filter(user_id__in=user_ids).count(),
        "merges": IdentityMerge.objects.filter(Q(from_user_id__in=user_ids) | Q(to_user_id__in=user_ids)).count(),
    }


def test_deleting_an_identified_user_removes_them_and_their_merged_ids_everywhere(client, sync_env, set_specs, queues):
    set_specs(sync_env.id, SPECS)
    app_id = sync_env.app_id
    ingest_person(client, app_id, ALICE, [(ALICE_PHONE_ANON, 11), (ALICE_LAPTOP_ANON, 12)], "alice")
    ingest_person(client, app_id, "bob@example.com", [(BOB_ANON, 21)], "bob")
    alice_ids = {ALICE_ID, ALICE_PHONE_ANON, ALICE_LAPTOP_ANON}
    assert raw_of(alice_ids) == {"events": 5, "sessions": 3, "users": 3, "merges": 2}
    settle()
    assert sync_run_foreground(environment=sync_env, full=True).status == "succeeded"
    before = warehouse_rows(sync_env)
    schema = sync_env.warehouse_schema
    # Alice is in all three event tables, all_events, users, sessions and user_migrations.
    for table in ("pageviews", "clicked_cta", "paid", "all_events", "users", "sessions", "user_migrations"):
        assert f"{schema}.{table}" in mentions(before, {ALICE_ID}, ALICE), table
    bob_before = {table: [row for row in rows if ALICE_ID not in row.values()] for table, rows in before.items()}
    bob_raw = raw_of({BOB_ID, BOB_ANON})

    answer = post_json(client, "/api/public/v0/user_deletion", {"app_id": app_id, "users": [{"identity": ALICE}]})
    assert answer.status_code == 200
    request_id = answer.json()["deletion_request_id"]
    assert answer.json()["status"] == "pending"
    status_url = f"/api/public/v0/deletion_status/{request_id}"
    assert client.get(status_url, HTTP_AUTHORIZATION=f"Bearer {SERVER_KEY}").json()["status"] == "pending"

    run_worker()  # the deletion job, then the sync it requested

    status = client.get(status_url, HTTP_AUTHORIZATION=f"Bearer {SERVER_KEY}").json()
    assert status["status"] == "done"
    assert status["users_requested"] == 1
    assert status["deleted"] == {"events": 5, "sessions": 3, "users": 3, "identity_merges": 2}
    assert status["warehouse"] == "done" and status["warehouse_done_at"]
    assert raw_of(alice_ids) == {"events": 0, "sessions": 0, "users": 0, "merges": 0}
    assert raw_of({BOB_ID, BOB_ANON}) == bob_raw
    after = warehouse_rows(sync_env)
    assert mentions(after, alice_ids, ALICE) == []
    assert after == bob_before, "everything else is untouched"
    privacy_run = SyncRun.objects.filter(environment=sync_env, trigger="privacy").get()
    assert privacy_run.status == "succeeded"
    assert privacy_run.tables["pageviews"]["deleted"] == 2 and privacy_run.tables["users"]["deleted"] == 1
    # What is recorded: who and how much, not the identity.
    request = UserDeletionRequest.objects.get(pk=request_id)
    assert request.targets == [] and ALICE not in str(UserDeletionRequest.objects.values().get(pk=request_id))

    # The same request again: recorded, and a no-op.
    again = post_json(client, "/api/public/v0/user_deletion", {"app_id": app_id, "users": [{"identity": ALICE}]})
    run_worker()
    status = client.get(f"/api/public/v0/deletion_status/{again.json()['deletion_request_id']}").json()
    assert status["error"] == "server key required"
    status = client.get(
        f"/api/public/v0/deletion_status/{again.json()['deletion_request_id']}",
        HTTP_AUTHORIZATION=f"Bearer {SERVER_KEY}",
    ).json()
    assert status["status"] == "done" and status["warehouse"] == "done"
    assert status["deleted"] == {"events": 0, "sessions": 0, "users": 0, "identity_merges": 0}
    assert SyncRun.objects.filter(environment=sync_env, trigger="privacy").count() == 1
    assert warehouse_rows(sync_env) == after

    # Later events for the same identity make a new user, with only what came after.
    paid = {"app_id": app_id, "identity": ALICE, "event": "Paid", "properties": {"amount": 5}}
    assert post_json(client, "/api/track", paid).status_code == 200
    settle()
    assert sync_run_foreground(environment=sync_env, full=False).status == "succeeded"
    assert [row["user_id"] for row in table_rows(schema, "paid") if row["user_id"] == ALICE_ID] == [ALICE_ID]
    assert [row["identity"] for row in table_rows(schema, "users") if row["user_id"] == ALICE_ID] == [ALICE]
    assert RawEvent.objects.filter(user_id__in=alice_ids).count() == 1


def test_deleting_by_an_anonymous_id_deletes_the_person_it_merged_into(client, sync_env, queues):
    ingest_person(client, sync_env.app_id, ALICE, [(ALICE_PHONE_ANON, 11), (ALICE_LAPTOP_ANON, 12)], "alice")
    body = {"app_id": sync_env.app_id, "users": [{"user_id": ALICE_LAPTOP_ANON}, {"user_id": 987654321}]}
    request_id = post_json(client, "/api/public/v0/user_deletion", body).json()["deletion_request_id"]
    run_worker()
    request = UserDeletionRequest.objects.get(pk=request_id)
    assert (request.status, request.users_requested, request.users_deleted) == ("done", 2, 3)
    assert raw_of({ALICE_ID, ALICE_PHONE_ANON, ALICE_LAPTOP_ANON})["events"] == 0


def test_deletions_committed_while_nothing_was_synced_are_applied_by_a_full_sync_too(
    client, sync_env, queues, monkeypatch
):
    ingest_person(client, sync_env.app_id, ALICE, [(ALICE_PHONE_ANON, 11)], "alice")
    settle()
    sync_run_foreground(environment=sync_env, full=True)
    post_json(client, "/api/public/v0/user_deletion", {"app_id": sync_env.app_id, "users": [{"user_id": ALICE_ID}]})
    from warehouse.privacy.services import user_deletion_execute

    user_deletion_execute(request_id=UserDeletionRequest.objects.get().pk)  # in-process, no sync run by a worker
    settle()
    # The full sync's worker dies right after its swap commits, before it drops what it replaced:
    # the deleted person's rows are gone all the same (they went in the swap that marked them done).
    monkeypatch.setattr(engine, "_drop_private_schemas", lambda builder: None)
    assert sync_run_foreground(environment=sync_env, full=True).status == "succeeded"
    assert mentions(warehouse_rows(sync_env), {ALICE_ID, ALICE_PHONE_ANON}, ALICE) == []
    assert UserDeletionRequest.objects.get().warehouse_done_at is not None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"users": [{"identity": ALICE}]}, "app_id", "is required"),
        ({"app_id": "APP", "users": []}, "users", "needs at least 1 item"),
        ({"app_id": "APP", "users": [{}]}, "users[0]", "give exactly one of identity, user_id or anonymous_id"),
        ({"app_id": "APP", "users": [{"identity": ALICE, "user_id": 5}]}, "users[0]", "give exactly one"),
        ({"app_id": "APP", "users": [{"email": ALICE}]}, "users[0].email", "is not a known field"),
        ({"app_id": "APP", "users": [{"user_id": -3}]}, "users[0].user_id", "must be between"),
        ({"app_id": "APP", "users": [{"identity": "x" * 256}]}, "users[0].identity", "255"),
        ({"app_id": "APP", "users": [{"user_id": 1}] * 10_001}, "users", "the limit is 10000"),
    ],
)
def test_bad_deletion_requests_name_the_problem_and_record_nothing(client, sync_env, body, field, message):
    body = json.loads(json.dumps(body).replace('"APP"', json.dumps(sync_env.app_id)))
    answer = post_json(client, "/api/public/v0/user_deletion", body)
    assert answer.status_code == 400
    details = answer.json()["details"]
    assert any(detail["field"] == field and message in detail["message"] for detail in details), details
    assert not UserDeletionRequest.objects.exists()


def test_deletion_needs_the_server_key_of_that_environment(client, sync_env, make_environment):
    body = {"app_id": sync_env.app_id, "users": [{"user_id": 1}]}
    assert post_json(client, "/api/public/v0/user_deletion", body, key="wrong").status_code == 401
    other = make_environment("other", "production", api_key="other-key")
    assert post_json(client, "/api/public/v0/user_deletion", body, key="other-key").status_code == 401
    assert client.post("/api/public/v0/user_deletion", data=json.dumps(body), content_type="application/json").json()[
        "error"
    ] == ("server key required")
    ok = post_json(client, "/api/public/v0/user_deletion", body)
    request_id = ok.json()["deletion_request_id"]
    wrong = client.get(f"/api/public/v0/deletion_status/{request_id}", HTTP_AUTHORIZATION=f"Bearer {other.app_id}")
    assert wrong.status_code == 401
    wrong = client.get(f"/api/public/v0/deletion_status/{request_id}", HTTP_AUTHORIZATION="Bearer other-key")
    assert wrong.status_code == 401
    missing = client.get("/api/public/v0/deletion_status/not-a-uuid", HTTP_AUTHORIZATION=f"Bearer {SERVER_KEY}")
    assert missing.status_code == 404


def test_deletion_needs_the_key_also_where_server_events_do_not(client, sync_env):
    # An environment that takes Heap-style server events without a key (its app id is public)
    # still wants the key to delete people or to read what a deletion removed.
    sync_env.keyless_server_api = True
    sync_env.save(update_fields=["keyless_server_api"])
    track = {"app_id": sync_env.app_id, "identity": ALICE, "event": "Paid"}
    assert client.post("/api/track", data=json.dumps(track), content_type="application/json").status_code == 200
    body = {"app_id": sync_env.app_id, "users": [{"identity": ALICE}]}
    keyless = client.post("/api/public/v0/user_deletion", data=json.dumps(body), content_type="application/json")
    assert (keyless.status_code, keyless.json()["error"]) == (401, "server key required")
    assert not UserDeletionRequest.objects.exists()
    request_id = post_json(client, "/api/public/v0/user_deletion", body).json()["deletion_request_id"]
    assert client.get(f"/api/public/v0/deletion_status/{request_id}").status_code == 401
    keyed = client.get(f"/api/public/v0/deletion_status/{request_id}", HTTP_AUTHORIZATION=f"Bearer {SERVER_KEY}")
    assert keyed.status_code == 200


def test_admins_delete_a_user_from_their_page(admin_client, django_user_model, sync_env, queues):
    ingest_person(admin_client, sync_env.app_id, ALICE, [(ALICE_PHONE_ANON, 11)], "alice")
    page = admin_client.get(f"/e/{sync_env.warehouse_schema}/users/{ALICE_ID}/").content.decode()
    assert "Delete this user" in page

    analyst = django_user_model.objects.create_user("analyst", password="pw-for-tests-only")
    Membership.objects.create(user=analyst, environment=sync_env, role=Role.EDITOR)
    client = Client()
    client.force_login(analyst)
    assert "Delete this user" not in client.get(f"/e/{sync_env.warehouse_schema}/users/{ALICE_ID}/").content.decode()
    assert client.post(f"/e/{sync_env.warehouse_schema}/users/{ALICE_ID}/delete").status_code == 403
    assert not UserDeletionRequest.objects.exists()

    answer = admin_client.post(f"/e/{sync_env.warehouse_schema}/users/{ALICE_ID}/delete", follow=True)
    request = UserDeletionRequest.objects.get()
    assert (request.source, request.requested_by.username, request.status) == ("ui", "admin", "pending")
    assert f"Deletion request {request.pk} queued" in answer.content.decode()
    run_worker()
    request.refresh_from_db()
    assert (request.status, request.events_deleted, request.users_deleted) == ("done", 3, 2)
    assert admin_client.get(f"/e/{sync_env.warehouse_schema}/users/{ALICE_ID}/").status_code == 404
    page = admin_client.get(f"/e/{sync_env.warehouse_schema}/").content.decode()
    assert f'data-deletion="{request.pk}"' in page and "admin" in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM privacy_warehouse_deletion WHERE cardinality(user_ids) > 0")
        assert cursor.fetchone()[0] == 0, "the warehouse applied it: the user ids are not kept"


def test_the_docs_example_is_accepted(client, sync_env, queues):
    doc = (Path(__file__).resolve().parents[3] / "docs" / "privacy.md").read_text()
    path, body = re.search(r"curl -X POST http://127\.0\.0\.1:8000(/api/[\w/]+).*?-d '(\{.*?\})'", doc, re.S).groups()
    answer = post_json(client, path, json.loads(body.replace('"1234567890"', json.dumps(sync_env.app_id))))
    assert answer.status_code == 200
    assert UserDeletionRequest.objects.get().users_requested == 2
    assert set(answer.json()) == set(json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1).replace("…", "")))


def test_a_request_whose_job_was_lost_is_queued_again_by_the_scheduler(client, sync_env, queues):
    import django_rq

    from warehouse.privacy.jobs import user_deletion_requeue_stale

    ingest_person(client, sync_env.app_id, ALICE, [(ALICE_PHONE_ANON, 11)], "alice")
    body = {"app_id": sync_env.app_id, "users": [{"identity": ALICE}]}
    request_id = post_json(client, "/api/public/v0/user_deletion", body).json()["deletion_request_id"]
    django_rq.get_connection("default").flushdb()  # Redis lost its queue
    assert user_deletion_requeue_stale() == [], "a young request may still be on its way"
    UserDeletionRequest.objects.filter(pk=request_id).update(created_at=datetime.now(UTC) - timedelta(minutes=11))
    assert user_deletion_requeue_stale() == [request_id]
    assert user_deletion_requeue_stale() == [], "queued once"
    run_worker()
    assert UserDeletionRequest.objects.get(pk=request_id).status == "done"
    assert raw_of({ALICE_ID, ALICE_PHONE_ANON})["events"] == 0


def test_a_segment_visitor_who_never_identified_is_deleted_by_anonymous_id(client, sync_env):
    """Segment's drop-in API stores an anonymousId under a user id derived from it: the deletion
    API takes the anonymousId itself (the derived id is heapsite's business)."""
    import base64

    from warehouse.privacy.services import user_deletion_execute

    auth = "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
    for anonymous in ("anon-7f3a", "anon-other"):
        body = {"anonymousId": anonymous, "event": "Viewed Plan", "messageId": f"m-{anonymous}"}
        response = client.post(
            "/v1/track", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
        )
        assert response.status_code == 200, response.content
    assert RawEvent.objects.filter(environment=sync_env).count() == 2
    answer = post_json(
        client, "/api/public/v0/user_deletion", {"app_id": sync_env.app_id, "users": [{"anonymous_id": "anon-7f3a"}]}
    )
    assert answer.status_code == 200, answer.content
    user_deletion_execute(request_id=UserDeletionRequest.objects.get().pk)
    assert list(RawEvent.objects.filter(environment=sync_env).values_list("event_id", flat=True)) == [
        "seg-m-anon-other"
    ]
    empty = post_json(
        client, "/api/public/v0/user_deletion", {"app_id": sync_env.app_id, "users": [{"anonymous_id": ""}]}
    )
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "users[0].anonymous_id"
