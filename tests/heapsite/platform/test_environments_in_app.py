"""Environments are created, renamed and deleted in the app; the switcher keeps the section; each person's time
zone; the docs, favicon and error pages a new user meets."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection

from warehouse.models import Environment, Membership, Project, RawEvent, Role, SavedQuery


def test_a_superuser_creates_an_environment_with_a_derived_schema_and_sees_its_key_once(admin_client, db):
    page = admin_client.get("/environments/new").content.decode()
    assert "&lt;project&gt;_&lt;environment&gt;" in page  # the schema rule, readable
    response = admin_client.post(
        "/environments/new", {"project": "shop", "name": "staging", "display_name": "Shop (staging)"}
    )
    assert response.status_code == 200
    environment = Environment.objects.get(warehouse_schema="shop_staging")
    assert environment.label == "Shop (staging)"
    key = re.search(r'<pre id="server-key">(hs_[^<]+)</pre>', response.content.decode()).group(1)
    assert environment.check_api_key(key)
    assert "Created Shop (staging)" in response.content.decode()
    dashboard = admin_client.get("/").content.decode()
    assert "Shop (staging)" in dashboard and 'href="/environments/new"' in dashboard


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"project": "", "name": "x"}, "env-project-error", "give the project"),
        ({"project": "Shop", "name": "x"}, "env-project-error", "must start with a lowercase letter"),
        ({"project": "main", "name": "production"}, "env-name-error", "already has an environment named"),
        ({"project": "main", "name": "pro duction"}, "env-name-error", "must start with a lowercase letter"),
        # main_production's uploads and models schemas, reached from another name or project:
        # the new environment's role would be granted them, and deleting it would drop them.
        ({"project": "main", "name": "production_uploads"}, "env-name-error", "which exists already"),
        ({"project": "main_production", "name": "models"}, "env-name-error", "which exists already"),
        # Where every environment's uploads are staged.
        ({"project": "heapsite", "name": "staging"}, "env-name-error", "which exists already"),
    ],
)
def test_a_bad_environment_is_refused_next_to_its_field(admin_client, environment, form, field, message):
    response = admin_client.post("/environments/new", form)
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(rf'<span class="error" id="{field}">[^<]*{re.escape(message)}', body.replace("&#x27;", "'")), body
    assert Environment.objects.count() == 1


def test_a_schema_made_outside_heapsite_is_never_taken_over(admin_client, environment):
    # E.g. a schema another tool fills and a DBA attached to an environment as a data source.
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA billing_export")
    response = admin_client.post("/environments/new", {"project": "billing", "name": "export"})
    assert response.status_code == 400
    assert "the schema &#x27;billing_export&#x27;, which exists already" in response.content.decode()
    assert Environment.objects.count() == 1


def test_only_superusers_and_project_admins_create_environments(client, django_user_model, environment):
    member = django_user_model.objects.create_user("member", password="pw")
    Membership.objects.create(user=member, environment=environment, role=Role.ADMIN)
    client.force_login(member)
    assert client.get("/environments/new").status_code == 403
    Membership.objects.create(user=member, project=environment.project, role=Role.ADMIN)
    assert client.get("/environments/new").status_code == 200
    refused = client.post("/environments/new", {"project": "elsewhere", "name": "x"})
    assert refused.status_code == 400 and "only in projects you are an admin of" in refused.content.decode()
    assert client.post("/environments/new", {"project": "main", "name": "staging"}).status_code == 200
    assert Environment.objects.filter(warehouse_schema="main_staging").exists()


def test_admins_rename_the_display_name_and_the_schema_stays(admin_client, environment):
    response = admin_client.post(f"/e/{environment.warehouse_schema}/settings", {"display_name": "  Acme   live "})
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.display_name == "Acme live" and environment.warehouse_schema == "main_production"
    page = admin_client.get(f"/e/{environment.warehouse_schema}/").content.decode()
    assert "<h1>Acme live</h1>" in page and "main / production" in page


@pytest.mark.django_db(transaction=True)  # dropping the raw_events partition cannot share a transaction with writes
def test_deleting_needs_the_schema_typed_and_says_what_goes(admin_client, environment):
    SavedQuery.objects.create(environment=environment, name="Kept?", sql="SELECT 1")
    RawEvent.objects.create(
        environment=environment,
        event_id="e1",
        user_id=1,
        session_id=1,
        time=datetime(2026, 1, 1, tzinfo=UTC),
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        type="pageview",
    )
    url = f"/e/{environment.warehouse_schema}/delete"
    page = admin_client.get(url).content.decode()
    assert "1 saved query" in page and "warehouse schema <code>main_production</code>" in page
    assert "<strong>1 event</strong>, 0 sessions, 0 users" in page
    wrong = admin_client.post(url, {"confirm": "main"})
    assert wrong.status_code == 400 and "type main_production exactly" in wrong.content.decode()
    assert Environment.objects.filter(pk=environment.pk).exists()
    done = admin_client.post(url, {"confirm": "main_production"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert not Environment.objects.filter(pk=environment.pk).exists()
    assert not SavedQuery.objects.exists() and not RawEvent.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'main_production'")
        assert cursor.fetchone() is None


def test_an_environment_admin_may_not_delete_it(client, django_user_model, environment):
    member = django_user_model.objects.create_user("envadmin", password="pw")
    Membership.objects.create(user=member, environment=environment, role=Role.ADMIN)
    client.force_login(member)
    assert client.get(f"/e/{environment.warehouse_schema}/delete").status_code == 403
    assert "Delete this environment" not in client.get(f"/e/{environment.warehouse_schema}/").content.decode()


def test_the_switcher_keeps_the_section(admin_client, make_environment):
    make_environment(name="production")
    make_environment(name="development")
    body = admin_client.get("/e/main_production/raw/top/").content.decode()
    assert '<option value="/e/main_development/raw/top/"' in body
    body = admin_client.get("/e/main_production/definitions/").content.decode()
    assert '<option value="/e/main_development/definitions/"' in body
    body = admin_client.get("/e/main_production/users/123/").content.decode()  # a person is not in the other one
    assert '<option value="/e/main_development/users/"' in body


def test_each_person_sees_times_in_their_own_time_zone(admin_client, environment):
    saved = admin_client.post("/account/", {"time_zone": "Asia/Tokyo"})
    assert saved.status_code == 302
    Project.objects.filter(pk=environment.project_id).update(created_at=datetime(2026, 1, 1, 12, tzinfo=UTC))
    from warehouse.display import format_time

    body = admin_client.get("/account/").content.decode()
    assert '<option value="Asia/Tokyo" selected>' in body
    bad = admin_client.post("/account/", {"time_zone": "Mars/Olympus"}, follow=True)
    assert "is not a time zone name" in bad.content.decode()
    assert format_time(datetime(2026, 1, 1, 12, tzinfo=UTC)) == "2026-01-01 12:00:00 UTC"  # outside a request


def test_docs_are_pages_with_links_between_them(admin_client, db):
    body = admin_client.get("/docs/sql/").content.decode()
    assert "<h1" in body and 'href="/docs/architecture/' in body
    assert admin_client.get("/docs/sql.md", follow=True).redirect_chain[-1][0] == "/docs/sql/"
    assert admin_client.get("/docs/nope/").status_code == 404
    assert admin_client.get("/docs/..%2Fsettings/").status_code == 404


def test_favicon_and_a_404_page_with_navigation(admin_client, client, db):
    assert client.get("/favicon.ico")["Location"].endswith("favicon.svg")
    missing = admin_client.get("/no/such/page/")
    assert missing.status_code == 404
    body = missing.content.decode()
    assert 'class="topbar"' in body and 'href="/"' in body and "Nothing here" in body
