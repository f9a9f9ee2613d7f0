"""The raw browser's SQL that the ORM cannot express: keyset pages with compiled predicates, and matches.

Every condition is a psycopg2.sql Composable over raw_events aliased `e` with named parameters,
the same shape the definitions compiler and the sync registry use, so their predicates slot in.
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from psycopg2 import sql

from definitions.sampling import EXACT, RawSample
from warehouse.citus import citus_active

logger = logging.getLogger(__name__)

LIST_COLUMNS = [
    "id",
    "time",
    "type",
    "event_name",
    "domain",
    "path",
    "query",
    "target_tag",
    "target_id",
    "target_classes",
    "target_text",
    "target_href",
    "user_id",
    "session_id",
    "library",
]


@dataclass
class Conditions:
    """AND-ed conditions over `e` with their named parameters (names must not collide)."""

    parts: list[sql.Composable] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    # True when an index narrows the rows by itself (user, session): no scan budget needed.
    selective: bool = False

    def add(self, condition: sql.Composable, **params: Any) -> None:
        self.parts.append(condition)
        self.params.update(params)

    def extend(self, condition: sql.Composable, params: dict[str, Any]) -> None:
        self.parts.append(condition)
        self.params.update(params)

    def where(self) -> sql.Composable:
        return sql.SQL(" AND ").join(self.parts) if self.parts else sql.SQL("TRUE")


def like_contains(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _run(statement: sql.Composable, params: dict[str, Any], what: str, *, work_mem: str = "") -> list[tuple]:
    started = time.perf_counter()
    # SET LOCAL needs a transaction of its own; the other reads go without one (a savepoint each otherwise).
    with transaction.atomic() if work_mem else contextlib.nullcontext(), connection.cursor() as cursor:
        if work_mem:
            cursor.execute("SET LOCAL work_mem = %s", [work_mem])
            cursor.execute(
                "SET LOCAL jit = off"
            )  # priced high enough to trigger it; compiling costs more than it saves
        cursor.execute(statement.as_string(cursor.connection), params)
        rows = cursor.fetchall()
    logger.debug("raw browser %s: %d rows in %.1f ms", what, len(rows), (time.perf_counter() - started) * 1000)
    return rows


def _columns(alias: str = "e") -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(alias, c) for c in LIST_COLUMNS)


def events_page(
    *,
    environment_id: int,
    scope: Conditions,
    filters: Conditions,
    before: tuple | None,
    limit: int,
    scan_budget: int | None,
    after: tuple | None = None,
) -> tuple[list[tuple], tuple | None]:
    """Up to `limit` rows matching scope AND filters, newest first, strictly before the keyset `before`
    (or, with `after`, the rows just newer than that keyset, oldest first: the "Newer" page).

    `scope` (environment, time range, keyset) is what the (environment, time) index answers. With a
    scan budget the other filters look at no more than that many rows of the scope, so a rare
    filter costs a bounded scan per page instead of a walk through all history; the second value
    is then the (time, id) of the last row looked at, when the budget ran out (else None).
    """
    params = {"environment_id": environment_id, "limit": limit, **scope.params, **filters.params}
    keyset = sql.SQL("TRUE")
    order = sql.SQL("e.time DESC, e.id DESC")
    if after is not None:
        keyset = sql.SQL("(e.time, e.id) > (%(after_time)s, %(after_id)s)")
        order = sql.SQL("e.time, e.id")
        params.update(after_time=after[0], after_id=after[1])
    elif before is not None:
        keyset = sql.SQL("(e.time, e.id) < (%(before_time)s, %(before_id)s)")
        params.update(before_time=before[0], before_id=before[1])
    parts = {
        "columns": _columns(),
        "scope": scope.where(),
        "keyset": keyset,
        "filters": filters.where(),
        "order": order,
    }
    if scan_budget is None or not filters.parts:
        statement = sql.SQL(
            "SELECT {columns} FROM raw_events e WHERE e.environment_id = %(environment_id)s AND {scope} AND {keyset}"
            " AND {filters} ORDER BY {order} LIMIT %(limit)s"
        ).format(**parts)
        return _run(statement, params, "events page"), None
    # row_number() streams over the ordered scan; the budget's last row comes back as a sentinel
    # (matched = false) so the page knows where the search stopped without another query.
    params["scan_budget"] = scan_budget
    statement = sql.SQL(
        "SELECT {columns}, e.matched, e.position FROM ("
        " SELECT e.*, COALESCE({filters}, FALSE) AS matched,"
        "  row_number() OVER (ORDER BY {order}) AS position"
        " FROM (SELECT * FROM raw_events e WHERE e.environment_id = %(environment_id)s AND {scope} AND {keyset}"
        "  ORDER BY {order} LIMIT %(scan_budget)s) e"
        ") e WHERE e.matched OR e.position = %(scan_budget)s ORDER BY {order} LIMIT %(limit)s"
    ).format(**parts)
    rows = _run(statement, params, "events page (budgeted)")
    boundary = None
    if rows and rows[-1][-1] == scan_budget:
        boundary = (rows[-1][1], rows[-1][0])  # (time, id)
    return [row[:-2] for row in rows if row[-2]], boundary


def events_after(*, environment_id: int, scope: Conditions, filters: Conditions, after_id: int, limit: int):
    """Rows that arrived after `after_id` (live mode), newest first."""
    params = {"environment_id": environment_id, "after_id": after_id, "limit": limit, **scope.params, **filters.params}
    statement = sql.SQL(
        "SELECT {columns} FROM (SELECT * FROM raw_events e WHERE e.environment_id = %(environment_id)s"
        " AND e.id > %(after_id)s ORDER BY e.id DESC LIMIT 2000) e"
        " WHERE {scope} AND {filters} ORDER BY e.time DESC, e.id DESC LIMIT %(limit)s"
    ).format(columns=_columns(), scope=scope.where(), filters=filters.where())
    return _run(statement, params, "live rows")


def latest_event_id(*, environment_id: int) -> int:
    rows = _run(
        sql.SQL("SELECT max(e.id) FROM raw_events e WHERE e.environment_id = %(environment_id)s"),
        {"environment_id": environment_id},
        "latest id",
    )
    return rows[0][0] or 0


def matching_tables(*, environment_id: int, event_ids: list[int], specs: list) -> dict[int, list[int]]:
    """event id -> indexes into `specs` (registry EventTableSpecs) whose predicate matches the event."""
    if not event_ids or not specs:
        return {}
    params: dict[str, Any] = {"environment_id": environment_id, "event_ids": event_ids}
    cases = []
    for index, spec in enumerate(specs):
        cases.append(sql.SQL("CASE WHEN COALESCE({}, FALSE) THEN {} END").format(spec.predicate, sql.Literal(index)))
        params.update(spec.params)
    statement = sql.SQL(
        "SELECT e.id, array_remove(ARRAY[{cases}]::integer[], NULL) FROM raw_events e"
        " WHERE e.environment_id = %(environment_id)s AND e.id = ANY(%(event_ids)s)"
    ).format(cases=sql.SQL(", ").join(cases))
    return {event_id: list(indexes) for event_id, indexes in _run(statement, params, "definition matches")}


def not_covered(specs: list) -> tuple[sql.Composable, dict[str, Any]]:
    """`e` matches none of the specs' predicates."""
    params: dict[str, Any] = {}
    for spec in specs:
        params.update(spec.params)
    if not specs:
        return sql.SQL("TRUE"), params
    any_match = sql.SQL(" OR ").join(sql.SQL("COALESCE({}, FALSE)").format(spec.predicate) for spec in specs)
    return sql.SQL("NOT ({})").format(any_match), params


