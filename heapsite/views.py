from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from heapsite.access import access_environment
from heapsite.selectors import environment_stats
from heapsite.services import environment_rotate_key
from warehouse.apievents.selectors import api_event_table_preview
from warehouse.models import Environment

COLLECT_PATH = "/api/collect"
# The custom event of the environment page's server-side example.
EXAMPLE_EVENT = "Signed Up"


@require_GET
def dashboard(request):
    environments = list(Environment.objects.select_related("project"))
    return render(request, "heapsite/dashboard.html", {"stats": environment_stats(environments=environments)})


def _snippet(request, environment: Environment) -> dict:
    return {
        "app_id": environment.app_id,
        "endpoint": request.build_absolute_uri(COLLECT_PATH),
        "script": request.build_absolute_uri(static("heap.js")),
    }


@require_GET
def environment_home(request, schema: str):
    environment = access_environment(request, schema)
    (stats,) = environment_stats(environments=[environment])
    context = {
        "environment": environment,
        "stats": stats,
        "snippet": _snippet(request, environment),
        "origin": request.build_absolute_uri("/").rstrip("/"),
        "example_event": EXAMPLE_EVENT,
        "example_table": api_event_table_preview(environment, EXAMPLE_EVENT),
    }
    return render(request, "heapsite/environment.html", context)


@require_POST
def environment_server_key_rotate(request, schema: str):
    environment = access_environment(request, schema)
    if not request.user.is_staff:
        raise PermissionDenied("only staff can rotate server keys")
    key = environment_rotate_key(environment=environment)
    # Rendered, not redirected: the key exists only in this response.
    context = {"environment": environment, "server_key": key, "back_url": reverse("environment_home", args=[schema])}
    return render(request, "heapsite/server_key.html", context)
