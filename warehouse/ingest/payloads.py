"""The shapes of the ingestion payloads (docs/api.md), written with the specs of `validation`."""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from warehouse.identity import ANONYMOUS_ID_LIMIT

from .validation import Bool, Int, List, Map, Obj, Path, Problems, Scalar, Str, Timestamp, type_name, validate

# Limits from docs/architecture.md §8, and the ones docs/api.md adds for URL parts and the element fields.
MAX_NAME = 1024
# An event name is indexed (btree entries hold at most ~2.7 kB): 1,024 four-byte characters would not fit.
MAX_NAME_BYTES = 2048
MAX_IDENTITY = 255
MAX_EVENT_ID = 64
# Event ids the server APIs give their events: "srv-<idempotency key>" (/api/track) and
# "seg-<messageId>" (Segment's /v1/*). A browser's event may not take one: /api/collect is public,
# and an event stored under such an id would make the server event sent with that key later a
# duplicate, never stored. That also makes the prefix a proof of where an event came from (the
# API-event catalog gives names logged by a server API their automatic tables first).
SERVER_EVENT_ID_PREFIX = "srv-"
SEGMENT_EVENT_ID_PREFIX = "seg-"
SERVER_EVENT_ID_PREFIXES = (SERVER_EVENT_ID_PREFIX, SEGMENT_EVENT_ID_PREFIX)
MAX_URL_PART = 8192
MAX_TEXT = 1024
MAX_TAG = 64
MAX_HIERARCHY = 512
MAX_ATTRIBUTES = 1000  # per element, and namespaced ones apart
# Server APIs may backdate freely but not post-date: a day covers any sane clock drift.
MAX_SECONDS_AHEAD = 24 * 3600

EVENT_TYPES = ("pageview", "click", "submit", "change", "custom", "identify", "user_properties")
ELEMENT_EVENT_TYPES = frozenset({"click", "submit", "change"})
FORBIDDEN_ATTRS = frozenset({"id", "style", "value", "srcdoc"})

properties = Map(value=Scalar(max_length=MAX_TEXT), max_key_length=MAX_NAME)
identity = Str(max_length=MAX_IDENTITY, min_length=1)
url_part = Str(max_length=MAX_URL_PART)
event_name = Str(max_length=MAX_NAME, min_length=1, max_bytes=MAX_NAME_BYTES)
short_text = Str(max_length=MAX_TEXT)


# HTML's ASCII whitespace: class lists split on these only ("btn\u00a0primary" is one token), and no
# attribute name contains one. Other Unicode spaces are ordinary characters there.
_has_ascii_whitespace = re.compile("[\t\n\f\r ]").search
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _attr_name_problem(name: str) -> str | None:
    # ASCII-lowercased, as heap.js compares them: str.lower() would also fold the Kelvin sign to "k".
    lowered = name.translate(_ASCII_LOWER)
    if lowered in FORBIDDEN_ATTRS or lowered.startswith("on"):
        return f"{name[:64]!r} is never captured (see docs/api.md, Element hierarchy)"
    if _has_ascii_whitespace(name):
        return "must not contain whitespace (space, tab, CR, LF, FF)"
    return None


def _namespaced_name_problem(name: str) -> str | None:
    # xlink:href: the rules apply to the local name, after the prefix.
    return _attr_name_problem(name.partition(":")[2] or name)


class _ClassList(List):
    """Class tokens as `classList` has them: non-empty, no ASCII whitespace, no duplicates."""

    def __call__(self, value, path, problems):
        cleaned = super().__call__(value, path, problems)
        for index, token in enumerate(cleaned or ()):
            if not token or _has_ascii_whitespace(token):
                problems.add(
                    (path, index), "class tokens are non-empty and contain no whitespace (space, tab, CR, LF, FF)"
                )
        return cleaned


class _NamespacedName(Str):
    def check(self, value, path, problems):
        value = super().check(value, path, problems)
        if isinstance(value, str) and (problem := _namespaced_name_problem(value)):
            problems.add(path, problem)
        return value

    def __call__(self, value, path, problems):
        return self.check(value, path, problems)


