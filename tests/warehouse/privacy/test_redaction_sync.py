"""What redaction dropped at ingestion is in no warehouse table either, after a sync."""

import pytest

from tests.warehouse.ingest.conftest import batch  # noqa: F401 - the fixture, for this module's environment
from tests.warehouse.ingest.test_redaction import EMAIL, TOKEN, old_snippet_batch, raw_text
from tests.warehouse.sync.conftest import settle
from warehouse.services import sync_run_foreground

from .conftest import set_privacy, table_rows
from .test_user_deletion import warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def environment(sync_env):
    return sync_env


def test_an_old_snippets_email_and_token_reach_neither_raw_nor_warehouse(post, batch, sync_env, set_specs):  # noqa: F811
    set_specs(sync_env.id, [{"key": "d:c", "table_name": "clicks", "predicate": "e.type = 'click'"}])
    set_privacy(sync_env, ip_mode="truncated")
    assert post("/api/collect", old_snippet_batch(batch), REMOTE_ADDR="198.51.100.77").status_code == 200
    settle()
    assert sync_run_foreground(environment=sync_env, full=True).status == "succeeded"

    stored = raw_text() + str(warehouse_rows(sync_env))
    assert "utm_source=spring" in stored and "step=2" in stored, "the rest of the URLs is kept"
    for secret in (EMAIL, EMAIL.replace("@", "%40"), TOKEN, "198.51.100.77"):
        assert secret not in stored
    [click] = table_rows(sync_env.warehouse_schema, "clicks")
    assert (click["href"], click["query"], click["ip"]) == ("/account", "?utm_source=spring", "198.51.100.0")
