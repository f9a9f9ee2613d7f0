"""The labeler's pages and JSON endpoints.

Launch (a heapsite page, session login): POST /e/<schema>/labeler/launch {url} opens the site with a
launch token in the fragment. The labeler script on the site calls, with CORS for the environment's
labeler sites only (every other origin is refused before anything else happens):

POST   /api/labeler/<schema>/session      {"launch_token"} -> {"access_token", …}   (201)
DELETE /api/labeler/<schema>/session      ends the session                          (204)
POST   /api/labeler/<schema>/count        {"groups", "days": 1..30} -> {"count"}
POST   /api/labeler/<schema>/clickmap     {"path"} -> {"items": [{selector, days7, days30, groups}]}
GET    /api/labeler/<schema>/definitions  -> {"definitions": [...]} (to mark on the page)
POST   /api/labeler/<schema>/definitions  {"name", "groups", "category"?, "description"?} -> 201 (editors)
Errors: {"error": "...", "details": [{"field", "message"}]}, as the definitions API.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from warehouse.access import Permission, access_environment
from warehouse.ingest.http import JSON_TYPES, IngestError, parse_json_body
from warehouse.ingest.validation import text_problem
from warehouse.models import Environment

from ..services import DefinitionInvalid, definition_create
from .limits import labeler_rate_check
from .origins import labeler_origin_allowed
from .selectors import PREVIEW_DAYS, labeler_clickmap, labeler_count, labeler_definitions
from .services import (
    LabelerRefused,
    Session,
    labeler_launch,
    labeler_session_check,
    labeler_session_end,
    labeler_session_start,
)

MAX_PATH = 8192
# What the overlay counts and saves (static/labeler.js, groupsOf): one element event by its selector,
# then its exact text and its page if wanted. Nothing else: the session's token is readable by
# every script on the customer's site, and counts over any condition (a property's regex) would let
# such a script read the raw events bit by bit.
OVERLAY_KINDS = ("click", "submit", "change")
OVERLAY_CONDITIONS = {"text": {"type": "text", "op": "exact"}, "path": {"type": "path"}}


@require_POST
def labeler_launch_page(request: HttpRequest, schema: str) -> HttpResponse:
    """Make a launch token and send the browser to the site with it (a page, not a redirect: the
    Content-Security-Policy's form-action would refuse a form redirected to another origin)."""
    environment = access_environment(request, schema, Permission.VIEW)
    try:
        launch = labeler_launch(
            environment=environment, user=request.user, url=request.POST.get("url", ""), request=request
        )
    except LabelerRefused as refused:
        messages.error(request, refused.message)
        return redirect("definitions:index", schema=schema)
    response = render(request, "definitions/labeler_launch.html", {"environment": environment, "launch": launch})
    response["Cache-Control"] = "no-store"
    return response


def _refusal(status: int, message: str, field: str = "Authorization") -> JsonResponse:
    return JsonResponse({"error": message, "details": [{"field": field, "message": message}]}, status=status)


def labeler_endpoint(methods: tuple[str, ...]) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, schema: str) -> HttpResponse:
            origin = request.headers.get("Origin")
            environment = Environment.objects.filter(warehouse_schema=schema).first()
            allowed = environment is not None and labeler_origin_allowed(
                environment=environment, origin=origin, request=request
            )
            if not allowed:
                # No CORS headers: the browser keeps the answer from the page, and nothing was done.
                return _refusal(403, "this site may not use the labeler for this environment", "Origin")
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = ", ".join(methods)
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response["Access-Control-Max-Age"] = "600"
            elif request.method not in methods:
                response = _refusal(405, f"use {', '.join(methods)}", "method")
            else:
                try:
                    body = parse_json_body(request, content_types=JSON_TYPES) if request.method == "POST" else {}
                    if not isinstance(body, dict):
                        raise IngestError(400, "invalid request", "body", "send a JSON object")
                    response = view(request, environment, body)
                except LabelerRefused as refused:
                    response = _refusal(refused.status, refused.message)
                except DefinitionInvalid as invalid:
                    details = [{"field": key, "message": message} for key, message in invalid.errors.items()]
                    response = JsonResponse({"error": "invalid definition", "details": details}, status=400)
                except IngestError as error:
                    response = error.response()
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
            response["Cache-Control"] = "no-store"
            return response

        return csrf_exempt(login_not_required(wrapper))

    return decorate


def _session(request: HttpRequest, environment: Environment, permission: Permission = Permission.VIEW) -> Session:
    session = labeler_session_check(
        environment=environment,
        authorization=request.headers.get("Authorization", ""),
        origin=request.headers.get("Origin"),
        request=request,
        permission=permission,
    )
    labeler_rate_check(token_key=session.token.token_hash)
    return session


