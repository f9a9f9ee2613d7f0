from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from warehouse.access import Permission, access_environment

from .filters import Cursor, parse_filters
from .selectors import (
    TOP_RANGES,
    FilterError,
    default_top_since,
    raw_event_detail,
    raw_events_live,
    raw_events_page,
    top_interactions,
    user_timeline,
    users_search,
)


def _links(schema: str) -> dict[str, str]:
    """URL prefixes for per-row links (reversed once per page, not once per row)."""
    return {
        "raw": reverse("definitions:raw_events", args=[schema]),
        "users": reverse("definitions:users", args=[schema]),
        "define": reverse("definitions:new", args=[schema]) + "?from_event=",
    }


def _cursor(request: HttpRequest, errors: dict[str, str]) -> Cursor | None:
    value = request.GET.get("cursor", "")
    if not value:
        return None
    cursor = Cursor.decode(value)
    if cursor is None:
        errors["cursor"] = "is not a position in this list (follow the Older link instead of editing it)"
    return cursor


@require_GET
def raw_events(request: HttpRequest, schema: str) -> HttpResponse:
    """The events list; with `live=<id>` only the rows newer than that id (the live-mode fragment)."""
    environment = access_environment(request, schema, Permission.VIEW)
    filters, errors = parse_filters(request.GET)
    live = request.GET.get("live", "")
    if live:
        if not live.isdigit() or errors:
            return HttpResponse(
                "bad live request: " + ("; ".join(errors.values()) or "live is an event id"),
                status=400,
                content_type="text/plain",
            )
        try:
            rows, latest = raw_events_live(environment=environment, filters=filters, after_id=int(live))
        except FilterError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain")
        response = render(request, "raw/_rows.html", {"rows": rows, "schema": schema, "links": _links(schema)})
        response["X-Latest-Id"] = str(latest)
        return response
    cursor = _cursor(request, errors)
    page = None
    if not errors:
        try:
            page = raw_events_page(environment=environment, filters=filters, cursor=cursor)
        except FilterError as error:
            errors.update(error.errors)
    context = {
        "environment": environment,
        "schema": schema,
        "filters": filters,
        "errors": errors,
        "page": page,
        "paged": cursor is not None,
        "older_query": filters.query_string(cursor=page.next_cursor) if page and page.next_cursor else "",
        "continue_query": filters.query_string(cursor=page.continue_cursor) if page and page.continue_cursor else "",
        "filter_query": filters.query_string(),
        "event_types": ["pageview", "click", "submit", "change", "custom"],
        "links": _links(schema),
    }
    return render(request, "raw/events.html", context, status=400 if errors else 200)


@require_GET
def raw_event(request: HttpRequest, schema: str, event_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    detail = raw_event_detail(environment=environment, event_id=event_id)
    if detail is None:
        raise Http404(f"no raw event {event_id} in {schema}")
    return render(request, "raw/event.html", {"environment": environment, "schema": schema, "detail": detail})


@require_GET
def raw_top(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    range_key = request.GET.get("range", "7d")
    if range_key not in TOP_RANGES:
        range_key = "7d"
    sections = top_interactions(environment=environment, since=default_top_since(range_key))
    context = {
        "environment": environment,
        "schema": schema,
        "sections": sections,
        "range_key": range_key,
        "ranges": list(TOP_RANGES),
        "any": any(sections.values()),
        "links": _links(schema),
    }
    return render(request, "raw/top.html", context)


@require_GET
def users(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    errors: dict[str, str] = {}
    cursor = _cursor(request, errors)
    query = request.GET.get("q", "").strip()[:1024]
    page = None if errors else users_search(environment=environment, query=query, cursor=cursor)
    context = {
        "environment": environment,
        "schema": schema,
        "q": query,
        "page": page,
        "errors": errors,
        "paged": cursor is not None,
        "links": _links(schema),
    }
    return render(request, "users/users.html", context, status=400 if errors else 200)


@require_GET
def user(request: HttpRequest, schema: str, user_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.VIEW)
    errors: dict[str, str] = {}
    cursor = _cursor(request, errors)
    timeline = user_timeline(environment=environment, user_id=user_id, cursor=cursor)
    if timeline is None:
        raise Http404(f"no user {user_id} in {schema}")
    context = {
        "environment": environment,
        "schema": schema,
        "timeline": timeline,
        "errors": errors,
        "paged": cursor is not None,
        "links": _links(schema),
    }
    return render(request, "users/user.html", context)
