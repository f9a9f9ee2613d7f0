from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from heapsite.selectors import environment_stats
from heapsite.services import environment_rotate_key
from warehouse.access import Permission, access_environment, environments_visible
from warehouse.apievents.selectors import api_event_table_preview
from warehouse.health import environment_sync_health, health_report
from warehouse.models import Environment
from warehouse.privacy.selectors import privacy_overview
from warehouse.services import environment_settings_update

COLLECT_PATH = "/api/collect"
# The custom event of the environment page's server-side example.
EXAMPLE_EVENT = "Signed Up"


@require_GET
def dashboard(request):
    environments = list(environments_visible(user=request.user))
    return render(request, "heapsite/dashboard.html", {"stats": environment_stats(environments=environments)})


def _snippet(request, environment: Environment) -> dict:
    return {
        "app_id": environment.app_id,
        "endpoint": request.build_absolute_uri(COLLECT_PATH),
        "script": request.build_absolute_uri(static("heap.js")),
    }


@require_GET
def environment_home(request, schema: str):
    environment = access_environment(request, schema, Permission.VIEW)
    (stats,) = environment_stats(environments=[environment])
    origin = request.build_absolute_uri("/").rstrip("/")
    context = {
        "environment": environment,
        "sync_health": environment_sync_health(environment=environment),
        "stats": stats,
        "snippet": _snippet(request, environment),
        "origin": origin,
        # Heap's classic snippet with only its script host changed (docs/migrating.md).
        "heap_snippet": {"app_id": environment.app_id, "origin": origin},
        "privacy": privacy_overview(environment=environment),
        "example_event": EXAMPLE_EVENT,
        "example_table": api_event_table_preview(environment, EXAMPLE_EVENT),
    }
    return render(request, "heapsite/environment.html", context)


@require_POST
def environment_keyless_server_api(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    enabled = request.POST.get("keyless_server_api") == "on"
    environment_settings_update(environment=environment, keyless_server_api=enabled)
    if enabled:
        messages.warning(request, "Server events without a key are now accepted for this environment.")
    else:
        messages.info(request, "Server events need the server key again.")
    return redirect("environment_home", schema=schema)


@require_POST
def environment_server_key_rotate(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    key = environment_rotate_key(environment=environment)
    # Rendered, not redirected: the key exists only in this response.
    context = {"environment": environment, "server_key": key, "back_url": reverse("environment_home", args=[schema])}
    return render(request, "heapsite/server_key.html", context)


@login_not_required
@require_GET
def healthz(request):
    """For load balancers and monitoring: database, Redis, scheduler heartbeat, workers, stalled syncs.

    200 when all is well, 503 otherwise. Anonymous callers get counts only; a logged-in user also
    gets the problems of the environments they may see, and staff what is wrong with the processes.
    """
    try:
        user = request.user
        names = set(environments_visible(user=user).values_list("warehouse_schema", flat=True))
        details = user.is_authenticated and user.is_staff
    except Exception:  # the session lives in PostgreSQL, which may be what is down
        names, details = set(), False
    report = health_report(names=names, details=details)
    return JsonResponse(report, status=200 if report["ok"] else 503)
