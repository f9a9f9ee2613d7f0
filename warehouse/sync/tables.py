"""Which tables an environment's warehouse has: built-ins, one per registered EventTableSpec whose
sync switch is on, and one per event logged via the API that gets a table (warehouse/apievents/)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg2 import sql

from warehouse.apievents.services import api_event_tables
from warehouse.naming import BUILTIN_TABLE_NAMES
from warehouse.registry import event_tables_for
from warehouse.sql.sync import EVENT_COLUMNS, PAGEVIEW_COLUMNS, SESSION_COLUMNS, USER_COLUMNS
from warehouse.sync.failures import TableFailure

PAGEVIEWS_KEY = "builtin:pageviews"
USERS_KEY = "builtin:users"
SESSIONS_KEY = "builtin:sessions"
# Tables the sync keeps in place across runs (appended to, never swapped).
KEPT_TABLE_NAMES = frozenset({"_sync_info", "_sync_history"})
_TABLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


# Schemas whose names start with this are the sync's own (work, build).
PRIVATE_SCHEMA_PREFIX = "_hs_"


def sync_private_schema(kind: str, environment_id: int) -> str:
    """The sync's private schema of one environment: "work" (staging), "build" (finished tables),
    "data" (the stored rows of the event tables whose views the warehouse schema shows) or
    "replaced" (the stored rows a full sync replaced, between its commit and their drop)."""
    return f"{PRIVATE_SCHEMA_PREFIX}sync_{kind}_{environment_id}"


def legacy_all_events_schema(environment_id: int) -> str:
    """Where all_events' partitions lived before all_events became a view (dropped on sight)."""
    return f"{PRIVATE_SCHEMA_PREFIX}all_events_{environment_id}"


EVENT_BUILTIN_COLUMNS = [name for name, _ in EVENT_COLUMNS]
PAGEVIEW_BUILTIN_COLUMNS = [name for name, _ in PAGEVIEW_COLUMNS]
SESSION_BUILTIN_COLUMNS = [name for name, _ in SESSION_COLUMNS]
USER_BUILTIN_COLUMNS = [name for name, _ in USER_COLUMNS]


@dataclass
class EventTable:
    number: int  # partition number while building
    key: str
    table_name: str
    version: str
    label: str
    predicate: sql.Composable
    params: Mapping[str, Any] = field(default_factory=dict)
    event_types: tuple[str, ...] = ()  # empty: any raw event type (see EventTableSpec.event_types)
    # Its predicate finds its rows through an index (an API event's name): rebuilt from all history
    # by a statement of its own, beside others, rather than by a pass over every raw event.
    selective: bool = False
    gates: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # see EventTableSpec.gates

    @property
    def builtin_columns(self) -> list[str]:
        return PAGEVIEW_BUILTIN_COLUMNS if self.key == PAGEVIEWS_KEY else EVENT_BUILTIN_COLUMNS


def environment_event_tables(environment_id: int) -> tuple[list[EventTable], list[TableFailure]]:
    """Pageviews, every valid registered spec switched on, and the API events' tables; failures are
    the specs that cannot be built, and why."""
    registered = event_tables_for(environment_id)
    specs = [spec for spec in registered if spec.sync]
    automatic = api_event_tables(environment_id=environment_id, registered=registered)
    specs += automatic
    selective = {spec.key for spec in automatic}
    tables = [
        EventTable(0, PAGEVIEWS_KEY, "pageviews", "1", "Pageviews", sql.SQL("e.type = 'pageview'"), {}, ("pageview",))
    ]
    failures: list[TableFailure] = []
    names: set[str] = set()
    params: set[str] = set()
    for number, spec in enumerate(specs, start=1):
        name = spec.table_name

        def fail(error: str, spec=spec) -> None:
            failures.append(TableFailure(spec.key, spec.table_name, spec.label or spec.table_name, error))

        if spec.error:
            fail(spec.error)
            continue
        if not _TABLE_NAME_RE.match(name) or len(name.encode()) > 63:
            fail(f"table name {name!r} is not a valid warehouse identifier")
            continue
        if name in BUILTIN_TABLE_NAMES or name in names:
            fail(f"table name {name!r} is already taken")
            continue
        clashing = params & set(spec.params)
        if clashing:
            fail(f"parameter names {sorted(clashing)} are used by another table")
            continue
        names.add(name)
        params |= set(spec.params)
        tables.append(
            EventTable(
                number,
                spec.key,
                name,
                spec.version,
                spec.label or name,
                spec.predicate,
                dict(spec.params),
                tuple(sorted(set(spec.event_types))),
                spec.key in selective,
                dict(spec.gates),
            )
        )
    return tables, failures