classes = _ClassList(item=Str(max_length=MAX_TEXT), max_items=MAX_TEXT, unique=True)

namespaced_attribute = Obj(
    fields={
        "ns": Str(max_length=MAX_TEXT, min_length=1),
        "name": _NamespacedName(max_length=MAX_TEXT, min_length=1),
        "value": short_text,
    },
    required=frozenset({"ns", "name", "value"}),
)

element = Obj(
    fields={
        "tag": Str(max_length=MAX_TAG, min_length=1),
        "ns": Str(max_length=MAX_TEXT, min_length=1),
        "id": short_text,
        "classes": classes,
        "attrs": Map(
            value=Str(max_length=MAX_TEXT),
            max_key_length=MAX_TEXT,
            max_items=MAX_ATTRIBUTES,
            key_check=_attr_name_problem,
        ),
        "ns_attrs": List(item=namespaced_attribute, max_items=MAX_ATTRIBUTES),
        "truncated": Bool(),
    },
    required=frozenset({"tag"}),
)

target = Obj(
    fields={
        "tag": Str(max_length=MAX_TAG, min_length=1),
        "id": short_text,
        "classes": classes,
        "text": short_text,
        "href": url_part,
    },
    required=frozenset({"tag"}),
    defaults={"id": "", "classes": list, "text": "", "href": ""},
)


# Fields only some event types carry: each type requires the ones listed, and refuses the others.
TYPE_SPECIFIC_FIELDS = ("name", "identity", "target", "hierarchy")
FIELDS_BY_TYPE = {
    "pageview": (),
    "click": ("target", "hierarchy"),
    "submit": ("target", "hierarchy"),
    "change": ("target", "hierarchy"),
    "custom": ("name",),
    "identify": ("identity",),
    "user_properties": (),
}
_TYPES_BY_FIELD = {
    key: ", ".join(kind for kind, keys in FIELDS_BY_TYPE.items() if key in keys) for key in TYPE_SPECIFIC_FIELDS
}


def _type_specific_fields(event: dict, path: Path, problems: Problems) -> None:
    kind = event["type"]
    for key in TYPE_SPECIFIC_FIELDS:
        if key in FIELDS_BY_TYPE[kind]:
            if not event.get(key):
                problems.add((path, key), f"is required for {kind} events")
        elif key in event:
            problems.add((path, key), f"only {_TYPES_BY_FIELD[key]} events carry {key}")


def _target_is_hierarchy_start(event: dict, path: Path, problems: Problems) -> None:
    """docs/api.md "Element hierarchy": the target is hierarchy[0], and the hierarchy ends at <html>."""
    if event["type"] not in ELEMENT_EVENT_TYPES or not event.get("target") or not event.get("hierarchy"):
        return
    hierarchy, target = event["hierarchy"], event["target"]
    first, last = hierarchy[0], hierarchy[-1]
    for key, expected in (("tag", first["tag"]), ("id", first.get("id", "")), ("classes", first.get("classes", []))):
        if target[key] != expected:
            problems.add(((path, "target"), key), f"must equal hierarchy[0].{key} (the target is the first element)")
    if last["tag"] != "html" or "ns" in last:
        problems.add(
            (((path, "hierarchy"), len(hierarchy) - 1), "tag"), "the hierarchy must end with the <html> element"
        )


def _browser_event_id(event: dict, path: Path, problems: Problems) -> None:
    if event["id"].startswith(SERVER_EVENT_ID_PREFIXES):
        prefix = event["id"][:4]
        problems.add((path, "id"), f"must not start with '{prefix}': server events' ids do")


collect_event = Obj(
    fields={
        "id": Str(max_length=MAX_EVENT_ID, min_length=1),
        "type": Str(choices=EVENT_TYPES),
        "time": Timestamp(),
        "domain": Str(max_length=255),
        "path": url_part,
        "query": url_part,
        "hash": url_part,
        "title": short_text,
        "referrer": url_part,
        "name": event_name,
        "identity": identity,
        "target": target,
        "hierarchy": List(item=element, max_items=MAX_HIERARCHY, min_items=1),
        "properties": properties,
    },
    required=frozenset({"id", "type", "time"}),
    defaults={"properties": dict},
    rules=(_browser_event_id, _type_specific_fields, _target_is_hierarchy_start),
)

