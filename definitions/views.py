"""The definition editor under /e/<schema>/definitions/: list, create/edit with live preview, history."""

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from warehouse.access import Permission, access_environment, environments_visible
from warehouse.apievents.selectors import api_event_rows
from warehouse.apievents.views import switch_redirect
from warehouse.models import Environment
from warehouse.params import whole_number
from warehouse.selectors import sync_table_failure

from . import portability
from .compiler import KINDS
from .labeler.origins import labeler_sites
from .models import Definition
from .selectors import (
    definition_compiled_or_error,
    definition_list,
    definition_preview,
    definitions_of,
    errors_in_words,
    prefill_from_event,
)
from .services import (
    MAX_NAME,
    DefinitionInvalid,
    definition_create,
    definition_delete,
    definition_restore,
    definition_sync_set,
    definition_update,
)

CONDITION_OPS = {
    "text": ["exact", "contains", "regex"],
    "href": ["exact", "contains", "regex"],
    "property": ["equals", "not_equals", "contains", "is_set", "is_not_set", "greater_than", "less_than", "regex"],
}


def _form_input(request: HttpRequest) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted form as service arguments, plus errors for what could not even be read."""
    errors: dict[str, str] = {}
    raw_groups = request.POST.get("groups", "")
    try:
        groups = json.loads(raw_groups) if raw_groups.strip() else []
    except ValueError as error:
        groups = []
        errors["groups"] = f"The match groups are not valid JSON: {error}"
    except RecursionError:
        groups = []
        errors["groups"] = "The match groups are not valid: the JSON nests too deeply"
    data = {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "category": request.POST.get("category", ""),
        "groups": groups,
    }
    return data, errors


def _editor_context(environment: Environment, definition: Definition | None, data: dict, errors: dict) -> dict:
    others = [
        {"id": d.pk, "name": d.name} for d in definitions_of(environment) if definition is None or d.pk != definition.pk
    ]
    sync_failure = compile_error = None
    if definition is not None:
        sync_failure = sync_table_failure(environment=environment, key=definition.event_table_key)
        compile_error = definition_compiled_or_error(definition, environment)[1]
    group_errors = {k: v for k, v in errors.items() if k.startswith("groups")}
    return {
        "environment": environment,
        "definition": definition,
        "sync_failure": sync_failure,
        "compile_error": compile_error,
        "data": data,
        "groups_json": json.dumps(data["groups"], indent=2, ensure_ascii=False),
        "errors": errors,
        # Shown next to their group or condition by the form's script; listed in words without it.
        "group_errors": errors_in_words(group_errors, data["groups"]),
        "group_errors_by_path": group_errors,
        "max_name": MAX_NAME,
        "builder_config": {"kinds": list(KINDS), "ops": CONDITION_OPS, "definitions": others},
    }


@require_GET
def definition_index(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    # exact=1: the exact counts where the page first showed a sample's (fetched by its script).
    rows = definition_list(environment, exact=request.GET.get("exact") == "1")
    targets = environments_visible(user=request.user, permission=Permission.EDIT).exclude(pk=environment.pk)
    api_rows, api_left_out = api_event_rows(environment)
    context = {
        "environment": environment,
        "rows": rows,
        "estimated": any(row.estimated for row in rows),
        "copy_targets": list(targets),
        "api_rows": api_rows,
        "api_left_out": api_left_out,
        "labeler_sites": labeler_sites(environment=environment, request=request),
    }
    return render(request, "definitions/list.html", context)


@require_http_methods(["GET", "POST"])
def definition_new(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.EDIT)
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = _form_input(request)
        if not errors and request.POST.get("action") not in PREVIEW_ACTIONS:
            try:
                definition = definition_create(environment=environment, user=request.user, **data)
            except DefinitionInvalid as invalid:
                errors = invalid.errors
            else:
                messages.success(
                    request, f"Saved {definition.name!r}; its table {definition.table_name} will be built."
                )
                return redirect("definitions:edit", schema=schema, pk=definition.pk)
    else:
        data = {"name": "", "description": "", "category": "", "groups": [{"kind": "click", "conditions": []}]}
        if request.GET.get("from_event"):
            draft = prefill_from_event(environment, request.GET["from_event"])
            if draft is None:
                errors["from_event"] = f"There is no raw event {request.GET['from_event']!r} in this environment"
            else:
                data.update(draft)
    # The preview first: its problems are the form's too (shown next to their fields).
    preview = (
        _preview_or_error(environment, data["groups"], None, errors, exact=_exact(request))
        if request.method == "POST"
        else None
    )
    context = _editor_context(environment, None, data, errors)
    context["preview"] = preview
    return render(request, "definitions/edit.html", context, status=400 if errors else 200)


def _definition(environment: Environment, pk: int) -> Definition:
    return get_object_or_404(Definition, environment=environment, pk=pk)


@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, schema: str, pk: int) -> HttpResponse:
    # Viewers read the definition here; saving it (POST) needs EDIT, the default for a POST.
    environment = access_environment(request, schema)
    definition = _definition(environment, pk)
    errors: dict[str, str] = {}
    data = {
        "name": definition.name,
        "description": definition.description,
        "category": definition.category,
        "groups": definition.groups,
    }
    preview = None
    if request.method == "POST":
        data, errors = _form_input(request)
        if not errors and request.POST.get("action") not in PREVIEW_ACTIONS:
            try:
                definition_update(definition=definition, user=request.user, **data)
            except DefinitionInvalid as invalid:
                errors = invalid.errors
            else:
                messages.success(request, f"Saved {definition.name!r}.")
                return redirect("definitions:edit", schema=schema, pk=definition.pk)
        preview = _preview_or_error(environment, data["groups"], definition, errors, exact=_exact(request))
    context = _editor_context(environment, definition, data, errors)
    context["preview"] = preview
    context["labeler_sites"] = labeler_sites(environment=environment, request=request)
    return render(request, "definitions/edit.html", context, status=400 if errors else 200)


# The form's buttons that preview instead of saving; "preview-exact" asks for exact counts where the preview
# would estimate them (docs/raw-browser.md "Estimates").
PREVIEW_ACTIONS = ("preview", "preview-exact")


def _exact(request: HttpRequest) -> bool:
    return request.POST.get("action") == "preview-exact" or request.POST.get("exact") == "1"


def _preview_or_error(environment, groups, definition, errors: dict, *, exact: bool = False) -> Any:
    if any(key.startswith("groups") for key in errors):
        return None
    try:
        return definition_preview(environment=environment, groups=groups, definition=definition, exact=exact)
    except DefinitionInvalid as invalid:
        errors.update(invalid.errors)
        return None


@require_POST
def definition_preview_fragment(request: HttpRequest, schema: str) -> HttpResponse:
    """The live preview while editing (fetched by the editor's script on every change; with exact=1 the exact
    counts, which the script fetches next when the first answer was an estimate)."""
    environment = access_environment(request, schema, Permission.VIEW)
    data, errors = _form_input(request)
    definition = None
    if request.POST.get("definition"):
        if (definition_id := whole_number(request.POST["definition"])) is None:
            raise Http404("No such definition")
        definition = _definition(environment, definition_id)
    preview = _preview_or_error(environment, data["groups"], definition, errors, exact=_exact(request))
    context = {
        "environment": environment,
        "preview": preview,
        "errors": errors,
        "error_list": errors_in_words(errors, data["groups"]),
        "errors_json": json.dumps(errors),
        "page_errors": None,
        "definition": definition,
    }
    return render(request, "definitions/_preview.html", context, status=400 if errors else 200)


@require_POST
def definition_remove(request: HttpRequest, schema: str, pk: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.EDIT)
    definition = _definition(environment, pk)
    try:
        definition_delete(definition=definition, user=request.user)
    except DefinitionInvalid as invalid:
        messages.error(request, " ".join(invalid.errors.values()))
        return redirect("definitions:edit", schema=schema, pk=pk)
    messages.success(request, f"Deleted {definition.name!r}; its table will be dropped.")
    return redirect("definitions:index", schema=schema)


@require_POST
def definition_sync(request: HttpRequest, schema: str, pk: int) -> HttpResponse:
    """The definition's "sync to warehouse" switch."""
    environment = access_environment(request, schema, Permission.EDIT)
    definition = _definition(environment, pk)
    enabled = request.POST.get("sync") == "on"
    definition_sync_set(definition=definition, enabled=enabled, user=request.user)
    done = "its table is built from all history" if enabled else "its table is dropped"
    messages.success(
        request, f"Sync to warehouse of {definition.name!r} turned {request.POST.get('sync')}: {done} at the next sync."
    )
    return switch_redirect(request, schema=schema, page_url=reverse("definitions:edit", args=[schema, pk]))


