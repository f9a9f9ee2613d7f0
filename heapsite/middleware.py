"""Answers for requests no view should see: unstorable characters in the URL, and services that are down.

A NUL byte in a URL (`/e/main%00/`, `?path=%00`) reaches views as text that PostgreSQL refuses as
a query parameter, which would surface as a 500 from whichever query runs first; it is refused
here, in one place, with a 400 naming the problem. When PostgreSQL or Redis cannot be reached,
a view's error becomes a 503 page that says which service is down instead of "Server Error (500)".
"""

import logging

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from warehouse.ingest.validation import text_problem

logger = logging.getLogger(__name__)


def _wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request: HttpRequest, *, status: int, error: str, field: str, message: str) -> HttpResponse:
    """The usual error body: JSON `{"error", "details": [{"field", "message"}]}` for the APIs, a page otherwise."""
    if _wants_json(request):
        return JsonResponse({"error": error, "details": [{"field": field, "message": message}]}, status=status)
    # No request context: the page must render when the database is what failed.
    html = render_to_string("error.html", {"status": status, "error": error, "field": field, "message": message})
    return HttpResponse(html, status=status)


def url_problem(request: HttpRequest) -> tuple[str, str] | None:
    """(field, why) for the first part of the URL PostgreSQL could not store, or None."""
    if problem := text_problem(request.path_info):
        return "path", problem
    for key, values in request.GET.lists():
        if problem := text_problem(key):
            return "query", f"a parameter name {problem}"
        for value in values:
            if problem := text_problem(value):
                return key, problem
    return None


class UnstorableInputMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = url_problem(request)
        if found is not None:
            field, problem = found
            return error_response(request, status=400, error="invalid URL", field=field, message=f"the URL {problem}")
        return self.get_response(request)


# (exception classes, service, what to tell the user)
_OUTAGES = (
    (
        (RedisConnectionError, RedisTimeoutError),
        "redis",
        "Redis, which queues syncs and holds the SQL page's limits, cannot be reached. "
        "Nothing was lost; try again when it is back.",
    ),
    (
        (DatabaseOperationalError, DatabaseInterfaceError),
        "database",
        "PostgreSQL cannot be reached. Try again in a moment.",
    ),
)


class ServiceUnavailableMiddleware:
    """A view that failed because Redis or PostgreSQL is down answers 503 with a page saying so."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        for classes, service, message in _OUTAGES:
            if isinstance(exception, classes) and _is_outage(service, exception):
                logger.error("%s %s: %s unavailable: %s", request.method, request.path, service, exception)
                return error_response(
                    request, status=503, error=f"{service} unavailable", field=service, message=message
                )
        return None


def _is_outage(service: str, exception: Exception) -> bool:
    """A lost or refused connection, not an error in a statement (OperationalError covers both)."""
    if service == "redis":
        return True
    from django.db import connection

    if isinstance(exception, DatabaseInterfaceError) or connection.connection is None:
        return True
    return not connection.is_usable()