session = Obj(
    fields={
        "id": Int(minimum=1, maximum=ANONYMOUS_ID_LIMIT - 1),
        "start_time": Timestamp(),
        "referrer": url_part,
        "landing_page": url_part,
        "landing_page_query": url_part,
        "landing_page_hash": url_part,
        "search_keyword": short_text,
        "utm_source": short_text,
        "utm_medium": short_text,
        "utm_campaign": short_text,
        "utm_term": short_text,
        "utm_content": short_text,
    },
    required=frozenset({"id", "start_time"}),
)

anonymous_user_id = Int(minimum=1, maximum=ANONYMOUS_ID_LIMIT - 1)


class _NumericId(Int):
    """An id below 2^53 as a number or, as Heap's server API sends heap.userId, a string of digits."""

    def check(self, value, path, problems):
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
            value = int(value)
        return super().check(value, path, problems)


heap_user_id = _NumericId(minimum=1, maximum=ANONYMOUS_ID_LIMIT - 1)
app_id = Str(max_length=32, min_length=1)
server_timestamp = Timestamp(iso=True, max_ahead=MAX_SECONDS_AHEAD)
# Stored as the event id "srv-<key>", so 60 characters leave room for the prefix.
idempotency_key = Str(max_length=MAX_EVENT_ID - 4, min_length=1)


def _unique(list_key: str, item_key: str, what: str):
    """Within one request each item's `item_key` is unique (retries are separate requests)."""

    def rule(payload: dict, path: Path, problems: Problems) -> None:
        seen: dict = {}
        for index, item in enumerate(payload.get(list_key) or []):
            value = item.get(item_key)
            if value is None:
                continue
            if value in seen:
                problems.add(((list_key, index), item_key), f"repeats the {what} of {list_key}[{seen[value]}]")
            else:
                seen[value] = index

    return rule


_collect_header_fields = {
    "app_id": app_id,
    "library": Str(max_length=32),
    "sent_at": Timestamp(),
    "user_id": anonymous_user_id,
    "identity": Str(max_length=MAX_IDENTITY, min_length=1, nullable=True),
    "session": session,
}
_collect_header_required = frozenset({"app_id", "sent_at", "user_id", "session"})
_collect_defaults = {"library": "web", "identity": None}
# The batch without its events: what must be right for any event of it to be stored.
collect_header = Obj(fields=_collect_header_fields, required=_collect_header_required, defaults=_collect_defaults)


@lru_cache
def collect_payload(max_batch: int) -> Obj:
    return Obj(
        fields={**_collect_header_fields, "events": List(item=collect_event, max_items=max_batch, min_items=1)},
        required=_collect_header_required | {"events"},
        defaults=_collect_defaults,
        rules=(_unique("events", "id", "id"),),
    )


def _one_user(payload: dict, path: Path, problems: Problems) -> None:
    """A server event belongs to a user known by identity or by heap.js's anonymous user id (not both)."""
    if "identity" in payload and "user_id" in payload:
        problems.add((path, "user_id"), "send identity or user_id, not both")
    elif "identity" not in payload and "user_id" not in payload:
        problems.add((path, "identity"), "is required (or user_id, the anonymous heap.userId)")


