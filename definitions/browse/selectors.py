"""Reads for the raw data browser: event pages, live rows, event detail, top interactions, users."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from psycopg2 import sql

from definitions.sampling import EXACT, RawSample, raw_sample_for
from definitions.selectors import suggested_selector
from warehouse.display import format_time
from warehouse.models import Environment, IdentityMerge, RawEvent, RawSession, RawUser
from warehouse.params import whole_number
from warehouse.registry import EventTableSpec, event_tables_for

from . import sql as browse_sql
from .filters import Cursor, EventFilters
from .labels import event_label, hierarchy_lines, short_selector, shorten

PAGE_SIZE = 50
# Rows a page may look at when only non-indexed filters apply: bounds the time of a page with a rare
# filter; the page then offers to continue the search from where it stopped.
SCAN_BUDGET = 30_000
LIVE_LIMIT = 100


@dataclass
class EventRow:
    id: int
    time: datetime
    type: str
    event_name: str
    domain: str
    path: str
    query: str
    target_tag: str
    target_id: str
    target_classes: list[str]
    target_text: str
    target_href: str
    user_id: int
    session_id: int
    library: str
    identity: str = ""
    definitions: list[str] = field(default_factory=list)
    person: "Person | None" = None

    @property
    def label(self) -> str:
        return event_label(
            type=self.type,
            event_name=self.event_name,
            domain=self.domain,
            path=self.path,
            tag=self.target_tag,
            element_id=self.target_id,
            classes=self.target_classes,
            text=self.target_text,
        )

    # Formatted here, not with a template filter per row (a large part of a page's render time otherwise).
    @property
    def time_text(self) -> str:
        return format_time(self.time)

    @property
    def time_hms(self) -> str:
        return timezone.localtime(self.time).strftime("%H:%M:%S")

    @property
    def time_iso(self) -> str:
        return self.time.astimezone(UTC).isoformat()

    @property
    def cursor(self) -> str:
        return Cursor(self.time, self.id).encode()


@dataclass
class EventsPage:
    rows: list[EventRow]
    next_cursor: str | None  # older rows exist: link to them
    # Newer rows exist (a page reached by Older or Newer): link to the page just above this one.
    newer_cursor: str | None = None
    # Set when the scan budget ran out before a full page matched: where the search stopped.
    searched_to: datetime | None = None
    continue_cursor: str | None = None
    latest_id: int = 0
    any_events: bool = True


@dataclass(frozen=True)
class Person:
    """Who a raw user id is: the user it was merged into (if any), with their identity and email."""

    user_id: int  # the id the warehouse shows the events under (the merge target, or the id itself)
    raw_user_id: int  # the id the event was captured with
    identity: str = ""
    email: str = ""

    @property
    def merged(self) -> bool:
        return self.user_id != self.raw_user_id

    @property
    def name(self) -> str:
        """What a page shows for this person: the identity, else "anonymous"."""
        return self.identity or "anonymous"


def people_of(*, environment: Environment, user_ids: set[int]) -> dict[int, Person]:
    """raw user id -> Person, following identity merges: two queries, whatever the number of ids."""
    if not user_ids:
        return {}
    merged_into = dict(
        IdentityMerge.objects.filter(environment=environment, from_user_id__in=user_ids).values_list(
            "from_user_id", "to_user_id"
        )
    )
    targets = {merged_into.get(user_id, user_id) for user_id in user_ids}
    details = {
        user_id: (identity or "", email if isinstance(email, str) else "")
        for user_id, identity, email in RawUser.objects.filter(environment=environment, user_id__in=targets)
        .annotate(email=KeyTextTransform("email", "properties"))
        .values_list("user_id", "identity", "email")
    }
    people = {}
    for user_id in user_ids:
        target = merged_into.get(user_id, user_id)
        identity, email = details.get(target, ("", ""))
        people[user_id] = Person(user_id=target, raw_user_id=user_id, identity=identity, email=email)
    return people


class FilterError(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _user_ids(environment: Environment, user: str) -> list[int]:
    """A user given by id or identity, plus the anonymous ids merged into it."""
    if (number := whole_number(user)) is not None:
        user_id = number
    else:
        found = RawUser.objects.filter(environment=environment, identity=user).values_list("user_id", flat=True)
        if not found:
            raise FilterError({"user": f"no user with identity {user!r} (give an identity or a numeric user id)"})
        user_id = found[0]
    merged = IdentityMerge.objects.filter(environment=environment, to_user_id=user_id)
    return [user_id, *merged.values_list("from_user_id", flat=True)]


def compile_filters(environment: Environment, filters: EventFilters) -> tuple[browse_sql.Conditions, ...]:
    """(scope, filters): scope is the time range the (environment, time) index answers."""
    scope = browse_sql.Conditions()
    if filters.since:
        scope.add(sql.SQL("e.time >= %(f_since)s"), f_since=filters.since)
    if filters.until:
        scope.add(sql.SQL("e.time < %(f_until)s"), f_until=filters.until)
    where = browse_sql.Conditions()
    if filters.types:
        where.add(sql.SQL("e.type = ANY(%(f_types)s)"), f_types=filters.types)
    if filters.path:
        if "*" in filters.path:
            where.add(sql.SQL("e.path LIKE %(f_path)s"), f_path=like_star_pattern(filters.path))
        else:
            where.add(sql.SQL("e.path = %(f_path)s"), f_path=filters.path)
    if filters.text:
        where.add(sql.SQL("e.target_text ILIKE %(f_text)s"), f_text=browse_sql.like_contains(filters.text))
    if filters.event:
        # Spelled out so the partial index raw_events_env_custom_name (type = 'custom') applies.
        where.add(sql.SQL("e.type = 'custom' AND e.event_name = %(f_event)s"), f_event=filters.event)
        where.selective = True
    if filters.prop:
        if filters.value:
            where.add(sql.SQL("e.properties ->> %(f_prop)s = %(f_value)s"), f_prop=filters.prop, f_value=filters.value)
        else:
            where.add(sql.SQL("e.properties ? %(f_prop)s"), f_prop=filters.prop)
    if filters.session is not None:
        where.add(sql.SQL("e.session_id = %(f_session)s"), f_session=filters.session)
        where.selective = True
    if filters.user:
        where.add(sql.SQL("e.user_id = ANY(%(f_users)s)"), f_users=_user_ids(environment, filters.user))
        where.selective = True
    if filters.selector:
        where.extend(*_selector_condition(filters.selector))
    if filters.uncovered:
        condition, params = browse_sql.not_covered(event_tables_for(environment.id))
        where.extend(condition, params)
    return scope, where


def _selector_condition(selector: str) -> tuple[sql.Composable, dict[str, Any]]:
    try:
        # Imported here: the compiler is optional for everything else on these pages.
        from definitions.compiler import CompileError, compile_selector
    except ImportError:
        raise FilterError({"selector": "CSS selector filters need the definitions compiler"}) from None
    try:
        return compile_selector(selector, prefix="f_sel_")
    except CompileError as error:
        raise FilterError({"selector": str(error)}) from None


def like_star_pattern(pattern: str) -> str:
    """`*` matches any run of characters; LIKE's own wildcards are literal."""
    return pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")


