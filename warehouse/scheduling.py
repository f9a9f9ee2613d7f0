"""Periodic work: incremental syncs, daily retention runs. The scheduler process calls tick() every few
seconds, and poll() about every second in between (syncs of environments with new data)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from warehouse.freshness import new_data_pending, new_data_take
from warehouse.models import (
    Environment,
    SchedulerHeartbeat,
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    TableChangeRequest,
)
from warehouse.privacy.jobs import retention_enqueue, user_deletion_requeue_stale
from warehouse.privacy.services import retention_due
from warehouse.services import environment_sync_state, sync_request
from warehouse.sources.services import csv_stale_discard
from warehouse.sync.catalog import catalog_vacuum
from warehouse.sync.failures import connection_lost
from warehouse.sync.history import history_prune
from warehouse.sync.recovery import sync_leftovers_drop, sync_runs_recover, worker_name

logger = logging.getLogger(__name__)

# The sync record is pruned (history_prune), and the catalogs vacuumed where autovacuum is off
# (catalog_vacuum), once an hour by the scheduler process.
PRUNE_EVERY = timedelta(hours=1)
_pruned_at = None


def tick() -> list[int]:
    """Queue an incremental sync for every unpaused environment whose interval elapsed; returns run ids.

    Also settles runs that cannot finish (a dead worker's, a queued one whose job is not in Redis:
    warehouse/sync/recovery.py), re-queues environments with definition changes nobody is working
    on, drops the staging tables of CSV uploads abandoned before loading, forgets runs older than
    SYNC_HISTORY_DAYS, drops what stopped sync workers left and vacuums the catalogs the syncs churn
    where autovacuum is off (hourly), queues the daily retention run of environments with retention on, re-queues user deletions whose job was lost, and records
    its heartbeat (warehouse.health). With Redis down the syncs wait queued (and the rest waits for
    the next tick); with PostgreSQL down the tick fails as a whole (the scheduler logs it and tries
    again).
    """
    now = timezone.now()
    problems: list[str] = []
    try:
        sync_runs_recover()
    except RedisError as error:
        logger.error("Redis is unavailable (%s): queued syncs wait for it", error)
        problems.append(f"Redis is unavailable: {error}")
    queued: list[int] = []
    for environment in Environment.objects.all():
        try:
            run_id = _schedule(environment, now)
        except Exception as error:
            if connection_lost(error):
                raise
            logger.error("scheduling %s failed: %s: %s", environment, type(error).__name__, error)
            problems.append(f"{environment}: {type(error).__name__}: {error}")
            continue
        if run_id is not None:
            queued.append(run_id)
    csv_stale_discard()
    _hourly(now)
    try:
        for environment_id in retention_due(now=now):
            retention_enqueue(environment_id=environment_id)
        user_deletion_requeue_stale()
    except RedisError as error:
        if not problems:
            logger.error("Redis is unavailable (%s): retention and deletions wait for it", error)
        problems.append(f"Redis is unavailable: {error}")
    SchedulerHeartbeat.objects.update_or_create(
        name="scheduler",
        defaults={"ticked_at": timezone.now(), "process": worker_name(), "problem": "; ".join(dict.fromkeys(problems))},
    )
    return queued


def _hourly(now) -> None:
    """Forget old sync runs, drop the private schemas stopped sync workers left
    (warehouse/sync/recovery.py) and vacuum the churned catalogs (warehouse/sync/catalog.py), once an hour."""
    global _pruned_at
    if _pruned_at is not None and now - _pruned_at < PRUNE_EVERY:
        return
    _pruned_at = now  # a failure waits for the next hour too: neither is urgent, the syncs are
    for what, work in (
        ("forgetting old sync runs", lambda: _prune_history(now)),
        ("dropping what stopped sync workers left", sync_leftovers_drop),
        ("vacuuming the catalogs", catalog_vacuum),
    ):
        try:
            work()
        except Exception as error:
            if connection_lost(error):
                raise
            logger.error("%s failed: %s: %s", what, type(error).__name__, error)


def _prune_history(now) -> None:
    deleted = history_prune(now=now)
    if deleted:
        logger.info("forgot %s sync runs older than %s days", deleted, settings.SYNC_HISTORY_DAYS)


def _schedule(environment: Environment, now) -> int | None:
    state = environment_sync_state(environment=environment)
    due = not state.paused and (
        state.last_scheduled_at is None or now - state.last_scheduled_at >= timedelta(seconds=state.interval_seconds)
    )
    orphaned_changes = (
        TableChangeRequest.objects.filter(environment=environment, handled_at__isnull=True).exists()
        and not SyncRun.objects.filter(
            Q(status=SyncStatus.QUEUED) | Q(status=SyncStatus.RUNNING), environment=environment
        ).exists()
    )
    if not (due or orphaned_changes):
        return None
    run = sync_request(environment=environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.SCHEDULE)
    if due:
        state.last_scheduled_at = now
        state.save(update_fields=["last_scheduled_at"])
    return run.pk


_ACTIVE = (SyncStatus.QUEUED, SyncStatus.RUNNING)


def poll() -> list[int]:
    """Queue an incremental sync of every unpaused environment that ingestion marked as having new data
    (warehouse/freshness.py); returns run ids. One Redis call when no environment has new data.

    Never more than one run at a time: an environment with a queued or running run waits (a queued
    run takes the mark when it starts; data that came during a running one gets the next run, queued
    once it ends). Runs it queues start at least SYNC_NEW_DATA_DEBOUNCE_SECONDS after the
    environment's previous run was requested, so a steady stream of events is synced in batches.
    Raises RedisError when Redis cannot be reached: the interval syncs of tick() go on.
    """
    pending = new_data_pending()
    if not pending:
        return []
    now = timezone.now()
    debounce = timedelta(seconds=settings.SYNC_NEW_DATA_DEBOUNCE_SECONDS)
    queued = []
    for environment_id in sorted(pending):
        environment = Environment.objects.filter(pk=environment_id).first()
        if environment is None:  # deleted since its last events
            new_data_take(environment_id=environment_id)
            continue
        if environment_sync_state(environment=environment).paused:
            continue
        if SyncRun.objects.filter(environment=environment, status__in=_ACTIVE).exists():
            continue
        last = SyncRun.objects.filter(environment=environment).order_by("-created_at").first()
        if last is not None and now - last.created_at < debounce:
            continue
        run = sync_request(environment=environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.NEW_DATA)
        queued.append(run.pk)
    return queued
