"""Segment messages onto heapsite's raw store: which users, merges and events each call writes.

The mapping (docs/api.md has it as a table):

- `userId` is the identity; `anonymousId` an anonymous user (`user_id_for_anonymous_id`). A message
  carrying both merges the anonymous user into the identified one, as heap.js's identify does; the
  message then belongs to the identified user.
- track → a custom event; page → a pageview; screen → a pageview titled with the screen's name;
  group → a custom event "Group" (groupId and the group's traits as properties) and the user property
  `group_id`; identify → user properties from traits; alias → a merge of previousId into userId.
- `messageId` is the idempotency key (event id `seg-<messageId>`), so a retried batch writes once.
- Times: the message's `originalTimestamp` (else `timestamp`) corrected for the sender's clock as
  Segment does, `receivedAt - (sentAt - originalTimestamp)`, and never later than `receivedAt`.
- context.page/referrer/campaign/userAgent/ip/library become the event's URL columns and the data of a
  session the event opens (30 minutes of inactivity, as for heapsite's server events).
"""

import hashlib
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from warehouse.identity import user_id_for_anonymous_id, user_id_for_identity

from ..enrich import geoip_lookup, parse_user_agent
from ..payloads import MAX_EVENT_ID, SEGMENT_EVENT_ID_PREFIX
from ..validation import within_window
from .payloads import PAGE_URL_PROPERTIES

EVENT_ID_PREFIX = SEGMENT_EVENT_ID_PREFIX
DEFAULT_LIBRARY = "segment"
GROUP_EVENT = "Group"
MAX_LIBRARY = 32


@dataclass
class Writes:
    """What a request writes, in the shape `services.server_batch_ingest` takes."""

    events: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    merges: list[dict] = field(default_factory=list)


def event_id_for(message_id: str | None) -> str:
    """`seg-<messageId>`; a messageId too long for the 64-character event id is replaced by its hash."""
    if not message_id:
        return EVENT_ID_PREFIX + uuid.uuid4().hex
    if len(EVENT_ID_PREFIX + message_id) <= MAX_EVENT_ID:
        return EVENT_ID_PREFIX + message_id
    return EVENT_ID_PREFIX + "~" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[: MAX_EVENT_ID - 5]


def corrected_time(*, original: float | None, sent_at: float | None, received: float) -> float:
    """Segment's clock-skew correction: receivedAt - (sentAt - originalTimestamp), at most receivedAt
    and not before 2000-01-01."""
    if original is None:
        return received
    if sent_at is not None:
        original += received - sent_at
    return within_window(original, received=received)


def _merged_context(batch_context: dict | None, message_context: dict | None) -> dict:
    # A batch's context applies to each of its messages; a message's own fields win.
    return {**(batch_context or {}), **(message_context or {})}


def _url_parts(url: str | None) -> dict:
    if not url:
        return {}
    parts = urlsplit(url)
    return {
        "domain": (parts.hostname or "").lower(),
        "path": parts.path or ("/" if parts.netloc else ""),
        "query": f"?{parts.query}" if parts.query else "",
        "hash": f"#{parts.fragment}" if parts.fragment else "",
        "origin_path": f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path,
    }


def _page_fields(page: dict) -> dict:
    """URL columns from a page description (context.page, or a page call's properties)."""
    parts = _url_parts(page.get("url"))
    fields = {key: parts[key] for key in ("domain", "path", "query", "hash") if key in parts}
    if page.get("path"):
        fields["path"] = page["path"]
    if page.get("search"):
        search = page["search"]
        fields["query"] = search if search.startswith("?") else f"?{search}"
    for key in ("title", "referrer"):
        if page.get(key):
            fields[key] = page[key]
    return fields


