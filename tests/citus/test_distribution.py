"""On a Citus cluster, the raw store and the warehouse really are spread over the workers by user_id,
and what the app shows is the same as on one server (make test-citus runs this; skipped elsewhere)."""

import json

import psycopg2
import pytest
from django.db import connection

from definitions.services import definition_create
from tests.warehouse.ingest.conftest import CHROME_MAC, button_click, now_ms, pageview
from tests.warehouse.sync.conftest import rows, settle
from warehouse.models.raw import raw_events_partition
from warehouse.roles import sql_role_connect_kwargs, sql_role_drop, sql_role_ensure
from warehouse.services import sync_run_foreground
from warehouse.sync.tables import sync_private_schema

pytestmark = pytest.mark.django_db(transaction=True)

VISITORS = 40


@pytest.fixture
def warehouse_env(make_environment):
    environment = make_environment(name="citus")
    yield environment
    sql_role_drop(environment)
    with connection.cursor() as cursor:
        for schema in [
            environment.warehouse_schema,
            *(sync_private_schema(k, environment.id) for k in ("data", "work")),
        ]:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # noqa: S608 - names from the code


def ingest(client, environment) -> None:
    """VISITORS anonymous visitors through /api/collect, every third one identifying as a customer."""
    for visitor in range(1, VISITORS + 1):
        sent = now_ms()
        body = {
            "app_id": environment.app_id,
            "library": "web",
            "sent_at": sent,
            "user_id": 1000 + visitor,
            "identity": f"customer-{visitor}@example.com" if visitor % 3 == 0 else None,
            "session": {"id": 5000 + visitor, "start_time": sent - 5000},
            "events": [pageview(f"pv-{visitor}"), button_click(f"click-{visitor}")],
        }
        response = client.post(
            "/api/collect", data=json.dumps(body), content_type="application/json", HTTP_USER_AGENT=CHROME_MAC
        )
        assert response.status_code == 200, response.content


def layout() -> dict[str, tuple[str, str, int]]:
    """{table: (citus_table_type, distribution_column, colocation_id)} of every Citus table."""
    return {
        row["table_name"]: (row["citus_table_type"], row["distribution_column"], row["colocation_id"])
        for row in rows(
            "SELECT table_name::text, citus_table_type, distribution_column, colocation_id FROM citus_tables"
        )
    }


def rows_per_worker(table: str) -> dict[int, int]:
    """{worker port: rows of `table` stored there}, counted shard by shard on the workers."""
    counts = rows(
        "SELECT s.nodeport, r.result::bigint AS n FROM citus_shards s"
        " JOIN run_command_on_shards(%s, 'SELECT count(*) FROM %%s') r ON r.shardid = s.shardid"
        " WHERE s.table_name = %s::regclass",
        [table, table],
    )
    per_worker: dict[int, int] = {}
    for row in counts:
        per_worker[row["nodeport"]] = per_worker.get(row["nodeport"], 0) + row["n"]
    return per_worker


def test_raw_store_and_warehouse_are_distributed_by_user_over_both_workers(client, warehouse_env):
    ingest(client, warehouse_env)
    definition_create(
        environment=warehouse_env,
        name="Started trial",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "#signup .btn"}]}],
    )
    settle()
    run = sync_run_foreground(environment=warehouse_env, full=True)
    assert run.status == "succeeded", run.traceback

    schema, data = warehouse_env.warehouse_schema, sync_private_schema("data", warehouse_env.id)
    tables = layout()
    distributed = ("distributed", "user_id", tables["raw_users"][2])
    partition = raw_events_partition(warehouse_env.id)
    for table in ("raw_users", "raw_sessions", "raw_events", partition):
        assert tables[table] == distributed, table
    assert tables["raw_identity_merges"][0] == "reference"
    for table in (f"{schema}.users", f"{schema}.sessions", f"{data}.pageviews", f"{data}.started_trial"):
        assert tables[table] == distributed, table
    assert tables[f"{schema}.user_migrations"][0] == "reference"

    workers = {row["nodeport"] for row in rows("SELECT nodeport FROM pg_dist_node WHERE groupid <> 0")}
    assert len(workers) == 2
    for table in (partition, "raw_sessions", "raw_users", f"{data}.pageviews", f"{schema}.users"):
        spread = rows_per_worker(table)
        assert set(spread) == workers and all(spread.values()), (table, spread)

    # What the warehouse shows is complete: every visitor's pageview and click, merged users joined.
    identified = VISITORS // 3
    assert rows(f'SELECT count(*) AS n FROM "{schema}".pageviews') == [{"n": VISITORS}]
    assert rows(f"SELECT count(*) AS n FROM \"{schema}\".started_trial WHERE browser = 'Chrome'") == [{"n": VISITORS}]
    assert rows(f'SELECT count(*) AS n FROM "{schema}".all_events') == [{"n": 2 * VISITORS}]
    assert rows(
        f'SELECT count(DISTINCT e.user_id) AS n FROM "{schema}".pageviews e JOIN "{schema}".users u'
        " ON u.user_id = e.user_id WHERE u.identity IS NOT NULL"
    ) == [{"n": identified}]
    assert rows(f'SELECT count(*) AS n FROM "{schema}".user_migrations') == [{"n": identified}]


def test_the_sql_role_reads_its_views_on_every_node_and_nothing_else(client, warehouse_env):
    ingest(client, warehouse_env)
    settle()
    assert sync_run_foreground(environment=warehouse_env, full=True).status == "succeeded"
    role = sql_role_ensure(warehouse_env)
    login = sql_role_connect_kwargs(role)
    schema = warehouse_env.warehouse_schema
    with psycopg2.connect(**login) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT browser) FROM pageviews")  # joins sessions on the workers
        assert cursor.fetchone() == (VISITORS, 1)
    shards = rows(
        "SELECT nodename, nodeport, shard_name(table_name, shardid, false) AS shard_name FROM citus_shards"
        " WHERE table_name::text = ANY(%s)",
        [["raw_users", "raw_sessions", raw_events_partition(warehouse_env.id)]],
    )
    assert len({shard["nodeport"] for shard in shards}) == 2
    for shard in shards:
        # The same role logged in on the worker that stores the shard: the raw store is not its to read.
        worker = psycopg2.connect(**{**login, "host": shard["nodename"], "port": shard["nodeport"]})
        worker.autocommit = True
        with worker.cursor() as cursor:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"SELECT * FROM {shard['shard_name']} LIMIT 1")  # noqa: S608 - names from the catalog
            cursor.execute(f'SELECT count(*) FROM "{schema}".users')  # noqa: S608 - its own warehouse, from there
            assert cursor.fetchone()[0] > 0
            # What the role ensure takes from PUBLIC holds on the workers too (Citus propagated it).
            cursor.execute(
                "SELECT has_schema_privilege('public', 'USAGE'), has_database_privilege(current_database(), 'TEMP'),"
                " current_setting('default_transaction_read_only'), current_setting('statement_timeout')"
            )
            usage, temp, read_only, timeout = cursor.fetchone()
            assert (usage, temp, read_only) == (False, False, "on") and timeout != "0"
        worker.close()
