"""Ingestion writes: each call validates nothing (the views hand over cleaned payloads) and commits
everything it was given in one transaction, or nothing."""

import secrets
import uuid
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime

from django.db import connection, transaction

from warehouse.freshness import new_data_mark
from warehouse.identity import ANONYMOUS_ID_LIMIT, user_id_for_identity
from warehouse.models import Environment

from . import sql
from .enrich import ClientInfo
from .payloads import SERVER_EVENT_ID_PREFIX
from .redact import policy_for
from .validation import within_window

SESSION_INACTIVITY_SECONDS = 30 * 60
SERVER_LIBRARY = "server"
# Sessions the server opens for server-side events get ids above every id a browser picks.
_SERVER_SESSION_ID_SPAN = 2**62 - ANONYMOUS_ID_LIMIT


def _new_server_session_id() -> int:
    return ANONYMOUS_ID_LIMIT + secrets.randbelow(_SERVER_SESSION_ID_SPAN)


# A client clock this close to the server's is taken as right (docs/api.md, "Clock skew").
CLOCK_SKEW_TOLERANCE_SECONDS = 5.0


def collect_batch_ingest(
    *, environment: Environment, payload: dict, client: ClientInfo, received_at: datetime
) -> dict[str, int]:
    """Store one heap.js batch: its session, its user(s), identity merges, user properties, events.

    Client clocks are corrected by the difference between `sent_at` and the time the server
    received the batch when it is more than CLOCK_SKEW_TOLERANCE_SECONDS (less is transit time,
    which differs from batch to batch: correcting it would reorder a click and the pageview it led
    to); no corrected time lies after `received_at` or before 2000-01-01. Events keep the anonymous
    user id they were sent with; an identity (in the batch header or an identify event) is
    recorded as a merge of that anonymous id into the identified id.
    """
    now = received_at.timestamp()
    skew = now - payload["sent_at"]
    if abs(skew) <= CLOCK_SKEW_TOLERANCE_SECONDS:
        skew = 0.0

    def corrected(seconds: float) -> float:
        return within_window(seconds + skew, received=now)

    anonymous_id = payload["user_id"]
    session = payload["session"]
    session_start = corrected(session["start_time"])
    users: dict[int, dict] = {}
    merges: list[dict] = []

    def user(user_id: int, identity: str | None, time: float) -> dict:
        row = users.setdefault(user_id, {"user_id": user_id, "identity": identity, "joindate": time, "properties": {}})
        row["joindate"] = min(row["joindate"], time)
        return row

    def identify(identity: str, time: float) -> None:
        identified_id = user_id_for_identity(identity)
        user(identified_id, identity, time)
        merges.append({"from_user_id": anonymous_id, "to_user_id": identified_id, "time": time})

    events = []
    current_identity = payload["identity"]
    first_time = min(corrected(event["time"]) for event in payload["events"])
    user(anonymous_id, None, min(first_time, session_start))
    if current_identity:
        identify(current_identity, first_time)
    for event in payload["events"]:
        time = corrected(event["time"])
        kind = event["type"]
        if kind == "identify":
            current_identity = event["identity"]
            identify(current_identity, time)
        elif kind == "user_properties":
            owner = user_id_for_identity(current_identity) if current_identity else anonymous_id
            user(owner, current_identity, time)["properties"].update(event["properties"])
        else:
            events.append(_collect_event_row(event, time, anonymous_id, session["id"]))

    last_event_time = max([session_start, *(row["time"] for row in events)])
    session_row = {
        **{key: value for key, value in session.items() if key not in ("id", "start_time")},
        **asdict(client),
        "session_id": session["id"],
        "user_id": anonymous_id,
        "time": session_start,
        "last_event_time": last_event_time,
        "library": payload["library"],
    }
    with transaction.atomic(), connection.cursor() as cursor:
        environment_id = environment.pk
        batch = sql.WriteBatch(cursor, privacy=policy_for(environment))
        sql.users_upsert(batch, environment_id=environment_id, now=received_at, rows=sorted_rows(users))
        sql.sessions_upsert(batch, environment_id=environment_id, now=received_at, rows=[session_row])
        sql.merges_insert(batch, environment_id=environment_id, rows=_first_merge_per_user(merges))
        sql.events_insert(
            batch, environment_id=environment_id, received_at=received_at, library=payload["library"], rows=events
        )
        batch.run()
        inserted = cursor.rowcount if events else 0
        _mark_after_commit(environment_id)
    return {"events": len(events), "inserted": inserted}


def _mark_after_commit(environment_id: int) -> None:
    # After the commit: a sync started on the mark must find the rows (warehouse/freshness.py).
    transaction.on_commit(lambda: new_data_mark(environment_id=environment_id))


