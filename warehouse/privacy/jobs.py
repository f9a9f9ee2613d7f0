"""RQ jobs of privacy (queue "default"). They take ids and are no-ops when re-run after finishing."""

from datetime import timedelta

import django_rq
from django.utils import timezone
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

from warehouse.models import DeletionStatus, UserDeletionRequest

QUEUE = "default"
# A request still pending this long after it was made lost its job (Redis flushed, say): queue it again.
STALE_AFTER = timedelta(minutes=10)


def user_deletion_job(request_id: str) -> dict:
    from warehouse.privacy.services import user_deletion_execute, user_deletion_failed

    try:
        request = user_deletion_execute(request_id=request_id)
    except UserDeletionRequest.DoesNotExist:  # its environment was deleted meanwhile
        return {"request_id": request_id, "status": "gone"}
    except Exception as error:
        job = _current_job()
        if job is None or not job.retries_left:
            user_deletion_failed(request_id=request_id, error=f"{type(error).__name__}: {error}")
        raise
    return {"request_id": str(request.pk), "status": request.status}


def _current_job() -> Job | None:
    from rq import get_current_job

    return get_current_job()


def _deletion_job_id(request_id) -> str:
    return f"privacy-user-deletion-{request_id}"


def user_deletion_enqueue(*, request_id) -> None:
    django_rq.get_queue(QUEUE).enqueue(
        user_deletion_job,
        str(request_id),
        job_id=_deletion_job_id(request_id),
        retry=Retry(max=2),
        description=f"user deletion {request_id}",
    )


def user_deletion_requeue_stale() -> list[str]:
    """Queue again the pending requests whose job is gone; returns their ids."""
    requeued = []
    old = UserDeletionRequest.objects.filter(
        status=DeletionStatus.PENDING, created_at__lt=timezone.now() - STALE_AFTER
    ).values_list("pk", flat=True)
    connection = django_rq.get_connection(QUEUE)
    for request_id in old:
        try:
            job = Job.fetch(_deletion_job_id(request_id), connection=connection)
        except NoSuchJobError:
            job = None
        if job is None or job.get_status(refresh=False) in ("finished", "failed", "canceled", "stopped"):
            if job is not None:
                job.delete()
            user_deletion_enqueue(request_id=request_id)
            requeued.append(str(request_id))
    return requeued


def retention_job(environment_id: int) -> dict:
    from warehouse.privacy.services import retention_run

    run = retention_run(environment_id=environment_id)
    if run is None:
        return {"environment_id": environment_id, "status": "off"}
    return {"environment_id": environment_id, "status": run.status, "events_deleted": run.events_deleted}


def retention_enqueue(*, environment_id: int) -> None:
    """Queue the environment's retention run (once: a run already queued or running is left alone)."""
    queue = django_rq.get_queue(QUEUE)
    job_id = f"privacy-retention-{environment_id}"
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        job = None
    if job is not None and job.get_status(refresh=False) in ("queued", "started", "deferred", "scheduled"):
        return
    if job is not None:
        job.delete()
    queue.enqueue(
        retention_job, environment_id, job_id=job_id, description=f"retention of environment {environment_id}"
    )
