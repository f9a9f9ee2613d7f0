"""The non-ORM SQL of definitions: preview counts, samples and "what would change", over raw_events `e`.

Every query filters one environment and a time window first (index raw_events_env_time), then
applies compiled predicates, which order their own checks cheapest first.
"""

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DataError, OperationalError, ProgrammingError, connection, transaction
from psycopg2 import errors, sql

from definitions.sampling import EXACT, RawSample

logger = logging.getLogger(__name__)

# What running a compiled predicate can raise because of the predicate itself (a regex PostgreSQL
# rejects, a cast that fails on some event, a missing parameter, SQL nested too deeply to print),
# as opposed to an outage.
PREDICATE_ERRORS = (DataError, ProgrammingError, KeyError, ValueError, RecursionError)


class QueryTooSlow(ValueError):
    """A read of the raw events went past DEFINITIONS_QUERY_TIMEOUT_MS (one of PREDICATE_ERRORS:
    the definition's conditions are what made it slow). Not worth trying again in parts."""


SAMPLE_COLUMNS = [
    "id",
    "time",
    "type",
    "event_name",
    "domain",
    "path",
    "target_tag",
    "target_id",
    "target_classes",
    "target_text",
    "target_href",
    "user_id",
]


def _run(query: sql.Composable, params: Mapping[str, Any], what: str) -> list[tuple]:
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The planner prices the hierarchy subqueries high enough to trigger JIT, whose compile
            # time (~0.8 s) dwarfs these scans.
            cursor.execute("SET LOCAL jit = off")
            # No read outlives the request waiting for it (the web server's timeout is 60 s), however
            # slow the conditions a viewer previews.
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)", [str(settings.DEFINITIONS_QUERY_TIMEOUT_MS)]
            )
            cursor.execute(query, params)
            rows = cursor.fetchall()
    except OperationalError as error:
        if not isinstance(error.__cause__, errors.QueryCanceled):
            raise
        seconds = settings.DEFINITIONS_QUERY_TIMEOUT_MS / 1000
        raise QueryTooSlow(f"counting its events took longer than {seconds:g} s: narrow its conditions") from None
    logger.info("%s: %d rows in %.1f ms", what, len(rows), (time.monotonic() - started) * 1000)
    return rows


def daily_counts(
    *,
    environment_id: int,
    since: datetime,
    predicate: sql.Composable,
    params: Mapping[str, Any],
    previous: sql.Composable | None = None,
    previous_params: Mapping[str, Any] | None = None,
    sample: RawSample = EXACT,
) -> list[tuple]:
    """(day, matches, gained, lost) per UTC day since `since`; gained/lost against `previous` if given.
    Over `sample` of the events when it is an estimate: its counts, not scaled."""
    if previous is None:
        query = sql.SQL(
            "SELECT (e.time AT TIME ZONE 'UTC')::date AS day, count(*), 0, 0 FROM {}"
            " WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s AND {} GROUP BY 1"
        ).format(sample.source(), predicate)
    else:
        query = sql.SQL(
            "SELECT day, count(*) FILTER (WHERE now_), count(*) FILTER (WHERE now_ AND NOT before),"
            " count(*) FILTER (WHERE before AND NOT now_) FROM ("
            "SELECT (e.time AT TIME ZONE 'UTC')::date AS day, {} AS now_, {} AS before FROM {}"
            " WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s) AS t"
            " WHERE now_ OR before GROUP BY 1"
        ).format(predicate, previous, sample.source())
    all_params = {**params, **(previous_params or {}), "pv_env": environment_id, "pv_since": since}
    what = (
        f"definition preview counts ({sample.percent_text} sample)" if sample.estimated else "definition preview counts"
    )
    return _run(query, all_params, what)