def _rows(raw_rows: list[tuple]) -> list[EventRow]:
    return [EventRow(*row) for row in raw_rows]


def _enrich(
    environment: Environment, rows: list[EventRow], specs: list[EventTableSpec] | None = None, *, matches: bool = True
) -> None:
    """Identities (and emails) and matching defined events for a page of rows: a few queries, whatever the page
    size."""
    if not rows:
        return
    found = people_of(environment=environment, user_ids={row.user_id for row in rows})
    for row in rows:
        person = found.get(row.user_id)
        row.person = person
        row.identity = person.identity if person else ""
    if not matches:
        return
    specs = event_tables_for(environment.id) if specs is None else specs
    matched = browse_sql.matching_tables(environment_id=environment.id, event_ids=[row.id for row in rows], specs=specs)
    for row in rows:
        row.definitions = [specs[i].label or specs[i].table_name for i in matched.get(row.id, [])]


def raw_events_page(
    *,
    environment: Environment,
    filters: EventFilters,
    cursor: Cursor | None = None,
    newer: Cursor | None = None,
    limit: int = PAGE_SIZE,
    matches: bool = True,
) -> EventsPage:
    """A page of rows, newest first: the newest, the ones older than `cursor`, or the ones just newer than
    `newer` (the "Newer" link; when those reach the newest row, the page has no newer link)."""
    scope, where = compile_filters(environment, filters)
    budget = None if where.selective else SCAN_BUDGET
    if newer is not None:
        raw, boundary = browse_sql.events_page(
            environment_id=environment.id,
            scope=scope,
            filters=where,
            before=None,
            after=(newer.time, newer.id),
            limit=limit + 1,
            scan_budget=budget,
        )
        rows = _rows(list(reversed(raw[:limit])))
        more_newer = len(raw) > limit or boundary is not None
        page = EventsPage(
            rows=rows,
            # The rows older than the newest shown include the page this one was reached from.
            next_cursor=rows[-1].cursor if rows else newer.encode(),
            newer_cursor=(rows[0].cursor if rows else Cursor(*boundary).encode()) if more_newer else None,
        )
        _enrich(environment, rows, matches=matches)
        return page
    before = (cursor.time, cursor.id) if cursor else None
    raw, boundary = browse_sql.events_page(
        environment_id=environment.id, scope=scope, filters=where, before=before, limit=limit + 1, scan_budget=budget
    )
    rows = _rows(raw[:limit])
    page = EventsPage(rows=rows, next_cursor=rows[-1].cursor if len(raw) > limit else None)
    if cursor is not None:
        page.newer_cursor = rows[0].cursor if rows else cursor.encode()
    if boundary is not None and len(raw) <= limit:
        page.searched_to = boundary[0]
        page.continue_cursor = Cursor(*boundary).encode()
    if cursor is None:
        page.latest_id = browse_sql.latest_event_id(environment_id=environment.id)
        page.any_events = bool(page.latest_id)
    _enrich(environment, rows, matches=matches)
    return page


