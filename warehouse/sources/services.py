"""Attach other schemas to an environment's SQL access, and load CSV files as tables it can read."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePath
from typing import BinaryIO

import psycopg2
import psycopg2.errors
from django.contrib.auth.models import AbstractBaseUser
from django.db import DataError, connection, transaction
from django.utils import timezone

from warehouse.display import plural
from warehouse.models import (
    AttachedSchema,
    CsvUpload,
    CsvUploadStatus,
    Environment,
    SourceAuditAction,
    SourceAuditEntry,
    TransformRole,
)
from warehouse.models.environments import RESERVED_SCHEMAS, schema_with_suffix
from warehouse.naming import identifier_base, unique_identifiers
from warehouse.roles import sql_role_name
from warehouse.sync.tables import PRIVATE_SCHEMA_PREFIX

from . import sql as source_sql
from .csvfile import CopySource, CsvError, read_head, sniff_layout

UPLOADS_SUFFIX = "_uploads"
# A staged upload waits this long for "Load" or "Discard" before its staging table is dropped.
STAGED_UPLOAD_LIFETIME = timedelta(days=1)


class SourceError(ValueError):
    """A request about data sources that cannot be done, with the reason in words."""


def uploads_schema_name(environment: Environment) -> str:
    return schema_with_suffix(environment.warehouse_schema, UPLOADS_SUFFIX)


def _audit(*, environment: Environment, action: str, schema: str, user, table: str = "", detail: str = "") -> None:
    SourceAuditEntry.objects.create(
        environment=environment, action=action, schema_name=schema, table_name=table, user=user, detail=detail
    )


def _refusal_reason(cursor, *, environment: Environment, schema_name: str) -> str | None:
    if not source_sql.schema_exists(cursor, schema=schema_name):
        return f"schema {schema_name!r} does not exist in this database"
    cursor.execute("SELECT %s = ANY(current_schemas(false))", [schema_name])
    if cursor.fetchone()[0]:
        return f"{schema_name!r} holds heapsite's own tables and the raw capture store"
    if schema_name in RESERVED_SCHEMAS or schema_name.startswith("pg_"):
        return f"{schema_name!r} is a PostgreSQL system schema"
    app_tables = set(connection.introspection.django_table_names(include_views=False))
    if app_tables & source_sql.schema_table_names(cursor, schema=schema_name):
        return f"{schema_name!r} holds heapsite's own tables"
    if schema_name == source_sql.STAGING_SCHEMA:
        return f"{schema_name!r} is heapsite's private staging schema"
    if schema_name.startswith(PRIVATE_SCHEMA_PREFIX):
        return f"{schema_name!r} is one of the warehouse sync's private schemas"
    for other in Environment.objects.all():
        if schema_name == other.warehouse_schema:
            if other.pk == environment.pk:
                return f"{schema_name!r} is this environment's own warehouse; it is always readable"
            return f"{schema_name!r} is the warehouse of environment {other.project.name}/{other.name}"
        if schema_name == uploads_schema_name(other):
            if other.pk == environment.pk:
                return f"{schema_name!r} is this environment's own uploads schema; it is always readable"
            return f"{schema_name!r} holds the uploads of environment {other.project.name}/{other.name}"
    models = TransformRole.objects.filter(schema_name=schema_name).select_related("environment__project").first()
    if models is not None:
        if models.environment_id == environment.pk:
            return f"{schema_name!r} is this environment's own models schema; it is always readable"
        other = models.environment
        return f"{schema_name!r} holds the derived models of environment {other.project.name}/{other.name}"
    if AttachedSchema.objects.filter(environment=environment, schema_name=schema_name).exists():
        return f"{schema_name!r} is already attached"
    return None


def schema_attach(*, environment: Environment, schema_name: str, user: AbstractBaseUser | None) -> AttachedSchema:
    """Let the environment's SQL role read every table of `schema_name`, now and later."""
    schema_name = schema_name.strip()
    with transaction.atomic(), connection.cursor() as cursor:
        _sources_lock(cursor, environment)
        reason = _refusal_reason(cursor, environment=environment, schema_name=schema_name)
        if reason is None:
            attached = AttachedSchema.objects.create(environment=environment, schema_name=schema_name, attached_by=user)
            _grant_if_role(cursor, environment=environment, schema=schema_name)
            _audit(environment=environment, action=SourceAuditAction.ATTACH, schema=schema_name, user=user)
            return attached
    # The refusal is audited outside the rolled-back work, so it is kept.
    _audit(
        environment=environment,
        action=SourceAuditAction.ATTACH_REFUSED,
        schema=schema_name[:63],
        user=user,
        detail=reason,
    )
    raise SourceError(reason)