@dataclass
class CollectBatch:
    """A validated /api/collect batch: `payload` keeps the events that can be stored; `rejected`
    lists the positions of the others and `details` their problems (up to MAX_ERRORS). `problems`
    are the batch's own (header, events list), which leave nothing to store."""

    payload: dict[str, Any] | None
    problems: list[dict[str, str]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    details: list[dict[str, str]] = field(default_factory=list)


def collect_batch(body: dict, max_batch: int) -> CollectBatch:
    """Validate a heap.js batch, setting aside the events that cannot be stored.

    One odd event must not cost the others: a page hands its last batch to sendBeacon, which never
    sees the answer, so a batch refused whole would be lost whole (docs/api.md, "One bad event").
    A valid batch is checked in one pass; only a batch with problems is checked event by event.
    """
    cleaned, problems = validate(collect_payload(max_batch), body)
    if not problems:
        return CollectBatch(cleaned)
    header, header_problems = validate(collect_header, {k: v for k, v in body.items() if k != "events"})
    events = body.get("events")
    if "events" not in body:
        header_problems.append({"field": "events", "message": "is required"})
    elif not isinstance(events, list):
        header_problems.append({"field": "events", "message": f"must be an array, not {type_name(events)}"})
    elif len(events) > max_batch:
        header_problems.append({"field": "events", "message": f"has {len(events)} items; the limit is {max_batch}"})
    elif not events:
        header_problems.append({"field": "events", "message": "needs at least 1 item"})
    if header_problems:
        return CollectBatch(None, header_problems)
    kept, rejected, details = [], [], Problems()
    first_with_id: dict[Any, int] = {}
    for index, event in enumerate(events):
        path = ("events", index)
        event_problems = Problems()
        cleaned_event = collect_event(event, path, event_problems)
        if not event_problems:
            earlier = first_with_id.setdefault(cleaned_event["id"], index)
            if earlier != index:
                event_problems.add((path, "id"), f"repeats the id of events[{earlier}]")
        if event_problems:
            rejected.append(index)
            for problem in event_problems.items:
                details.add(problem["field"], problem["message"])
        else:
            kept.append(cleaned_event)
    if not kept:
        return CollectBatch(None, details.items, rejected, details.items)
    return CollectBatch({**header, "events": kept}, [], rejected, details.items)


track_fields = {
    "identity": identity,
    "user_id": heap_user_id,
    "event": event_name,
    "properties": properties,
    "timestamp": server_timestamp,
    "idempotency_key": idempotency_key,
    "session_id": heap_user_id,
}
track_event = Obj(
    fields=track_fields,
    required=frozenset({"event"}),
    defaults={"properties": dict, "timestamp": None, "idempotency_key": None},
    rules=(_one_user,),
)
user_properties = Obj(
    fields={"identity": identity, "properties": properties},
    required=frozenset({"identity", "properties"}),
)


def _single_track_event(payload: dict, path: Path, problems: Problems) -> None:
    if "events" not in payload:
        _one_user(payload, path, problems)


@lru_cache
def track_payload(max_batch: int) -> Obj:
    return Obj(
        fields={"app_id": app_id, **track_fields, "events": List(item=track_event, max_items=max_batch, min_items=1)},
        required=frozenset({"app_id"}),
        rules=(
            _single_or_bulk("events", track_fields, track_event.required),
            _single_track_event,
            _unique("events", "idempotency_key", "idempotency key"),
        ),
    )


@lru_cache
def user_properties_payload(max_batch: int) -> Obj:
    return Obj(
        fields={
            "app_id": app_id,
            "identity": identity,
            "properties": properties,
            "users": List(item=user_properties, max_items=max_batch, min_items=1),
        },
        required=frozenset({"app_id"}),
        rules=(_single_or_bulk("users", user_properties.fields, user_properties.required),),
    )


identify_payload = Obj(
    fields={"app_id": app_id, "identity": identity, "user_id": heap_user_id, "timestamp": server_timestamp},
    required=frozenset({"app_id", "identity", "user_id"}),
    defaults={"timestamp": None},
)


def _single_or_bulk(list_key: str, single_fields: dict, single_required: frozenset[str]):
    """One item at the top level, or a list of them under `list_key` — never both."""

    def rule(payload: dict, path: Path, problems: Problems) -> None:
        if list_key in payload:
            for key in sorted(set(payload) & set(single_fields)):
                problems.add(key, f"send either one item at the top level or a list in {list_key!r}, not both")
        else:
            for key in sorted(single_required - set(payload)):
                problems.add(key, f"is required (or send a list in {list_key!r})")

    return rule
