from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from warehouse.access import Permission, access_environment
from warehouse.health import scheduler_heartbeat
from warehouse.models import SyncKind, SyncTrigger
from warehouse.params import whole_number
from warehouse.selectors import sync_live_progress, sync_status
from warehouse.services import environment_sync_settings_update, sync_request


@require_GET
def sync_status_page(request, schema: str):
    environment = access_environment(request, schema, Permission.VIEW)
    context = sync_status(environment=environment) | {
        "environment": environment,
        "heartbeat": scheduler_heartbeat(),
        "tick_seconds": settings.SCHEDULER_TICK_SECONDS,
    }
    return render(request, "warehouse/sync/status.html", context)


@require_GET
def sync_progress(request, schema: str):
    environment = access_environment(request, schema, Permission.VIEW)
    return JsonResponse(sync_live_progress(environment=environment))


@require_POST
def sync_now(request, schema: str):
    environment = access_environment(request, schema, Permission.EDIT)
    kind = SyncKind.FULL if request.POST.get("kind") == "full" else SyncKind.INCREMENTAL
    run = sync_request(environment=environment, kind=kind, trigger=SyncTrigger.MANUAL)
    if run.rq_job_id:
        messages.info(request, f"{run.kind.capitalize()} sync #{run.pk} queued.")
    else:
        messages.warning(
            request,
            f"{run.kind.capitalize()} sync #{run.pk} is queued, but Redis (the job queue) cannot be reached: "
            "it starts by itself when Redis is back.",
        )
    return redirect("warehouse_sync_status", schema=schema)


@require_POST
def sync_settings(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    try:
        # Any whole number of up to 100 digits: the range (5 s to 7 days) is the service's to name.
        interval = whole_number(request.POST.get("interval_seconds", "").strip(), limit=10**100)
        if interval is None:
            raise ValueError("not a whole number")
        environment_sync_settings_update(
            environment=environment, interval_seconds=interval, paused=request.POST.get("paused") == "on"
        )
    except ValueError as error:
        message = str(error) if "interval" in str(error) else "the sync interval must be a whole number of seconds"
        messages.error(request, message)
    else:
        messages.info(request, "Sync schedule saved.")
    return redirect("warehouse_sync_status", schema=schema)