EXPORT_MAX_ROWS = 50_000
# The list's columns (its raw id last, as event_row_id), with the person's identity after user_id.
EXPORT_COLUMNS = [
    *(name for name in browse_sql.LIST_COLUMNS[1:] if name != "session_id"),
    "identity",
    "session_id",
    "event_row_id",
]


def raw_events_export(
    *, environment: Environment, filters: EventFilters, max_rows: int = EXPORT_MAX_ROWS
) -> Iterator[list[str]]:
    """The rows of the filtered list as CSV values (EXPORT_COLUMNS), newest first, at most `max_rows`:
    the list's own keyset pages, so memory stays at one page whatever the filter."""
    cursor: Cursor | None = None
    sent = 0
    while sent < max_rows:
        page = raw_events_page(
            environment=environment, filters=filters, cursor=cursor, limit=min(1000, max_rows - sent), matches=False
        )
        for row in page.rows:
            values = {**vars(row), "time": row.time_iso, "target_classes": " ".join(row.target_classes)}
            values["event_row_id"] = row.id
            yield [str(values[name]) for name in EXPORT_COLUMNS]
        sent += len(page.rows)
        following = page.next_cursor or page.continue_cursor
        if not following:
            return
        cursor = Cursor.decode(following)


def raw_events_live(*, environment: Environment, filters: EventFilters, after_id: int) -> tuple[list[EventRow], int]:
    """Rows newer than `after_id` matching the filters (newest first), and the newest id seen."""
    scope, where = compile_filters(environment, filters)
    latest = browse_sql.latest_event_id(environment_id=environment.id)
    if latest <= after_id:
        return [], after_id
    rows = _rows(
        browse_sql.events_after(
            environment_id=environment.id, scope=scope, filters=where, after_id=after_id, limit=LIVE_LIMIT
        )
    )
    _enrich(environment, rows)
    return rows, latest


