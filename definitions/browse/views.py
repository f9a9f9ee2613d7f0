import csv
from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from warehouse.access import Permission, access_environment
from warehouse.params import whole_number
from warehouse.sqlpage.bounded import FORMULA_STARTS

from .filters import FILTER_NAMES, Cursor, parse_filters
from .selectors import (
    EXPORT_COLUMNS,
    EXPORT_MAX_ROWS,
    TOP_RANGES,
    FilterError,
    default_top_since,
    raw_event_detail,
    raw_events_export,
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


def _cursor(request: HttpRequest, errors: dict[str, str], name: str = "cursor") -> Cursor | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    cursor = Cursor.decode(value)
    if cursor is None:
        errors["cursor"] = "is not a position in this list (follow the Older or Newer link instead of editing it)"
    return cursor


# The raw list's columns (the chooser shows or hides them; "domain", "ids", "session" start hidden).
EVENT_COLUMNS = [
    ("time", "Time"),
    ("type", "Type"),
    ("what", "What"),
    ("path", "Path"),
    ("domain", "Domain"),
    ("user", "User"),
    ("ids", "User id as captured"),
    ("session", "Session link"),
    ("define", "Define link"),
]


def _canonical(request: HttpRequest) -> HttpResponse | None:
    """A filter form sends every field, empty ones too: the URL people share keeps only the filled ones."""
    empty = [key for key in request.GET if key in FILTER_NAMES and not any(v.strip() for v in request.GET.getlist(key))]
    if not empty:
        return None
    kept = request.GET.copy()
    for key in empty:
        del kept[key]
    return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)


def _date_placeholders() -> dict[str, str]:
    """Examples in the filter form, near today (in the viewer's zone) rather than fixed dates."""
    now = timezone.localtime()
    return {
        "since": f"{(now - timedelta(days=7)):%Y-%m-%d} or {(now - timedelta(days=1)):%Y-%m-%dT09:00}",
        "until": f"{now:%Y-%m-%dT%H:00}",
        "zone": now.tzname(),
    }


@require_GET
def raw_events(request: HttpRequest, schema: str) -> HttpResponse:
    """The events list; with `live=<id>` only the rows newer than that id (the live-mode fragment)."""
    environment = access_environment(request, schema, Permission.VIEW)
    filters, errors = parse_filters(request.GET)
    live = request.GET.get("live", "")
    if live:
        after_id = whole_number(live)
        if after_id is None or errors:
            return HttpResponse(
                "bad live request: " + ("; ".join(errors.values()) or "live is an event id"),
                status=400,
                content_type="text/plain",
            )
        try:
            rows, latest = raw_events_live(environment=environment, filters=filters, after_id=after_id)
        except FilterError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain")
        response = render(request, "raw/_rows.html", {"rows": rows, "schema": schema, "links": _links(schema)})
        response["X-Latest-Id"] = str(latest)
        return response
    if canonical := _canonical(request):
        return canonical
    cursor = _cursor(request, errors)
    newer = _cursor(request, errors, "newer")
    page = None
    if not errors:
        try:
            page = raw_events_page(environment=environment, filters=filters, cursor=cursor, newer=newer)
        except FilterError as error:
            errors.update(error.errors)
    context = {
        "environment": environment,
        "schema": schema,
        "filters": filters,
        "errors": errors,
        "page": page,
        "paged": cursor is not None or newer is not None,
        "older_query": filters.query_string(cursor=page.next_cursor) if page and page.next_cursor else "",
        "newer_query": filters.query_string(newer=page.newer_cursor) if page and page.newer_cursor else "",
        "export_max_rows": EXPORT_MAX_ROWS,
        "placeholders": _date_placeholders(),
        "columns": EVENT_COLUMNS,
        "continue_query": filters.query_string(cursor=page.continue_cursor) if page and page.continue_cursor else "",
        "filter_query": filters.query_string(),
        "event_types": ["pageview", "click", "submit", "change", "custom"],
        "links": _links(schema),
    }
    return render(request, "raw/events.html", context, status=400 if errors else 200)


def neutralise_formula(value: str) -> str:
    """A leading ' on values a spreadsheet would run as a formula (the SQL page's CSV rule, SQLPAGE_CSV_*)."""
    return "'" + value if value and value[0] in FORMULA_STARTS else value


class _Echo:
    """csv.writer's file: hands each written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


@require_GET
def raw_events_csv(request: HttpRequest, schema: str) -> HttpResponse:
    """The filtered list as CSV, newest first, at most EXPORT_MAX_ROWS rows (streamed)."""
    environment = access_environment(request, schema, Permission.VIEW)
    filters, errors = parse_filters(request.GET)
    if not errors:
        try:
            rows = raw_events_export(environment=environment, filters=filters)
            first = next(rows, None)
        except FilterError as error:
            errors.update(error.errors)
    if errors:
        message = "; ".join(f"{name}: {problem}" for name, problem in errors.items())
        return HttpResponse(f"bad filter: {message}", status=400, content_type="text/plain")
    writer = csv.writer(_Echo())
    neutralise = neutralise_formula if settings.SQLPAGE_CSV_NEUTRALISE_FORMULAS else str

    def lines():
        yield writer.writerow(EXPORT_COLUMNS)
        if first is not None:
            yield writer.writerow([neutralise(value) for value in first])
        for row in rows:
            yield writer.writerow([neutralise(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{schema}-raw-events-{stamp}.csv"'
    return response


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
    exact = request.GET.get("exact") == "1"
    top = top_interactions(environment=environment, since=default_top_since(range_key), exact=exact)
    context = {
        "environment": environment,
        "schema": schema,
        "sections": top.sections,
        "sample": top.sample,
        "range_key": range_key,
        "ranges": list(TOP_RANGES),
        "any": any(top.sections.values()),
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
