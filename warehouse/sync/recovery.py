"""Runs that cannot finish by themselves: found and settled, so an environment never waits on one.

- A *running* run whose worker is gone (SIGKILL, a crash, a lost machine, a terminated database
  connection): the environment's advisory lock, held by the worker's connection, is free (or held by
  the caller, which is the next run). It is marked failed with what is known: the worker, the step
  it was at, and what RQ recorded about its job.
- A *queued* run whose job is not in Redis (never enqueued because Redis was down, or lost with
  Redis' data) is enqueued again; one whose job ended without running it is marked failed.

The scheduler calls `sync_runs_recover()` every tick; the engine settles the dead runs of its
environment when it takes the lock. Their `_sync_history` rows are written by the next run.

A dead worker also leaves its private schemas: what it was building (work, build: at 1M events
and 500 definitions, ~2.4M rows) or, past its swap, the stored rows it replaced. Its environment's
next run drops them first; `sync_leftovers_drop()` (hourly) does not wait for that run, which a
paused environment or a long interval puts off.
"""

import logging
import os
import re
import socket

from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from warehouse import jobs
from warehouse.models import SyncRun, SyncStatus
from warehouse.sync.locking import environment_is_locked, environment_lock_if_free
from warehouse.sync.progress import step_text
from warehouse.sync.tables import PRIVATE_SCHEMA_PREFIX, sync_private_schema

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


_LEFTOVER = re.compile(re.escape(PRIVATE_SCHEMA_PREFIX) + r"sync_(work|build|replaced)_([0-9]+)")


def sync_leftovers_drop() -> list[str]:
    """Drop the sync's private work, build and replaced-rows schemas of environments no run is
    working on (their lock free, and held while dropping); returns the schemas dropped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace ORDER BY 1")
        matches = [_LEFTOVER.fullmatch(name) for (name,) in cursor.fetchall()]
    found = [
        (match[0], int(match[2]))
        for match in matches
        if match and match[0] == sync_private_schema(match[1], int(match[2]))
    ]
    dropped = []
    for schema, environment_id in found:
        with environment_lock_if_free(environment_id) as free:
            if not free:
                continue
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            dropped.append(schema)
            logger.warning("dropped %s, left by a sync worker that stopped", schema)
    return dropped
