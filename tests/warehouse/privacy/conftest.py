import subprocess
import sys

import django_rq
import pytest
from django.db import connection

from tests.warehouse.ingest.conftest import SERVER_KEY, post  # noqa: F401 - fixtures
from tests.warehouse.sync.conftest import REPO, _specs_file, raw, set_specs, worker_env  # noqa: F401

# A real RQ worker on both queues a deletion uses: the deletion job (default), then the sync it asks for.
WORKER_SCRIPT = (
    "import django; django.setup(); import tests.warehouse.sync.provider; "
    "from django.core.management import call_command; call_command('rqworker', 'default', 'sync', burst=True)"
)


@pytest.fixture
def queues():
    connection_ = django_rq.get_connection("default")
    connection_.flushdb()
    yield
    connection_.flushdb()


def run_worker() -> str:
    """Run a burst worker until both queues are empty; its output."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=REPO,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def table_rows(schema: str, table: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}"')  # noqa: S608 - names from the catalog
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def relations(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'p') ORDER BY 1",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]


def set_privacy(environment, **changes) -> None:
    """Change some of an environment's privacy settings through the service (the others stay)."""
    from warehouse.privacy.services import environment_privacy_update

    current = {
        name: getattr(environment, name)
        for name in ("redacted_query_params", "redact_email_values", "ip_mode", "retention_days")
    }
    environment_privacy_update(environment=environment, **(current | changes))