@dataclass
class EventDetail:
    event: RawEvent
    label: str
    selector: str
    hierarchy: list[dict]
    session: RawSession | None
    user: RawUser | None
    merged_into: int | None
    person: Person
    definitions: list[str]
    session_position: tuple[int, int]  # (n-th event of the session, events in the session)


def raw_event_detail(*, environment: Environment, event_id: int) -> EventDetail | None:
    event = RawEvent.objects.filter(environment=environment, id=event_id).first()
    if event is None:
        return None
    session = RawSession.objects.filter(environment=environment, session_id=event.session_id).first()
    user = RawUser.objects.filter(environment=environment, user_id=event.user_id).first()
    merged_into = (
        IdentityMerge.objects.filter(environment=environment, from_user_id=event.user_id)
        .values_list("to_user_id", flat=True)
        .first()
    )
    specs = event_tables_for(environment.id)
    matches = browse_sql.matching_tables(environment_id=environment.id, event_ids=[event.id], specs=specs)
    in_session = RawEvent.objects.filter(environment=environment, session_id=event.session_id)
    position = in_session.filter(Q(time__lt=event.time) | Q(time=event.time, id__lte=event.id)).count()
    return EventDetail(
        event=event,
        label=event_label(
            type=event.type,
            event_name=event.event_name,
            domain=event.domain,
            path=event.path,
            tag=event.target_tag,
            element_id=event.target_id,
            classes=event.target_classes,
            text=event.target_text,
        ),
        selector=short_selector(event.target_tag, event.target_id, event.target_classes) if event.target_tag else "",
        hierarchy=hierarchy_lines(event.hierarchy or []),
        session=session,
        user=user,
        merged_into=merged_into,
        person=people_of(environment=environment, user_ids={event.user_id})[event.user_id],
        definitions=[specs[i].label or specs[i].table_name for i in matches.get(event.id, [])],
        session_position=(position, in_session.count()),
    )


@dataclass
class TopGroup:
    label: str
    count: int
    sample_id: int
    filter_query: dict[str, str] = field(default_factory=dict)
    sample_text: str = ""  # an element's text, as one example (it may vary between its events)


TOP_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


TOP_SECTIONS = (
    ("Clicks", "click", browse_sql.ELEMENT_GROUPS),
    ("Pages", "pageview", browse_sql.PAGE_GROUPS),
    ("Form submits", "submit", browse_sql.ELEMENT_GROUPS),
    ("Field changes", "change", browse_sql.ELEMENT_GROUPS),
    ("Custom events", "custom", browse_sql.NAME_GROUPS),
)


@dataclass
class TopInteractions:
    sections: dict[str, list[TopGroup]]
    sample: RawSample = EXACT  # estimated: the counts are scaled from this sample (the page marks them ≈)


