"""Two environments with hand-built warehouse schemas, raw rows and SQL roles, committed for real.

Queries run on their own connection as the environment's role, so the data they read must be
committed: callers build this outside pytest-django's per-test transaction and tear it down after.
The sync builds the real tables; these follow the documented shape closely enough for the page.
"""

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from warehouse.models import Environment, Project, RawEvent, RawSession, RawUser
from warehouse.roles import sql_role_drop, sql_role_ensure

PAGEVIEWS = 200
BIG_ROWS = 20_000


@dataclass
class World:
    project: Project
    alpha: Environment
    beta: Environment


def _build_schema(schema: str, *, secret: str, big: bool) -> None:
    ident = sql.Identifier(schema)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        statements = [
            "CREATE TABLE {s}.users (user_id bigint, identity text, handle text, email text,"
            " joindate timestamptz, last_modified timestamptz, plan text)",
            "INSERT INTO {s}.users SELECT g, CASE WHEN g % 3 = 0 THEN 'user' || g || '@example.com' END, NULL, NULL,"
            " now() - g * interval '1 day', now(), CASE WHEN g % 2 = 0 THEN 'pro' END FROM generate_series(1, 50) g",
            "CREATE TABLE {s}.sessions (session_id bigint, user_id bigint, time timestamptz, utm_source text)",
            "INSERT INTO {s}.sessions SELECT g, g % 50 + 1, now() - g * interval '1 hour',"
            " (ARRAY['google', 'newsletter', ''])[g % 3 + 1] FROM generate_series(1, 100) g",
            "CREATE TABLE {s}.pageviews (event_id bigint, user_id bigint, session_id bigint, time timestamptz,"
            " path text, title text)",
            f"INSERT INTO {{s}}.pageviews SELECT g, g % 50 + 1, g % 100 + 1, now() - g * interval '1 hour',"
            f" '/p/' || (g % 7), NULL FROM generate_series(1, {PAGEVIEWS}) g",
            "CREATE TABLE {s}.signed_up (event_id bigint, user_id bigint, session_id bigint, time timestamptz,"
            " href text, target_text text)",
            "INSERT INTO {s}.signed_up SELECT g, g, g, now() - g * interval '30 minutes', '', 'Sign up'"
            " FROM generate_series(1, 20) g",
            "CREATE TABLE {s}.all_events (event_id bigint, user_id bigint, session_id bigint, time timestamptz,"
            " event_table_name text)",
            "INSERT INTO {s}.all_events SELECT event_id, user_id, session_id, time, 'pageviews' FROM {s}.pageviews",
            "CREATE TABLE {s}._sync_info (event_table_name text, sync_started timestamptz, sync_ended timestamptz,"
            " synced_to_time timestamptz, inserted_row_count bigint)",
            "INSERT INTO {s}._sync_info VALUES ('pageviews', now(), now(), now(), 200)",
            "CREATE TABLE {s}.secrets (note text)",
            "INSERT INTO {s}.secrets VALUES (%(secret)s)",
        ]
        if big:
            statements += [
                "CREATE TABLE {s}.big (n bigint)",
                f"INSERT INTO {{s}}.big SELECT g FROM generate_series(1, {BIG_ROWS}) g",
            ]
        for statement in statements:
            params = {"secret": secret} if "%(secret)s" in statement else None
            cursor.execute(sql.SQL(statement).format(s=ident), params)


def build_world(prefix: str = "sqltest") -> World:
    project = Project.objects.create(name=prefix)
    alpha = Environment(project=project, name="alpha", warehouse_schema=f"{prefix}_alpha")
    alpha.set_api_key("alpha-key")
    alpha.save()
    beta = Environment(project=project, name="beta", warehouse_schema=f"{prefix}_beta")
    beta.set_api_key("beta-key")
    beta.save()
    _build_schema(alpha.warehouse_schema, secret="alpha-secret", big=True)
    _build_schema(beta.warehouse_schema, secret="beta-secret", big=False)
    now = timezone.now()
    RawUser.objects.create(environment=alpha, user_id=1, identity="raw-identity", joindate=now, last_modified=now)
    RawSession.objects.create(
        environment=alpha, session_id=1, user_id=1, time=now, last_event_time=now, last_modified=now
    )
    RawEvent.objects.create(
        environment=alpha, event_id="raw-1", user_id=1, session_id=1, time=now, received_at=now, type="pageview"
    )
    sql_role_ensure(alpha)
    sql_role_ensure(beta)
    return World(project=project, alpha=alpha, beta=beta)


def teardown_world(world: World) -> None:
    for environment in (world.alpha, world.beta):
        sql_role_drop(environment)
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(environment.warehouse_schema))
            )
    for model in (RawEvent, RawSession, RawUser):
        model.objects.filter(environment__project=world.project).delete()
    Environment.objects.filter(project=world.project).delete()
    world.project.delete()