def _collect_event_row(event: dict, time: float, user_id: int, session_id: int) -> dict:
    row = {
        "event_id": event["id"],
        "user_id": user_id,
        "session_id": session_id,
        "time": time,
        "type": event["type"],
        "event_name": event.get("name"),
        "domain": event.get("domain"),
        "path": event.get("path"),
        "query": event.get("query"),
        "hash": event.get("hash"),
        "title": event.get("title"),
        "referrer": event.get("referrer"),
        "properties": event["properties"],
    }
    target = event.get("target")
    if target:
        row.update(
            target_tag=target["tag"],
            target_id=target["id"],
            target_classes=target["classes"],
            target_text=target["text"],
            target_href=target["href"],
            hierarchy=event["hierarchy"],
        )
    return row


def sorted_rows(rows_by_key: dict) -> list[dict]:
    # A fixed order keeps concurrent upserts of the same rows from deadlocking.
    return [rows_by_key[key] for key in sorted(rows_by_key)]


def _first_merge_per_user(merges: list[dict]) -> list[dict]:
    first: dict[int, dict] = {}
    for merge in merges:
        first.setdefault(merge["from_user_id"], merge)
    return list(first.values())


def track_events_ingest(*, environment: Environment, events: list[dict], received_at: datetime) -> dict[str, int]:
    """Store server-side custom events (heapsite's and Heap's /api/track) for users known by identity or
    by heap.js's anonymous `user_id`.

    An event whose idempotency key was stored before is skipped (and opens no session).
    """
    now = received_at.timestamp()
    rows = []
    for event in events:
        key = event.get("idempotency_key")
        identity = event.get("identity")
        rows.append(
            {
                "event_id": SERVER_EVENT_ID_PREFIX + (key if key else uuid.uuid4().hex),
                "identity": identity,
                "user_id": user_id_for_identity(identity) if identity else event["user_id"],
                "session_id": event.get("session_id"),
                "time": event["timestamp"] if event.get("timestamp") is not None else now,
                "type": "custom",
                "event_name": event["event"],
                "properties": event.get("properties") or {},
            }
        )
    return server_batch_ingest(environment=environment, events=rows, received_at=received_at)


