from django.contrib import messages
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from heapsite.selectors import COUNT_HELP, environment_stats
from heapsite.services import environment_rotate_key
from warehouse.access import Permission, access_environment, environments_visible
from warehouse.models import Environment
from warehouse.privacy.selectors import privacy_overview
from warehouse.services import environment_settings_update

COLLECT_PATH = "/api/collect"


@require_GET
def dashboard(request):
    environments = list(environments_visible(user=request.user))
    context = {"stats": environment_stats(environments=environments), "count_help": COUNT_HELP}
    return render(request, "heapsite/dashboard.html", context)


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
        "stats": stats,
        "count_help": COUNT_HELP,
        "snippet": _snippet(request, environment),
        "origin": origin,
        # Heap's classic snippet with only its script host changed (docs/migrating.md).
        "heap_snippet": {"app_id": environment.app_id, "origin": origin},
        "privacy": privacy_overview(environment=environment),
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