def session_fields(context: dict) -> dict:
    """The data a session opened by this message starts with."""
    page = context.get("page") or {}
    landing = _url_parts(page.get("url"))
    campaign = context.get("campaign") or {}
    referrer = page.get("referrer") or (context.get("referrer") or {}).get("url") or ""
    browser, platform, device_type = parse_user_agent((context.get("userAgent") or "")[:1024])
    ip = context.get("ip")
    country, region, city = geoip_lookup(ip)
    return {
        "referrer": referrer,
        "landing_page": landing.get("origin_path", ""),
        "landing_page_query": landing.get("query", ""),
        "landing_page_hash": landing.get("hash", ""),
        "utm_source": campaign.get("source") or "",
        "utm_medium": campaign.get("medium") or "",
        "utm_campaign": campaign.get("name") or "",
        "utm_term": campaign.get("term") or "",
        "utm_content": campaign.get("content") or "",
        "browser": browser,
        "platform": platform,
        "device_type": device_type,
        "ip": ip,
        "country": country,
        "region": region,
        "city": city,
    }


def library_name(context: dict) -> str:
    return ((context.get("library") or {}).get("name") or DEFAULT_LIBRARY)[:MAX_LIBRARY]


def messages_to_writes(
    *, messages: list[dict], batch_sent_at: float | None, batch_context: dict | None, received: float
) -> Writes:
    writes = Writes()
    for message in messages:
        _translate(message, batch_sent_at, batch_context, received, writes)
    return writes


def _translate(message: dict, batch_sent_at, batch_context, received: float, writes: Writes) -> None:
    kind = message["type"]
    context = _merged_context(batch_context, message["context"])
    original = message.get("originalTimestamp")
    if original is None:
        original = message.get("timestamp")
    sent_at = message.get("sentAt") if message.get("sentAt") is not None else batch_sent_at
    time = corrected_time(original=original, sent_at=sent_at, received=received)

    identity = message.get("userId")
    anonymous = message.get("anonymousId")
    anonymous_id = user_id_for_anonymous_id(anonymous) if anonymous else None
    identified_id = user_id_for_identity(identity) if identity else None
    if anonymous_id is not None:
        writes.users.append({"user_id": anonymous_id, "identity": None, "joindate": time})
    if identified_id is not None:
        writes.users.append({"user_id": identified_id, "identity": identity, "joindate": time})
    if anonymous_id is not None and identified_id is not None:
        writes.merges.append({"from_user_id": anonymous_id, "to_user_id": identified_id, "time": time})
    owner = identified_id if identified_id is not None else anonymous_id

    if kind == "alias":
        previous_id = user_id_for_anonymous_id(message["previousId"])
        writes.users.append({"user_id": previous_id, "identity": None, "joindate": time})
        writes.merges.append({"from_user_id": previous_id, "to_user_id": identified_id, "time": time})
        return
    if kind == "identify":
        traits = {**((context.get("traits")) or {}), **message["traits"]}
        if traits:
            writes.users.append({"user_id": owner, "identity": identity, "joindate": time, "properties": traits})
        return

    properties = dict(message["properties"])
    event = {
        "event_id": event_id_for(message.get("messageId")),
        "user_id": owner,
        "identity": identity,
        "time": time,
        "library": library_name(context),
        "session": {**session_fields(context), "library": library_name(context)},
        **_page_fields(context.get("page") or {}),
    }
    if kind == "track":
        event.update(type="custom", event_name=message["event"])
    elif kind in ("page", "screen"):
        # Text values of the page's reserved properties move to the URL columns; anything else stays.
        reserved = {
            key: properties.pop(key)
            for key in sorted(PAGE_URL_PROPERTIES | {"title"})
            if isinstance(properties.get(key), str)
        }
        event.update(type="pageview", **_page_fields(reserved))
        for key in ("name", "category"):
            if message.get(key):
                properties[key] = message[key]
        if kind == "screen" and message.get("name") and not reserved.get("title"):
            event["title"] = message["name"]
    elif kind == "group":
        properties = {**message["traits"], "group_id": message["groupId"]}
        event.update(type="custom", event_name=GROUP_EVENT)
        writes.users.append(
            {"user_id": owner, "identity": identity, "joindate": time, "properties": {"group_id": message["groupId"]}}
        )
    event["properties"] = properties
    writes.events.append(event)
