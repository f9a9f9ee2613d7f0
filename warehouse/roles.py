"""The per-environment PostgreSQL role the SQL page connects as (DESIGN.md §7).

Roles are cluster-wide, so the name carries a hash of the database name: a test database and a
development database on one server never share a role.
"""

import hashlib

from django.db import connection
from psycopg2 import sql

from warehouse.models import Environment


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
    schema = sql.Identifier(environment.warehouse_schema)
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(role)))
    cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, sql.Identifier(role)))
