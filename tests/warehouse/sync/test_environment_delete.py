"""Deleting an environment removes everything it has in the database, and nothing of the others."""

import io

import pytest
from django.db import connection

from warehouse.models import CsvUpload, Environment, RawEvent
from warehouse.models.raw import raw_events_partition
from warehouse.roles import sql_role_ensure
from warehouse.services import sync_run_foreground
from warehouse.sources.services import csv_load, csv_stage, uploads_schema_name
from warehouse.transform import transform_role_ensure

from .conftest import Raw, rows, settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_delete_drops_schemas_role_raw_partition_and_staged_files(raw, sync_env, make_environment, admin_client):
    other = make_environment(name="staging")
    Raw(other).event("pageview", user_id=9)
    raw.session(1, 5)
    raw.event("pageview", user_id=5)
    settle()
    assert sync_run_foreground(environment=sync_env, full=True).status == "succeeded"
    role = sql_role_ensure(sync_env).role_name
    transform = transform_role_ensure(sync_env)
    loaded = csv_stage(environment=sync_env, fileobj=io.BytesIO(b"a\n1\n"), filename="plans.csv")
    csv_load(upload=loaded, table_name="plans")
    staged = csv_stage(environment=sync_env, fileobj=io.BytesIO(b"b\n2\n"), filename="later.csv")
    schemas = [
        sync_env.warehouse_schema,
        uploads_schema_name(sync_env),
        f"_hs_sync_data_{sync_env.id}",  # the event tables' stored rows
        transform.schema_name,  # dbt's models
        f"_hs_sync_work_{sync_env.id}",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schemas[-1]}")  # what a killed sync leaves behind
    assert len(rows("SELECT 1 FROM pg_namespace WHERE nspname = ANY(%s)", [schemas])) == 5
    relations = [raw_events_partition(sync_env.id), f"heapsite_staging.{staged.staging_table}"]
    assert all(rows("SELECT to_regclass(%s) IS NOT NULL AS t", [name]) == [{"t": True}] for name in relations)

    response = admin_client.post(f"/admin/warehouse/environment/{sync_env.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Environment.objects.filter(pk=sync_env.pk).exists()
    assert rows("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [schemas]) == []
    assert rows("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[role, transform.role_name]]) == []
    assert all(rows("SELECT to_regclass(%s) IS NULL AS t", [name]) == [{"t": True}] for name in relations)
    assert not CsvUpload.objects.filter(pk__in=[loaded.pk, staged.pk]).exists()
    # The other environment keeps its raw events.
    assert RawEvent.objects.filter(environment=other).count() == 1
