import django_rq
import pytest
from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations
from django.template import engines

from warehouse.citus import citus_active
from warehouse.models import Environment, Project

_truncate_all = DatabaseOperations.sql_flush


def _empty_tables_cheaply(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """A committed test's teardown flush that costs what the test wrote, not what the schema has.

    Django's flush truncates every table, and a truncated table gets new files: ~140 ms of every
    committed test's teardown (more as raw_events gathers empty partitions). Instead one statement
    locks them all (waiting, as the TRUNCATE did, for writers still in flight), then empties only
    the tables that hold rows: a table no foreign key references is truncated as before (its
    statistics start again from nothing, as tests expect: the sync analyzes a table it finds
    without), and so is each partition with rows of a partitioned one; the rows of a referenced
    table (environments, users: a TRUNCATE would take every table referencing them along) are
    deleted, the keys checked at commit (all are deferrable). On Citus, Django's own flush (its
    distributed tables are truncated across the workers).
    """
    if not tables or reset_sequences or citus_active():
        return _truncate_all(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    names = [self.quote_name(table) for table in tables]
    listed = ", ".join("'" + name.replace("'", "''") + "'" for name in names)
    return [
        "DO $$ DECLARE name text; part text; has_rows boolean; BEGIN SET CONSTRAINTS ALL DEFERRED;"
        f" LOCK TABLE {', '.join(names)} IN SHARE MODE;"
        f" FOREACH name IN ARRAY ARRAY[{listed}] LOOP"
        "  IF (SELECT relkind FROM pg_class WHERE oid = name::regclass) = 'p' THEN"
        "   FOR part IN SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = name::regclass LOOP"
        "    EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || part || ')' INTO has_rows;"
        "    IF has_rows THEN EXECUTE 'TRUNCATE ' || part; END IF;"
        "   END LOOP;"
        "  ELSE"
        "   EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || name || ')' INTO has_rows;"
        "   IF has_rows AND EXISTS (SELECT FROM pg_constraint WHERE contype = 'f' AND confrelid = name::regclass)"
        "   THEN EXECUTE 'DELETE FROM ' || name;"
        "   ELSIF has_rows THEN EXECUTE 'TRUNCATE ' || name; END IF;"
        "  END IF;"
        " END LOOP; END $$"
    ]


DatabaseOperations.sql_flush = _empty_tables_cheaply


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
