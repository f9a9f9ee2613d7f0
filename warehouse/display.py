"""How the app writes times and counts, the one way every page uses (templates through
warehouse/templatetags/display.py, Python through these functions).

Times: `2026-12-07 06:02:42 UTC` — ISO order, 24 hours, always with the zone, in the viewer's
time zone (their setting, else TIME_ZONE). Where a relative time reads better ("5 minutes ago"),
the exact one is its hover title. Counts: thousands separated, the noun agreeing with the number.
"""

from datetime import datetime, tzinfo

from django.utils import timezone

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MINUTE_FORMAT = "%Y-%m-%d %H:%M"


def _local(value: datetime, zone: tzinfo | None) -> datetime:
    return value.astimezone(zone or timezone.get_current_timezone())


def format_time(value: datetime | None, *, zone: tzinfo | None = None, seconds: bool = True) -> str:
    """`2026-12-07 06:02:42 UTC` in the viewer's zone (or `zone`); "" for None."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local.strftime(TIME_FORMAT if seconds else MINUTE_FORMAT)} {local.tzname()}"


def plural(count: int, noun: str) -> str:
    """`1 event`, `2 events`, `1,234 events`; `noun` may give both forms: "entry,entries"."""
    one, _, many = noun.partition(",")
    many = many or (one[:-1] + "ies" if one.endswith("y") and one[-2:-1] not in "aeiou" else one + "s")
    return f"{count:,} {one if count == 1 else many}"


_UNITS = (
    (86_400 * 365, "year"),
    (86_400 * 30, "month"),
    (86_400 * 7, "week"),
    (86_400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def relative_time(value: datetime | None, *, now: datetime | None = None) -> str:
    """`just now`, `5 minutes ago`, `in 2 hours`, `3 days ago`: the largest whole unit."""
    if value is None:
        return ""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now" if not future else "in a few seconds"
    if seconds < 60:
        amount = "1 minute"
    else:
        size, unit = next((size, unit) for size, unit in _UNITS if seconds >= size)
        amount = plural(seconds // size, unit)
    return f"in {amount}" if future else f"{amount} ago"
