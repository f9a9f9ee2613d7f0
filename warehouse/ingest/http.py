"""HTTP plumbing shared by the ingestion endpoints: body reading, errors, CORS, authentication."""

import base64
import binascii
import functools
import json
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from warehouse.models import Environment

from . import payloads
from .selectors import environment_for_app_id, environment_for_server_key
from .validation import Spec, text_problem, type_name, validate

JSON_TYPES = frozenset({"application/json"})
IDENTITY_ENCODING = frozenset({"identity"})
GZIP_ENCODINGS = frozenset({"identity", "gzip"})
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
        return JsonResponse(self.body(), status=self.status)

    def body(self) -> dict:
        return {"error": self.error, "details": self.details}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _content_type(request: HttpRequest, allowed: frozenset[str], encodings: frozenset[str]) -> str:
    """Check Content-Type and Content-Encoding; returns the encoding ("identity" or "gzip")."""
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
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() or "identity"
    if encoding not in encodings:
        message = "send the body uncompressed" if encodings == IDENTITY_ENCODING else "send it uncompressed or gzip"
        raise IngestError(415, "unsupported content encoding", "Content-Encoding", message)
    return encoding


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


_MAX_GZIP_MEMBERS = 64


def _gunzip(body: bytes) -> bytes:
    """The decompressed body, refusing more than INGEST_MAX_BODY_BYTES of output (a zip bomb stops there)."""
    limit = settings.INGEST_MAX_BODY_BYTES
    output = bytearray()
    data = body
    members = 0
    while data:
        # One gzip member per pass (a body may hold several, as `cat a.gz b.gz` makes). Each pass
        # copies what follows the member: hundreds of thousands of tiny members cost minutes.
        members += 1
        if members > _MAX_GZIP_MEMBERS:
            message = f"the gzip body has more than {_MAX_GZIP_MEMBERS} members (the limit)"
            raise IngestError(400, "invalid gzip body", "Content-Encoding", message)
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            output += stream.decompress(data, limit + 1 - len(output))
        except zlib.error as error:
            raise IngestError(
                400, "invalid gzip body", "Content-Encoding", f"the body is not valid gzip ({error})"
            ) from None
        if len(output) > limit or stream.unconsumed_tail:
            message = f"the body decompresses to more than {limit} bytes (the limit)"
            raise IngestError(413, "request body too large", "body", message)
        if not stream.eof:
            raise IngestError(400, "invalid gzip body", "Content-Encoding", "the gzip body is truncated")
        data = stream.unused_data
    return bytes(output)


def parse_json_body(
    request: HttpRequest, *, content_types: frozenset[str], encodings: frozenset[str] = IDENTITY_ENCODING
) -> Any:
    encoding = _content_type(request, content_types, encodings)
    body = _read_body(request)
    if encoding == "gzip":
        body = _gunzip(body)
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


def validated_collect_batch(body: dict) -> tuple[dict, dict]:
    """The batch with the events that can be stored, and what to tell the client about the others;
    a 400 when nothing of it can be stored (docs/api.md, "One bad event")."""
    batch = payloads.collect_batch(body, settings.INGEST_MAX_BATCH)
    if batch.problems:
        raise IngestError(400, "invalid payload", details=batch.problems)
    report = {"rejected": batch.rejected, "details": batch.details} if batch.rejected else {}
    return batch.payload, report


def environment_for(body: dict, request: HttpRequest | None = None, *, keyless: bool = True) -> Environment | None:
    """The environment named by `app_id`; 401 when unknown. With a request, also check its server key,
    which an environment that accepts server events without a key (as Heap does) lets a request omit
    where `keyless` (the event APIs; never the privacy API: deleting people always takes the key).

    Returns None when app_id is missing or not a string, which validation then reports.
    """
    app_id = body.get("app_id")
    if not isinstance(app_id, str) or not app_id or text_problem(app_id):
        return None  # validation names the problem (PostgreSQL would refuse a NUL as a query parameter)
    environment = environment_for_app_id(app_id, cached=request is None)
    if environment is None:
        raise IngestError(401, "unknown app id", "app_id", "no environment has this app id")
    if request is not None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header and keyless and environment.keyless_server_api:
            return environment
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            message = "send the environment's server key as 'Authorization: Bearer <key>'"
            raise IngestError(401, "server key required", "Authorization", message)
        if not environment.check_api_key(key.strip()):
            raise IngestError(401, "wrong server key", "Authorization", "not this environment's server key")
    return environment


def environment_for_write_key(request: HttpRequest, body: dict) -> Environment:
    """The environment whose server key is the request's write key (Segment's HTTP API): sent as the
    HTTP Basic user name (the password is empty), or as `writeKey` in the body. 401 otherwise."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    in_body = body.get("writeKey")
    if header:
        if scheme.lower() != "basic":
            message = "send the write key as HTTP Basic auth: the key as user name, an empty password"
            raise IngestError(401, "write key required", "Authorization", message)
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise IngestError(401, "malformed credentials", "Authorization", "not base64 of '<write key>:'") from None
        if in_body is not None and in_body != key:
            raise IngestError(401, "conflicting write keys", "writeKey", "differs from the Basic auth user name")
    elif isinstance(in_body, str):
        key = in_body
    else:
        message = "send the environment's server key as HTTP Basic auth user name (or as writeKey in the body)"
        raise IngestError(401, "write key required", "Authorization", message)
    environment = environment_for_server_key(key.strip()) if key.strip() else None
    if environment is None:
        raise IngestError(401, "unknown write key", "Authorization", "no environment has this server key")
    return environment


def ingest_endpoint(
    *,
    cors: bool = False,
    encodings: frozenset[str] = IDENTITY_ENCODING,
    error_body: Callable[[IngestError], dict] = IngestError.body,
) -> Callable:
    """POST-only JSON endpoint outside login and CSRF; IngestError becomes its JSON reply (`error_body`).

    With `cors`, any origin may call it (a preflight is answered) and text/plain bodies are
    accepted too, which is what sendBeacon sends. `encodings` lists the Content-Encodings accepted.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            try:
                if cors and request.method == "OPTIONS":
                    response = HttpResponse(status=204)
                elif request.method != "POST":
                    raise IngestError(405, "method not allowed", "method", "use POST")
                else:
                    content_types = BEACON_TYPES if cors else JSON_TYPES
                    body = parse_json_body(request, content_types=content_types, encodings=encodings)
                    response = view(request, body)
            except IngestError as error:
                response = JsonResponse(error_body(error), status=error.status)
                if error.status == 405:
                    response["Allow"] = "POST, OPTIONS" if cors else "POST"
            if cors:
                for header, value in CORS_HEADERS.items():
                    response[header] = value
            return response

        return csrf_exempt(login_not_required(wrapper))

    return decorate
