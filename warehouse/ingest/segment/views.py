"""Segment's HTTP Tracking API endpoints: `/v1/batch` and one per call type (docs/api.md).

Authenticated by the write key (the environment's server key) as HTTP Basic user name; bodies may be
gzip-compressed. Replies are what Segment's SDKs read: 200 `{"success": true}`, or an error with
`code` and `message` (the SDKs retry only on 429 and 5xx, so a 4xx means "do not send this again").
"""

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from .. import services
from ..http import GZIP_ENCODINGS, IngestError, environment_for_write_key, ingest_endpoint, validated
from . import payloads
from .translate import messages_to_writes


def segment_error_body(error: IngestError) -> dict:
    first = error.details[0] if error.details else {"field": "body", "message": error.error}
    code = error.error.lower().replace(" ", "_")
    return {"success": False, "code": code, "message": f"{first['field']}: {first['message']}", **error.body()}


def _store(request: HttpRequest, environment, messages: list[dict], sent_at, context) -> JsonResponse:
    received_at = services.utc_now()
    writes = messages_to_writes(
        messages=messages, batch_sent_at=sent_at, batch_context=context, received=received_at.timestamp()
    )
    result = services.server_batch_ingest(
        environment=environment,
        received_at=received_at,
        events=writes.events,
        users=writes.users,
        merges=writes.merges,
    )
    return JsonResponse({"success": True, "messages": len(messages), "inserted": result["inserted"]})


segment_endpoint = ingest_endpoint(encodings=GZIP_ENCODINGS, error_body=segment_error_body)


@segment_endpoint
def batch(request: HttpRequest, body: dict) -> JsonResponse:
    environment = environment_for_write_key(request, body)
    payload = validated(payloads.batch_payload(settings.INGEST_MAX_BATCH), body)
    return _store(request, environment, payload["batch"], payload["sentAt"], payload["context"])


def single(kind: str):
    """The endpoint for one call type (`/v1/track`, …): the body is one message of that type."""

    def view(request: HttpRequest, body: dict) -> JsonResponse:
        environment = environment_for_write_key(request, body)
        message = validated(payloads.single_payload(kind), body)
        return _store(request, environment, [message], None, None)

    view.__name__ = view.__qualname__ = kind
    return segment_endpoint(view)
