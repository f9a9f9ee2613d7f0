"""Writes of the labeler: launch tokens, their exchange for access tokens, closing, checking a request's token.

A launch token is made on heapsite's page for one environment, user and site origin, lives two
minutes and works once. The labeler script on that site exchanges it (from that origin only) for an
access token that lives an hour; every labeler request carries it as `Authorization: Bearer`, from
the same origin, and the user's role in the environment is checked again at each request.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from warehouse.access import Access, Permission, environment_access
from warehouse.models import Environment

from ..models import LabelerToken
from .origins import labeler_origin_allowed, origin_of

LAUNCH_TTL = timedelta(minutes=2)
ACCESS_TTL = timedelta(hours=1)
FRAGMENT_KEY = "heapsite-label"


class LabelerRefused(Exception):
    """A labeler request that is not let in: `status` (400/401/403/404/429) and what to tell the script."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _hash(raw: str) -> str:
    # A lone surrogate from a JSON body hashes as is and matches no token (a 401, not a 500).
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Launch:
    url: str  # the site's URL with the launch token in its fragment
    origin: str


def labeler_launch(*, environment: Environment, user: AbstractBaseUser, url: str, request: HttpRequest) -> Launch:
    """A one-time launch token for opening `url` (on an allowed site) with the labeler; raises LabelerRefused."""
    origin = origin_of(url.strip()) if isinstance(url, str) else None
    if origin is None:
        raise LabelerRefused(400, "Give the address of a page of your site (http:// or https://)")
    if not labeler_origin_allowed(environment=environment, origin=origin, request=request):
        raise LabelerRefused(
            403, f"{origin} is not one of this environment's labeler sites (add it on the environment's page)"
        )
    labeler_tokens_prune()
    raw = secrets.token_urlsafe(24)
    LabelerToken.objects.create(
        environment=environment,
        user=user,
        kind=LabelerToken.Kind.LAUNCH,
        token_hash=_hash(raw),
        origin=origin,
        expires_at=timezone.now() + LAUNCH_TTL,
    )
    fragment = f"{FRAGMENT_KEY}={environment.warehouse_schema}.{raw}"
    return Launch(url=f"{url.strip().split('#', 1)[0]}#{fragment}", origin=origin)


@dataclass(frozen=True)
class Session:
    token: LabelerToken
    access: Access
    raw: str = ""  # the access token itself, only when just made


def _check_origin(token: LabelerToken, origin: str | None, request: HttpRequest) -> None:
    # The site the token was made for, and still one of the environment's labeler sites.
    if origin != token.origin or not labeler_origin_allowed(
        environment=token.environment, origin=origin, request=request
    ):
        raise LabelerRefused(403, "this site may not use the labeler for this environment")


def _user_access(token: LabelerToken, permission: Permission) -> Access:
    access = environment_access(user=token.user, environment=token.environment)
    if access is None:
        raise LabelerRefused(401, "you can no longer see this environment")
    if not access.can(permission):
        raise LabelerRefused(403, "this needs the editor or admin role in this environment")
    return access


@transaction.atomic
def labeler_session_start(
    *, environment: Environment, launch_token: str, origin: str | None, request: HttpRequest
) -> Session:
    """Exchange a launch token (once, before it expires, from its site) for an access token."""
    if not isinstance(launch_token, str) or not launch_token:
        raise LabelerRefused(400, "send the launch token")
    token = (
        LabelerToken.objects.select_for_update()
        .select_related("environment", "user")
        .filter(token_hash=_hash(launch_token), kind=LabelerToken.Kind.LAUNCH)
        .first()
    )
    now = timezone.now()
    # One answer for unknown, used, expired and another environment's: a token either works or not.
    if token is None or token.environment_id != environment.pk or token.ended_at is not None or token.expires_at <= now:
        raise LabelerRefused(401, "this labeler link has expired or was used already: launch it again from heapsite")
    _check_origin(token, origin, request)
    access = _user_access(token, Permission.VIEW)
    token.ended_at = now
    token.save(update_fields=["ended_at"])
    raw = secrets.token_urlsafe(32)
    session = LabelerToken.objects.create(
        environment=environment,
        user=token.user,
        kind=LabelerToken.Kind.ACCESS,
        token_hash=_hash(raw),
        origin=token.origin,
        expires_at=now + ACCESS_TTL,
    )
    return Session(token=session, access=access, raw=raw)


def labeler_session_check(
    *, environment: Environment, authorization: str, origin: str | None, request: HttpRequest, permission: Permission
) -> Session:
    """The session a request's `Authorization: Bearer <access token>` names, if it may do `permission`."""
    scheme, _, raw = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise LabelerRefused(401, "send the labeler's access token as 'Authorization: Bearer <token>'")
    token = (
        LabelerToken.objects.select_related("environment", "user")
        .filter(token_hash=_hash(raw.strip()), kind=LabelerToken.Kind.ACCESS)
        .first()
    )
    if (
        token is None
        or token.environment_id != environment.pk
        or token.ended_at is not None
        or token.expires_at <= timezone.now()
    ):
        raise LabelerRefused(401, "the labeler session has ended: launch it again from heapsite")
    _check_origin(token, origin, request)
    return Session(token=token, access=_user_access(token, permission))


def labeler_session_end(*, session: Session) -> None:
    LabelerToken.objects.filter(pk=session.token.pk, ended_at__isnull=True).update(ended_at=timezone.now())


def labeler_tokens_prune() -> int:
    """Delete tokens that ended or expired over a day ago (called on each launch: no job needed)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = LabelerToken.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
