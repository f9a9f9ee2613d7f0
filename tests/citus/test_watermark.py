"""The watermark on a Citus cluster, also where the app's database user is not a superuser."""

import pytest
from django.db import connection
from psycopg2 import sql

from warehouse.sync.watermark import watermark_bound

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bound_is_computed_when_the_user_may_not_recover_in_doubt_transactions(environment, caplog):
    role = sql.Identifier("heapsite_test_plain_user")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'heapsite_test_plain_user'")
        if cursor.fetchone():
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(role))
            cursor.execute(sql.SQL("DROP ROLE {}").format(role))
        cursor.execute(sql.SQL("CREATE ROLE {} NOSUPERUSER").format(role))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        cursor.execute(sql.SQL("GRANT USAGE ON SEQUENCE raw_batch_seq TO {}").format(role))
        # As a superuser granting the app's user the advisory locks it needs (warehouse/roles.py
        # closes them to PUBLIC where a superuser sets the roles up).
        cursor.execute(
            "SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p"
            " WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname ~ '^pg_(try_)?advisory_'"
        )
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(cursor.fetchone()[0]), role))
        cursor.execute("SELECT nextval('raw_batch_seq')")
        before = cursor.fetchone()[0]
        try:
            cursor.execute(sql.SQL("SET ROLE {}").format(role))
            bound, _ = watermark_bound(cursor)
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(role))
            cursor.execute(sql.SQL("DROP ROLE {}").format(role))
    assert bound > before
    assert "may not run recover_prepared_transactions()" in caplog.text
