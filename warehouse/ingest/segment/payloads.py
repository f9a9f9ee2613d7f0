"""The shapes of Segment's messages, as far as heapsite reads them, written with `validation`'s specs.

Segment's format is open-ended (every SDK adds its own context fields), so unknown fields are left out
rather than refused; what heapsite stores is checked as strictly as its own API's payloads, with the
same limits. Nested objects in properties and traits are flattened to dotted keys and arrays are kept
as JSON text, because heapsite's properties are flat (docs/api.md, "Segment's HTTP Tracking API").
"""

import ipaddress
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import urlsplit

from ..payloads import MAX_IDENTITY, MAX_NAME, MAX_TEXT, MAX_URL_PART, event_name, short_text, url_part
from ..validation import List, Map, Obj, Path, Problems, Scalar, Spec, Str, Timestamp, text_problem, type_name

MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# Page properties Segment reserves for the page's URL: they become the event's URL columns.
PAGE_URL_PROPERTIES = frozenset({"url", "path", "search", "referrer"})
MAX_NESTING = 8
MAX_MESSAGE_ID = 255
MAX_USER_AGENT = 4096


class IdText(Spec):
    """An id Segment's SDKs send as a string or a number (userId, anonymousId, groupId, previousId):
    cleaned to a string of 1..255 characters; null, absent and "" mean no id."""

    def __call__(self, value, path: Path, problems: Problems):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            problems.add(path, f"must be a string or a number, not {type_name(value)}")
            return None
        if isinstance(value, float):
            value = int(value) if value.is_integer() else repr(value)
        text = str(value)
        if len(text) > MAX_IDENTITY:
            problems.add(path, f"is {len(text)} characters long; the limit is {MAX_IDENTITY}")
        elif problem := text_problem(text):
            problems.add(path, problem)
        return text


class Url(Str):
    """A URL whose host name and parts fit the raw store's URL columns."""

    def __init__(self) -> None:
        super().__init__(max_length=MAX_URL_PART, nullable=True)

    __call__ = Spec.__call__  # always check (Str's fast path would skip the host name)

    def check(self, value, path: Path, problems: Problems):
        before = problems.count
        value = super().check(value, path, problems)
        if problems.count == before:
            try:
                host = urlsplit(value).hostname or ""
            except ValueError as error:
                problems.add(path, f"is not a URL ({error})")
                return value
            if len(host) > 255:
                problems.add(path, "has a host name longer than 255 characters")
        return value


class IpAddress(Str):
    def __init__(self) -> None:
        super().__init__(max_length=64, nullable=True)

    __call__ = Spec.__call__

    def check(self, value, path: Path, problems: Problems):
        before = problems.count
        value = super().check(value, path, problems)
        if problems.count == before:
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                problems.add(path, "is not an IP address")
                return value
            if getattr(address, "scope_id", None):  # fe80::1%eth0: a zone PostgreSQL's inet cannot hold
                problems.add(path, "is an IPv6 address with a zone (%…), which is not a client's address")
                return value
            return str(address)
        return value


@dataclass
class Flattened(Spec):
    """A free-form object (properties, traits) made flat: {"address": {"city": "Oslo"}} becomes
    {"address.city": "Oslo"}; arrays and empty objects become JSON text. The result must then pass
    heapsite's property rules (keys and values up to 1024 characters, at most 1000 keys);
    `long_keys` may hold text up to 8192 characters (page URLs, which go to URL columns)."""

    long_keys: frozenset[str] = frozenset()
    flat: Map = field(default_factory=lambda: Map(value=Scalar(max_length=MAX_TEXT), max_key_length=MAX_NAME))
    long: Scalar = field(default_factory=lambda: Scalar(max_length=MAX_URL_PART))

    def __call__(self, value, path: Path, problems: Problems):
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.add(path, f"must be an object, not {type_name(value)}")
            return {}
        flat: dict = {}
        self._flatten(value, "", 1, flat, path, problems)
        long_values = {key: flat.pop(key) for key in self.long_keys & flat.keys()}
        cleaned = self.flat(flat, path, problems)
        for key, item in long_values.items():
            cleaned[key] = self.long(item, (path, key), problems)
        return cleaned

    def _flatten(self, value: dict, prefix: str, depth: int, flat: dict, path: Path, problems: Problems) -> None:
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(item, dict) and item:
                if depth >= MAX_NESTING:
                    problems.add((path, name), f"nests objects more than {MAX_NESTING} levels deep")
                else:
                    self._flatten(item, name, depth + 1, flat, path, problems)
                continue
            if isinstance(item, dict | list):
                try:
                    item = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
                except (RecursionError, ValueError):
                    problems.add((path, name), "is nested too deeply to store as JSON text")
                    continue
                if len(item) > MAX_TEXT:
                    message = f"is {len(item)} characters as JSON text; the limit is {MAX_TEXT}"
                    problems.add((path, name), message)
                    continue
            if name in flat:
                problems.add((path, name), "names the same key as another field once nested objects are flattened")
            flat[name] = item


