from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from definitions.labeler.origins import clean_origins, demo_shop_origins
from heapsite.selectors import COUNT_HELP, environment_deletion_summary, environment_stats
from heapsite.services import (
    environment_create,
    environment_delete,
    environment_rename,
    environment_rotate_key,
)
from warehouse.access import (
    Permission,
    access_environment,
    environments_visible,
    project_is_administered_by,
    projects_administered,
)
from warehouse.apievents.selectors import api_event_table_preview
from warehouse.health import environment_sync_health, health_report
from warehouse.models import Environment
from warehouse.preferences import preferences_of, preferences_update, time_zone_names
from warehouse.privacy.selectors import privacy_overview
from warehouse.services import environment_labeler_sites_update, environment_settings_update

COLLECT_PATH = "/api/collect"
# The custom event of the environment page's server-side example.
EXAMPLE_EVENT = "Signed Up"


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def dashboard(request):
    environments = list(environments_visible(user=request.user))
    context = {
        "stats": environment_stats(environments=environments),
        "count_help": COUNT_HELP,
        "may_create": request.user.is_superuser or bool(projects_administered(user=request.user)),
    }
    return render(request, "heapsite/dashboard.html", context)


@require_http_methods(["GET", "POST"])
def environment_new(request: HttpRequest) -> HttpResponse:
    """Create an environment: a project (existing, or new for superusers) and a name; the schema is derived."""
    projects = projects_administered(user=request.user)
    if not projects and not request.user.is_superuser:
        raise PermissionDenied("creating environments needs the admin role of a whole project, or a superuser")
    form = {
        "project": request.POST.get("project", ""),
        "name": request.POST.get("name", ""),
        "display_name": request.POST.get("display_name", ""),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        project_name = form["project"].strip()
        if not request.user.is_superuser and project_name not in {p.name for p in projects}:
            errors["project"] = ["you can create environments only in projects you are an admin of"]
        else:
            try:
                environment, key = environment_create(
                    project_name=project_name, name=form["name"], display_name=form["display_name"]
                )
            except ValidationError as error:
                errors = error.message_dict
            else:
                messages.success(
                    request, f"Created {environment.label} (warehouse schema {environment.warehouse_schema})."
                )
                context = {
                    "environment": environment,
                    "server_key": key,
                    "created": True,
                    "back_url": reverse("environment_home", args=[environment.warehouse_schema]),
                }
                return render(request, "heapsite/server_key.html", context)
    context = {"projects": projects, "form": form, "errors": errors, "may_create_project": request.user.is_superuser}
    return render(request, "heapsite/environment_new.html", context, status=400 if errors else 200)


@require_POST
def environment_settings(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.ADMIN)
    try:
        environment_rename(environment=environment, display_name=request.POST.get("display_name", ""))
    except ValidationError as error:
        messages.error(request, "Not renamed: " + " ".join(error.messages))
    else:
        messages.success(request, f"This environment is now called {environment.label}.")
    return redirect("environment_home", schema=schema)


def _may_delete(request: HttpRequest, environment: Environment) -> bool:
    return project_is_administered_by(user=request.user, project=environment.project)


@require_http_methods(["GET", "POST"])
def environment_delete_page(request: HttpRequest, schema: str) -> HttpResponse:
    """Delete an environment after typing its schema name; the page says everything that goes with it."""
    environment = access_environment(request, schema, Permission.ADMIN)
    if not _may_delete(request, environment):
        raise PermissionDenied("deleting an environment needs the admin role of its whole project, or a superuser")
    error = ""
    if request.method == "POST":
        typed = request.POST.get("confirm", "").strip()
        if typed == environment.warehouse_schema:
            label = environment.label
            environment_delete(environment=environment)
            request.session.pop("environment", None)
            messages.success(request, f"Deleted {label} and everything it had.")
            return redirect("dashboard")
        error = f"type {environment.warehouse_schema} exactly to delete it (you typed {typed!r})"
    context = {
        "environment": environment,
        "summary": environment_deletion_summary(environment=environment),
        "error": error,
    }
    return render(request, "heapsite/environment_delete.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The person's own settings: the time zone every page shows times in."""
    if request.method == "POST":
        try:
            preferences_update(request=request, time_zone=request.POST.get("time_zone", ""))
        except ValueError as error:
            messages.error(request, f"Not saved: {error}")
        else:
            messages.success(request, "Saved: times are shown in your time zone now.")
        return redirect("account")
    context = {
        "preferences": preferences_of(user=request.user),
        "time_zones": time_zone_names(),
        "server_time_zone": settings.TIME_ZONE,
    }
    return render(request, "heapsite/account.html", context)


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
        "count_help": COUNT_HELP,
        "snippet": _snippet(request, environment),
        "origin": origin,
        # Heap's classic snippet with only its script host changed (docs/migrating.md).
        "heap_snippet": {"app_id": environment.app_id, "origin": origin},
        "privacy": privacy_overview(environment=environment),
        "may_delete": _may_delete(request, environment),
        "example_event": EXAMPLE_EVENT,
        "example_table": api_event_table_preview(environment, EXAMPLE_EVENT),
        "demo_shop_origins": demo_shop_origins(request),
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
def environment_labeler_sites(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    origins, problems = clean_origins(request.POST.get("labeler_origins", ""))
    if problems:
        messages.error(request, "Labeler sites not saved: " + "; ".join(problems))
    else:
        demo_shop = request.POST.get("labeler_demo_shop") == "on"
        environment_labeler_sites_update(environment=environment, origins=origins, demo_shop=demo_shop)
        messages.info(request, "Labeler sites saved.")
    return redirect(reverse("environment_home", args=[schema]) + "#labeler-sites")


@require_POST
def environment_server_key_rotate(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    key = environment_rotate_key(environment=environment)
    # Rendered, not redirected: the key exists only in this response.
    context = {"environment": environment, "server_key": key, "back_url": reverse("environment_home", args=[schema])}
    return render(request, "heapsite/server_key.html", context)


@login_not_required
@require_GET
def labeler_script(request: HttpRequest) -> HttpResponse:
    """heap.js loads the labeler from next to its own URL: for Heap's classic snippet that is /js/ (docs/labeler.md)."""
    return redirect(static("labeler.js"))


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
