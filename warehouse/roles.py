"""The per-environment PostgreSQL role the SQL page connects as (docs/architecture.md §7, docs/sql.md).

Roles are cluster-wide, so the name carries a hash of the database name: a test database and a
development database on one server never share a role.

The role is the security boundary: it can log in, use its environment's warehouse schema and read
the tables in it, and nothing else in the app database. Queries never run as the app's own user
with SET ROLE (``set_config('role', 'none', false)`` would escape that).
"""

import hashlib
import json
import logging
import secrets

from django.conf import settings
from django.db import connection, transaction
from psycopg2 import errors, sql

from warehouse.citus import citus_active
from warehouse.models import Environment, SqlRole
from warehouse.sync.tables import sync_private_schema

logger = logging.getLogger(__name__)


def sql_role_name(environment: Environment) -> str:
    database = connection.settings_dict["NAME"]
    schema = environment.warehouse_schema
    suffix = hashlib.sha1(f"{database}:{schema}".encode()).hexdigest()[:8]  # noqa: S324 - a name, not security
    return f"{schema[:48]}_sql_{suffix}"


def sql_role_grant_schema(*, cursor, environment: Environment) -> None:
    """Give the environment's role read access to everything in its schema, if the role exists.

    The sync calls this after building tables; the SQL page work owns creating the role.
    """
    role = sql_role_name(environment)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        return
    for schema in _readable_schemas(environment):
        _grant_schema(cursor, schema, sql.Identifier(role))


def sql_role_revoke_schema(*, cursor, environment: Environment, schema: str) -> None:
    """Take back what the environment's role was granted on `schema` (stored rows a sync replaced)."""
    role = sql_role_name(environment)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is not None:
        cursor.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(sql.Identifier(schema), sql.Identifier(role)))


def _readable_schemas(environment: Environment) -> list[sql.Identifier]:
    """The schemas the role reads: the warehouse schema, and on Citus the event tables' stored rows.

    Citus runs a query's pieces on the workers as the querying role, against the tables under the
    views: there the role needs the rows its views show (its own environment's, nothing more).
    """
    schemas = [sql.Identifier(environment.warehouse_schema)]
    if citus_active():
        schemas.append(sql.Identifier(sync_private_schema("data", environment.id)))
    return schemas


def _grant_schema(cursor, schema: sql.Identifier, ident: sql.Identifier) -> None:
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident))
    cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, ident))
    # Tables the app (the sync) creates later are readable without another grant. Default privileges
    # belong to the schema, so a schema dropped and recreated needs them again: hence here, every time.
    cursor.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(schema, ident))


def sql_role_limits() -> dict[str, int]:
    """Per-role server settings, read from settings at call time (they can differ between tests)."""
    return {
        "statement_timeout": settings.SQLPAGE_STATEMENT_TIMEOUT_MS,
        "idle_in_transaction_session_timeout": settings.SQLPAGE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
        "temp_file_limit": settings.SQLPAGE_TEMP_FILE_LIMIT_KB,
        "work_mem": settings.SQLPAGE_WORK_MEM_KB,
        "connection_limit": settings.SQLPAGE_ROLE_CONNECTION_LIMIT,
    }


def _fingerprint(environment: Environment, role: str) -> str:
    payload = {
        "role": role,
        "schema": environment.warehouse_schema,
        "limits": sql_role_limits(),
        "closed_databases": settings.SQLPAGE_CLOSED_DATABASES,
        "version": 2,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# Roles this process has seen configured, by environment id: saves a query on every SQL run. A role
# changed or dropped by another process is caught when logging in fails (the page then re-creates it).
_known_roles: dict[int, SqlRole] = {}


def sql_role_is_current(environment: Environment) -> SqlRole | None:
    """The stored role when it was configured with today's name and limits, else None (call sql_role_ensure)."""
    role = sql_role_name(environment)
    fingerprint = _fingerprint(environment, role)
    known = _known_roles.get(environment.pk)
    if known is not None and known.role_name == role and known.settings_fingerprint == fingerprint:
        return known
    stored = SqlRole.objects.filter(environment=environment).first()
    if stored is None or stored.role_name != role or stored.settings_fingerprint != fingerprint:
        return None
    _known_roles[environment.pk] = stored
    return stored


def sql_role_ensure(environment: Environment) -> SqlRole:
    """Create or update the environment's LOGIN role, its limits and its grants. Safe to run any number of times."""
    role = sql_role_name(environment)
    _known_roles.pop(environment.pk, None)
    limits = sql_role_limits()
    ident = sql.Identifier(role)
    schema = sql.Identifier(environment.warehouse_schema)
    database = sql.Identifier(connection.settings_dict["NAME"])
    with transaction.atomic():
        stored = SqlRole.objects.select_for_update().filter(environment=environment).first()
        password = stored.password if stored is not None else secrets.token_urlsafe(32)
        with connection.cursor() as cursor:
            login_role_upsert(
                cursor, role=role, password=password, inherit=False, connection_limit=limits["connection_limit"]
            )
            # Whatever the role's holder set on it (ALTER ROLE CURRENT_USER SET ...) goes first.
            cursor.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(ident))
            for name in ("statement_timeout", "idle_in_transaction_session_timeout", "work_mem"):
                cursor.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(ident, sql.Identifier(name), sql.Literal(limits[name]))
                )
            cursor.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident))
            cursor.execute(sql.SQL("ALTER ROLE {} SET search_path = {}").format(ident, schema))
            set_superuser_only_limit(cursor, ident, limits["temp_file_limit"])

            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, ident))
            # So the role works (an empty schema) before the first sync has run.
            for readable in _readable_schemas(environment):
                cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(readable))
                _grant_schema(cursor, readable, ident)
            _close_public_defaults(cursor, database)
        SqlRole.objects.update_or_create(
            environment=environment,
            defaults={"role_name": role, "password": password, "settings_fingerprint": _fingerprint(environment, role)},
        )
    return SqlRole.objects.get(environment=environment)


