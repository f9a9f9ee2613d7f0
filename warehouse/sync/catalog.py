"""The system catalogs the sync churns, vacuumed by the scheduler where autovacuum would not.

A full sync creates and drops a few relations per event table (about 2,500 at 500 definitions),
and every incremental run a few work tables: the rows describing them (pg_class, pg_attribute,
pg_type, pg_depend, ...) die with them. Autovacuum cleans those up. On a server where it is off,
they pile up and every later sync's catalog work slows down (after ~40 full syncs at 500
definitions pg_attribute held 1.16M dead rows to 50k live, and the sync took 10-12% longer:
bench/RESULTS.md). There the scheduler vacuums them once an hour, if the app's role may (a
superuser; from PostgreSQL 17 also a role with the MAINTAIN privilege on them); else it says once
that an operator has to (docs/warehouse.md, "Statistics").
"""

import logging

from django.db import connection
from psycopg2 import sql

logger = logging.getLogger(__name__)

# The database's own catalogs that a sync's DDL leaves dead rows in (pg_rewrite holds the views'
# rules; a VACUUM also does a table's TOAST table).
CHURNED_CATALOGS = (
    "pg_attribute",
    "pg_class",
    "pg_type",
    "pg_depend",
    "pg_index",
    "pg_inherits",
    "pg_constraint",
    "pg_attrdef",
    "pg_rewrite",
    "pg_statistic",
)

_warned = False


def catalog_vacuum() -> list[str]:
    """VACUUM the churned catalogs if this server does not autovacuum them and the app's role may;
    returns the catalogs vacuumed (none where autovacuum runs). Outside a transaction only (VACUUM
    cannot run in one)."""
    global _warned
    if connection.in_atomic_block:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('autovacuum')::bool AND current_setting('track_counts')::bool,"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),"
            " current_setting('server_version_num')::int"
        )
        autovacuum, superuser, version = cursor.fetchone()
        if autovacuum:
            return []
        allowed = list(CHURNED_CATALOGS) if superuser else []
        if not superuser and version >= 170000:
            cursor.execute(
                "SELECT name FROM unnest(%s::text[]) AS name"
                " WHERE has_table_privilege('pg_catalog.' || name, 'MAINTAIN')",
                [list(CHURNED_CATALOGS)],
            )
            allowed = [name for (name,) in cursor.fetchall()]
        if not allowed:
            if not _warned:
                logger.warning(
                    "autovacuum is off on this server and the app's role may not vacuum the system catalogs:"
                    " VACUUM %s now and then as a superuser (every sync leaves dead rows in them)",
                    ", ".join(CHURNED_CATALOGS),
                )
                _warned = True
            return []
        cursor.execute(
            sql.SQL("VACUUM {}").format(sql.SQL(", ").join(sql.Identifier("pg_catalog", name) for name in allowed))
        )
    logger.info("autovacuum is off on this server: vacuumed %s", ", ".join(allowed))
    return allowed
