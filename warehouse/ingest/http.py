"""HTTP plumbing shared by the ingestion endpoints: body reading, errors, CORS, authentication."""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from warehouse.models import Environment

from .selectors import environment_for_app_id
from .validation import Spec, text_problem, type_name, validate

JSON_TYPES = frozenset({"application/json"})
BEACON_TYPES = frozenset({"application/json", "text/plain"})
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


class IngestError(Exception):
    def __init__(self, status: int, error: str, field: str = "body", message: str = "", details: list | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details if details is not None else [{"field": field, "message": message or error}]

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.error, "details": self.details}, status=self.status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _content_type(request: HttpRequest, allowed: frozenset[str]) -> None:
    raw = request.META.get("CONTENT_TYPE", "")
    media_type, _, params = raw.partition(";")
    media_type = media_type.strip().lower()
    expected = " or ".join(sorted(allowed))
    if media_type not in allowed:
        shown = media_type or "none"
        raise IngestError(415, "unsupported content type", "Content-Type", f"must be {expected}, not {shown}")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise IngestError(415, "unsupported content type", "Content-Type", "the body must be UTF-8")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise IngestError(415, "unsupported content encoding", "Content-Encoding", "send the body uncompressed")


def _read_body(request: HttpRequest) -> bytes:
    """The body, refusing more than INGEST_MAX_BODY_BYTES whatever Content-Length claims."""
    limit = settings.INGEST_MAX_BODY_BYTES
    too_big = IngestError(413, "request body too large", "body", f"the limit is {limit} bytes")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared:
        try:
            if int(declared) > limit:
                raise too_big
        except ValueError:
            raise IngestError(400, "invalid Content-Length", "Content-Length", "must be a number") from None
        stream = request
    elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Django reads nothing without a Content-Length; the server (gunicorn) de-chunks wsgi.input.
        stream = request.META["wsgi.input"]
    else:
        stream = request
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def parse_json_body(request: HttpRequest, *, content_types: frozenset[str]) -> Any:
    _content_type(request, content_types)
    body = _read_body(request)
    if not body.strip():
        raise IngestError(400, "empty body", "body", "expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IngestError(400, "invalid UTF-8", "body", f"byte {error.start} is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise IngestError(400, "invalid JSON", "body", "nested too deeply") from None
    except ValueError as error:
        raise IngestError(400, "invalid JSON", "body", str(error)[:200]) from None
    if not isinstance(value, dict):
        raise IngestError(400, "invalid payload", "body", f"must be a JSON object, not {type_name(value)}")
    return value


def validated(spec: Spec, body: dict) -> dict:
    cleaned, problems = validate(spec, body)
    if problems:
        raise IngestError(400, "invalid payload", details=problems)
    return cleaned


def environment_for(body: dict, request: HttpRequest | None = None) -> Environment | None:
    """The environment named by `app_id`; 401 when unknown. With a request, also check its server key.

    Returns None when app_id is missing or not a string, which validation then reports.
    """
    app_id = body.get("app_id")
    if not isinstance(app_id, str) or not app_id or text_problem(app_id):
        return None  # validation names the problem (PostgreSQL would refuse a NUL as a query parameter)
    environment = environment_for_app_id(app_id, cached=request is None)
    if environment is None:
        raise IngestError(401, "unknown app id", "app_id", "no environment has this app id")
    if request is not None:
        scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            message = "send the environment's server key as 'Authorization: Bearer <key>'"
            raise IngestError(401, "server key required", "Authorization", message)
        if not environment.check_api_key(key.strip()):
            raise IngestError(401, "wrong server key", "Authorization", "not this environment's server key")
    return environment


def ingest_endpoint(*, cors: bool = False) -> Callable:
    """POST-only JSON endpoint outside login and CSRF; IngestError becomes its JSON reply.

    With `cors`, any origin may call it (a preflight is answered) and text/plain bodies are
    accepted too, which is what sendBeacon sends.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if cors and request.method == "OPTIONS":
                response = HttpResponse(status=204)
            elif request.method != "POST":
                response = IngestError(405, "method not allowed", "method", "use POST").response()
                response["Allow"] = "POST, OPTIONS" if cors else "POST"
            else:
                try:
                    body = parse_json_body(request, content_types=BEACON_TYPES if cors else JSON_TYPES)
                    response = view(request, body)
                except IngestError as error:
                    response = error.response()
            if cors:
                for header, value in CORS_HEADERS.items():
                    response[header] = value
            return response

        return csrf_exempt(login_not_required(wrapper))

    return decorate
