"""JSON API for definitions as code, authenticated by the environment's server key.

    Authorization: Bearer <server key>      (the environment is the one in the URL)

GET/POST /api/definitions/<schema>/            list / create
GET/PUT/PATCH/DELETE /api/definitions/<schema>/<id>
POST /api/definitions/<schema>/validate        {"groups": [...]} -> {"valid": bool, "errors": {...}}
POST /api/definitions/<schema>/preview         {"groups": [...], "definition": id?, "exact": bool?} -> per-day counts, sample
GET  /api/definitions/<schema>/export          POST .../import (the export document)
POST /api/definitions/<schema>/copy            {"target": schema, "target_server_key": key, "ids": [...]}
Errors: {"error": "...", "details": [{"field": ..., "message": ...}]} with a 4xx status.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from warehouse.ingest.http import JSON_TYPES, IngestError, parse_json_body
from warehouse.models import Environment

from . import portability
from .models import Definition
from .selectors import definition_preview
from .services import (
    DefinitionInvalid,
    definition_check_groups,
    definition_create,
    definition_delete,
    definition_sync_set,
    definition_update,
)


def _environment(request: HttpRequest, schema: str, key: str | None = None) -> Environment:
    if key is None:
        scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            message = "send the environment's server key as 'Authorization: Bearer <key>'"
            raise IngestError(401, "server key required", "Authorization", message)
    environment = Environment.objects.filter(warehouse_schema=schema).first()
    # The same answer for an unknown environment and a wrong key: schemas are not secrets, but why help.
    if environment is None or not environment.check_api_key(key.strip()):
        raise IngestError(401, "wrong server key", "Authorization", f"not the server key of environment {schema!r}")
    return environment


def _invalid(invalid: DefinitionInvalid) -> IngestError:
    details = [{"field": key, "message": message} for key, message in invalid.errors.items()]
    return IngestError(400, "invalid definition", details=details)


def api_endpoint(methods: tuple[str, ...]) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, schema: str, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    error = IngestError(405, "method not allowed", "method", f"use {', '.join(methods)}")
                    response = error.response()
                    response["Allow"] = ", ".join(methods)
                    return response
                environment = _environment(request, schema)
                body = {}
                if request.method in ("POST", "PUT", "PATCH"):
                    body = parse_json_body(request, content_types=JSON_TYPES)
                return view(request, environment, body, **kwargs)
            except DefinitionInvalid as invalid:
                return _invalid(invalid).response()
            except IngestError as error:
                return error.response()

        return csrf_exempt(login_not_required(wrapper))

    return decorate


def definition_json(definition: Definition) -> dict[str, Any]:
    return {
        "id": definition.pk,
        "name": definition.name,
        "description": definition.description,
        "category": definition.category,
        "kind": definition.kind,
        "table_name": definition.table_name,
        "groups": definition.groups,
        "sync_enabled": definition.sync_enabled,
        "updated_at": definition.updated_at.isoformat(),
        "version": definition.versions.values_list("number", flat=True).first(),
    }


def _sync_enabled(body: dict) -> bool | None:
    """The "sync to warehouse" switch if the body sets it."""
    if "sync_enabled" not in body:
        return None
    if not isinstance(body["sync_enabled"], bool):
        raise IngestError(400, "invalid definition", "sync_enabled", "must be true or false")
    return body["sync_enabled"]


def _fields(body: dict, *, partial: bool) -> dict[str, Any]:
    known = {"name", "description", "category", "groups"}
    unknown = sorted(set(body) - known - {"id", "kind", "table_name", "sync_enabled", "updated_at", "version"})
    if unknown:
        raise IngestError(400, "invalid definition", unknown[0], "unknown field")
    fields = {k: body[k] for k in known if k in body}
    if not partial:
        for required in ("name", "groups"):
            if required not in fields:
                raise IngestError(400, "invalid definition", required, "required")
    return fields


@api_endpoint(("GET", "POST"))
def collection(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    if request.method == "GET":
        definitions = Definition.objects.filter(environment=environment).order_by("name")
        return JsonResponse({"definitions": [definition_json(d) for d in definitions]})
    sync_enabled = _sync_enabled(body)
    with transaction.atomic():
        definition = definition_create(environment=environment, **_fields(body, partial=False))
        if sync_enabled is not None:
            definition = definition_sync_set(definition=definition, enabled=sync_enabled)
    return JsonResponse(definition_json(definition), status=201)


@api_endpoint(("GET", "PUT", "PATCH", "DELETE"))
def item(request: HttpRequest, environment: Environment, body: dict, pk: int) -> HttpResponse:
    definition = Definition.objects.filter(environment=environment, pk=pk).first()
    if definition is None:
        raise IngestError(404, "not found", "id", f"no definition {pk} in this environment")
    if request.method == "GET":
        return JsonResponse(definition_json(definition))
    if request.method == "DELETE":
        definition_delete(definition=definition)
        return HttpResponse(status=204)
    sync_enabled = _sync_enabled(body)
    with transaction.atomic():
        definition = definition_update(definition=definition, **_fields(body, partial=request.method == "PATCH"))
        if sync_enabled is not None:
            definition = definition_sync_set(definition=definition, enabled=sync_enabled)
    return JsonResponse(definition_json(definition))


@api_endpoint(("POST",))
def validate(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    try:
        definition_check_groups(environment=environment, groups=body.get("groups"), definition_id=body.get("id"))
    except DefinitionInvalid as invalid:
        return JsonResponse({"valid": False, "errors": invalid.errors})
    return JsonResponse({"valid": True, "errors": {}})


@api_endpoint(("POST",))
def preview(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    definition = None
    if body.get("definition") is not None:
        if not isinstance(body["definition"], int) or isinstance(body["definition"], bool):
            raise IngestError(400, "invalid preview", "definition", "must be a definition id (an integer)")
        definition = Definition.objects.filter(environment=environment, pk=body["definition"]).first()
        if definition is None:
            raise IngestError(404, "not found", "definition", "no such definition in this environment")
    groups = body.get("groups", definition.groups if definition else None)
    exact = body.get("exact", False)
    if not isinstance(exact, bool):
        raise IngestError(400, "invalid preview", "exact", "must be true or false")
    result = definition_preview(environment=environment, groups=groups, definition=definition, exact=exact)
    samples = [{**s, "time": s["time"].isoformat()} for s in result.samples]
    return JsonResponse(
        {
            "total": result.total,
            "days": [{"day": day.isoformat(), "matches": n} for day, n in result.days],
            "samples": samples,
            "compared_with_saved": result.compared,
            "gained": result.gained,
            "lost": result.lost,
            # Counts scaled from a sample of this percent of the events (docs/raw-browser.md "Estimates");
            # send "exact": true for exact ones.
            "estimated": result.sample.estimated,
            "sample_percent": result.sample.percent,
        }
    )


@api_endpoint(("GET",))
def export(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    return JsonResponse(portability.definitions_export(environment))


@api_endpoint(("POST",))
def import_(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    saved = portability.definitions_import(environment=environment, document=body)
    return JsonResponse({"definitions": [definition_json(d) for d in saved]})


@api_endpoint(("POST",))
def copy(request: HttpRequest, environment: Environment, body: dict) -> JsonResponse:
    target_schema, target_key = body.get("target"), body.get("target_server_key")
    if not isinstance(target_schema, str) or not isinstance(target_key, str):
        raise IngestError(400, "invalid copy", "target", "give target (a schema) and target_server_key")
    target = _environment(request, target_schema, key=target_key)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise IngestError(400, "invalid copy", "ids", "a list of definition ids")
    saved = portability.definitions_copy(source=environment, target=target, ids=ids)
    return JsonResponse({"definitions": [definition_json(d) for d in saved]})