def sample_events(
    *,
    environment_id: int,
    since: datetime,
    predicate: sql.Composable,
    params: Mapping[str, Any],
    limit: int,
    newest: int | None = None,
) -> list[dict[str, Any]]:
    """The `limit` newest matches since `since`; with `newest`, among that many newest events only (a bounded
    scan: a rare definition would otherwise walk back through all of a large history)."""
    columns = sql.SQL(", ").join(sql.SQL("e.{}").format(sql.Identifier(c)) for c in SAMPLE_COLUMNS)
    source = sql.SQL("raw_events e")
    if newest is not None:
        source = sql.SQL(
            "(SELECT * FROM raw_events e WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s"
            " ORDER BY e.time DESC LIMIT %(pv_newest)s) e"
        )
    query = sql.SQL(
        "SELECT {} FROM {} WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s AND {}"
        " ORDER BY e.time DESC LIMIT %(pv_limit)s"
    ).format(columns, source, predicate)
    all_params = {**params, "pv_env": environment_id, "pv_since": since, "pv_limit": limit, "pv_newest": newest}
    rows = _run(query, all_params, "preview sample")
    return [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in rows]


def counts_by_definition(
    *,
    environment_id: int,
    since: datetime,
    predicates: list[tuple[sql.Composable, Mapping[str, Any]]],
    sample: RawSample = EXACT,
) -> list[int]:
    """Matches since `since` for several compiled definitions in one scan (the list page); over `sample`
    of the events when it is an estimate, scaled."""
    if not predicates:
        return []
    columns = sql.SQL(", ").join(sql.SQL("count(*) FILTER (WHERE {})").format(p) for p, _ in predicates)
    params: dict[str, Any] = {"pv_env": environment_id, "pv_since": since}
    for _, p in predicates:
        params.update(p)
    query = sql.SQL("SELECT {} FROM {} WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s").format(
        columns, sample.source()
    )
    return [sample.scaled(count) for count in _run(query, params, "definition counts")[0]]


def counts_by_definition_windows(
    *,
    environment_id: int,
    windows: list[datetime],
    predicates: list[tuple[sql.Composable, Mapping[str, Any]]],
    event_type: str,
    path: str,
) -> list[list[int]]:
    """Matches of several compiled definitions since each of `windows`, in one scan: [[count since
    windows[0], …] per predicate] (the labeler's clickmap). Every predicate holds `e.type = event_type AND
    e.path = path` (a group of that kind with that path condition): the scan reads only those rows."""
    if not predicates or not windows:
        return [[] for _ in predicates]
    params: dict[str, Any] = {
        "pv_env": environment_id,
        "pv_since": min(windows),
        "pv_type": event_type,
        "pv_path": path,
    }
    for _, p in predicates:
        params.update(p)
    for w, since in enumerate(windows):
        params[f"pv_w{w}"] = since
    # Each predicate once per row: grouped by which windows the row falls in (not one FILTER per
    # window), then summed here; a plain GROUP BY also runs on Citus's workers as it is.
    flags = [sql.SQL("e.time >= {}").format(sql.Placeholder(f"pv_w{w}")) for w in range(len(windows))]
    columns = sql.SQL(", ").join(sql.SQL("count(*) FILTER (WHERE {})").format(p) for p, _ in predicates)
    query = sql.SQL(
        "SELECT {}, {} FROM raw_events e WHERE e.environment_id = %(pv_env)s AND e.time >= %(pv_since)s"
        " AND e.type = %(pv_type)s AND e.path = %(pv_path)s GROUP BY {}"
    ).format(
        sql.SQL(", ").join(flags),
        columns,
        sql.SQL(", ").join(sql.Literal(position + 1) for position in range(len(windows))),
    )
    totals = [[0] * len(windows) for _ in predicates]
    for row in _run(query, params, "labeler clickmap counts"):
        inside, counts = row[: len(windows)], row[len(windows) :]
        for i, count in enumerate(counts):
            for w, is_inside in enumerate(inside):
                if is_inside:
                    totals[i][w] += count
    return totals


def click_targets_on_path(*, environment_id: int, since: datetime, path: str, limit: int) -> list[tuple[Any, int]]:
    """(the target's element description (hierarchy[0]), clicks) on one path since `since`, most clicked first."""
    query = sql.SQL(
        "SELECT e.hierarchy -> 0, count(*) FROM raw_events e WHERE e.environment_id = %(pv_env)s"
        " AND e.time >= %(pv_since)s AND e.type = 'click' AND e.path = %(pv_path)s AND jsonb_typeof(e.hierarchy) = 'array'"
        " GROUP BY 1 ORDER BY 2 DESC LIMIT %(pv_limit)s"
    )
    params = {"pv_env": environment_id, "pv_since": since, "pv_path": path, "pv_limit": limit}
    return _run(query, params, "labeler click targets")