def schema_detach(*, environment: Environment, schema_name: str, user: AbstractBaseUser | None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        _sources_lock(cursor, environment)
        deleted, _ = AttachedSchema.objects.filter(environment=environment, schema_name=schema_name).delete()
        if not deleted:
            raise SourceError(f"{schema_name!r} is not attached to this environment")
        role = sql_role_name(environment)
        if source_sql.role_exists(cursor, role=role) and source_sql.schema_exists(cursor, schema=schema_name):
            owners = source_sql.schema_owners(cursor, schema=schema_name)
            source_sql.revoke_read(cursor, schema=schema_name, role=role, owners=owners)
        _audit(environment=environment, action=SourceAuditAction.DETACH, schema=schema_name, user=user)


# The advisory lock (class, environment id) under which an environment's data sources change: loads,
# drops, attaches, detaches and grants of its schemas run one at a time. Side by side, two loads
# deadlocked, collided on catalog names ("duplicate key … pg_type_typname_nsp_index"), or a double
# submit loaded one upload twice: 500s, found in review.
_SOURCES_LOCK_CLASS = 0x48530001


def _sources_lock(cursor, environment: Environment) -> None:
    """Wait for the environment's other source changes; held to the end of this transaction."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SOURCES_LOCK_CLASS, environment.pk])


def _grant_if_role(cursor, *, environment: Environment, schema: str) -> None:
    role = sql_role_name(environment)
    if source_sql.role_exists(cursor, role=role) and source_sql.schema_exists(cursor, schema=schema):
        source_sql.grant_read(cursor, schema=schema, role=role, owners=source_sql.schema_owners(cursor, schema=schema))


def sources_grant(*, environment: Environment) -> None:
    """Re-apply read access to the uploads schema and every attached schema (tables made by other tools too)."""
    schemas = readable_extra_schemas(environment)
    with transaction.atomic(), connection.cursor() as cursor:
        _sources_lock(cursor, environment)
        for schema in schemas:
            _grant_if_role(cursor, environment=environment, schema=schema)


def readable_extra_schemas(environment: Environment) -> list[str]:
    """Schemas besides the warehouse that the environment's SQL role reads (for the schema browser): uploads,
    the models schema where dbt writes (when there is one, warehouse/transform.py), attached schemas."""
    attached = AttachedSchema.objects.filter(environment=environment).values_list("schema_name", flat=True)
    models = TransformRole.objects.filter(environment=environment).values_list("schema_name", flat=True)
    return [uploads_schema_name(environment), *models, *attached]


def csv_stage(
    *,
    environment: Environment,
    fileobj: BinaryIO,
    filename: str,
    size: int = 0,
    delimiter: str | None = None,
    user: AbstractBaseUser | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CsvUpload:
    """Read the whole file into a private staging table and infer column types. Raises CsvError."""
    head = read_head(fileobj)
    layout = sniff_layout(head, delimiter=delimiter)
    names = unique_identifiers(
        [header if header.strip() else f"column {position}" for position, header in enumerate(layout.header, 1)]
    )
    upload = CsvUpload.objects.create(
        environment=environment, user=user, filename=filename[:255], delimiter=layout.delimiter, size_bytes=size
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            source_sql.stage_create(cursor, table=upload.staging_table, column_count=len(names))
            source = CopySource(head, fileobj, on_read=on_progress)
            rows = source_sql.stage_copy(
                cursor, table=upload.staging_table, header=layout.header, delimiter=layout.delimiter, source=source
            )
            # PostgreSQL 18 reads such a line as a value (nothing lost); before, it ends the data.
            if source.end_of_data_line is not None and connection.pg_version < 180000:
                raise CsvError(
                    "a line holding only \\. ends PostgreSQL's reading of a CSV file, and the rest would be lost:"
                    ' quote it ("\\.") to keep it as a value',
                    line=source.end_of_data_line,
                )
            inferred = source_sql.infer_types(cursor, table=upload.staging_table, column_count=len(names))
    except CsvError as exc:
        upload.status, upload.error = CsvUploadStatus.FAILED, str(exc)
        upload.save(update_fields=["status", "error"])
        raise
    except Exception as exc:  # e.g. 1,600 long columns: "row is too big" (raw from COPY, or wrapped by Django)
        cause = exc if isinstance(exc, psycopg2.errors.ProgramLimitExceeded) else exc.__cause__
        if not isinstance(cause, psycopg2.errors.ProgramLimitExceeded):
            raise
        error = CsvError(f"a row does not fit in a PostgreSQL table ({str(cause).strip().splitlines()[0]})")
        upload.status, upload.error = CsvUploadStatus.FAILED, str(error)
        upload.save(update_fields=["status", "error"])
        raise error from None
    upload.columns = [
        {"header": header, "name": name, "inferred": kind}
        for header, name, kind in zip(layout.header, names, inferred, strict=True)
    ]
    upload.row_count = rows
    upload.save(update_fields=["columns", "row_count"])
    return upload


def default_table_name(filename: str) -> str:
    return identifier_base(PurePath(filename).stem, empty="upload")


def csv_load(
    *,
    upload: CsvUpload,
    table_name: str,
    column_types: dict[str, str] | None = None,
    replace: bool = False,
    user: AbstractBaseUser | None = None,
) -> CsvUpload:
    """Create (or replace) the uploads table from the staged rows in one transaction. Raises CsvError/SourceError."""
    if upload.status != CsvUploadStatus.STAGED:
        raise SourceError(f"upload {upload.pk} is {upload.status}, not staged")
    table = identifier_base(table_name, empty="upload")
    types = {column["name"]: column["inferred"] for column in upload.columns}
    for name, kind in (column_types or {}).items():
        if name not in types:
            raise SourceError(f"no column {name!r} in {upload.filename}")
        if kind not in source_sql.COLUMN_TYPES:
            raise SourceError(f"column {name!r}: unknown type {kind!r} (use {', '.join(source_sql.COLUMN_TYPES)})")
        types[name] = kind
    # A type other than the one inferred is the user's choice: a value that does not fit it is an error. The
    # inferred one (from a sample) is widened instead when a later value does not fit it.
    inferred = {column["name"]: column["inferred"] for column in upload.columns}
    overridden = {name for name, kind in types.items() if kind not in ("text", inferred[name])}
    schema = uploads_schema_name(upload.environment)
    staging_committed = not connection.in_atomic_block  # else other connections cannot see it yet
    with transaction.atomic(), connection.cursor() as cursor:
        _sources_lock(cursor, upload.environment)
        # A second submit of the same upload waited for the first: it finds it loaded.
        status = CsvUpload.objects.filter(pk=upload.pk).values_list("status", flat=True).first()
        if status != CsvUploadStatus.STAGED:
            raise SourceError(f"upload {upload.pk} is {status or 'gone'}, not staged (loaded or discarded meanwhile)")
        if not replace and source_sql.table_exists(cursor, schema=schema, table=table):
            raise SourceError(f"table {schema}.{table} already exists; choose replace to overwrite it")
        rows = _typed_table_build(
            cursor,
            upload=upload,
            schema=schema,
            table=table,
            types=types,
            overridden=overridden,
            replace=replace,
            staging_committed=staging_committed,
        )
        _grant_if_role(cursor, environment=upload.environment, schema=schema)
        source_sql.stage_drop(cursor, table=upload.staging_table)
        _audit(
            environment=upload.environment,
            action=SourceAuditAction.CSV_LOAD,
            schema=schema,
            table=table,
            user=user,
            detail=f"{upload.filename}: {plural(rows, 'row')}{' (replaced)' if replace else ''}",
        )
        upload.status, upload.table_name, upload.row_count = CsvUploadStatus.LOADED, table, rows
        upload.loaded_at = timezone.now()
        upload.columns = [{**column, "type": types[column["name"]]} for column in upload.columns]
        upload.save(update_fields=["status", "table_name", "row_count", "loaded_at", "columns"])
    return upload


class _NotAllFit(Exception):
    """Rolls back a pass that only cast, once the whole-column check says a value did not fit."""


def _typed_table_build(
    cursor,
    *,
    upload: CsvUpload,
    schema: str,
    table: str,
    types: dict[str, str],
    overridden: set[str],
    replace: bool,
    staging_committed: bool,
) -> int:
    """The typed pass: one CREATE TABLE AS that casts and checks every value. Types were inferred from a
    sample; when a value does not fit (DataError), every value of the typed columns is checked: a
    column the user chose a type for names its first misfit (CsvError), an inferred one gets the
    narrowest type all its values fit (types is updated), and the table is built again.

    Each typed column is first checked whole (one regular expression per chunk of pages, far cheaper
    than one per value): when every value fits (the common case) the pass only casts, and gives what
    the checked pass would have given, first cast error included. Where other connections see the
    staging table, the check runs on one of its own while this one builds by casts alone, and the build
    is rolled back when the check says a value does not fit."""

    def build(known: list[str] | None, *, relay: bool = staging_committed) -> int:
        with transaction.atomic():
            return source_sql.build_table(
                cursor,
                staging=upload.staging_table,
                schema=schema,
                table=table,
                columns=[(column["name"], types[column["name"]]) for column in upload.columns],
                replace=replace,
                relay=relay,
                known=known,
            )

    typed = {index: types[column["name"]] for index, column in enumerate(upload.columns)}
    typed = {index: kind for index, kind in typed.items() if kind != "text"}
    cast_only = [
        source_sql.ALL_FIT if index in typed else source_sql.CHECK_EACH for index in range(len(upload.columns))
    ]
    if staging_committed and typed:
        with source_sql.columns_fit_whole_meanwhile(table=upload.staging_table, columns=typed, blanks=False) as fit:
            try:
                with transaction.atomic():
                    rows = build(cast_only, relay=False)  # a core for the build, one for the check
                    if fit() == set(typed):
                        return rows
                    raise _NotAllFit
            except _NotAllFit:
                pass
            except (DataError, psycopg2.DataError) as exc:
                if fit() == set(typed):
                    raise CsvError(f"{_data_error_message(exc)}; load that column as text") from None
            fit_whole = fit()
    else:
        fit_whole = source_sql.columns_fit_whole(cursor, table=upload.staging_table, columns=typed, blanks=False)
    rest = {index: kind for index, kind in typed.items() if index not in fit_whole}
    fit_or_blank = source_sql.columns_fit_whole(cursor, table=upload.staging_table, columns=rest, blanks=True)
    if len(fit_whole) + len(fit_or_blank) == len(typed):
        known = [
            source_sql.ALL_FIT
            if index in fit_whole
            else source_sql.FIT_OR_BLANK
            if index in fit_or_blank
            else source_sql.CHECK_EACH
            for index in range(len(upload.columns))
        ]
        try:
            return build(known)
        except (DataError, psycopg2.DataError) as exc:
            raise CsvError(f"{_data_error_message(exc)}; load that column as text") from None
    return _checked_table_build(
        cursor, upload=upload, types=types, overridden=overridden, build=build, fitting=fit_whole | fit_or_blank
    )


def _checked_table_build(
    cursor, *, upload: CsvUpload, types: dict[str, str], overridden: set[str], build, fitting: set[int]
) -> int:
    """The pass that checks each value, when a value of a typed column does not fit its type; the columns
    in `fitting` are known to fit (or be blank): they are cast alone, which gives the same values and
    errors. Once the types are widened, every column fits."""
    for attempt in (1, 2):
        typed = [index for index, column in enumerate(upload.columns) if types[column["name"]] != "text"]
        known = [
            source_sql.FIT_OR_BLANK if index in fitting else source_sql.CHECK_EACH
            for index in range(len(upload.columns))
        ]
        try:
            return build(known)
        except (DataError, psycopg2.DataError) as exc:
            message = _data_error_message(exc)
            if attempt == 2 or source_sql.MISFIT_PREFIX not in message:
                raise CsvError(f"{message}; load that column as text") from None
        unknown = [index for index in typed if index not in fitting]
        exact = source_sql.column_fits(cursor, table=upload.staging_table, columns=unknown, sample=False)
        fitting = set(typed)
        for index in unknown:
            column = upload.columns[index]
            kind = types[column["name"]]
            if exact[index].fits(kind):
                continue
            if column["name"] in overridden:
                misfit = source_sql.first_misfit(
                    cursor, table=upload.staging_table, column_index=index, column_type=kind
                )
                raise CsvError(f"data row {misfit[0]}: {misfit[1]!r} is not {kind}", column=column["header"])
            types[column["name"]] = exact[index].narrowest
    raise AssertionError("unreachable: the second attempt returns or raises")


def _data_error_message(exc: Exception) -> str:
    diag = getattr(exc, "diag", None) or getattr(exc.__cause__, "diag", None)
    return getattr(diag, "message_primary", None) or str(exc)


def csv_discard(*, upload: CsvUpload) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        source_sql.stage_drop(cursor, table=upload.staging_table)
        upload.status = CsvUploadStatus.DISCARDED
        upload.save(update_fields=["status"])


def csv_stale_discard(*, older_than: timedelta = STAGED_UPLOAD_LIFETIME) -> int:
    """Drop the staging tables of uploads nobody loaded or discarded (the scheduler calls this)."""
    stale = CsvUpload.objects.filter(status=CsvUploadStatus.STAGED, created_at__lt=timezone.now() - older_than)
    for upload in stale:
        csv_discard(upload=upload)
    return len(stale)


def csv_table_drop(*, environment: Environment, table_name: str, user: AbstractBaseUser | None) -> None:
    schema = uploads_schema_name(environment)
    if "\x00" in table_name:  # PostgreSQL takes no NUL, not even as a parameter
        raise SourceError(f"no table {schema}.{table_name!r}")
    with transaction.atomic(), connection.cursor() as cursor:
        _sources_lock(cursor, environment)
        if not source_sql.table_exists(cursor, schema=schema, table=table_name):
            raise SourceError(f"no table {schema}.{table_name}")
        source_sql.drop_table(cursor, schema=schema, table=table_name)
        _audit(environment=environment, action=SourceAuditAction.CSV_DROP, schema=schema, table=table_name, user=user)
