"""Runs that cannot finish by themselves: found and settled, so an environment never waits on one.

- A *running* run whose worker is gone (SIGKILL, a crash, a lost machine, a terminated database
  connection): the environment's advisory lock, held by the worker's connection, is free (or held by
  the caller, which is the next run). It is marked failed with what is known: the worker, the step
  it was at, and what RQ recorded about its job.
- A *queued* run whose job is not in Redis (never enqueued because Redis was down, or lost with
  Redis' data) is enqueued again; one whose job ended without running it is marked failed.

The scheduler calls `sync_runs_recover()` every tick; the engine settles the dead runs of its
environment when it takes the lock. Their `_sync_history` rows are written by the next run.
"""

import logging
import os
import socket

from django.utils import timezone

from warehouse import jobs
from warehouse.models import SyncRun, SyncStatus
from warehouse.sync.locking import environment_is_locked
from warehouse.sync.progress import step_text

logger = logging.getLogger(__name__)


def worker_name() -> str:
    """host:pid of this process, recorded on the runs it executes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_run_reason(run: SyncRun) -> str:
    where = f" {run.worker}" if run.worker else ""
    step = step_text(run.step, run.current_table) or "starting"
    return f"the worker{where} stopped while the run was {step}, without finishing{jobs.sync_job_failure(run)}"


def _settle_dead(run: SyncRun) -> bool:
    reason = dead_run_reason(run)
    settled = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, finished_at=timezone.now(), error=reason
    )
    if settled:
        logger.error("sync run %s of %s failed: %s", run.pk, run.environment_id, reason)
    return bool(settled)


def sync_runs_reap(*, environment_id: int, current_run_id: int) -> None:
    """Called by a run that holds its environment's lock: every other running run of it is dead."""
    others = SyncRun.objects.filter(environment_id=environment_id, status=SyncStatus.RUNNING).exclude(pk=current_run_id)
    for run in others:
        _settle_dead(run)


def sync_runs_recover() -> list[int]:
    """Settle dead running runs and queued runs without a live job, in every environment; returns the
    ids of the runs enqueued again. Raises RedisError (after settling the dead runs) when Redis is down."""
    for run in SyncRun.objects.filter(status=SyncStatus.RUNNING):
        # The status was written under the lock, and a finished run leaves it before unlocking: a
        # running run whose lock is free has no worker any more.
        if not environment_is_locked(run.environment_id):
            _settle_dead(run)
    enqueued = []
    queued = list(SyncRun.objects.filter(status=SyncStatus.QUEUED).order_by("created_at"))
    if queued:
        jobs.queue_connection().ping()  # Redis down: one error for the tick, not one per run
    for run in queued:
        state, why = jobs.sync_job_state(run)
        if state == jobs.MISSING:
            if jobs.sync_run_enqueue(run_id=run.pk):
                logger.warning("sync run %s enqueued again: %s", run.pk, why)
                enqueued.append(run.pk)
        elif state == jobs.ENDED:
            SyncRun.objects.filter(pk=run.pk, status=SyncStatus.QUEUED).update(
                status=SyncStatus.FAILED, finished_at=timezone.now(), error=f"the run never started: {why}"
            )
            logger.error("sync run %s failed: the run never started: %s", run.pk, why)
    return enqueued
