"""RQ jobs of the warehouse (queue "sync"). They take ids and are no-ops when re-run after finishing."""

import django_rq
from rq.exceptions import NoSuchJobError
from rq.job import Job

from warehouse.models import SyncRun

QUEUE = "sync"


def sync_run_job(run_id: int) -> dict:
    from warehouse.sync.engine import sync_run_execute

    if not SyncRun.objects.filter(pk=run_id).exists():  # its environment was deleted meanwhile
        return {"run_id": run_id, "status": "gone"}
    run = sync_run_execute(run_id=run_id)
    return {"run_id": run.pk, "status": run.status}


def _job_id(run_id: int) -> str:
    return f"warehouse-sync-run-{run_id}"


def sync_run_enqueue(*, run_id: int) -> None:
    queue = django_rq.get_queue(QUEUE)
    queue.enqueue(sync_run_job, run_id, job_id=_job_id(run_id), description=f"warehouse sync run {run_id}")
    SyncRun.objects.filter(pk=run_id).update(rq_job_id=_job_id(run_id))


def sync_job_is_alive(run: SyncRun) -> bool:
    """A queued run whose job is still in Redis (or not enqueued yet: the enqueue waits for commit)."""
    if not run.rq_job_id:
        return True
    try:
        job = Job.fetch(run.rq_job_id, connection=django_rq.get_connection(QUEUE))
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in ("queued", "started", "deferred", "scheduled")


def sync_job_meta(run: SyncRun) -> dict:
    if not run.rq_job_id:
        return {}
    try:
        return Job.fetch(run.rq_job_id, connection=django_rq.get_connection(QUEUE)).meta
    except NoSuchJobError:
        return {}
