"""Writes of the warehouse app: requesting syncs, recording definition changes, sync settings."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from warehouse.models import (
    Environment,
    EnvironmentSync,
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    TableChangeRequest,
)

logger = logging.getLogger(__name__)


def environment_sync_state(*, environment: Environment) -> EnvironmentSync:
    state, _ = EnvironmentSync.objects.get_or_create(
        environment=environment, defaults={"interval_seconds": settings.SYNC_DEFAULT_INTERVAL_SECONDS}
    )
    return state


def sync_request(
    *, environment: Environment, kind: str = SyncKind.INCREMENTAL, trigger: str = SyncTrigger.MANUAL
) -> SyncRun:
    """Queue a sync of the environment, or return the one already queued (upgraded to full if asked).

    Every run also handles the pending definition changes, so one queued run serves all requests. A
    queued run is joined only while it can still run: its job is queued or running in RQ, or missing
    from Redis (then it is enqueued again); one whose job ended without running it is marked failed
    and a new run is queued. With Redis down, the run waits queued (`run.rq_job_id` stays empty) and
    the scheduler enqueues it when Redis is back.
    """
    from warehouse import jobs  # jobs imports the engine; keep model-only imports light for apps.ready

    with transaction.atomic():
        state = environment_sync_state(environment=environment)
        EnvironmentSync.objects.select_for_update().filter(pk=state.pk).first()  # serialise requesters
        queued = (
            SyncRun.objects.select_for_update()
            .filter(environment=environment, status=SyncStatus.QUEUED)
            .order_by("created_at")
            .first()
        )
        if queued is not None:
            try:
                job_state, why = jobs.sync_job_state(queued)
            except RedisError:
                job_state, why = jobs.LIVE, "Redis is unavailable: it is enqueued when Redis is back"
            if job_state == jobs.ENDED:
                queued.status, queued.error = SyncStatus.FAILED, f"the run never started: {why}"
                queued.finished_at = timezone.now()
                queued.save(update_fields=["status", "error", "finished_at"])
                queued = None
            elif job_state == jobs.MISSING:
                logger.warning("sync run %s is enqueued again: %s", queued.pk, why)
                run_id = queued.pk
                transaction.on_commit(lambda: jobs.sync_run_enqueue(run_id=run_id))
        if queued is not None:
            if kind == SyncKind.FULL and queued.kind != SyncKind.FULL:
                queued.kind = SyncKind.FULL
                queued.save(update_fields=["kind"])
            return queued
        run = SyncRun.objects.create(environment=environment, kind=kind, trigger=trigger)
        transaction.on_commit(lambda: jobs.sync_run_enqueue(run_id=run.pk))
    run.refresh_from_db(fields=["rq_job_id"])
    return run


def table_change_record(*, environment_id: int, changes: list[tuple[str, str]]) -> None:
    """The registry listener: remember the changes ([(table key, change)]) durably, then queue one
    sync after the commit."""
    TableChangeRequest.objects.bulk_create(
        [TableChangeRequest(environment_id=environment_id, key=key, change=change) for key, change in changes]
    )
    environment = Environment.objects.get(pk=environment_id)
    sync_request(environment=environment, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.DEFINITION)


_MAX_INTERVAL_SECONDS = 7 * 86400


def environment_sync_settings_update(
    *, environment: Environment, interval_seconds: int, paused: bool
) -> EnvironmentSync:
    if not 5 <= interval_seconds <= _MAX_INTERVAL_SECONDS:
        raise ValueError(f"the sync interval must be between 5 seconds and {_MAX_INTERVAL_SECONDS // 86400} days")
    state = environment_sync_state(environment=environment)
    state.interval_seconds, state.paused = interval_seconds, paused
    state.save(update_fields=["interval_seconds", "paused"])
    return state


def sync_run_foreground(*, environment: Environment, full: bool, on_update=None) -> SyncRun:
    """Run a sync now in this process (manage.py sync), recorded like any other run."""
    from warehouse.sync.engine import sync_run_execute

    run = SyncRun.objects.create(
        environment=environment, kind=SyncKind.FULL if full else SyncKind.INCREMENTAL, trigger=SyncTrigger.MANUAL
    )
    return sync_run_execute(run_id=run.pk, on_update=on_update)


# Environment switches that `manage.py environment_set` and the environment page may change.
ENVIRONMENT_SWITCHES = ("keyless_server_api",)


def environment_settings_update(*, environment: Environment, keyless_server_api: bool) -> Environment:
    """Turn "accept server events without a key (as Heap does)" on or off (docs/api.md explains the risk)."""
    environment.keyless_server_api = keyless_server_api
    environment.save(update_fields=["keyless_server_api"])
    logger.info("environment %s: keyless_server_api=%s", environment, keyless_server_api)
    return environment


def environment_labeler_sites_update(*, environment: Environment, origins: list[str], demo_shop: bool) -> Environment:
    """The sites (origins) the visual labeler may run on for this environment (docs/labeler.md)."""
    environment.labeler_origins, environment.labeler_demo_shop = origins, demo_shop
    environment.save(update_fields=["labeler_origins", "labeler_demo_shop"])
    logger.info("environment %s: labeler sites %s, demo shop %s", environment, origins, demo_shop)
    return environment
