"""The raw-store writes of ingestion, one statement per table per request.

Each statement takes its rows as one jsonb array expanded by `jsonb_to_recordset`: a single
parameter that Python's C JSON encoder produces quickly, however many rows a batch has. Times
travel as float seconds since the epoch.

Every event and session row is redacted here, by the environment's privacy settings, before it
is written (warehouse/ingest/redact.py): whichever endpoint hands rows over, nothing escapes it.

Every row written is stamped with the transaction's batch number (`heapsite_raw_batch()`, computed
once per statement), the sync's watermark (warehouse/sync/watermark.py). On Citus the statements
run on the coordinator, which routes each row to its user's shard; the conflict targets contain
user_id, as keys of a table distributed by it must.
"""

import json
from datetime import datetime

from psycopg2 import sql

from warehouse.models import Environment

from .redact import PrivacyPolicy, policy_for, redact_event_rows, redact_session_rows

_INSERT_EVENTS = sql.SQL("""
INSERT INTO raw_events (
    environment_id, event_id, user_id, session_id, time, received_at, type, event_name,
    domain, path, query, hash, title, referrer,
    target_tag, target_id, target_classes, target_text, target_href, hierarchy, library, properties, batch
)
SELECT
    %(environment_id)s, r.event_id, r.user_id, r.session_id, to_timestamp(r.time), %(received_at)s, r.type,
    coalesce(r.event_name, ''), coalesce(r.domain, ''), coalesce(r.path, ''), coalesce(r.query, ''),
    coalesce(r.hash, ''), coalesce(r.title, ''), coalesce(r.referrer, ''), coalesce(r.target_tag, ''),
    coalesce(r.target_id, ''), coalesce(r.target_classes, '{}'), coalesce(r.target_text, ''),
    coalesce(r.target_href, ''), coalesce(r.hierarchy, '[]'), coalesce(r.library, %(library)s),
    coalesce(r.properties, '{}'), (SELECT heapsite_raw_batch())
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    event_id text, user_id bigint, session_id bigint, time float8, type text, event_name text,
    domain text, path text, query text, hash text, title text, referrer text,
    target_tag text, target_id text, target_classes text[], target_text text, target_href text,
    hierarchy jsonb, library text, properties jsonb
)
ON CONFLICT (environment_id, event_id, user_id) DO NOTHING
RETURNING 1
""")

# Only touch an existing user when something changes, so repeated batches cause no writes.
_UPSERT_USERS = sql.SQL("""
INSERT INTO raw_users (environment_id, user_id, identity, joindate, last_modified, properties, batch)
SELECT %(environment_id)s, r.user_id, r.identity, to_timestamp(r.joindate), %(now)s, coalesce(r.properties, '{}'),
    (SELECT heapsite_raw_batch())
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(user_id bigint, identity text, joindate float8, properties jsonb)
ORDER BY r.user_id
ON CONFLICT (environment_id, user_id) DO UPDATE SET
    identity = coalesce(raw_users.identity, excluded.identity),
    joindate = least(raw_users.joindate, excluded.joindate),
    properties = raw_users.properties || excluded.properties,
    last_modified = excluded.last_modified,
    batch = excluded.batch
WHERE raw_users.joindate > excluded.joindate
   OR NOT raw_users.properties @> excluded.properties
   OR (raw_users.identity IS NULL AND excluded.identity IS NOT NULL)
""")

# Session data is set when the session is first seen; later batches only extend last_event_time
# (not last_modified nor batch: nothing the warehouse shows changes).
_UPSERT_SESSIONS = sql.SQL("""
INSERT INTO raw_sessions (
    environment_id, session_id, user_id, time, last_event_time, last_modified, library, platform, device_type,
    browser, country, region, city, ip, referrer, landing_page, landing_page_query, landing_page_hash,
    search_keyword, utm_source, utm_medium, utm_campaign, utm_term, utm_content, properties, batch
)
SELECT
    %(environment_id)s, r.session_id, r.user_id, to_timestamp(r.time), to_timestamp(r.last_event_time), %(now)s,
    coalesce(r.library, ''), coalesce(r.platform, ''), coalesce(r.device_type, ''), coalesce(r.browser, ''),
    coalesce(r.country, ''), coalesce(r.region, ''), coalesce(r.city, ''), r.ip, coalesce(r.referrer, ''),
    coalesce(r.landing_page, ''), coalesce(r.landing_page_query, ''), coalesce(r.landing_page_hash, ''),
    coalesce(r.search_keyword, ''), coalesce(r.utm_source, ''), coalesce(r.utm_medium, ''),
    coalesce(r.utm_campaign, ''), coalesce(r.utm_term, ''), coalesce(r.utm_content, ''), '{}'::jsonb,
    (SELECT heapsite_raw_batch())
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    session_id bigint, user_id bigint, time float8, last_event_time float8, library text, platform text,
    device_type text, browser text, country text, region text, city text, ip inet, referrer text,
    landing_page text, landing_page_query text, landing_page_hash text, search_keyword text,
    utm_source text, utm_medium text, utm_campaign text, utm_term text, utm_content text
)
ORDER BY r.session_id
ON CONFLICT (environment_id, session_id, user_id) DO UPDATE SET last_event_time = excluded.last_event_time
WHERE raw_sessions.last_event_time < excluded.last_event_time
""")

