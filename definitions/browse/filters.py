"""The raw events list's filters: parsed from the query string (so a filtered view is a shareable URL)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from warehouse.models.raw import EventType
from warehouse.params import whole_number

EVENT_TYPES = [choice.value for choice in EventType]
# Query-string names, in the order the form shows them.
FILTER_NAMES = (
    "type",
    "since",
    "until",
    "path",
    "text",
    "selector",
    "user",
    "session",
    "event",
    "prop",
    "value",
    "uncovered",
)
MAX_FILTER_LENGTH = 1024


@dataclass
class EventFilters:
    types: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    path: str = ""
    text: str = ""
    selector: str = ""
    user: str = ""
    session: int | None = None
    event: str = ""
    prop: str = ""
    value: str = ""
    uncovered: bool = False
    # Raw values as typed, to refill the form and build links.
    raw: dict[str, list[str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(self.raw.get(name) for name in FILTER_NAMES)

    def query_string(self, **extra: str) -> str:
        pairs = [(name, value) for name in FILTER_NAMES for value in self.raw.get(name, []) if value]
        pairs += [(name, value) for name, value in extra.items() if value]
        return urlencode(pairs)


def parse_time(value: str) -> datetime:
    """YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (a datetime-local input) or ISO 8601 with offset; without an offset,
    in the viewer's time zone (the one the page shows times in)."""
    parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.get_current_timezone())


def parse_filters(query: QueryDict) -> tuple[EventFilters, dict[str, str]]:
    """Filters and the problems found (field name -> message); a bad field is left out, never guessed."""
    errors: dict[str, str] = {}
    filters = EventFilters(raw={name: [v.strip() for v in query.getlist(name)] for name in FILTER_NAMES})

    def one(name: str) -> str:
        values = [v for v in filters.raw.get(name, []) if v]
        value = values[-1] if values else ""
        if len(value) > MAX_FILTER_LENGTH:
            errors[name] = f"is longer than {MAX_FILTER_LENGTH} characters"
            return ""
        if "\x00" in value:
            errors[name] = "contains a NUL character"
            return ""
        return value

    types = [v for v in filters.raw.get("type", []) if v]
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        errors["type"] = f"unknown type {unknown[0]!r} (use {', '.join(EVENT_TYPES)})"
    filters.types = [t for t in types if t in EVENT_TYPES]
    for name in ("since", "until"):
        value = one(name)
        if value:
            try:
                setattr(filters, name, parse_time(value))
            except ValueError:
                errors[name] = f"{value!r} is not a date or time (use e.g. 2026-11-28 or 2026-11-28T14:30)"
    if filters.since and filters.until and filters.since >= filters.until:
        errors["until"] = "must be after 'since'"
        filters.until = None
    filters.path = one("path")
    filters.text = one("text")
    filters.selector = one("selector")
    filters.user = one("user")
    session = one("session")
    if session:
        if (number := whole_number(session)) is not None:
            filters.session = number
        else:
            errors["session"] = "a session id is a number"
    filters.event = one("event")
    filters.prop = one("prop")
    filters.value = one("value")
    if filters.value and not filters.prop:
        errors["value"] = "give the property name too"
    filters.uncovered = one("uncovered") in ("1", "on", "true", "yes")
    return filters, errors


@dataclass(frozen=True)
class Cursor:
    """Keyset position: rows strictly older than (time, id) come next."""

    time: datetime
    id: int

    def encode(self) -> str:
        micros = int(self.time.timestamp()) * 1_000_000 + self.time.microsecond
        return f"{micros}_{self.id}"

    @classmethod
    def decode(cls, value: str) -> "Cursor | None":
        micros, _, event_id = value.partition("_")
        if whole_number(micros) is None or whole_number(event_id) is None or len(micros) > 18 or len(event_id) > 18:
            return None
        seconds, fraction = divmod(int(micros), 1_000_000)
        try:
            time = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=fraction)
        except (OverflowError, ValueError, OSError):
            return None
        return cls(time=time, id=int(event_id))