def login_role_upsert(cursor, *, role: str, password: str, inherit: bool, connection_limit: int) -> None:
    """Create the LOGIN role, or bring an existing one to these attributes: never more than a plain role."""
    # Serialise concurrent ensures of the same role (CREATE ROLE has no IF NOT EXISTS).
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [role])
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = sql.SQL("ALTER") if cursor.fetchone() else sql.SQL("CREATE")
    cursor.execute(
        sql.SQL(
            "{} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {} NOREPLICATION NOBYPASSRLS "
            "CONNECTION LIMIT {} PASSWORD %s"
        ).format(
            verb, sql.Identifier(role), sql.SQL("INHERIT" if inherit else "NOINHERIT"), sql.Literal(connection_limit)
        ),
        [password],
    )


def set_superuser_only_limit(cursor, ident: sql.Identifier, temp_file_limit_kb: int) -> None:
    # temp_file_limit can only be set by a superuser (or with GRANT SET ON PARAMETER); without it the
    # statement_timeout still bounds a query, so a warning beats refusing to work.
    cursor.execute("SAVEPOINT sql_role_temp_file_limit")
    try:
        cursor.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(ident, sql.Literal(temp_file_limit_kb)))
    except errors.InsufficientPrivilege:
        cursor.execute("ROLLBACK TO SAVEPOINT sql_role_temp_file_limit")
        logger.warning("cannot set temp_file_limit on %s: the app's database user lacks the privilege", ident.string)
    else:
        cursor.execute("RELEASE SAVEPOINT sql_role_temp_file_limit")


def _close_public_defaults(cursor, database: sql.Identifier) -> None:
    """Take back what PostgreSQL gives every role (PUBLIC) that an environment's role must not have.

    In the app database PUBLIC may use (and before PostgreSQL 15 create in) the ``public`` schema,
    create temporary tables, connect, and read the statistics views (``pg_stat_*``, ``pg_statio_*``:
    other environments' table names with their row and scan counts). On the server it may connect to
    every database without an ACL: the ones heapsite is told about (SQLPAGE_CLOSED_DATABASES; the
    embedded server's own ``postgres`` and ``template1``) are closed too. Roles that need them get
    explicit grants (each environment's role gets CONNECT on the app database).

    The app's own user keeps its access as owner (or superuser). What it does not own (the catalog
    views unless it is a superuser, another owner's database) PostgreSQL turns into a warning and
    leaves as it was. docs/sql.md lists what stays visible.
    """
    cursor.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    cursor.execute(sql.SQL("REVOKE TEMPORARY, CONNECT ON DATABASE {} FROM PUBLIC").format(database))
    cursor.execute(
        "SELECT datname FROM pg_database WHERE datname = ANY(%s) AND datname <> current_database()",
        [settings.SQLPAGE_CLOSED_DATABASES],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
    cursor.execute(
        "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'pg_catalog'::regnamespace "
        "AND c.relkind = 'v' AND (c.relname LIKE 'pg\\_stat\\_%%' OR c.relname LIKE 'pg\\_statio\\_%%') "
        "AND has_table_privilege('public', c.oid, 'SELECT')"
    )
    views = [row[0] for row in cursor.fetchall()]
    if citus_active():
        # Citus's own views of the cluster's activity, locks, statistics and shard sizes.
        cursor.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass"
            " AND d.objid = c.oid AND d.deptype = 'e' JOIN pg_extension e ON e.oid = d.refobjid"
            " WHERE e.extname = 'citus' AND c.relkind = 'v' AND c.relname LIKE 'citus\\_%%'"
            " AND has_table_privilege('public', c.oid, 'SELECT')"
        )
        views += [row[0] for row in cursor.fetchall()]
    if views:
        # Names from the catalog itself (regclass text is already quoted where needed).
        cursor.execute(sql.SQL("REVOKE SELECT ON {} FROM PUBLIC").format(sql.SQL(", ").join(map(sql.SQL, views))))
    # Functions every role may call that reach past its own query: other sessions' activity and
    # query text (what pg_stat_activity, closed above, is made of), large objects (storage outside
    # any limit). The SQL page refuses them by name too (sqlpage/checks.py); this closes them for
    # psql and BI tools. Only a superuser owns them: otherwise PostgreSQL warns and nothing changes.
    _revoke_functions(
        cursor,
        "p.proname ~ '^(pg_stat_get_backend_|lo_)' OR p.proname IN ('pg_stat_get_activity', 'loread', 'lowrite')",
    )
    # The advisory-lock functions: ingestion's batch gate and the sync's locks are advisory locks,
    # which a role's holder in psql could take and hold (stopping every environment's ingestion and
    # syncs). The app's own user needs them: they are granted to it and to the database's owner
    # first. Only a superuser may do either (the embedded server's user, and `make run`'s); for
    # another user PostgreSQL warns and they stay open to all (docs/sql.md).
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cursor.fetchone()[0]:
        _revoke_functions(cursor, "p.proname ~ '^pg_(try_)?advisory_'", keep_for_app=True)