def server_batch_ingest(
    *,
    environment: Environment,
    received_at: datetime,
    events: list[dict] = (),
    users: list[dict] = (),
    merges: list[dict] = (),
) -> dict[str, int]:
    """Write what server-side APIs send, in one transaction: users, identity merges and events.

    `events` are raw-event rows (event_id, user_id, time, type, event_name, URL parts, properties) plus:
    `identity` (the user is created with it), optionally `session_id` (else the 30-minute rule picks
    or opens one), `session` (the data of a session this event opens: referrer, landing page, UTM,
    user agent and IP fields) and `library` (default "server"). An event id stored before is skipped.
    `users` are {user_id, identity, joindate, properties} (properties merged, later keys win);
    `merges` are {from_user_id, to_user_id, time}, and an anonymous id merges once.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        environment_id = environment.pk
        stored = sql.existing_event_ids(
            cursor, environment_id=environment_id, event_ids=[row["event_id"] for row in events]
        )
        unique: dict[str, dict] = {}
        for row in events:
            if row["event_id"] not in stored:
                unique.setdefault(row["event_id"], row)
        rows = list(unique.values())
        user_rows: dict[int, dict] = {}
        for user in users:
            entry = user_rows.setdefault(
                user["user_id"],
                {"user_id": user["user_id"], "identity": user.get("identity"), "joindate": user["joindate"]},
            )
            entry["joindate"] = min(entry["joindate"], user["joindate"])
            entry["identity"] = entry["identity"] or user.get("identity")
            if user.get("properties"):
                entry.setdefault("properties", {}).update(user["properties"])
        for row in rows:
            identity = row.pop("identity", None)
            entry = user_rows.setdefault(
                row["user_id"], {"user_id": row["user_id"], "identity": identity, "joindate": row["time"]}
            )
            entry["joindate"] = min(entry["joindate"], row["time"])
            entry["identity"] = entry["identity"] or identity
        sessions = _assign_server_sessions(cursor, environment_id=environment_id, rows=rows)
        batch = sql.WriteBatch(cursor, privacy=policy_for(environment))
        sql.users_upsert(batch, environment_id=environment_id, now=received_at, rows=sorted_rows(user_rows))
        sql.sessions_upsert(batch, environment_id=environment_id, now=received_at, rows=sorted_rows(sessions))
        sql.merges_insert(batch, environment_id=environment_id, rows=_first_merge_per_user(merges))
        sql.events_insert(
            batch, environment_id=environment_id, received_at=received_at, library=SERVER_LIBRARY, rows=rows
        )
        batch.run()
        inserted = cursor.rowcount if rows else 0
        _mark_after_commit(environment_id)
    return {"events": len(events), "inserted": inserted}


def _assign_server_sessions(cursor, *, environment_id: int, rows: list[dict]) -> dict[int, dict]:
    """Set each row's session_id: the one it names, else the user's session that started at or before the
    event and whose last event is less than 30 minutes before it, else a new session (with the data of the
    row's `session`). Returns the sessions to upsert."""
    touched: dict[int, dict] = {}
    for row in rows:
        session_fields = row.pop("session", None) or {}
        if row.get("session_id") is not None:
            session = touched.setdefault(
                row["session_id"],
                {**session_fields, "session_id": row["session_id"], "user_id": row["user_id"], "time": row["time"]},
            )
            session["time"] = min(session["time"], row["time"])
            session["last"] = max(session.get("last", row["time"]), row["time"])
            session.setdefault("library", row.get("library") or SERVER_LIBRARY)
        else:
            row["_session"] = session_fields
    automatic = [row for row in rows if "_session" in row]
    if automatic:
        times = [row["time"] for row in automatic]
        known = sql.recent_sessions(
            cursor,
            environment_id=environment_id,
            user_ids=sorted({row["user_id"] for row in automatic}),
            after=min(times) - SESSION_INACTIVITY_SECONDS,
            before=max(times),
        )
        sessions_by_user: dict[int, list[dict]] = defaultdict(list)
        for user_id, session_id, start, last in known:
            sessions_by_user[user_id].append(
                {"session_id": session_id, "user_id": user_id, "time": start, "last": last}
            )
        for row in sorted(automatic, key=lambda item: (item["user_id"], item["time"])):
            time = row["time"]
            session_fields = row.pop("_session")
            candidates = [
                session
                for session in sessions_by_user[row["user_id"]]
                if session["time"] <= time and time - session["last"] < SESSION_INACTIVITY_SECONDS
            ]
            if candidates:
                session = max(candidates, key=lambda item: item["time"])
                session["last"] = max(session["last"], time)
            else:
                session = {
                    **session_fields,
                    "session_id": _new_server_session_id(),
                    "user_id": row["user_id"],
                    "time": time,
                    "last": time,
                    "library": row.get("library") or SERVER_LIBRARY,
                }
                sessions_by_user[row["user_id"]].append(session)
            row["session_id"] = session["session_id"]
            touched[session["session_id"]] = session
    return {
        session_id: {
            **{key: value for key, value in session.items() if key != "last"},
            "last_event_time": session["last"],
            "library": session.get("library") or SERVER_LIBRARY,
        }
        for session_id, session in touched.items()
    }


def identity_merge(
    *, environment: Environment, identity: str, anonymous_user_id: int, received_at: datetime, time: float | None
) -> dict:
    """Identify an anonymous user: the identified user exists and the anonymous id maps to it.

    An anonymous id merges once; identifying it again (as anyone) changes nothing and says so.
    """
    identified_id = user_id_for_identity(identity)
    time = time if time is not None else received_at.timestamp()
    with transaction.atomic(), connection.cursor() as cursor:
        rows = [{"user_id": identified_id, "identity": identity, "joindate": time}]
        batch = sql.WriteBatch(cursor)
        sql.users_upsert(batch, environment_id=environment.pk, now=received_at, rows=rows)
        merge = {"from_user_id": anonymous_user_id, "to_user_id": identified_id, "time": time}
        sql.merges_insert(batch, environment_id=environment.pk, rows=[merge])
        batch.run()
        merged = bool(cursor.fetchall())
        target = (
            identified_id
            if merged
            else sql.merge_target(cursor, environment_id=environment.pk, user_id=anonymous_user_id)
        )
        _mark_after_commit(environment.pk)
    return {"user_id": identified_id, "merged": merged, "merged_into": target}


def user_properties_add(*, environment: Environment, users: list[dict], received_at: datetime) -> dict[str, int]:
    """Merge properties into identified users (created when new); later keys win within a request."""
    now = received_at.timestamp()
    rows = [
        {
            "user_id": user_id_for_identity(entry["identity"]),
            "identity": entry["identity"],
            "joindate": now,
            "properties": entry["properties"],
        }
        for entry in users
    ]
    server_batch_ingest(environment=environment, users=rows, received_at=received_at)
    return {"users": len({row["user_id"] for row in rows})}


def utc_now() -> datetime:
    return datetime.now(UTC)