def _definitions_url(request: HttpRequest, environment: Environment, pk: int | None = None) -> str:
    schema = environment.warehouse_schema
    path = reverse("definitions:edit", args=[schema, pk]) if pk else reverse("definitions:index", args=[schema])
    return request.build_absolute_uri(path)


@labeler_endpoint(("POST", "DELETE"))
def session(request: HttpRequest, environment: Environment, body: dict[str, Any]) -> JsonResponse | HttpResponse:
    if request.method == "DELETE":
        labeler_session_end(session=_session(request, environment))
        return HttpResponse(status=204)
    started = labeler_session_start(
        environment=environment,
        launch_token=body.get("launch_token"),
        origin=request.headers.get("Origin"),
        request=request,
    )
    return JsonResponse(
        {
            "access_token": started.raw,
            "expires_at": started.token.expires_at.isoformat(),
            "environment": {"schema": environment.warehouse_schema, "label": environment.label},
            "user": started.token.user.get_username(),
            "can_edit": started.access.can(Permission.EDIT),
            "definitions_url": _definitions_url(request, environment),
        },
        status=201,
    )


def _days(body: dict[str, Any]) -> int:
    days = body.get("days", PREVIEW_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= PREVIEW_DAYS:
        raise IngestError(400, "invalid request", "days", f"a whole number of days from 1 to {PREVIEW_DAYS}")
    return days


def _overlay_groups(groups: Any) -> list[dict[str, Any]]:
    """`groups` if they have the overlay's shape (OVERLAY_KINDS, OVERLAY_CONDITIONS), else a 400."""
    if isinstance(groups, list) and len(groups) == 1 and isinstance(group := groups[0], dict):
        conditions = group.get("conditions")
        if set(group) == {"kind", "conditions"} and group["kind"] in OVERLAY_KINDS and isinstance(conditions, list):
            selector, *rest = conditions or [None]
            types = [condition.get("type") for condition in rest if isinstance(condition, dict)]
            if (
                _condition_is(selector, {"type": "selector"})
                and len(types) == len(set(types)) == len(rest)
                and all(_condition_is(condition, OVERLAY_CONDITIONS.get(condition.get("type"))) for condition in rest)
            ):
                return groups
    message = (
        "the labeler counts and saves one click, submit or change by its selector, its exact text and its page:"
        " other definitions are made in heapsite"
    )
    raise IngestError(400, "invalid request", "groups", message)


def _condition_is(condition: Any, fixed: dict[str, str] | None) -> bool:
    """Whether `condition` is `fixed` with a value."""
    if not isinstance(condition, dict) or fixed is None or set(condition) != {*fixed, "value"}:
        return False
    return all(condition[key] == value for key, value in fixed.items())


@labeler_endpoint(("POST",))
def count(request: HttpRequest, environment: Environment, body: dict[str, Any]) -> JsonResponse:
    _session(request, environment)
    days = _days(body)
    matches = labeler_count(environment=environment, groups=_overlay_groups(body.get("groups")), days=days)
    return JsonResponse({"days": days, "count": matches})


@labeler_endpoint(("POST",))
def clickmap(request: HttpRequest, environment: Environment, body: dict[str, Any]) -> JsonResponse:
    _session(request, environment)
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH or text_problem(path):
        raise IngestError(400, "invalid request", "path", "the page's path (location.pathname)")
    return JsonResponse({"path": path, "items": labeler_clickmap(environment=environment, path=path)})


@labeler_endpoint(("GET", "POST"))
def definitions(request: HttpRequest, environment: Environment, body: dict[str, Any]) -> JsonResponse:
    if request.method == "GET":
        _session(request, environment)
        found = labeler_definitions(environment=environment)
        for item in found:
            item["url"] = _definitions_url(request, environment, item["id"])
        return JsonResponse({"definitions": found})
    started = _session(request, environment, Permission.EDIT)
    unknown = sorted(set(body) - {"name", "groups", "category", "description"})
    if unknown:
        raise IngestError(400, "invalid definition", unknown[0], "unknown field")
    definition = definition_create(
        environment=environment,
        name=body.get("name"),
        groups=_overlay_groups(body.get("groups")),
        category=body.get("category", ""),
        description=body.get("description", ""),
        user=started.token.user,
    )
    return JsonResponse(
        {
            "id": definition.pk,
            "name": definition.name,
            "table_name": definition.table_name,
            "url": _definitions_url(request, environment, definition.pk),
        },
        status=201,
    )
