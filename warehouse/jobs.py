"""RQ jobs of the warehouse (queue "sync"). They take ids and are no-ops when re-run after finishing."""

import logging
from datetime import timedelta

import django_rq
from django.utils import timezone
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

from warehouse.models import SyncRun

logger = logging.getLogger(__name__)

QUEUE = "sync"
# What the RQ status of a run's job says about the run (sync_job_state).
LIVE, MISSING, ENDED = "live", "missing", "ended"
_LIVE_STATUSES = ("queued", "started", "deferred", "scheduled")
_CONNECT_TIMEOUT_SECONDS = 3
# A run without a job id this young may still be waiting for its requester's commit to be enqueued.
_ENQUEUE_GRACE = timedelta(seconds=5)


def sync_run_job(run_id: int) -> dict:
    from warehouse.sync.engine import sync_run_execute

    if not SyncRun.objects.filter(pk=run_id).exists():  # its environment was deleted meanwhile
        return {"run_id": run_id, "status": "gone"}
    run = sync_run_execute(run_id=run_id)
    return {"run_id": run.pk, "status": run.status}


def queue_connection() -> Redis:
    """The sync queue's Redis client, failing at once when Redis is down (no retries with back-off, a
    short connect timeout): a request or a scheduler tick then says so instead of hanging for seconds.
    Workers keep RQ's own reconnecting loop."""
    client = django_rq.get_connection(QUEUE)
    client.set_retry(Retry(NoBackoff(), 0))
    client.connection_pool.connection_kwargs.setdefault("socket_connect_timeout", _CONNECT_TIMEOUT_SECONDS)
    return client


def _job_id(run_id: int) -> str:
    return f"warehouse-sync-run-{run_id}"


def sync_run_enqueue(*, run_id: int) -> bool:
    """Put the run's job on the queue (again: the job id is the run's). False, logged, when Redis is down:
    the run stays queued and the scheduler enqueues it once Redis is back (warehouse.scheduling)."""
    try:
        queue = django_rq.get_queue(QUEUE, connection=queue_connection())
        queue.enqueue(sync_run_job, run_id, job_id=_job_id(run_id), description=f"warehouse sync run {run_id}")
    except RedisError as error:
        logger.error(
            "sync run %s stays queued: Redis is unavailable (%s); it is enqueued when Redis is back", run_id, error
        )
        return False
    SyncRun.objects.filter(pk=run_id).update(rq_job_id=_job_id(run_id))
    return True


def _fetch(run: SyncRun) -> Job | None:
    if not run.rq_job_id:
        return None
    try:
        return Job.fetch(run.rq_job_id, connection=queue_connection())
    except NoSuchJobError:
        return None


def sync_job_state(run: SyncRun) -> tuple[str, str]:
    """(LIVE | MISSING | ENDED, why) of a queued run's RQ job: LIVE while queued or running (or about to
    be enqueued); MISSING when never enqueued or lost (e.g. with Redis' data); ENDED when it finished or
    failed. Raises RedisError when Redis cannot be reached."""
    if not run.rq_job_id and run.created_at > timezone.now() - _ENQUEUE_GRACE:
        return LIVE, "being enqueued"
    job = _fetch(run)
    if job is None:
        return MISSING, "its job is not in Redis (never enqueued, or lost with Redis' data)"
    status = job.get_status(refresh=False)
    status = getattr(status, "value", status)
    if status in _LIVE_STATUSES:
        return LIVE, status
    return ENDED, f"its job ended ({status}){job_failure(job)}"


def job_failure(job: Job | None) -> str:
    """': <last line of the error>' of a failed job (e.g. 'Work-horse terminated unexpectedly…'), or ''."""
    if job is None:
        return ""
    result = job.latest_result()
    text = (getattr(result, "exc_string", None) or "").strip()
    return f": {text.splitlines()[-1]}" if text else ""


def sync_job_failure(run: SyncRun) -> str:
    """Why a run's job failed, as RQ recorded it, or '' (also when Redis cannot be reached)."""
    try:
        return job_failure(_fetch(run))
    except RedisError:
        return ""
