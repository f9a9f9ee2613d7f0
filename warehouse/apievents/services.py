"""Writes of the API-event catalog: what the sync finds in the raw events, table names, the switch.

The sync (warehouse/sync/engine.py) calls, in this order: `api_events_discover` before it decides
its tables (new names join the catalog); `api_event_tables` through warehouse/sync/tables.py (the
events that get a table, named); `api_events_record` in its apply transaction (the run's counts,
committed with the watermark, so a failed run counts nothing twice).
"""

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from psycopg2 import sql

from warehouse.ingest.payloads import SEGMENT_EVENT_ID_PREFIX, SERVER_EVENT_ID_PREFIXES
from warehouse.models import ApiEvent, ApiEventSync, Environment
from warehouse.models.api_events import api_event_name_hash
from warehouse.naming import identifier_base, unique_identifier
from warehouse.registry import EventTableSpec
from warehouse.services import table_change_record

from . import sql as api_sql
from .selectors import (
    AUTO,
    DEFINED,
    EMPTY_NAME,
    ON,
    api_event_candidates,
    api_event_states,
    automatic_rank,
    taken_table_names,
)


@dataclass
class Discovered:
    """The custom event names of the raw events one sync run covers, with their counts."""

    environment_id: int
    counts: list[api_sql.NameCount]
    full: bool  # the counts cover all history (they replace the catalog's), else they add to them


