"""Periodic work: incremental syncs, daily retention runs. The scheduler process calls tick() every few seconds."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from warehouse.models import Environment, SyncKind, SyncRun, SyncStatus, SyncTrigger, TableChangeRequest
from warehouse.privacy.jobs import retention_enqueue, user_deletion_requeue_stale
from warehouse.privacy.services import retention_due
from warehouse.services import environment_sync_state, sync_request
from warehouse.sources.services import csv_stale_discard

logger = logging.getLogger(__name__)


def tick() -> list[int]:
    """Queue an incremental sync for every unpaused environment whose interval elapsed; returns run ids.

    Also re-queues environments with definition changes nobody is working on (e.g. a lost job),
    drops the staging tables of CSV uploads abandoned before loading, queues the daily retention
    run of environments with retention on, and re-queues user deletions whose job was lost.
    """
    now = timezone.now()
    queued: list[int] = []
    for environment in Environment.objects.all():
        state = environment_sync_state(environment=environment)
        due = not state.paused and (
            state.last_scheduled_at is None
            or now - state.last_scheduled_at >= timedelta(seconds=state.interval_seconds)
        )
        orphaned_changes = (
            TableChangeRequest.objects.filter(environment=environment, handled_at__isnull=True).exists()
            and not SyncRun.objects.filter(
                Q(status=SyncStatus.QUEUED) | Q(status=SyncStatus.RUNNING), environment=environment
            ).exists()
        )
        if not (due or orphaned_changes):
            continue
        run = sync_request(environment=environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.SCHEDULE)
        if due:
            state.last_scheduled_at = now
            state.save(update_fields=["last_scheduled_at"])
        queued.append(run.pk)
    csv_stale_discard()
    for environment_id in retention_due(now=now):
        retention_enqueue(environment_id=environment_id)
    user_deletion_requeue_stale()
    return queued