def _page_urls_only_on_pages(message: dict, path: Path, problems: Problems) -> None:
    if message["type"] in ("page", "screen"):
        # A page's url property becomes its URL columns, as context.page.url does: a URL it must be.
        value = message["properties"].get("url")
        if isinstance(value, str):
            try:
                urlsplit(value)
            except ValueError as error:
                problems.add(((path, "properties"), "url"), f"is not a URL ({error})")
        return
    for key in sorted(PAGE_URL_PROPERTIES & message["properties"].keys()):
        value = message["properties"][key]
        if isinstance(value, str) and len(value) > MAX_TEXT:
            problems.add(((path, "properties"), key), f"is {len(value)} characters long; the limit is {MAX_TEXT}")


_REQUIRED_BY_TYPE = {"track": ("event",), "group": ("groupId",), "alias": ("previousId", "userId")}


def _who_and_what(message: dict, path: Path, problems: Problems) -> None:
    kind = message["type"]
    for key in _REQUIRED_BY_TYPE.get(kind, ()):
        if not message.get(key):
            problems.add((path, key), f"is required for {kind} calls")
    if kind != "alias" and not message.get("userId") and not message.get("anonymousId"):
        problems.add((path, "userId"), "userId or anonymousId is required")


page = Obj(
    fields={"path": url_part, "referrer": url_part, "search": url_part, "title": short_text, "url": Url()},
    ignore_unknown=True,
    nullable=True,
)
campaign = Obj(
    fields=dict.fromkeys(("name", "source", "medium", "term", "content"), short_text),
    ignore_unknown=True,
    nullable=True,
)
context = Obj(
    fields={
        "ip": IpAddress(),
        "userAgent": Str(max_length=MAX_USER_AGENT, nullable=True),
        "page": page,
        "campaign": campaign,
        "referrer": Obj(fields={"url": Url(), "link": Url()}, ignore_unknown=True, nullable=True),
        "library": Obj(fields={"name": Str(max_length=MAX_TEXT, nullable=True)}, ignore_unknown=True, nullable=True),
        "traits": Flattened(),
    },
    ignore_unknown=True,
    nullable=True,
)
client_time = Timestamp(iso=True, nullable=True)
id_text = IdText()


def message_spec(kind: str | None) -> Obj:
    """One message; `kind` is the type a single-call endpoint implies (a batch item names its own)."""
    return Obj(
        fields={
            "type": Str(choices=(kind,) if kind else MESSAGE_TYPES),
            "messageId": Str(max_length=MAX_MESSAGE_ID, min_length=1, nullable=True),
            "userId": id_text,
            "anonymousId": id_text,
            "previousId": id_text,
            "groupId": id_text,
            "event": replace(event_name, nullable=True),
            "name": Str(max_length=MAX_TEXT, nullable=True),
            "category": Str(max_length=MAX_TEXT, nullable=True),
            "properties": Flattened(long_keys=PAGE_URL_PROPERTIES),
            "traits": Flattened(),
            "context": context,
            "timestamp": client_time,
            "originalTimestamp": client_time,
            "sentAt": client_time,
        },
        required=frozenset() if kind else frozenset({"type"}),
        defaults={"type": kind, "properties": dict, "traits": dict, "context": None},
        rules=(_who_and_what, _page_urls_only_on_pages),
        ignore_unknown=True,
    )


@lru_cache
def single_payload(kind: str) -> Obj:
    return message_spec(kind)


@lru_cache
def batch_payload(max_batch: int) -> Obj:
    return Obj(
        fields={
            "batch": List(item=message_spec(None), max_items=max_batch, min_items=1),
            "sentAt": client_time,
            "context": context,
        },
        required=frozenset({"batch"}),
        defaults={"sentAt": None, "context": None},
        ignore_unknown=True,
    )
