from django.db import connection, transaction
from psycopg2 import sql

from warehouse.models import AttachedSchema, CsvUpload, CsvUploadStatus, Environment, SourceAuditEntry

from . import sql as source_sql
from .services import uploads_schema_name

# Tables the planner thinks smaller than this (or has never analyzed: -1, e.g. right after a CSV load) are
# counted exactly; bigger ones show the planner's estimate, marked as one.
EXACT_ROWS = 100_000


def _exact_counts(cursor, tables: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not tables:
        return {}
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {schema}, {table}, (SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT {cap}) s)").format(
            schema=sql.Literal(schema),
            table=sql.Literal(table),
            name=sql.Identifier(schema, table),
            cap=sql.Literal(EXACT_ROWS),
        )
        for schema, table in tables
    )
    cursor.execute(counts)
    return {(schema, table): count for schema, table, count in cursor.fetchall()}


def sources_overview(environment: Environment) -> dict:
    """Everything the data sources page shows, in a fixed number of queries."""
    uploads_schema = uploads_schema_name(environment)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, c.relname, c.reltuples::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname = ANY(%s)
            ORDER BY n.nspname, c.relname
            """,
            [
                [
                    uploads_schema,
                    *AttachedSchema.objects.filter(environment=environment).values_list("schema_name", flat=True),
                ]
            ],
        )
        found = cursor.fetchall()
        exact = _exact_counts(cursor, [(schema, table) for schema, table, estimate in found if estimate < EXACT_ROWS])
        tables: dict[str, list[tuple[str, int, bool]]] = {}
        for schema, table, estimate in found:
            if (schema, table) in exact:
                tables.setdefault(schema, []).append((table, exact[(schema, table)], False))
            else:
                tables.setdefault(schema, []).append((table, estimate, True))
    attached = list(AttachedSchema.objects.filter(environment=environment).select_related("attached_by"))
    for item in attached:
        item.tables = tables.get(item.schema_name, [])
    return {
        "uploads_schema": uploads_schema,
        "upload_tables": tables.get(uploads_schema, []),
        "attached": attached,
        "staged": list(CsvUpload.objects.filter(environment=environment, status=CsvUploadStatus.STAGED)[:20]),
        "recent_uploads": list(CsvUpload.objects.filter(environment=environment).select_related("user")[:20]),
        "audit": list(SourceAuditEntry.objects.filter(environment=environment).select_related("user")[:30]),
    }


def staged_sample(upload: CsvUpload, *, limit: int = 10) -> list[tuple]:
    columns = [sql.Identifier(name) for name in source_sql.staging_columns(len(upload.columns))]
    with transaction.atomic(), connection.cursor() as cursor:
        source_sql.scan_in_file_order(cursor)
        cursor.execute(
            sql.SQL("SELECT {} FROM {}.{} LIMIT %s").format(
                sql.SQL(", ").join(columns),
                sql.Identifier(source_sql.STAGING_SCHEMA),
                sql.Identifier(upload.staging_table),
            ),
            [limit],
        )
        return cursor.fetchall()
