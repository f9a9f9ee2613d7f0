import os

import pytest

from warehouse.citus import citus_active


@pytest.fixture(autouse=True)
def _on_citus(django_db_setup, django_db_blocker):
    """These tests need a Citus coordinator: skipped on plain PostgreSQL, failing under make test-citus."""
    with django_db_blocker.unblock():
        active = citus_active()
    if not active:
        if os.environ.get("HEAPSITE_EXPECT_CITUS"):
            pytest.fail("make test-citus ran against a database without the citus extension")
        pytest.skip("not a Citus database (make test-citus runs these against a real cluster)")
