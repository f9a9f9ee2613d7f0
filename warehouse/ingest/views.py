"""Ingestion endpoints: parse, authenticate, validate, call one service (docs/api.md)."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from . import payloads, services
from .enrich import client_info
from .http import environment_for, ingest_endpoint, validated, validated_collect_batch


@ingest_endpoint(cors=True)
def collect(request: HttpRequest, body: dict) -> JsonResponse:
    received_at = services.utc_now()
    environment = environment_for(body)
    payload, rejected = validated_collect_batch(body)
    result = services.collect_batch_ingest(
        environment=environment, payload=payload, client=client_info(request), received_at=received_at
    )
    return JsonResponse({"ok": True, **result, **rejected})


@ingest_endpoint()
def track(request: HttpRequest, body: dict) -> JsonResponse:
    received_at = services.utc_now()
    environment = environment_for(body, request)
    payload = validated(payloads.track_payload(settings.INGEST_MAX_BATCH), body)
    events = payload.get("events") or [payload]
    result = services.track_events_ingest(environment=environment, events=events, received_at=received_at)
    return JsonResponse({"ok": True, **result})


@ingest_endpoint()
def identify(request: HttpRequest, body: dict) -> JsonResponse:
    received_at = services.utc_now()
    environment = environment_for(body, request)
    payload = validated(payloads.identify_payload, body)
    result = services.identity_merge(
        environment=environment,
        identity=payload["identity"],
        anonymous_user_id=payload["user_id"],
        received_at=received_at,
        time=payload["timestamp"],
    )
    return JsonResponse({"ok": True, **result})


@ingest_endpoint()
def add_user_properties(request: HttpRequest, body: dict) -> JsonResponse:
    received_at = services.utc_now()
    environment = environment_for(body, request)
    payload = validated(payloads.user_properties_payload(settings.INGEST_MAX_BATCH), body)
    users = payload.get("users") or [payload]
    result = services.user_properties_add(environment=environment, users=users, received_at=received_at)
    return JsonResponse({"ok": True, **result})
