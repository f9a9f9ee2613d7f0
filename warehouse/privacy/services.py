"""Privacy writes: deleting users, the retention job, an environment's privacy settings.

Raw rows are deleted here, each deletion recorded (WarehouseDeletion) in the same transaction so
the next sync removes their warehouse rows (warehouse/sync/deletions.py); a sync is requested
right after. Records keep who, when and how much, never the deleted values.
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg2 import errors

from warehouse.citus import citus_mixed_transaction
from warehouse.identity import user_id_for_identity
from warehouse.ingest.redact import name_words
from warehouse.ingest.selectors import environment_cache_forget
from warehouse.models import (
    DeletionStatus,
    Environment,
    IpMode,
    RetentionRun,
    RetentionRunStatus,
    SyncKind,
    SyncTrigger,
    UserDeletionRequest,
    WarehouseDeletion,
    WarehouseDeletionKind,
)
from warehouse.services import sync_request

from . import sql as q

logger = logging.getLogger(__name__)

# Heap's User Deletion API takes up to 10,000 users per request.
MAX_USERS_PER_REQUEST = 10_000
MAX_REDACTED_PARAMS = 100
MAX_RETENTION_DAYS = 36_500
# A deletion that meets a deadlock with concurrent ingestion is tried again in a new transaction.
_DELETION_ATTEMPTS = 3


def user_deletion_request(
    *, environment: Environment, users: list[dict], source: str, requested_by=None
) -> UserDeletionRequest:
    """Record a request to delete users ({"identity": …} or {"user_id": …} each); a job executes it."""
    from warehouse.privacy import jobs  # jobs imports this module

    with transaction.atomic():
        request = UserDeletionRequest.objects.create(
            environment=environment,
            source=source,
            requested_by=requested_by,
            targets=users,
            users_requested=len(users),
        )
        transaction.on_commit(lambda: jobs.user_deletion_enqueue(request_id=request.pk))
    return request


def user_deletion_execute(*, request_id) -> UserDeletionRequest:
    """Delete every raw row of the requested people: their events, sessions, user rows and merges,
    with every anonymous id merged into them. A request no longer pending is left as it is."""
    for attempt in range(1, _DELETION_ATTEMPTS + 1):
        try:
            request, deleted_any = _user_deletion_transaction(request_id)
            break
        except OperationalError as error:
            if not isinstance(error.__cause__, errors.DeadlockDetected) or attempt == _DELETION_ATTEMPTS:
                raise
            logger.info("user deletion %s met a deadlock; trying again", request_id)
    if deleted_any:
        sync_request(environment=request.environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.PRIVACY)
    return request


def _user_deletion_transaction(request_id) -> tuple[UserDeletionRequest, bool]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            # It deletes from the merges' reference table and from distributed tables (warehouse/citus.py).
            citus_mixed_transaction(cursor)
        request = UserDeletionRequest.objects.select_for_update().select_related("environment").get(pk=request_id)
        if request.status != DeletionStatus.PENDING:
            return request, False
        environment_id = request.environment_id
        identities = [target["identity"] for target in request.targets if "identity" in target]
        seeds = [target["user_id"] for target in request.targets if "user_id" in target]
        seeds += [user_id_for_identity(identity) for identity in identities]
        with connection.cursor() as cursor:
            user_ids = q.people_user_ids(cursor, environment_id=environment_id, seeds=seeds, identities=identities)
            counts = q.people_delete(cursor, environment_id=environment_id, user_ids=user_ids) if user_ids else {}
        deleted_any = any(counts.values())
        now = timezone.now()
        if deleted_any:
            WarehouseDeletion.objects.create(
                environment_id=environment_id, kind=WarehouseDeletionKind.USERS, user_ids=user_ids, request=request
            )
        request.status, request.finished_at, request.targets, request.error = DeletionStatus.DONE, now, [], ""
        request.events_deleted = counts.get("events", 0)
        request.sessions_deleted = counts.get("sessions", 0)
        request.users_deleted = counts.get("users", 0)
        request.merges_deleted = counts.get("merges", 0)
        # Nothing found: nothing of them is in the warehouse either.
        request.warehouse_done_at = None if deleted_any else now
        request.save(
            update_fields=[
                "status",
                "finished_at",
                "targets",
                "error",
                "events_deleted",
                "sessions_deleted",
                "users_deleted",
                "merges_deleted",
                "warehouse_done_at",
            ]
        )
    logger.info(
        "user deletion %s in environment %s: %s events, %s sessions, %s users, %s merges",
        request.pk,
        environment_id,
        request.events_deleted,
        request.sessions_deleted,
        request.users_deleted,
        request.merges_deleted,
    )
    return request, deleted_any


def user_deletion_failed(*, request_id, error: str) -> None:
    """The job gave up: the request says so (its targets stay, so it can be requested again)."""
    UserDeletionRequest.objects.filter(pk=request_id, status=DeletionStatus.PENDING).update(
        status=DeletionStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def retention_run(
    *, environment_id: int, now: datetime | None = None, on_batch: Callable[[RetentionRun], None] | None = None
) -> RetentionRun | None:
    """Delete the environment's raw events older than its retention, in short transactions.

    Each batch deletes at most RETENTION_BATCH_SIZE rows, oldest first, and records the deletion
    for the warehouse in its own transaction: ingestion never waits on it (it only locks the old
    rows it deletes), and a run stopped half-way keeps what it did. RETENTION_BATCH_PAUSE_MS
    between batches leaves the machine to ingestion. Sessions that started and
    ended before the cutoff go too; users and identity merges stay. None when retention is off.
    """
    environment = Environment.objects.get(pk=environment_id)
    if not environment.retention_days:
        return None
    now = now or timezone.now()
    cutoff = now - timedelta(days=environment.retention_days)
    run = RetentionRun.objects.create(
        environment=environment, retention_days=environment.retention_days, cutoff=cutoff, started_at=now
    )
    batch_size, pause = settings.RETENTION_BATCH_SIZE, settings.RETENTION_BATCH_PAUSE_MS / 1000
    try:
        for field, delete in (("events_deleted", q.old_events_delete), ("sessions_deleted", q.old_sessions_delete)):
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    rows = delete(cursor, environment_id=environment_id, before=cutoff, limit=batch_size)
                    if rows:
                        WarehouseDeletion.objects.create(
                            environment=environment, kind=WarehouseDeletionKind.RETENTION, before=cutoff
                        )
                setattr(run, field, getattr(run, field) + rows)
                run.batches += 1
                run.save(update_fields=[field, "batches"])
                if on_batch:
                    on_batch(run)
                if rows < batch_size:
                    break
                time.sleep(pause)
    except Exception as error:
        run.status, run.error, run.finished_at = RetentionRunStatus.FAILED, f"{type(error).__name__}: {error}", now
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status, run.finished_at = RetentionRunStatus.SUCCEEDED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    logger.info(
        "retention of %s: %s events and %s sessions older than %s deleted in %s batches",
        environment,
        run.events_deleted,
        run.sessions_deleted,
        cutoff,
        run.batches,
    )
    if run.events_deleted or run.sessions_deleted:
        sync_request(environment=environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.PRIVACY)
    return run


def retention_due(*, now: datetime | None = None) -> list[int]:
    """Environments with retention on whose last run started a day or more ago (or never ran)."""
    now = now or timezone.now()
    due = []
    for environment in Environment.objects.filter(retention_days__isnull=False):
        last = RetentionRun.objects.filter(environment=environment).order_by("-started_at").first()
        if last is None or now - last.started_at >= timedelta(days=1):
            due.append(environment.pk)
    return due


def parse_redacted_params(text: str) -> list[str]:
    """The redacted parameter names from a text field: separated by commas or line breaks."""
    names = []
    for part in text.replace("\n", ",").split(","):
        name = part.strip()
        if name and name.lower() not in (existing.lower() for existing in names):
            names.append(name)
    return names


def environment_privacy_update(
    *,
    environment: Environment,
    redacted_query_params: list[str],
    redact_email_values: bool,
    ip_mode: str,
    retention_days: int | None,
) -> Environment:
    """Save an environment's privacy settings; ValueError names what is wrong."""

    problems = []
    if len(redacted_query_params) > MAX_REDACTED_PARAMS:
        problems.append(f"at most {MAX_REDACTED_PARAMS} redacted parameters")
    for name in redacted_query_params:
        if len(name) > 100 or not name_words(name):
            problems.append(f"{name[:40]!r} is not a parameter name (letters or digits, at most 100 characters)")
    if ip_mode not in IpMode.values:
        problems.append(f"the IP mode must be one of {', '.join(IpMode.values)}")
    if retention_days is not None and not 1 <= retention_days <= MAX_RETENTION_DAYS:
        problems.append(f"retention must be between 1 and {MAX_RETENTION_DAYS} days, or empty to keep everything")
    if problems:
        raise ValueError("; ".join(problems))
    environment.redacted_query_params = redacted_query_params
    environment.redact_email_values = redact_email_values
    environment.ip_mode = ip_mode
    environment.retention_days = retention_days
    environment.save(update_fields=["redacted_query_params", "redact_email_values", "ip_mode", "retention_days"])
    # Other processes' caches keep the old settings for at most APP_ID_CACHE_SECONDS.
    environment_cache_forget(environment.app_id)
    return environment