# With the default 4MB the planner, which expects a group per few rows, sorts the range's wide rows three
# times on disk (1.5 s for 110k events); with this it hashes the three groupings in one pass (0.5 s), using
# a few MB (few distinct elements, pages and names in practice; a hash aggregate spills to disk otherwise).
TOP_WORK_MEM = "64MB"

# GROUPING() bits, in the order (hierarchy, domain, event_name): a set bit = not grouped by it.
ELEMENT_GROUPS, PAGE_GROUPS, NAME_GROUPS = 0b011, 0b101, 0b110


def interaction_counts(*, environment_id: int, since, sample: RawSample = EXACT) -> list[tuple]:
    """One pass over the range (or over `sample` of it: its counts, not scaled): counts per (type, element),
    per (type, page), per (type, name).

    An element is what identifies it, its hierarchy (tag, id, classes, attributes, ancestors), not its text:
    a form whose validation messages change its text is still one form. The text comes along as a sample.
    Rows: (grouping, type, tag, id, classes, sample text, domain, path, event_name, count, newest id, hierarchy).
    """
    statement = sql.SQL(
        "SELECT GROUPING(e.hierarchy, e.domain, e.event_name), e.type, min(e.target_tag), min(e.target_id),"
        " min(e.target_classes), min(e.target_text), e.domain, e.path, e.event_name, count(*), max(e.id), e.hierarchy"
        " FROM {source} WHERE e.environment_id = %(environment_id)s AND e.time >= %(since)s"
        " GROUP BY GROUPING SETS ((e.type, e.hierarchy), (e.type, e.domain, e.path), (e.type, e.event_name))"
    ).format(source=sample.source())
    if citus_active():
        # Citus runs no GROUPING SETS over a distributed table: the three groupings, one after the other.
        statement = sql.SQL(
            "SELECT {element}, e.type, e.target_tag, e.target_id, e.target_classes, e.target_text,"
            " NULL::text, NULL::text, NULL::text, count(*), max(e.id){source}"
            " GROUP BY e.type, e.target_tag, e.target_id, e.target_classes, e.target_text UNION ALL"
            " SELECT {page}, e.type, NULL, NULL, NULL, NULL, e.domain, e.path, NULL, count(*), max(e.id){source}"
            " GROUP BY e.type, e.domain, e.path UNION ALL"
            " SELECT {name}, e.type, NULL, NULL, NULL, NULL, NULL, NULL, e.event_name, count(*), max(e.id){source}"
            " GROUP BY e.type, e.event_name"
        ).format(
            element=sql.Literal(ELEMENT_GROUPS),
            page=sql.Literal(PAGE_GROUPS),
            name=sql.Literal(NAME_GROUPS),
            source=sql.SQL(" FROM raw_events e WHERE e.environment_id = %(environment_id)s AND e.time >= %(since)s"),
        )
    what = f"top interactions ({sample.percent_text} sample)" if sample.estimated else "top interactions"
    return _run(statement, {"environment_id": environment_id, "since": since}, what, work_mem=TOP_WORK_MEM)