def top_interactions(
    *, environment: Environment, since: datetime, limit: int = 20, exact: bool = False, sample: RawSample | None = None
) -> TopInteractions:
    """The most frequent click targets, pages, submits, changes and custom events since `since`: exact for a
    small range or when asked, else estimated from a sample (definitions/sampling.py); `sample` forces one."""
    if sample is None:
        sample = raw_sample_for(environment_id=environment.id, since=since, exact=exact)
    wanted = {(kind, grouping): title for title, kind, grouping in TOP_SECTIONS}
    found: dict[str, list[tuple]] = {title: [] for title, _, _ in TOP_SECTIONS}
    for row in browse_sql.interaction_counts(environment_id=environment.id, since=since, sample=sample):
        title = wanted.get((row[1], row[0]))
        if title:
            found[title].append((*row[:9], sample.scaled(row[9]), *row[10:]))
    sections: dict[str, list[TopGroup]] = {}
    for title, rows in found.items():
        rows.sort(key=lambda row: (-row[9], -row[10]))
        items = []
        for _, kind, tag, element_id, classes, text, domain, path, event_name, count, newest_id, hierarchy in rows[
            :limit
        ]:
            sample_text = ""
            if kind == "pageview":
                label, query = f"{domain}{path}", {"path": path}
            elif kind == "custom":
                label, query = event_name, {"event": event_name}
            else:
                # A raw cursor hands jsonb over as text.
                selector = suggested_selector(json.loads(hierarchy) if isinstance(hierarchy, str) else hierarchy or [])
                label = (
                    short_selector(tag, element_id, classes or [])
                    if kind != "click"
                    else event_label(
                        type=kind,
                        event_name="",
                        domain="",
                        path="",
                        tag=tag,
                        element_id=element_id,
                        classes=classes or [],
                        text=text,
                    )
                )
                sample_text = shorten(text) if kind != "click" else ""
                query = {"selector": selector} if selector else {}
            items.append(
                TopGroup(
                    label=label,
                    count=count,
                    sample_id=newest_id,
                    filter_query={**query, "type": kind},
                    sample_text=sample_text,
                )
            )
        sections[title] = items
    return TopInteractions(sections=sections, sample=sample)


@dataclass
class UsersPage:
    users: list[RawUser]  # people: ids merged into another user are listed under it (.merged_ids), not apart
    next_cursor: str | None


def users_search(*, environment: Environment, query: str, cursor: Cursor | None = None, limit: int = PAGE_SIZE):
    """People by id, identity (contains) or `property=value`, most recently changed first. An anonymous id merged
    into an identified user is that user (as in the warehouse): it is listed under them, and a search by it
    finds them."""
    merges = IdentityMerge.objects.filter(environment=environment)
    users = RawUser.objects.filter(environment=environment).exclude(
        Exists(merges.filter(from_user_id=OuterRef("user_id")))
    )
    query = query.strip()
    if query:
        key, equals, value = query.partition("=")
        if equals and key.strip():
            # ->> compares the text form, so plan=pro, seats=5 and trial=true all work as typed.
            value_text = KeyTextTransform(key.strip(), "properties")
            users = users.annotate(property_text=value_text).filter(property_text=value.strip())
        elif (number := whole_number(query)) is not None:
            users = users.filter(
                Q(user_id=number) | Exists(merges.filter(to_user_id=OuterRef("user_id"), from_user_id=number))
            )
        else:
            users = users.filter(identity__icontains=query)
    if cursor is not None:
        users = users.filter(Q(last_modified__lt=cursor.time) | Q(last_modified=cursor.time, id__lt=cursor.id))
    found = list(users.order_by("-last_modified", "-id")[: limit + 1])
    next_cursor = Cursor(found[limit - 1].last_modified, found[limit - 1].id).encode() if len(found) > limit else None
    shown = found[:limit]
    merged: dict[int, list[int]] = {}
    for source, target in merges.filter(to_user_id__in=[u.user_id for u in shown]).values_list(
        "from_user_id", "to_user_id"
    ):
        merged.setdefault(target, []).append(source)
    for user in shown:
        user.merged_ids = sorted(merged.get(user.user_id, []))
    return UsersPage(users=shown, next_cursor=next_cursor)


@dataclass
class SessionBlock:
    session: RawSession
    events: list[EventRow]
    more: int  # events of the session not shown


