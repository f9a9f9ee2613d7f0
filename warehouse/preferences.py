"""A person's own settings (now: the time zone every page shows times in), and the middleware applying it.

The zone rides in the session (set at login and when changed), so pages cost no query for it.
"""

import zoneinfo
from functools import cache

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from warehouse.models import UserPreferences

SESSION_KEY = "time_zone"


@cache
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def preferences_of(*, user: AbstractBaseUser) -> UserPreferences:
    return UserPreferences.objects.filter(user=user).first() or UserPreferences(user=user)


def preferences_update(*, request: HttpRequest, time_zone: str) -> UserPreferences:
    """Save the person's time zone ("" for the server's); raises ValueError naming a zone that does not exist."""
    time_zone = time_zone.strip()
    if time_zone and time_zone not in time_zone_names():
        raise ValueError(f"{time_zone!r} is not a time zone name (pick one from the list, e.g. Europe/Berlin)")
    preferences, _ = UserPreferences.objects.update_or_create(user=request.user, defaults={"time_zone": time_zone})
    request.session[SESSION_KEY] = time_zone
    return preferences


@receiver(user_logged_in)
def _remember_time_zone(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preferences_of(user=user).time_zone


class TimeZoneMiddleware:
    """Activate the person's time zone for a page (templates and warehouse/display.py follow it). Public views
    (ingestion, the demo shop) are left alone: they never read the session for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the zone is thread-local: never leak it into the next request

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if not getattr(view_func, "login_required", True):
            return
        name = request.session.get(SESSION_KEY, "")
        if name and name in time_zone_names():
            timezone.activate(zoneinfo.ZoneInfo(name))
