import psycopg2
import pytest
from django.db import connection

from warehouse.models import AttachedSchema, SourceAuditAction, SourceAuditEntry
from warehouse.sources.selectors import sources_overview
from warehouse.sources.services import SourceError, readable_extra_schemas, schema_attach, schema_detach
from warehouse.sync.tables import sync_private_schema


@pytest.fixture
def salesforce(drop_schemas):
    drop_schemas("salesforce")
    drop_schemas("billing")
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA salesforce")
        cursor.execute("CREATE TABLE salesforce.accounts (email text, is_won boolean)")
        cursor.execute("INSERT INTO salesforce.accounts VALUES ('ann@example.com', true)")
        cursor.execute("CREATE SCHEMA billing")
        cursor.execute("CREATE TABLE billing.invoices (email text, amount numeric)")
    return "salesforce"


def test_attached_schema_is_readable_listed_and_audited(environment, salesforce, as_role, admin_user):
    schema_attach(environment=environment, schema_name="salesforce", user=admin_user)
    assert as_role("SELECT email, is_won FROM salesforce.accounts") == [("ann@example.com", True)]
    with connection.cursor() as cursor:  # a table another tool creates later is readable too
        cursor.execute("CREATE TABLE salesforce.opportunities (id int)")
        cursor.execute("INSERT INTO salesforce.opportunities VALUES (7)")
    assert as_role("SELECT id FROM salesforce.opportunities") == [(7,)]
    assert "salesforce" in readable_extra_schemas(environment)
    overview = sources_overview(environment)
    assert [(item.schema_name, sorted(t for t, *_ in item.tables)) for item in overview["attached"]] == [
        ("salesforce", ["accounts", "opportunities"])
    ]
    entry = SourceAuditEntry.objects.get()
    assert (entry.action, entry.schema_name, entry.user) == (SourceAuditAction.ATTACH, "salesforce", admin_user)


def test_detached_and_never_attached_schemas_are_unreadable(environment, salesforce, as_role, admin_user):
    schema_attach(environment=environment, schema_name="salesforce", user=admin_user)
    schema_detach(environment=environment, schema_name="salesforce", user=admin_user)
    for query in ("SELECT * FROM salesforce.accounts", "SELECT * FROM billing.invoices"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(query)
    with connection.cursor() as cursor:  # detaching also removed the default privileges
        cursor.execute("CREATE TABLE salesforce.later (id int)")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role("SELECT * FROM salesforce.later")
    assert not AttachedSchema.objects.exists()
    assert list(SourceAuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["attach", "detach"]
    with pytest.raises(SourceError, match="'salesforce' is not attached"):
        schema_detach(environment=environment, schema_name="salesforce", user=admin_user)


def test_forbidden_schemas_are_refused_with_a_reason(environment, make_environment, salesforce, admin_user, load_csv):
    other = make_environment(name="staging")
    private = sync_private_schema("work", other.id)
    load_csv("a\n1\n", table="t")  # creates heapsite_staging and this environment's uploads schema
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS main_staging")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS main_staging_uploads")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS main_production")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS app_copy")
        cursor.execute("CREATE TABLE app_copy.auth_user (id int)")
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {private}")
    cases = {
        "public": "holds heapsite's own tables and the raw capture store",
        "app_copy": "holds heapsite's own tables",
        "pg_catalog": "is a PostgreSQL system schema",
        "information_schema": "is a PostgreSQL system schema",
        "heapsite_staging": "private staging schema",
        "main_staging": f"is the warehouse of environment main/{other.name}",
        "main_staging_uploads": "holds the uploads of environment main/staging",
        "main_production": "this environment's own warehouse",
        "main_production_uploads": "this environment's own uploads schema",
        "nope": "schema 'nope' does not exist",
        private: "one of the warehouse sync's private schemas",
    }
    try:
        for schema, reason in cases.items():
            with pytest.raises(SourceError, match=reason):
                schema_attach(environment=environment, schema_name=schema, user=admin_user)
        schema_attach(environment=environment, schema_name="salesforce", user=admin_user)
        with pytest.raises(SourceError, match="already attached"):
            schema_attach(environment=environment, schema_name="salesforce", user=admin_user)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA main_staging, main_staging_uploads, main_production, app_copy CASCADE")
            cursor.execute(f"DROP SCHEMA {private}")
    refused = SourceAuditEntry.objects.filter(action=SourceAuditAction.ATTACH_REFUSED)
    assert refused.count() == len(cases) + 1
    assert refused.get(schema_name="public").detail == cases["public"].join(["'public' ", ""])
    assert list(AttachedSchema.objects.values_list("schema_name", flat=True)) == ["salesforce"]


def test_uploaded_tables_are_readable_by_the_role(environment, as_role, load_csv, drop_schemas):
    load_csv("email,plan\nann@example.com,pro\n", table="crm")
    assert as_role("SELECT email, plan FROM main_production_uploads.crm") == [("ann@example.com", "pro")]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role("SELECT * FROM heapsite_staging.upload_1")


def test_every_sync_reapplies_read_access_to_attached_schemas(environment, salesforce, as_role, admin_user):
    from warehouse.services import sync_run_foreground

    schema_attach(environment=environment, schema_name="salesforce", user=admin_user)
    with connection.cursor() as cursor:  # as if another tool had replaced the table without grants
        cursor.execute(f'REVOKE SELECT ON salesforce.accounts FROM "{as_role.role}"')  # noqa: S608 - test role
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role("SELECT * FROM salesforce.accounts")
    sync_run_foreground(environment=environment, full=True)
    assert as_role("SELECT email FROM salesforce.accounts") == [("ann@example.com",)]
