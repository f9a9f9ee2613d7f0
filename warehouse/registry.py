"""How other apps hand the sync engine their tables, without warehouse importing them.

`definitions` registers a provider in its AppConfig.ready() (the way admin autodiscovery works);
the sync engine asks every provider for the event tables of an environment. When a definition
changes, `definitions` calls `notify_event_table_changed`; the sync registers the listener that
records the change and enqueues the work after commit.
"""

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection
from psycopg2 import sql


@dataclass(frozen=True)
class EventTableSpec:
    # Stable across renames and edits, e.g. "definition:42".
    key: str
    # Warehouse table name: a valid identifier, unique in the environment, never a built-in name.
    table_name: str
    # Boolean SQL over one row of raw_events aliased `e`, with named placeholders %(name)s whose
    # names are unique to this spec (prefix them with something derived from the key).
    predicate: sql.Composable
    params: Mapping[str, Any] = field(default_factory=dict)
    # Changes whenever the predicate's meaning changes; the sync rebuilds the table when it does.
    version: str = ""
    # Display name, for the sync status page.
    label: str = ""
    # The raw event types (`e.type`) the predicate can possibly match, if the provider knows them
    # (e.g. ("click",)); empty means "any type". A promise: the sync evaluates the predicate only on
    # raw events of these types, so a predicate that could match another type must leave this empty.
    event_types: tuple[str, ...] = ()
    # {event type: (feature, values)}, if the provider knows them (definitions.compiler.definition_gates):
    # on a raw event of that type the predicate can only be true when the feature's value (a column
    # such as target_id, or one of warehouse/sql/sync.py's GATE_FEATURES) is one of the values. A
    # promise, like event_types: the sync tests an event only against the predicates its features
    # pass. Types left out are evaluated on every event of the type.
    gates: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # The "sync to warehouse" switch: False keeps the spec known (the raw browser still labels its
    # events) but the sync builds no table for it (and drops the one it had).
    sync: bool = True
    # When the table is exactly the custom events of one name (a definition with one custom group
    # and no conditions): that name. Under the same table name, the API event's automatic table and
    # this one are the same table (docs/warehouse.md, "Definitions and API events").
    custom_event_name: str = ""
    # The page where people manage the event (its switch), linked from the sync status page.
    url: str = ""
    # Set when the provider cannot make this table's predicate (e.g. a stored definition that no
    # longer compiles): the sync builds nothing for it, keeps its last good version, and reports
    # this message on the sync page and in _sync_history until the spec comes without one.
    error: str = ""


EventTableProvider = Callable[[int], list[EventTableSpec]]
TableChange = Literal["saved", "renamed", "deleted", "switched"]
TableChangeListener = Callable[..., None]

_providers: list[EventTableProvider] = []
_listeners: list[TableChangeListener] = []


def register_event_table_provider(provider: EventTableProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def event_tables_for(environment_id: int) -> list[EventTableSpec]:
    specs: list[EventTableSpec] = []
    for provider in _providers:
        specs.extend(provider(environment_id))
    return specs


def register_table_change_listener(listener: TableChangeListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


_batches = threading.local()


def notify_event_table_changed(*, environment_id: int, key: str, change: TableChange) -> None:
    """Call inside the transaction that saved the change; listeners defer their work to on_commit.
    Inside event_table_changes_batched(), the change is delivered at the end of the batch."""
    batch = getattr(_batches, "changes", None)
    if batch is not None:
        batch.setdefault(environment_id, []).append((key, change))
        return
    _deliver(environment_id, [(key, change)])


@contextmanager
def event_table_changes_batched() -> Iterator[None]:
    """Collect the changes notified inside; deliver them, each environment's in one call per
    listener, when the block ends without an error (still inside the caller's transaction).

    For bulk writes (an import of 2,000 definitions): one change at a time, each queued a sync
    (a Redis round trip and a row lock), 2,000 times over. Nested blocks join the outer one.
    """
    if getattr(_batches, "changes", None) is not None:
        yield
        return
    # The changes go out once, at the end: the saves must commit (or not) with them.
    if not connection.in_atomic_block:
        raise RuntimeError("event_table_changes_batched() must run inside a transaction")
    _batches.changes = batch = {}
    try:
        yield
    finally:
        _batches.changes = None
    for environment_id, changes in batch.items():
        _deliver(environment_id, changes)


def _deliver(environment_id: int, changes: list[tuple[str, TableChange]]) -> None:
    for listener in _listeners:
        listener(environment_id=environment_id, changes=changes)
