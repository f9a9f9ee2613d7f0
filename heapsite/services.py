"""Writes for the platform shell: first-run setup, environments and their server keys."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from psycopg2 import sql

from warehouse.models import Environment, Project
from warehouse.models.environments import schema_with_suffix, validate_identifier_part
from warehouse.models.raw import raw_events_partition
from warehouse.roles import sql_role_drop
from warehouse.sources.services import UPLOADS_SUFFIX, uploads_schema_name
from warehouse.sources.sql import STAGING_SCHEMA, stage_drop
from warehouse.sync.locking import atomic_with_lock_retry, environment_lock
from warehouse.sync.tables import legacy_all_events_schema, sync_private_schema
from warehouse.transform import MODELS_SUFFIX, transform_role_drop

ADMIN_USERNAME = "admin"
DEMO_ENVIRONMENTS = [("main", "production"), ("main", "development")]


def generate_server_key() -> str:
    return "hs_" + secrets.token_urlsafe(32)


def admin_user_ensure(*, username: str = ADMIN_USERNAME) -> str | None:
    """Create the first superuser with a generated password; returns that password, or None if one exists."""
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email="", password=password)
    return password


def environment_schema_for(*, project_name: str, name: str) -> str:
    """The warehouse schema an environment gets: `<project>_<environment>` (e.g. main_production)."""
    return f"{project_name}_{name}"


@transaction.atomic
def environment_create(*, project_name: str, name: str, display_name: str = "") -> tuple[Environment, str]:
    """A new environment (and its project, if new) and its server key (returned once; only its hash is stored).
    Raises ValidationError naming the field (project, name, display_name) and the problem in words."""
    project_name, name, display_name = project_name.strip(), name.strip(), " ".join(display_name.split())
    for field, value, what in (("project", project_name, "project"), ("name", name, "environment name")):
        if not value:
            raise ValidationError({field: f"give the {what}"})
        try:
            validate_identifier_part(value)
        except ValidationError:
            raise ValidationError(
                {field: f"the {what} {value!r} must start with a lowercase letter and have only a-z, 0-9 and _"}
            ) from None
    project, _ = Project.objects.get_or_create(name=project_name)
    if Environment.objects.filter(project=project, name=name).exists():
        raise ValidationError({"name": f"{project_name} already has an environment named {name!r}"})
    schema = environment_schema_for(project_name=project_name, name=name)
    if Environment.objects.filter(warehouse_schema=schema).exists():
        raise ValidationError({"name": f"another environment already uses the warehouse schema {schema!r}"})
    # `acme` + `internal_main_uploads` is the schema `acme_internal_main_uploads`: the uploads of
    # `acme_internal` / `main`. The new environment's SQL role would be granted a schema it does not
    # own, and deleting it would drop that schema: so none of its schemas may exist already (another
    # environment's, the staging schema of uploads, a schema attached as a data source) or be one
    # another environment will make.
    owned = _owned(schema)
    taken = {name for other in Environment.objects.values_list("warehouse_schema", flat=True) for name in _owned(other)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [sorted(owned)])
        existing = {row[0] for row in cursor.fetchall()}
    if clash := sorted((owned & (taken | {STAGING_SCHEMA})) | existing):
        raise ValidationError(
            {"name": f"the warehouse schema {schema!r} would use the schema {clash[0]!r}, which exists already"}
        )
    environment = Environment(project=project, name=name, warehouse_schema=schema, display_name=display_name)
    key = generate_server_key()
    environment.set_api_key(key)
    try:
        environment.full_clean()
    except ValidationError as error:
        raise ValidationError(
            {"name" if key == "warehouse_schema" else key: messages for key, messages in error.message_dict.items()}
        ) from None
    environment.save()
    return environment, key


def _owned(schema: str) -> set[str]:
    """The schemas of the environment whose warehouse schema this is: its own, its uploads', its models'."""
    return {schema, schema_with_suffix(schema, UPLOADS_SUFFIX), schema_with_suffix(schema, MODELS_SUFFIX)}


def environment_rename(*, environment: Environment, display_name: str) -> Environment:
    """Change what pages call the environment; its schema, app id and key stay."""
    display_name = " ".join(display_name.split())
    if len(display_name) > 100:
        raise ValidationError({"display_name": "a display name has at most 100 characters"})
    environment.display_name = display_name
    environment.save(update_fields=["display_name"])
    return environment


def environment_rotate_key(*, environment: Environment) -> str:
    """Replace the server key: the old one stops working at once. Returns the new key (shown once)."""
    key = generate_server_key()
    environment.set_api_key(key)
    environment.save(update_fields=["api_key_hash", "api_key_prefix"])
    return key


def environment_delete(*, environment: Environment) -> None:
    """Delete an environment with everything it has in the database, in one transaction.

    Its raw data (the raw_events partition and its users, sessions and merges), its warehouse
    schema, uploads schema and staged CSV files, the sync's private schemas, its SQL role and its
    transform role with the models schema (whose sessions are ended). Waits for a running sync of it to finish (the environment's advisory
    lock); queued runs find it gone (warehouse/jobs.py). Dropping the partition locks raw_events
    briefly: the transaction gives up after SYNC_LOCK_TIMEOUT_MS and retries, so it never holds up
    other environments' ingestion for longer than that.
    """
    schemas = [
        environment.warehouse_schema,
        uploads_schema_name(environment),
        sync_private_schema("work", environment.id),
        sync_private_schema("build", environment.id),
        sync_private_schema("data", environment.id),
        sync_private_schema("replaced", environment.id),
        legacy_all_events_schema(environment.id),
    ]
    staged = [upload.staging_table for upload in environment.csv_uploads.all()]

    def delete(cursor) -> None:
        # First: the transform role is a member of the SQL role, and owns the models schema (dropped with it).
        transform_role_drop(environment)
        sql_role_drop(environment)
        for schema in schemas:
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        for table in staged:
            stage_drop(cursor, table=table)
        # The raw events go with their partition (a catalog change), not row by row.
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(raw_events_partition(environment.id))))
        environment.delete()

    with environment_lock(environment.id):
        atomic_with_lock_retry(
            delete, lock_timeout_ms=settings.SYNC_LOCK_TIMEOUT_MS, attempts=settings.SYNC_SWAP_ATTEMPTS
        )


def demo_environments_ensure() -> list[tuple[Environment, str]]:
    """main/production and main/development on a fresh install; nothing when any environment exists."""
    if Environment.objects.exists():
        return []
    return [environment_create(project_name=project, name=name) for project, name in DEMO_ENVIRONMENTS]
