"""Real client libraries from the registries, pointed at a live test server (pytest-django's live_server).

Each test sends with a client as a team would, changing only its host (and key), then checks the exact
rows in the raw store and, after a sync, in the warehouse.
"""

import importlib.metadata
import shutil
import sys
from pathlib import Path

import pytest

from definitions.services import definition_create
from tests.warehouse.sync.conftest import rows, settle
from warehouse.services import sync_run_foreground

# Where `make test` installs the Node clients and dbt: folders of the virtualenv running the tests.
NODE_CLIENTS = Path(sys.prefix) / "node-clients"
HERE = Path(__file__).resolve().parent


@pytest.fixture
def env(sync_env, sync_queue, live_server):
    """The environment the clients send to, and the base URL of the live server."""
    sync_env.base_url = live_server.url
    return sync_env


def installed_version(distribution: str) -> str:
    return importlib.metadata.version(distribution)


def api_event_table(environment, event_name: str) -> str:
    """The warehouse table of an event sent through an API.

    Until automatic tables for API events exist (issue 19), a `custom` definition of the event builds
    it; when they land, return the automatic table's name here instead and every test follows.
    """
    definition = definition_create(
        environment=environment, name=event_name, groups=[{"kind": "custom", "event_name": event_name}]
    )
    return definition.table_name


def synced(environment) -> None:
    settle()
    run = sync_run_foreground(environment=environment, full=True)
    assert run.status == "succeeded", run.traceback


def warehouse_rows(environment, query: str, params=None) -> list[dict]:
    """Rows of a query over the environment's warehouse schema (`{s}` stands for the schema)."""
    return rows(query.replace("{s}", environment.warehouse_schema), params)


def node_or_skip() -> str:
    """The node executable; skips only where npm (and so the Node clients) cannot be installed."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed here, so the Node clients cannot be; CI has npm and runs these")
    if not (NODE_CLIENTS / "node_modules" / "heap-api").exists():
        pytest.fail(f"the Node clients are missing in {NODE_CLIENTS}: run `make test` (its node-clients step)")
    return shutil.which("node")
