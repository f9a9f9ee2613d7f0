import django_rq
import pytest
from django.db import connection
from django.template import engines

from warehouse.models import Environment, Project


@pytest.fixture(autouse=True)
def _strict_templates(settings):
    # A missing template variable is a bug: make it fail loudly in tests.
    for engine in engines.all():
        engine.engine.string_if_invalid = StrictInvalid()
    # Hashing test passwords with PBKDF2 costs more than a second per login on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class StrictInvalid(str):
    def __bool__(self):
        return False

    def __mod__(self, name):
        raise AssertionError(f"undefined template variable {name!r}")


@pytest.fixture
def make_environment(db):
    def make(project: str = "main", name: str = "production", api_key: str = "test-server-key") -> Environment:
        proj, _ = Project.objects.get_or_create(name=project)
        environment = Environment(project=proj, name=name, warehouse_schema=f"{project}_{name}")
        environment.set_api_key(api_key)
        environment.save()
        return environment

    return make


@pytest.fixture
def environment(make_environment) -> Environment:
    return make_environment()


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def sync_env(transactional_db, make_environment):
    """An environment whose data is committed (for syncs, workers and live servers); its warehouse schemas
    and the sync's private schemas are dropped afterwards."""
    environment = make_environment()
    yield environment
    drop_warehouse_schemas(environment)


def drop_warehouse_schemas(environment) -> None:
    """Drop the environment's warehouse schema and the sync's private schemas (committed tests' teardown)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE '\\_hs\\_sync\\_%%'",
            [environment.warehouse_schema],
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # noqa: S608 - names from the catalog


@pytest.fixture
def sync_queue():
    queue = django_rq.get_queue("sync")
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


@pytest.fixture(scope="session")
def live_server(live_server):
    # Browsers and HTTP clients keep connections to the live server open between requests, and each
    # server thread would keep its database connection with it; closing them after every request lets the test
    # database be dropped at the end of the session.
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0
    return live_server
