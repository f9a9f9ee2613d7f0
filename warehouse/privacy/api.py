"""Heap's User Deletion API, authenticated with the environment's server key (docs/api.md).

POST /api/public/v0/user_deletion  {"app_id": …, "users": [{"identity": …}, {"user_id": …}, {"anonymous_id": …}]}
GET  /api/public/v0/deletion_status/<deletion_request_id>
"""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from warehouse.identity import user_id_for_anonymous_id
from warehouse.ingest.http import IngestError, environment_for, ingest_endpoint, validated
from warehouse.ingest.payloads import app_id, identity
from warehouse.ingest.segment.payloads import IdText
from warehouse.ingest.validation import Int, List, Obj, Path, Problems
from warehouse.models import DeletionSource, UserDeletionRequest

from .selectors import user_deletion_status
from .services import MAX_USERS_PER_REQUEST, user_deletion_request


def _one_of_identity_or_user_id(user: dict, path: Path, problems: Problems) -> None:
    if len(user) != 1:
        problems.add(path, "give exactly one of identity, user_id or anonymous_id")
    elif "anonymous_id" in user and user["anonymous_id"] is None:
        problems.add((path, "anonymous_id"), "must be a non-empty string or a number")


deletion_user = Obj(
    # anonymous_id: Segment's anonymousId of a visitor who never identified, as its SDKs sent it.
    fields={"identity": identity, "user_id": Int(minimum=1, maximum=2**63 - 1), "anonymous_id": IdText()},
    rules=(_one_of_identity_or_user_id,),
)
deletion_payload = Obj(
    fields={"app_id": app_id, "users": List(item=deletion_user, min_items=1, max_items=MAX_USERS_PER_REQUEST)},
    required=frozenset({"app_id", "users"}),
)


@ingest_endpoint()
def user_deletion(request: HttpRequest, body: dict) -> JsonResponse:
    environment = environment_for(body, request, keyless=False)
    payload = validated(deletion_payload, body)
    users = [_by_user_id(user) for user in payload["users"]]
    deletion = user_deletion_request(environment=environment, users=users, source=DeletionSource.API)
    return JsonResponse(user_deletion_status(request=deletion))


def _by_user_id(user: dict) -> dict:
    """A Segment anonymousId as the user id the drop-in Segment API stored it under."""
    if "anonymous_id" in user:
        return {"user_id": user_id_for_anonymous_id(user["anonymous_id"])}
    return user


@csrf_exempt
@login_not_required
@require_GET
def deletion_status(request: HttpRequest, request_id) -> JsonResponse:
    try:
        deletion = UserDeletionRequest.objects.select_related("environment").get(pk=request_id)
    except (UserDeletionRequest.DoesNotExist, ValidationError):
        deletion = None
    try:
        if deletion is None:
            raise IngestError(404, "unknown deletion request", "deletion_request_id", "no deletion request has this id")
        environment_for({"app_id": deletion.environment.app_id}, request, keyless=False)
    except IngestError as error:
        return error.response()
    return JsonResponse(user_deletion_status(request=deletion))