_INSERT_MERGES = sql.SQL("""
INSERT INTO raw_identity_merges (environment_id, from_user_id, to_user_id, time, batch)
SELECT %(environment_id)s, r.from_user_id, r.to_user_id, to_timestamp(r.time), (SELECT heapsite_raw_batch())
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(from_user_id bigint, to_user_id bigint, time float8)
ORDER BY r.from_user_id
ON CONFLICT (environment_id, from_user_id) DO NOTHING
RETURNING from_user_id
""")

_RECENT_SESSIONS = sql.SQL("""
SELECT user_id, session_id, extract(epoch FROM time), extract(epoch FROM last_event_time)
FROM raw_sessions
WHERE environment_id = %(environment_id)s AND user_id = ANY(%(user_ids)s)
  AND last_event_time > to_timestamp(%(after)s) AND time <= to_timestamp(%(before)s)
""")

_EXISTING_EVENT_IDS = sql.SQL("""
SELECT event_id FROM raw_events WHERE environment_id = %(environment_id)s AND event_id = ANY(%(event_ids)s)
""")

_MERGE_TARGET = sql.SQL("""
SELECT to_user_id FROM raw_identity_merges WHERE environment_id = %(environment_id)s AND from_user_id = %(user_id)s
""")


class WriteBatch:
    """Write statements sent to PostgreSQL as one query string: one round trip per request.

    psycopg2 interpolates parameters on the client, so each statement is rendered with `mogrify`
    and the whole string is executed without parameters. The cursor's rowcount and results are
    those of the last statement, so the statement whose outcome the caller needs goes last.
    """

    def __init__(self, cursor, *, privacy: PrivacyPolicy | None = None) -> None:
        self.cursor = cursor
        self.parts: list[bytes] = []
        # The environment's privacy policy (redact.policy_for), when the caller has the environment at hand.
        self.privacy = privacy

    def add(self, statement: sql.Composable, params: dict) -> None:
        self.parts.append(self.cursor.mogrify(statement, params))

    def run(self) -> None:
        if self.parts:
            self.cursor.execute(b";\n".join(self.parts))


def users_upsert(batch: WriteBatch, *, environment_id: int, now: datetime, rows: list[dict]) -> None:
    if rows:
        batch.add(_UPSERT_USERS, {"environment_id": environment_id, "now": now, "rows": _json(rows)})


def _privacy(batch: WriteBatch, environment_id: int) -> PrivacyPolicy:
    if batch.privacy is None:
        batch.privacy = policy_for(Environment.objects.get(pk=environment_id))
    return batch.privacy


def sessions_upsert(batch: WriteBatch, *, environment_id: int, now: datetime, rows: list[dict]) -> None:
    """Insert new sessions (redacted first); for known ones only extend last_event_time."""
    if rows:
        redact_session_rows(rows, _privacy(batch, environment_id))
        batch.add(_UPSERT_SESSIONS, {"environment_id": environment_id, "now": now, "rows": _json(rows)})


def merges_insert(batch: WriteBatch, *, environment_id: int, rows: list[dict]) -> None:
    """Record merges; an anonymous id merges once, later merges of it are ignored. Last in a batch,
    the cursor then returns the from_user_id of each merge actually recorded."""
    if rows:
        batch.add(_INSERT_MERGES, {"environment_id": environment_id, "rows": _json(rows)})


def events_insert(
    batch: WriteBatch, *, environment_id: int, received_at: datetime, library: str, rows: list[dict]
) -> None:
    """Append events (redacted first), skipping ids already stored. Last in a batch, the rowcount is the rows written.

    `library` is the events' library unless a row names its own. The statement returns a row per
    event written: Citus counts the rows an INSERT ... SELECT through the coordinator sent, not
    those written, unless they are returned.
    """
    if rows:
        redact_event_rows(rows, _privacy(batch, environment_id))
        params = {"environment_id": environment_id, "received_at": received_at, "library": library}
        batch.add(_INSERT_EVENTS, {**params, "rows": _json(rows)})


def merge_target(cursor, *, environment_id: int, user_id: int) -> int | None:
    cursor.execute(_MERGE_TARGET, {"environment_id": environment_id, "user_id": user_id})
    row = cursor.fetchone()
    return row[0] if row else None


def recent_sessions(
    cursor, *, environment_id: int, user_ids: list[int], after: float, before: float
) -> list[tuple[int, int, float, float]]:
    """(user_id, session_id, start, last_event_time) of sessions active between the two times."""
    params = {"environment_id": environment_id, "user_ids": user_ids, "after": after, "before": before}
    cursor.execute(_RECENT_SESSIONS, params)
    return [(user_id, session_id, float(start), float(last)) for user_id, session_id, start, last in cursor]


def existing_event_ids(cursor, *, environment_id: int, event_ids: list[str]) -> set[str]:
    cursor.execute(_EXISTING_EVENT_IDS, {"environment_id": environment_id, "event_ids": event_ids})
    return {row[0] for row in cursor}


def _json(rows: list[dict]) -> str:
    # ensure_ascii keeps the payload plain ASCII; jsonb stores the decoded characters either way.
    return json.dumps(rows, separators=(",", ":"))