@dataclass
class UserTimeline:
    user: RawUser | None
    person: Person
    user_id: int
    merged_from: list[IdentityMerge]
    merged_into: int | None
    event_count: int
    sessions: list[SessionBlock]
    next_cursor: str | None


SESSIONS_PER_PAGE = 20
EVENTS_PER_SESSION = 200


def user_timeline(*, environment: Environment, user_id: int, cursor: Cursor | None = None) -> UserTimeline | None:
    """A user (and the anonymous ids merged into it): sessions newest first, each with its events in order."""
    user = RawUser.objects.filter(environment=environment, user_id=user_id).first()
    merged_from = list(IdentityMerge.objects.filter(environment=environment, to_user_id=user_id).order_by("time"))
    person = people_of(environment=environment, user_ids={user_id})[user_id]
    merged_into = person.user_id if person.merged else None
    ids = [user_id, *(m.from_user_id for m in merged_from)]
    page = _newest_sessions(environment, ids, cursor, SESSIONS_PER_PAGE + 1)
    if user is None and not page and (cursor is None or not _newest_sessions(environment, ids, None, 1)):
        return None
    next_cursor = None
    if len(page) > SESSIONS_PER_PAGE:
        last = page[SESSIONS_PER_PAGE - 1]
        next_cursor = Cursor(last.time, last.id).encode()
        page = page[:SESSIONS_PER_PAGE]
    event_count = RawEvent.objects.filter(environment=environment, user_id__in=ids).count()
    blocks = _session_events(environment, page)
    return UserTimeline(
        user=user,
        person=person,
        user_id=user_id,
        merged_from=merged_from,
        merged_into=merged_into,
        event_count=event_count,
        sessions=blocks,
        next_cursor=next_cursor,
    )


def _newest_sessions(environment: Environment, ids: list[int], cursor: Cursor | None, limit: int) -> list[RawSession]:
    """The `limit` newest sessions of these user ids (older than `cursor`): the newest of each id from the
    (environment, user, time) index, merged. One `user_id IN (...)` query let the planner walk all sessions
    by time, filtering by user (0.46 s at 5M events for a user whose last session is weeks old)."""
    per_user = []
    for user_id in ids:
        sessions = RawSession.objects.filter(environment=environment, user_id=user_id)
        if cursor is not None:
            sessions = sessions.filter(Q(time__lt=cursor.time) | Q(time=cursor.time, id__lt=cursor.id))
        per_user.append(sessions.order_by("-time", "-id")[:limit])
    if len(per_user) == 1:
        return list(per_user[0])
    return list(per_user[0].union(*per_user[1:], all=True).order_by("-time", "-id")[:limit])


def _session_events(environment: Environment, sessions: list[RawSession]) -> list[SessionBlock]:
    """Events of a page of sessions in one query (each session capped), annotated in two more."""
    if not sessions:
        return []
    columns = browse_sql.LIST_COLUMNS
    ranked = (
        RawEvent.objects.filter(environment=environment, session_id__in=[s.session_id for s in sessions])
        .order_by("session_id", "time", "id")
        .values_list(*columns)
    )
    by_session: dict[int, list[EventRow]] = {s.session_id: [] for s in sessions}
    totals: dict[int, int] = dict.fromkeys(by_session, 0)
    for values in ranked:
        row = EventRow(*values)
        totals[row.session_id] += 1
        if len(by_session[row.session_id]) < EVENTS_PER_SESSION:
            by_session[row.session_id].append(row)
    shown = [row for rows in by_session.values() for row in rows]
    _enrich(environment, shown)
    return [
        SessionBlock(
            session=s, events=by_session[s.session_id], more=totals[s.session_id] - len(by_session[s.session_id])
        )
        for s in sessions
    ]


def environment_has_events(environment: Environment) -> bool:
    return RawEvent.objects.filter(environment=environment).exists()


def default_top_since(range_key: str) -> datetime:
    return timezone.now() - TOP_RANGES.get(range_key, TOP_RANGES["7d"])
