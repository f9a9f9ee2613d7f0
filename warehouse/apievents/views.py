"""The page of one event logged via the API, and its "sync to warehouse" switch."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from warehouse.access import Permission, access_environment
from warehouse.models import ApiEvent

from .selectors import api_event_state
from .services import api_event_sync_set

# Where a switch sends people back to (a fixed set: never a URL from the form).
RETURN_TO = {"list": "definitions:index", "sync": "warehouse_sync_status"}


def switch_redirect(request: HttpRequest, *, schema: str, page_url: str) -> HttpResponse:
    """Back to the list, the sync page, or (by default) the event's own page."""
    name = RETURN_TO.get(request.POST.get("return_to", ""))
    return redirect(reverse(name, args=[schema]) if name else page_url)


@require_GET
def api_event_page(request: HttpRequest, schema: str, api_event_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    event = get_object_or_404(ApiEvent, environment=environment, pk=api_event_id)
    context = {"environment": environment, "state": api_event_state(event), "cap": settings.SYNC_API_EVENT_TABLES_MAX}
    return render(request, "warehouse/apievents/event.html", context)


@require_POST
def api_event_sync(request: HttpRequest, schema: str, api_event_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.EDIT)
    event = get_object_or_404(ApiEvent, environment=environment, pk=api_event_id)
    try:
        api_event_sync_set(event=event, sync=request.POST.get("sync", ""))
    except ValueError as error:
        messages.error(request, str(error))
    else:
        state = api_event_state(event)
        messages.success(request, f"{event.name[:80]!r}: {state.label}, from the next sync on.")
    return switch_redirect(request, schema=schema, page_url=reverse("warehouse_api_event", args=[schema, api_event_id]))