def _revoke_functions(cursor, which: str, *, keep_for_app: bool = False) -> None:
    """REVOKE EXECUTE FROM PUBLIC on the pg_catalog functions matching `which` (SQL over pg_proc p)
    that PUBLIC may still run; with `keep_for_app`, granted first to this user and the database's owner."""
    cursor.execute(
        sql.SQL(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace"
            " AND ({}) AND has_function_privilege('public', p.oid, 'EXECUTE')"
        ).format(sql.SQL(which))
    )
    functions = sql.SQL(", ").join(sql.SQL(row[0]) for row in cursor.fetchall())
    if not functions.seq:
        return
    if keep_for_app:
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        owner = sql.Identifier(cursor.fetchone()[0])
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO CURRENT_USER, {}").format(functions, owner))
    cursor.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(functions))


def sql_role_drop(environment: Environment) -> None:
    """Remove the role and every privilege it holds in this database (an environment deleted, test teardown)."""
    role = sql_role_name(environment)
    _known_roles.pop(environment.pk, None)
    with transaction.atomic(), connection.cursor() as cursor:
        login_role_drop(cursor, role=role)
        SqlRole.objects.filter(environment=environment).delete()


def login_role_drop(cursor, *, role: str) -> None:
    """End the role's sessions, drop what it owns in this database, then the role; nothing if it is gone."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is not None:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
        # DROP OWNED also removes its grants and default privileges in this database.
        cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def sql_role_connect_kwargs(sql_role: SqlRole) -> dict:
    """psycopg2.connect() arguments to log in as the role: the app database's server, the role's credentials."""
    db = connection.settings_dict
    kwargs = {
        "dbname": db["NAME"],
        "user": sql_role.role_name,
        "password": sql_role.password,
        "application_name": "heapsite-sql",
        "connect_timeout": 10,
    }
    if db.get("HOST"):
        kwargs["host"] = db["HOST"]
    if db.get("PORT"):
        kwargs["port"] = db["PORT"]
    return kwargs


def sql_page_connect_kwargs(sql_role: SqlRole) -> dict:
    """sql_role_connect_kwargs for the SQL page's own connections: the role's limits asked for again
    by the connection itself. Whoever holds the role's password may change the role's own defaults
    (`ALTER ROLE CURRENT_USER SET statement_timeout = 0`), but a client's startup options win over a
    role's settings; and the page's single-statement check reads strings as
    `standard_conforming_strings = on` does, so the server must too (off, `'a\\'` ends elsewhere)."""
    limits = sql_role_limits()
    options = {
        "statement_timeout": limits["statement_timeout"],
        "idle_in_transaction_session_timeout": limits["idle_in_transaction_session_timeout"],
        "work_mem": limits["work_mem"],
        "default_transaction_read_only": "on",
        "standard_conforming_strings": "on",
        "search_path": sql_role.environment.warehouse_schema,  # [a-z0-9_]: no quoting needed
    }
    return {
        **sql_role_connect_kwargs(sql_role),
        "options": " ".join(f"-c {name}={value}" for name, value in options.items()),
    }


def role_connection_info(*, role, schema: str, show_password: bool) -> dict[str, str]:
    """How psql, Metabase or dbt connect as a stored role (SqlRole, TransformRole): printed by the commands."""
    kwargs = sql_role_connect_kwargs(role)
    return {
        "host": str(kwargs.get("host", "localhost")),
        "port": str(kwargs.get("port", 5432)),
        "database": kwargs["dbname"],
        "user": role.role_name,
        "password": role.password if show_password else "(hidden; pass --show-password)",
        "schema": schema,
    }