@require_GET
def definition_history(request: HttpRequest, schema: str, pk: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    definition = _definition(environment, pk)
    versions = definition.versions.select_related("created_by")
    return render(
        request,
        "definitions/history.html",
        {"environment": environment, "definition": definition, "versions": versions},
    )


@require_POST
def definition_restore_version(request: HttpRequest, schema: str, pk: int, number: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.EDIT)
    definition = _definition(environment, pk)
    try:
        definition_restore(definition=definition, number=number, user=request.user)
    except DefinitionInvalid as invalid:
        messages.error(request, " ".join(invalid.errors.values()))
        return redirect("definitions:history", schema=schema, pk=pk)
    messages.success(request, f"Restored version {number} of {definition.name!r}.")
    return redirect("definitions:edit", schema=schema, pk=pk)


@require_GET
def definition_export(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    response = JsonResponse(portability.definitions_export(environment), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{environment.warehouse_schema}-definitions.json"'
    return response


@require_POST
def definition_import(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.EDIT)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise DefinitionInvalid({"file": "Choose a definitions JSON file to import"})
        try:
            document = json.loads(upload.read(5 * 1024 * 1024 + 1))
        except ValueError as error:
            raise DefinitionInvalid({"file": f"The file is not valid JSON: {error}"}) from None
        except RecursionError:
            raise DefinitionInvalid({"file": "The file's JSON nests too deeply"}) from None
        created = portability.definitions_import(environment=environment, document=document, user=request.user)
    except DefinitionInvalid as invalid:
        messages.error(request, "Nothing was imported: " + " ".join(f"{k}: {v}" for k, v in invalid.errors.items()))
    else:
        messages.success(request, f"Imported {len(created)} definition(s).")
    return redirect("definitions:index", schema=schema)


@require_POST
def definition_copy(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    target_schema = request.POST.get("target", "")
    if target_schema == schema:
        messages.error(request, "Choose another environment to copy to.")
        return redirect("definitions:index", schema=schema)
    try:
        target = access_environment(request, target_schema, Permission.EDIT)
    except (Http404, PermissionDenied):
        messages.error(request, f"There is no environment {target_schema!r} you can edit.")
        return redirect("definitions:index", schema=schema)
    ids = [number for i in request.POST.getlist("definition") if (number := whole_number(i)) is not None]
    try:
        created = portability.definitions_copy(source=environment, target=target, ids=ids, user=request.user)
    except DefinitionInvalid as invalid:
        messages.error(request, "Nothing was copied: " + " ".join(f"{k}: {v}" for k, v in invalid.errors.items()))
    else:
        messages.success(request, f"Copied {len(created)} definition(s) to {target.warehouse_schema}.")
    request.session["environment"] = environment.warehouse_schema
    return redirect("definitions:index", schema=schema)
