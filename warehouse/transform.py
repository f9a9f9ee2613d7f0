"""An environment's models schema and its transform role, for dbt and other tools that build tables.

The SQL page's role is read-only and has nowhere to write, so derived models need their own place:
`<schema>_models`, owned by a separate LOGIN role (docs/warehouse.md, "Derived models"). That role

- reads whatever the environment's SQL role reads (it is a member of it), so new warehouse tables,
  uploads and attached schemas are readable without another grant;
- writes only in the models schema, which it owns (PUBLIC has no CREATE anywhere else: see
  `roles._close_public_defaults`), and may create temporary tables (dbt's incremental models use them);
- is never the SQL page's role: the page keeps connecting as the read-only role, which may read the
  models schema (and nothing in it may be written by the page).

Created on request (`manage.py transform_role <schema>`), dropped with the environment.
"""

import hashlib
import secrets

from django.db import connection, transaction
from psycopg2 import sql

from warehouse.models import Environment, TransformRole
from warehouse.models.environments import schema_with_suffix
from warehouse.roles import (
    login_role_drop,
    login_role_upsert,
    role_connection_info,
    set_superuser_only_limit,
    sql_role_limits,
)
from warehouse.sources import sql as source_sql
from warehouse.sqlpage.services import sql_role_prepare

MODELS_SUFFIX = "_models"


def models_schema_name(environment: Environment) -> str:
    return schema_with_suffix(environment.warehouse_schema, MODELS_SUFFIX)


def transform_role_name(environment: Environment) -> str:
    # Like the SQL role's: cluster-wide, so the database name is part of the hash.
    database = connection.settings_dict["NAME"]
    schema = environment.warehouse_schema
    suffix = hashlib.sha1(f"{database}:{schema}:transform".encode()).hexdigest()[:8]  # noqa: S324 - a name
    return f"{schema[:40]}_transform_{suffix}"


def transform_role_ensure(environment: Environment) -> TransformRole:
    """Create or update the transform role and its models schema. Safe to run any number of times."""
    sql_role = sql_role_prepare(environment)
    role = transform_role_name(environment)
    schema = models_schema_name(environment)
    ident, schema_id = sql.Identifier(role), sql.Identifier(schema)
    database = sql.Identifier(connection.settings_dict["NAME"])
    with transaction.atomic():
        stored = TransformRole.objects.select_for_update().filter(environment=environment).first()
        password = stored.password if stored is not None else secrets.token_urlsafe(32)
        with connection.cursor() as cursor:
            # INHERIT: it reads with the SQL role's privileges, which it is granted below.
            limits = sql_role_limits()
            login_role_upsert(
                cursor, role=role, password=password, inherit=True, connection_limit=limits["connection_limit"]
            )
            # No statement timeout (a model may build for long), but the disk its sorts may spill to is
            # bounded as the SQL role's is, and a transaction left open is ended.
            cursor.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(ident))
            cursor.execute(
                sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = {}").format(
                    ident, sql.Literal(limits["idle_in_transaction_session_timeout"])
                )
            )
            set_superuser_only_limit(cursor, ident, limits["temp_file_limit"])
            cursor.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(sql_role.role_name), ident))
            cursor.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, ident))
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(schema_id, ident))
            cursor.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(schema_id, ident))
            warehouse = sql.Identifier(environment.warehouse_schema)
            cursor.execute(sql.SQL("ALTER ROLE {} SET search_path = {}, {}").format(ident, schema_id, warehouse))
            # The SQL role reads it, tables dbt makes later included (default privileges of the owner, which
            # need the app's user to be a member of it; else `sources_grant` re-grants on the next prepare).
            owners = source_sql.schema_owners(cursor, schema=schema)
            source_sql.grant_read(cursor, schema=schema, role=sql_role.role_name, owners=owners)
        transform, _ = TransformRole.objects.update_or_create(
            environment=environment, defaults={"role_name": role, "schema_name": schema, "password": password}
        )
    return transform


def transform_role_drop(environment: Environment) -> None:
    """Remove the role, its models schema and everything in it (DROP OWNED), and its stored credentials."""
    role = transform_role_name(environment)
    with transaction.atomic(), connection.cursor() as cursor:
        login_role_drop(cursor, role=role)  # the models schema goes with what it owns
        TransformRole.objects.filter(environment=environment).delete()


def transform_connection_info(*, environment: Environment, show_password: bool) -> dict[str, str]:
    """Ensure the role and describe how to connect as it, as `sql_role` does for the SQL role."""
    transform = transform_role_ensure(environment)
    info = role_connection_info(role=transform, schema=transform.schema_name, show_password=show_password)
    return {**info, "reads": environment.warehouse_schema}