def api_events_discover(
    *, cursor, environment_id: int, since: str | None, until: str, recount: bool = False
) -> Discovered:
    """Add the names of the raw events written in [since, until) to the catalog, with their counts,
    and mark the names a server API logged.

    New raw events only add to the counts, so adding up each run's counts keeps them exact, in a
    full run too: all history is read only when the catalog has not been started (the
    environment's first sync, or the first after the upgrade that brought the catalog), when some
    names' sources are not known (the first after the upgrade that brought them), or with
    `recount` (a run that applies deletions of raw events: user deletion, retention), whose counts
    then replace the catalog's. That spares a full sync a scan of every raw event (~5% of it at 1M
    events, bench/sync.py). Names and their sources are committed at once (facts of the raw store,
    whatever the run does next); the counts wait for `api_events_record`.
    """
    if since is not None and (recount or _history_needed(cursor, environment_id=environment_id)):
        since = None
    counts = api_sql.custom_event_names(
        cursor,
        environment_id=environment_id,
        since=since,
        until=until,
        server_prefixes=_server_prefixes(environment_id),
    )
    ApiEvent.objects.bulk_create(
        [
            ApiEvent(
                environment_id=environment_id,
                name=row.name,
                name_hash=api_event_name_hash(row.name),
                first_seen_id=row.first_id,
                first_seen_at=row.first_time,
                last_seen_at=row.last_time,
                from_server=row.from_server,
            )
            for row in counts
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    catalog = ApiEvent.objects.filter(environment_id=environment_id)
    # Never back to false (a deletion of its server events does not make a name a browser's).
    server = [api_event_name_hash(row.name) for row in counts if row.from_server]
    catalog.filter(name_hash__in=server).exclude(from_server=True).update(from_server=True)
    if since is None:  # all history read: the names still not known are in no server event
        catalog.filter(from_server=None).update(from_server=False)
    return Discovered(environment_id, counts, full=since is None)


def _server_prefixes(environment_id: int) -> tuple[str, ...]:
    """The event ids that show a server API logged a name. Not /api/track's where the environment
    accepts server events without a key: anyone with the (public) app id could send those, and each
    name would outrank the browser's names, taking their tables."""
    keyless = Environment.objects.filter(pk=environment_id, keyless_server_api=True).exists()
    return (SEGMENT_EVENT_ID_PREFIX,) if keyless else SERVER_EVENT_ID_PREFIXES


def _history_needed(cursor, *, environment_id: int) -> bool:
    """Whether the catalog needs all history: not started while there are custom events, or sources not known."""
    catalog = ApiEvent.objects.filter(environment_id=environment_id)
    if catalog.filter(from_server=None).exists():
        return True
    return not catalog.exists() and api_sql.any_custom_events(cursor, environment_id=environment_id)


def api_events_record(*, cursor, discovered: Discovered) -> None:
    """Inside the sync's apply transaction: the run's counts join the catalog."""
    api_sql.record_counts(
        cursor,
        environment_id=discovered.environment_id,
        counts=discovered.counts,
        hashes=[api_event_name_hash(row.name) for row in discovered.counts],
        full=discovered.full,
    )


def api_event_tables(*, environment_id: int, registered: list[EventTableSpec]) -> list[EventTableSpec]:
    """Specs of the API events that get a table of their own (selectors.api_event_states).

    Gives a table name to each that has none yet, and a new one to an event whose name a
    registered table now holds (a definition that stood for the event and was edited keeps its
    name). Names go in rule 4's order, server names first: a server name whose name an automatic
    browser name holds takes it, and the browser name gets another (or none, if it has no table):
    posting `signed-up` to the public /api/collect first must not send the customer's `Signed Up`
    to `signed_up_2`. Under the environment's row lock, which definitions' writes take too, so a
    definition saved meanwhile cannot take the same name.
    """
    with transaction.atomic():
        schema = (
            Environment.objects.select_for_update().values_list("warehouse_schema", flat=True).get(pk=environment_id)
        )
        events = api_event_candidates(environment_id=environment_id, registered=registered)
        held = {spec.table_name for spec in registered}
        taken = taken_table_names(environment_id, registered=registered)
        owners = {
            table_name: (pk, from_server, sync)
            for table_name, pk, from_server, sync in ApiEvent.objects.filter(environment_id=environment_id)
            .exclude(table_name="")
            .values_list("table_name", "pk", "from_server", "sync")
        }
        states = api_event_states(events, registered=registered)
        by_pk = {state.event.pk: state.event for state in states}
        for state in sorted(states, key=lambda state: automatic_rank(state.event)):
            event = state.event
            if state.state == DEFINED and not event.table_name and owners.get(state.definition.table_name) is None:
                event.table_name = state.definition.table_name  # shared: kept if the definition goes away
                event.save(update_fields=["table_name"])
            if state.state not in (ON, AUTO) or (event.table_name and event.table_name not in held):
                continue
            wanted = identifier_base(event.name, empty=EMPTY_NAME)
            if event.from_server and wanted not in held:
                _take_back(wanted, owners, taken, by_pk)
            event.table_name = unique_identifier(event.name, taken=taken, empty=EMPTY_NAME)
            event.save(update_fields=["table_name"])
        specs = [_spec(state.event, schema) for state in states if state.state in (ON, AUTO)]
    return specs


def _take_back(name: str, owners: dict, taken: set[str], events: dict[int, ApiEvent]) -> None:
    """Free the table name `name` for a server name if an automatic name no server logged holds it."""
    owner = owners.get(name)
    if owner is None or owner[1] is True or owner[2] != ApiEventSync.AUTO:
        return
    ApiEvent.objects.filter(pk=owner[0]).update(table_name="")
    if owner[0] in events:  # a candidate: named again after the server names, if it gets a table
        events[owner[0]].table_name = ""
    del owners[name]
    taken.discard(name)


def _spec(event: ApiEvent, schema: str) -> EventTableSpec:
    env, name = f"a{event.pk}_env", f"a{event.pk}_name"
    return EventTableSpec(
        key=event.event_table_key,
        table_name=event.table_name,
        # environment_id and the name: the partial index raw_events_env_custom_name finds a
        # rebuilt table's events without reading the others.
        predicate=sql.SQL("e.environment_id = {} AND e.type = 'custom' AND e.event_name = {}").format(
            sql.Placeholder(env), sql.Placeholder(name)
        ),
        params={env: event.environment_id, name: event.name},
        version="1",
        label=event.name[:200],
        event_types=("custom",),
        custom_event_name=event.name,
        url=reverse("warehouse_api_event", args=[schema, event.pk]),
    )


def api_event_sync_set(*, event: ApiEvent, sync: str) -> ApiEvent:
    """The event's "sync to warehouse" switch: on (whatever the cap), off, or auto. The next sync applies it."""
    if sync not in ApiEventSync.values:
        raise ValueError(f"the sync setting must be one of {', '.join(ApiEventSync.values)}, not {sync!r}")
    if event.sync == sync:
        return event
    with transaction.atomic():
        event.sync, event.sync_changed_at = sync, timezone.now()
        event.save(update_fields=["sync", "sync_changed_at"])
        table_change_record(environment_id=event.environment_id, changes=[(event.event_table_key, "switched")])
    return event
