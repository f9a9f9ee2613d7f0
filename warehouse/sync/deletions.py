"""Deletions in the warehouse: a sync removes the rows whose raw rows were deleted since.

A user deletion or a retention run deletes raw rows and, in the same transaction, records a
WarehouseDeletion (warehouse/privacy/services.py). Every sync, full or incremental, applies the
ones whose transaction finished before its upper bound, inside its apply transaction: from every
event table's stored rows (hence from the views and all_events), `sessions`, `users` and
`user_migrations` it deletes the rows of the deleted users (or older than the retention cutoff)
that no longer exist in the raw store. Checking the raw store makes it exact whatever happened
meanwhile: rows that arrived later for the same identity stay, and running it twice deletes
nothing more. A sync that fails leaves them pending for the next.
"""

from dataclasses import dataclass, field

from django.utils import timezone
from psycopg2 import sql

from warehouse.models import UserDeletionRequest, WarehouseDeletion, WarehouseDeletionKind
from warehouse.privacy import sql as q


@dataclass
class PendingDeletions:
    ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    before: object = None  # the latest retention cutoff, or None

    def __bool__(self) -> bool:
        return bool(self.ids)


def deletions_pending(cursor, *, environment_id: int, until: str) -> PendingDeletions:
    """The deletions a sync bounded by `until` applies (read at its start, with the bound)."""
    pending = PendingDeletions()
    user_ids: set[int] = set()
    for deletion_id, kind, ids, before in q.pending_warehouse_deletions(
        cursor, environment_id=environment_id, until=until
    ):
        pending.ids.append(deletion_id)
        if kind == WarehouseDeletionKind.USERS:
            user_ids.update(ids)
        elif before is not None and (pending.before is None or before > pending.before):
            pending.before = before
    pending.user_ids = sorted(user_ids)
    return pending


def deletions_apply(
    cursor, *, environment_id: int, schema: str, data_schema: str, stored_tables: list[str], pending: PendingDeletions
) -> dict[str, int]:
    """Delete the warehouse rows of `pending` (in the caller's transaction); rows deleted per table."""
    if not pending:
        return {}
    params = {"user_ids": pending.user_ids, "before": pending.before}
    deleted = {}
    for table in stored_tables:
        deleted[table] = q.warehouse_rows_delete(
            cursor,
            table=sql.Identifier(data_schema, table),
            kind=None,
            environment_id=environment_id,
            params=params,
        )
    for name in q.WAREHOUSE_TABLES:
        deleted[name] = q.warehouse_rows_delete(
            cursor, table=sql.Identifier(schema, name), kind=name, environment_id=environment_id, params=params
        )
    now = timezone.now()
    # Applied: user ids are no longer needed (the request keeps its counts); retention's records go.
    WarehouseDeletion.objects.filter(pk__in=pending.ids, kind=WarehouseDeletionKind.RETENTION).delete()
    applied = WarehouseDeletion.objects.filter(pk__in=pending.ids)
    UserDeletionRequest.objects.filter(pk__in=applied.values("request_id")).update(warehouse_done_at=now)
    applied.update(applied_at=now, user_ids=[])
    return {table: rows for table, rows in deleted.items() if rows}
