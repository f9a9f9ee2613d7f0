"""A role dropped behind the app's back (database restored, DBA cleanup) is re-created on the next run."""

from django.db import connection
from psycopg2 import sql

from warehouse.roles import sql_role_drop, sql_role_ensure, sql_role_is_current, sql_role_name
from warehouse.sqlpage.services import sql_query_run


def test_missing_role_is_recreated_on_the_next_run(transactional_db, make_environment, django_user_model):
    environment = make_environment(project="sqlrecover", name="prod")
    user = django_user_model.objects.create_user("recover")
    sql_role_ensure(environment)
    role = sql_role_name(environment)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        assert sql_role_is_current(environment) is not None  # the app still believes in it

        outcome = sql_query_run(environment=environment, user=user, text="SELECT current_user", run_token="recover-1")

        assert outcome.error == "" and outcome.result.rows == [(role,)]
    finally:
        sql_role_drop(environment)
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS sqlrecover_prod CASCADE")
