"""examples/dbt: `dbt build` over a synced warehouse as the environment's transform role.

dbt lives in a virtualenv of its own (its pins conflict with heapsite's), which `make test` creates in
.venv/dbt; where it is missing the test skips, saying so.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from tests.warehouse.sync.conftest import settle
from warehouse.models import SqlRole
from warehouse.roles import sql_role_connect_kwargs, sql_role_drop
from warehouse.services import sync_run_foreground
from warehouse.transform import transform_connection_info, transform_role_drop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dbt]

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "dbt"
DBT = Path(sys.prefix) / "dbt" / "bin" / "dbt"
DBT_VERSION = "1.10.23"  # examples/dbt/requirements.txt; dbt-postgres 1.9.1


def segment_batch(client, messages):
    import base64

    auth = "Basic " + base64.b64encode(b"test-server-key:").decode()
    response = client.post("/v1/batch", {"batch": messages}, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content


@pytest.fixture
def transform(sync_env):
    info = transform_connection_info(environment=sync_env, show_password=True)
    yield info
    transform_role_drop(sync_env)
    sql_role_drop(sync_env)  # roles are cluster-wide: the next test's environment of this name starts clean


def test_dbt_build_over_the_warehouse(client, sync_env, transform, tmp_path):
    if not DBT.exists():
        pytest.skip(
            f"dbt is not installed in {DBT.parent.parent}: `make test` installs it (examples/dbt/requirements.txt)"
        )
    segment_batch(
        client,
        [
            {
                "type": "page",
                "messageId": "1",
                "anonymousId": "a",
                "properties": {"url": "https://s.test/pricing"},
                "context": {"campaign": {"source": "newsletter"}},
            },
            {"type": "identify", "userId": "alice@example.com", "anonymousId": "a"},
            {"type": "page", "messageId": "2", "userId": "bob@example.com", "properties": {"url": "https://s.test/"}},
            {"type": "page", "messageId": "3", "userId": "bob@example.com", "properties": {"url": "https://s.test/"}},
        ],
    )
    settle()
    assert sync_run_foreground(environment=sync_env, full=True).status == "succeeded"

    env = {
        **os.environ,
        "HEAPSITE_DBT_HOST": transform["host"],
        "HEAPSITE_DBT_PORT": transform["port"],
        "HEAPSITE_DBT_DATABASE": transform["database"],
        "HEAPSITE_DBT_USER": transform["user"],
        "HEAPSITE_DBT_PASSWORD": transform["password"],
        "HEAPSITE_DBT_SCHEMA": transform["schema"],
        "HEAPSITE_WAREHOUSE_SCHEMA": transform["reads"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = tmp_path / "target"
    command = [
        str(DBT), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
        "--target-path", str(target), "--log-path", str(tmp_path / "logs"), "--no-version-check",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    run = json.loads((target / "run_results.json").read_text())
    assert run["metadata"]["dbt_version"] == DBT_VERSION
    models = {r["unique_id"]: r["status"] for r in run["results"] if r["unique_id"].startswith("model.")}
    assert models == {
        "model.heapsite_example.user_activity": "success",
        "model.heapsite_example.pageviews_by_source": "success",
    }
    assert all(r["status"] in ("success", "pass") for r in run["results"]), run["results"]
    assert sum(r["unique_id"].startswith("test.") for r in run["results"]) >= 10

    # The models are readable as the SQL page's role (and written by the transform role alone).
    page_role = psycopg2.connect(**sql_role_connect_kwargs(SqlRole.objects.get(environment=sync_env)))
    try:
        with page_role.cursor() as cursor:
            cursor.execute(
                f'SELECT identity, sessions, events FROM "{transform["schema"]}".user_activity ORDER BY identity'
            )
            assert cursor.fetchall() == [("alice@example.com", 1, 1), ("bob@example.com", 1, 2)]
            cursor.execute(
                f'SELECT utm_source, path, pageviews, identified_people FROM "{transform["schema"]}".pageviews_by_source'
                " ORDER BY path"
            )
            assert cursor.fetchall() == [("(none)", "/", 2, 1), ("newsletter", "/pricing", 1, 1)]
            # What BI tools see (docs/warehouse.md): event tables are views, users and sessions tables.
            cursor.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables"
                " WHERE table_schema IN (%s, %s) ORDER BY 1, 2",
                [transform["reads"], transform["schema"]],
            )
            assert cursor.fetchall() == [
                ("main_production", "_sync_history", "BASE TABLE"),
                ("main_production", "_sync_info", "BASE TABLE"),
                ("main_production", "all_events", "VIEW"),
                ("main_production", "pageviews", "VIEW"),
                ("main_production", "sessions", "BASE TABLE"),
                ("main_production", "user_migrations", "BASE TABLE"),
                ("main_production", "users", "BASE TABLE"),
                ("main_production_models", "pageviews_by_source", "BASE TABLE"),
                ("main_production_models", "user_activity", "BASE TABLE"),
            ]
    finally:
        page_role.close()
