"""Reads of the API-event catalog: which events get a table, and why the others do not.

One rule, `api_event_states`, decides for every event logged via the API (docs/warehouse.md,
"Events logged via the API"), in order:

1. a definition stands for it (one custom group naming it, no conditions) under the same table
   name: the two are one table, the definition's ("defined"); the definition's switch governs it;
2. switched off: no table ("off");
3. turned on by hand: a table, whatever the cap ("on");
4. otherwise a table while fewer than SYNC_API_EVENT_TABLES_MAX events got one this way ("auto"),
   first to the names a server API logged, then to the others, each in the order the names were
   first seen; past the cap, none ("limit"). Only the server APIs can write under the public app id
   names that outrank the rest, so a client flooding /api/collect with names cannot take their tables.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from warehouse.models import ApiEvent, ApiEventSync, Environment
from warehouse.models.api_events import AUTOMATIC_ORDER, api_event_name_hash
from warehouse.naming import BUILTIN_TABLE_NAMES, identifier_base, unique_identifier
from warehouse.registry import EventTableSpec, event_tables_for

from . import sql as api_sql

DEFINED, OFF, ON, AUTO, LIMIT = "defined", "off", "on", "auto", "limit"
STATE_LABELS = {
    DEFINED: "synced as a definition",
    OFF: "paused (sync switched off)",
    ON: "synced (turned on by hand)",
    AUTO: "synced",
    LIMIT: "not synced (limit reached)",
}
# Where an event's names came from (ApiEvent.from_server): a server API once one of them did.
SEEN_FROM = {True: "server API", False: "browser", None: "source not known yet"}
EMPTY_NAME = "event"  # the table name of an event whose name has no letters or digits at all
RECENT_DAYS = 7
LIST_LIMIT = 500  # API events on the definitions list (a client can send thousands of names)


@dataclass
class ApiEventState:
    event: ApiEvent
    state: str
    # The table the event's rows are in (the definition's when DEFINED), "" when it has none (yet).
    table_name: str = ""
    definition: EventTableSpec | None = None

    @property
    def synced(self) -> bool:
        """Whether the event has a table, or gets one at the next sync."""
        if self.state == DEFINED:
            return self.definition is not None and self.definition.sync
        return self.state in (ON, AUTO)

    @property
    def seen_from(self) -> str:
        return SEEN_FROM[self.event.from_server]

    @property
    def label(self) -> str:
        if self.state == DEFINED and self.definition is not None:
            if not self.definition.sync:
                return f"paused (the definition {self.definition.label!r} is switched off)"
            return f"synced as the definition {self.definition.label!r}"
        return STATE_LABELS[self.state]


def standing_for(registered: Iterable[EventTableSpec]) -> dict[str, EventTableSpec]:
    """{custom event name: the spec that is exactly that event's table}."""
    return {spec.custom_event_name: spec for spec in registered if spec.custom_event_name}


def shared_definition(stands: dict[str, EventTableSpec], name: str, table_name: str = "") -> EventTableSpec | None:
    """The registered table that is exactly the event `name` under the event's table name (rule 1), or None."""
    spec = stands.get(name)
    if spec is not None and spec.table_name == (table_name or identifier_base(name, empty=EMPTY_NAME)):
        return spec
    return None


def automatic_rank(event: ApiEvent) -> tuple[bool, bool, int]:
    """The event's place in AUTOMATIC_ORDER (which the database sorts by): server names, the others, not known."""
    return (event.from_server is not True, event.from_server is None, event.first_seen_id)


def _fixed_state(event: ApiEvent, stands: dict[str, EventTableSpec]) -> ApiEventState | None:
    """Rules 1 to 3, which depend on the event alone; None: rule 4 decides."""
    spec = shared_definition(stands, event.name, event.table_name)
    if spec is not None:
        return ApiEventState(event, DEFINED, spec.table_name if spec.sync else "", spec)
    if event.sync == ApiEventSync.OFF:
        return ApiEventState(event, OFF)
    if event.sync == ApiEventSync.ON:
        return ApiEventState(event, ON, event.table_name)
    return None


def api_event_states(
    events: Iterable[ApiEvent], *, registered: list[EventTableSpec], cap: int | None = None
) -> list[ApiEventState]:
    """The state of each event (module docstring), in the order of `events`."""
    cap = settings.SYNC_API_EVENT_TABLES_MAX if cap is None else cap
    stands = standing_for(registered)
    ruled = [(event, _fixed_state(event, stands)) for event in events]
    automatic = sorted((event for event, state in ruled if state is None), key=automatic_rank)
    within = {event.pk for event in automatic[:cap]}
    states = []
    for event, state in ruled:
        if state is None:
            state = ApiEventState(event, AUTO, event.table_name) if event.pk in within else ApiEventState(event, LIMIT)
        states.append(state)
    return states


def api_event_candidates(*, environment_id: int, registered: list[EventTableSpec]) -> list[ApiEvent]:
    """The events that can get (or share) a table, first seen first, in a number bounded by the cap.

    Not the whole catalog: a client that sent a hundred thousand names costs each run (and each
    event's page) no more than the cap. Past the first `cap` automatic events (in AUTOMATIC_ORDER)
    that no definition stands for, no automatic event gets a table, so those are not read.
    """
    events = ApiEvent.objects.filter(environment_id=environment_id)
    names = [api_event_name_hash(name) for name in standing_for(registered)]
    chosen = {event.pk: event for event in events.filter(Q(sync=ApiEventSync.ON) | Q(name_hash__in=names))}
    cap = settings.SYNC_API_EVENT_TABLES_MAX
    automatic = events.filter(sync=ApiEventSync.AUTO).order_by(*AUTOMATIC_ORDER)[: cap + len(names)]
    chosen.update({event.pk: event for event in automatic})
    return sorted(chosen.values(), key=lambda event: event.first_seen_id)


def api_event_state(event: ApiEvent) -> ApiEventState:
    """One event's state, among the events the sync reads (those it does not read cannot come before it)."""
    registered = event_tables_for(event.environment_id)
    others = api_event_candidates(environment_id=event.environment_id, registered=registered)
    states = api_event_states([*(other for other in others if other.pk != event.pk), event], registered=registered)
    return states[-1]


def api_events_recent_counts(environment: Environment) -> dict[str, int]:
    """{custom event name: raw events in the last RECENT_DAYS days}, also names no sync has seen yet."""
    with connection.cursor() as cursor:
        return api_sql.recent_counts(
            cursor, environment_id=environment.pk, since=timezone.now() - timedelta(days=RECENT_DAYS)
        )


def api_event_table_names(environment: Environment, *, sharing: str = "") -> set[str]:
    """The table names API events hold, but that of the event named `sharing` (a definition that is
    exactly that event may share its table: docs/warehouse.md, "Definitions and API events")."""
    events = ApiEvent.objects.filter(environment=environment).exclude(table_name="")
    if sharing:
        events = events.exclude(name_hash=api_event_name_hash(sharing))
    return set(events.values_list("table_name", flat=True))


def taken_table_names(environment_id: int, *, registered: Iterable[EventTableSpec]) -> set[str]:
    """Table names no new API event may take: built-in ones, the registered tables', other API events'."""
    names = set(BUILTIN_TABLE_NAMES) | {spec.table_name for spec in registered}
    names |= set(
        ApiEvent.objects.filter(environment_id=environment_id)
        .exclude(table_name="")
        .values_list("table_name", flat=True)
    )
    return names


@dataclass
class ApiEventRow:
    """An event logged via the API, as the definitions list shows it."""

    name: str
    recent: int  # raw events in the last RECENT_DAYS days
    state: ApiEventState | None = None  # None: logged since the last sync, which has not seen it yet
    next_table: str = ""  # for one the sync has not seen yet: the table it gets at the next sync ("" none)

    @property
    def table_name(self) -> str:
        return self.state.table_name if self.state is not None else self.next_table

    @property
    def synced(self) -> bool:
        return self.state.synced if self.state is not None else bool(self.next_table)


def api_event_rows(environment: Environment, *, limit: int = LIST_LIMIT) -> tuple[list[ApiEventRow], int]:
    """The definitions list's API events: synced first, then by recent events; and how many were left out.

    Names logged since the last sync are there too, with the table the next sync gives them.
    """
    registered = event_tables_for(environment.pk)
    events = ApiEvent.objects.filter(environment=environment).order_by("first_seen_id")
    states = api_event_states(events, registered=registered)
    recent = api_events_recent_counts(environment)
    rows = [ApiEventRow(state.event.name, recent.pop(state.event.name, 0), state) for state in states]
    if recent:
        room = settings.SYNC_API_EVENT_TABLES_MAX - sum(1 for state in states if state.state == AUTO)
        stands = standing_for(registered)
        taken = taken_table_names(environment.pk, registered=registered)
        for name in sorted(recent):
            spec = shared_definition(stands, name)
            if spec is not None:
                table = spec.table_name if spec.sync else ""
            elif room > 0:
                room -= 1
                table = unique_identifier(name, taken=taken, empty=EMPTY_NAME)
            else:
                table = ""
            rows.append(ApiEventRow(name, recent[name], None, table))
    rows.sort(key=lambda row: (not row.synced, -row.recent, row.name))
    return rows[:limit], max(0, len(rows) - limit)


def api_event_table_preview(environment: Environment, name: str) -> str:
    """The table an API event of this name has, or would get at the next sync."""
    wanted = api_event_name_hash(name)
    held = dict(
        ApiEvent.objects.filter(environment=environment)
        .filter(~Q(table_name="") | Q(name_hash=wanted))
        .values_list("name_hash", "table_name")
    )
    if held.get(wanted):
        return held[wanted]
    registered = event_tables_for(environment.pk)
    spec = shared_definition(standing_for(registered), name)
    if spec is not None:
        return spec.table_name
    taken = set(BUILTIN_TABLE_NAMES) | {spec.table_name for spec in registered} | set(held.values())
    return unique_identifier(name, taken=taken, empty=EMPTY_NAME)
