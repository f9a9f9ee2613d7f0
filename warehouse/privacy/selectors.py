"""Reads of privacy: a deletion request as the API reports it, an environment's privacy overview."""

from warehouse.models import Environment, IpMode, RetentionRun, UserDeletionRequest

RECENT = 10


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def user_deletion_status(*, request: UserDeletionRequest) -> dict:
    """The API's answer for a deletion request: its status and what it removed (never who)."""
    return {
        "deletion_request_id": str(request.pk),
        "status": request.status,
        "created_at": _iso(request.created_at),
        "finished_at": _iso(request.finished_at),
        "users_requested": request.users_requested,
        "deleted": {
            "events": request.events_deleted,
            "sessions": request.sessions_deleted,
            "users": request.users_deleted,
            "identity_merges": request.merges_deleted,
        },
        "warehouse": "done" if request.warehouse_done_at else "pending",
        "warehouse_done_at": _iso(request.warehouse_done_at),
        "error": request.error,
    }


def privacy_overview(*, environment: Environment) -> dict:
    """What the environment page shows: settings, recent deletion requests and retention runs."""
    return {
        "redacted_query_params": environment.redacted_query_params,
        "ip_modes": IpMode.choices,
        "deletions": list(
            UserDeletionRequest.objects.filter(environment=environment)
            .select_related("requested_by")
            .order_by("-created_at")[:RECENT]
        ),
        "retention_runs": list(RetentionRun.objects.filter(environment=environment).order_by("-started_at")[:RECENT]),
    }
