"""seed_demo's service: plan the demo product's traffic and bulk-load it into an environment's raw store."""

import queue
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from heapsite.progress import progress
from warehouse.citus import citus_mixed_transaction
from warehouse.models import Environment, IdentityMerge, Project, RawEvent, RawSession, RawUser

from .copy import analyze_people_tables, analyze_raw_events, copy_lines, insert_demo_events
from .generate import DemoGenerator
from .templates import MERGE_COLUMNS, SESSION_COLUMNS, USER_COLUMNS

# Events planned at once: the plan (sessions with their events as arrays, the COPY lines of users and
# sessions) is the seed's memory, ~250 MB for a million events; larger seeds are that many slices.
SLICE_EVENTS = 1_000_000


class DemoDataExists(Exception):
    pass


@dataclass(frozen=True)
class SeedResult:
    environment: Environment
    created_environment: bool
    api_key: str | None  # only when the environment was created here
    events: int
    sessions: int
    users: int
    merges: int
    seconds: float
    planning_seconds: float  # Python deciding who does what, before anything is written


def environment_for_schema(schema: str) -> tuple[Environment, bool, str | None]:
    """The environment with that warehouse schema, created (as <project>_<name>, split at the first _) if missing."""
    environment = Environment.objects.select_related("project").filter(warehouse_schema=schema).first()
    if environment is not None:
        return environment, False, None
    project_name, _, name = schema.partition("_")
    if not name:
        raise ValidationError(
            f"cannot create environment {schema!r}: use <project>_<environment>, e.g. main_production"
        )
    project, _ = Project.objects.get_or_create(name=project_name)
    project.full_clean()
    environment = Environment(project=project, name=name, warehouse_schema=schema)
    api_key = secrets.token_urlsafe(32)
    environment.set_api_key(api_key)
    environment.full_clean()
    environment.save()
    return environment, True, api_key


def demo_seed(
    *,
    schema: str = "main_production",
    events: int = 50_000,
    seed: int = 1,
    end: datetime | None = None,
    replace: bool = False,
    stream: TextIO | None = None,
    slice_events: int = SLICE_EVENTS,
) -> SeedResult:
    """Load `events` raw events (plus their users, sessions and identity merges) into one environment.

    Deterministic for the same seed and end time. Refuses an environment that already has raw
    events unless `replace` (which deletes that environment's raw data first). All or nothing.
    More than `slice_events` events are planned and loaded a slice of users at a time, so memory stays
    that of one slice whatever the total (raw ids then follow time within each slice, not across them).
    """
    if events < 1:
        raise ValidationError("events must be at least 1")
    stream = stream if stream is not None else sys.stderr
    started = time.monotonic()
    end = end or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            citus_mixed_transaction(cursor)
        environment, created, api_key = environment_for_schema(schema)
        raw_models = (RawEvent, RawSession, RawUser, IdentityMerge)
        if any(model.objects.filter(environment=environment).exists() for model in raw_models):
            if not replace:
                raise DemoDataExists(f"environment {schema!r} already has raw data; use --replace to delete it first")
            for model in raw_models:
                model.objects.filter(environment=environment).delete()
        slices = -(-events // slice_events)
        identities: set[str] = set()
        planning_seconds = 0.0
        loaded = {"events": 0, "sessions": 0, "users": 0, "merges": 0}
        with connection.cursor() as wrapper, progress(events, "demo events", stream=stream) as bar:
            cursor = wrapper.cursor  # the psycopg2 cursor: copy_expert is not part of the DB-API wrapper
            for index in range(slices):
                generator = DemoGenerator(
                    environment_id=environment.id,
                    events=events // slices + (index < events % slices),
                    seed=seed,
                    end_ms=int(end.timestamp() * 1000),
                    slice_index=index,
                    slices=slices,
                    all_events=events,
                    used_identities=identities,
                )
                planning_started = time.monotonic()
                plan = generator.build_plan()
                planning_seconds += time.monotonic() - planning_started
                insert_demo_events(
                    cursor,
                    environment_id=environment.id,
                    event_id_prefix=f"demo{seed}-",
                    first_number=loaded["events"],
                    templates=generator.book.templates,
                    parts=generator.book.parts,
                    row_chunks=_prefetched(generator.row_chunks()),
                    on_rows=bar.advance,
                )
                copy_lines(cursor, table="raw_sessions", columns=SESSION_COLUMNS, lines=plan.session_lines)
                copy_lines(cursor, table="raw_users", columns=USER_COLUMNS, lines=plan.user_lines)
                copy_lines(cursor, table="raw_identity_merges", columns=MERGE_COLUMNS, lines=plan.merge_lines)
                loaded["events"] += plan.events
                loaded["sessions"] += len(plan.session_lines)
                loaded["users"] += len(plan.user_lines)
                loaded["merges"] += len(plan.merge_lines)
                del generator, plan  # the next slice's plan takes their place, not a place next to them
            analyze_people_tables(cursor)
            if slices > 1:
                # Large seeds: the raw browser's and the preview's plans (and their estimates) need the
                # partition's statistics now, not when autovacuum gets to it.
                analyze_raw_events(cursor, environment_id=environment.id)
    return SeedResult(
        environment=environment,
        created_environment=created,
        api_key=api_key,
        **loaded,
        seconds=time.monotonic() - started,
        planning_seconds=planning_seconds,
    )


def _prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate `items` in a background thread: Python renders the next chunk while PostgreSQL loads this one."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as error:  # handed to the consumer, which re-raises it
            buffer.put(error)

    thread = threading.Thread(target=produce, name="demo-rows", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
