"""The SQL of the warehouse sync, built with psycopg2.sql (identifiers) and named parameters (values).

Every statement runs inside PostgreSQL: raw rows never pass through Python. The engine
(warehouse/sync/engine.py) decides what to run; this module only knows how to spell it.
"""

import hashlib

from psycopg2 import sql

# (name, type) of the warehouse `sessions` built-in columns, in contract order (docs/architecture.md §4).
SESSION_COLUMNS: list[tuple[str, str]] = [
    ("session_id", "bigint"),
    ("user_id", "bigint"),
    ("time", "timestamptz"),
    ("library", "text"),
    ("platform", "text"),
    ("device_type", "text"),
    ("country", "text"),
    ("region", "text"),
    ("city", "text"),
    ("ip", "inet"),
    ("referrer", "text"),
    ("landing_page", "text"),
    ("landing_page_query", "text"),
    ("landing_page_hash", "text"),
    ("browser", "text"),
    ("search_keyword", "text"),
    ("utm_source", "text"),
    ("utm_campaign", "text"),
    ("utm_medium", "text"),
    ("utm_term", "text"),
    ("utm_content", "text"),
]
PROPAGATED_SESSION_COLUMNS = [
    column for column in SESSION_COLUMNS if column[0] not in {"session_id", "user_id", "time"}
]

# What an event table stores, per row, in its physical order: (name, type, expression over the
# pass's matched raw event e and merge map m). Session columns are not stored: the table's view
# joins them from `sessions`. `properties` first: reading which rows have any (Builder.survey)
# takes apart no other column.
STORED_EVENT_COLUMNS: list[tuple[str, str, str]] = [
    # NULL when the event has none (the pass's matched rows carry nullif(properties, '{}')).
    ("properties", "jsonb", "e.properties"),
    ("event_id", "bigint", "e.id"),
    ("user_id", "bigint", "coalesce(m.to_user_id, e.user_id)"),
    ("session_id", "bigint", "e.session_id"),
    ("time", "timestamptz", "e.time"),
    ("type", "text", "e.type"),
    ("domain", "text", "e.domain"),
    ("path", "text", "e.path"),
    ("query", "text", "e.query"),
    ("hash", "text", "e.hash"),
    ("title", "text", "e.title"),
    ("href", "text", "e.target_href"),
    ("target_text", "text", "e.target_text"),
]
# The contract's columns of `pageviews` and of a defined event's table (docs/architecture.md §4), in order:
# (name, expression over its stored row e and the warehouse sessions s), as its view selects them.
PAGEVIEW_COLUMNS: list[tuple[str, str]] = [
    ("event_id", "e.event_id"),
    ("user_id", "e.user_id"),
    ("session_id", "e.session_id"),
    ("time", "e.time"),
    ("session_time", "s.time"),
    ("type", "e.type"),
    *[(name, f"s.{name}") for name, _ in PROPAGATED_SESSION_COLUMNS],
    ("domain", "e.domain"),
    ("path", "e.path"),
    ("query", "e.query"),
    ("hash", "e.hash"),
    ("title", "e.title"),
]
EVENT_COLUMNS: list[tuple[str, str]] = PAGEVIEW_COLUMNS + [("href", "e.href"), ("target_text", "e.target_text")]
STORED_NAMES = [name for name, _, _ in STORED_EVENT_COLUMNS]
USER_COLUMNS: list[tuple[str, str]] = [
    ("user_id", "bigint"),
    ("identity", "text"),
    ("handle", "text"),
    ("email", "text"),
    ("joindate", "timestamptz"),
    ("last_modified", "timestamptz"),
]
# User properties with these keys fill the built-in columns of the same name instead of their own.
USER_BUILTIN_PROPERTIES = ("handle", "email")

# Strings that look like ISO 8601 date-times with a zone become timestamptz (if PostgreSQL parses them).
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
PROPERTY_TYPES = ("boolean", "bigint", "double precision", "timestamptz", "text")


# Every table the sync creates starts with autovacuum off: autovacuum would otherwise vacuum and
# analyze the staged rows while the build still detaches, indexes and analyzes them (each such
# collision holds the build up until PostgreSQL cancels the worker, deadlock_timeout later). The
# swap turns it back on for what it publishes (the stored rows, users, sessions, user_migrations).
NO_AUTOVACUUM = sql.SQL(" WITH (autovacuum_enabled = false)")


def _identifier_list(names) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def value_class() -> sql.Composable:
    """The narrowest warehouse type of one jsonb property value `v` (inference happens in SQL)."""
    # No regex where a cheaper test decides (a regex costs ~1 µs a value): an integer is a number of
    # scale 0 with at most 18 digits (what its text `^-?[0-9]{1,18}$` says), and only a string of
    # an ISO date-time's length, with its `-` after the year, is tried against the pattern.
    return sql.SQL(
        "CASE jsonb_typeof(v) "
        "WHEN 'boolean' THEN 'boolean' "
        "WHEN 'number' THEN CASE WHEN scale(v::numeric) = 0 AND abs(v::numeric) < 1e18 THEN 'bigint' "
        "  WHEN abs(v::numeric) < 1e300 THEN 'double precision' ELSE 'text' END "
        "WHEN 'string' THEN CASE WHEN octet_length(v #>> '{{}}') BETWEEN 16 AND 40 "
        "  AND substr(v #>> '{{}}', 5, 1) = '-' AND (v #>> '{{}}') ~ {iso} AND heapsite_is_timestamptz(v #>> '{{}}') "
        "  THEN 'timestamptz' ELSE 'text' END "
        "ELSE 'text' END"
    ).format(iso=sql.Literal(_ISO_TIMESTAMP))


def property_classes(table: sql.Composable) -> sql.Composed:
    """(key, classes[]) for every property key present (not null) in `table`.properties."""
    return sql.SQL(
        "SELECT kv.key, array_agg(DISTINCT {cls}) FROM {table} p "
        "CROSS JOIN LATERAL jsonb_each(p.properties) AS kv(key, v) "
        "WHERE p.properties <> '{{}}'::jsonb AND jsonb_typeof(kv.v) <> 'null' GROUP BY kv.key"
    ).format(cls=value_class(), table=table)


def property_value(key: str, type_: str, source: str = "p") -> sql.Composed:
    """Typed value of property `key` from `source`.properties; the inferred type fits every value.

    Extracted as text first, also for booleans: a JSON null is then SQL NULL on every PostgreSQL
    version (PostgreSQL 15 refuses to cast a jsonb null to boolean).
    """
    expression = sql.SQL("({}.properties ->> {})").format(sql.Identifier(source), sql.Literal(key))
    if type_ == "text":
        return expression
    return sql.SQL("{}::{}").format(expression, sql.SQL(type_))


def typed_select(columns: list[str], properties: list[tuple[str, str, str]], source: sql.Composable) -> sql.Composed:
    """SELECT the built-in columns plus one typed column per (key, column, type) from `source` p."""
    parts = [sql.SQL("p.{}").format(sql.Identifier(name)) for name in columns]
    parts += [
        sql.SQL("{} AS {}").format(property_value(key, type_), sql.Identifier(column))
        for key, column, type_ in properties
    ]
    return sql.SQL("SELECT {} FROM {} p").format(sql.SQL(", ").join(parts), source)


def merge_map(stage: str) -> sql.Composed:
    """stage._merge_map(from_user_id, to_user_id, time, changed): follow merge chains to the last id.

    `changed` is true when any merge on the chain was written at or after %(since)s (null: all).
    """
    return sql.SQL(
        "CREATE UNLOGGED TABLE {table}{no_autovacuum} AS "
        "WITH RECURSIVE chain AS ("
        "  SELECT m.from_user_id, m.to_user_id, m.time, 1 AS depth,"
        "    (%(since)s::xid8 IS NULL OR m.xact_id >= %(since)s::xid8) AS changed"
        "  FROM raw_identity_merges m"
        "  WHERE m.environment_id = %(environment_id)s AND m.xact_id < %(until)s::xid8"
        "  UNION ALL"
        "  SELECT c.from_user_id, m.to_user_id, c.time, c.depth + 1,"
        "    c.changed OR %(since)s::xid8 IS NULL OR m.xact_id >= %(since)s::xid8"
        "  FROM chain c JOIN raw_identity_merges m ON m.environment_id = %(environment_id)s"
        "    AND m.from_user_id = c.to_user_id AND m.xact_id < %(until)s::xid8"
        "  WHERE c.depth < 32 AND m.to_user_id <> c.from_user_id"
        ") "
        "SELECT DISTINCT ON (from_user_id) from_user_id, to_user_id, time, changed "
        "FROM chain ORDER BY from_user_id, depth DESC"
    ).format(table=sql.Identifier(stage, "_merge_map"), no_autovacuum=NO_AUTOVACUUM)


def parts_parent(stage: str, parent: str, table_numbers: list[int], *, logged: bool) -> list[sql.Composed]:
    """DDL of stage.<parent>, LIST-partitioned by table number: one partition <parent><n> per event table."""
    columns = [sql.SQL("tbl int")]
    columns += [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_)) for name, type_, _ in STORED_EVENT_COLUMNS
    ]
    statements = [
        sql.SQL("CREATE TABLE {} ({}) PARTITION BY LIST (tbl)").format(
            sql.Identifier(stage, parent), sql.SQL(", ").join(columns)
        )
    ]
    for number in table_numbers:
        statements.append(
            sql.SQL("CREATE {}TABLE {} PARTITION OF {} FOR VALUES IN ({}){}").format(
                sql.SQL("" if logged else "UNLOGGED "),
                sql.Identifier(stage, f"{parent}{number}"),
                sql.Identifier(stage, parent),
                sql.Literal(number),
                NO_AUTOVACUUM,
            )
        )
    return statements


def _matched_tables(predicates: list[tuple[int, sql.Composable, tuple[str, ...]]]) -> sql.Composed:
    """int[] of the tables an event `e` belongs to, evaluating only the predicates its type can match.

    Predicates are grouped by the event types they declare (`CASE e.type WHEN 'click' THEN ...`),
    so a pageview never evaluates click predicates; those declaring no types go in every branch.
    """

    def array(entries) -> sql.Composed:
        if not entries:
            return sql.SQL("'{}'::int[]")
        cases = sql.SQL(", ").join(
            sql.SQL("CASE WHEN ({}) THEN {} END").format(predicate, sql.Literal(number))
            for number, predicate in entries
        )
        return sql.SQL("array_remove(ARRAY[{}]::int[], NULL)").format(cases)

    untyped = [(number, predicate) for number, predicate, types in predicates if not types]
    types = sorted({type_ for _, _, declared in predicates for type_ in declared})
    if not types:
        return array(untyped)
    branches = [
        sql.SQL("WHEN {} THEN {}").format(
            sql.Literal(type_),
            array(
                [(number, predicate) for number, predicate, declared in predicates if not declared or type_ in declared]
            ),
        )
        for type_ in types
    ]
    return sql.SQL("CASE e.type {} ELSE {} END").format(sql.SQL(" ").join(branches), array(untyped))


# The raw event columns the pass reads (what STORED_EVENT_COLUMNS' expressions refer to as e).
_MATCHED_COLUMNS = sql.SQL(
    "e.id, e.user_id, e.session_id, e.time, e.type, e.domain, e.path, e.query, e.hash, e.title,"
    " e.target_href, e.target_text, nullif(e.properties, '{}'::jsonb) AS properties"
)


def fill_parts(
    stage: str,
    parent: str,
    predicates: list[tuple[int, sql.Composable, tuple[str, ...]]],
    *,
    partition: str,
    lower_bound: bool,
    blocks: tuple[int, int | None] | None = None,
) -> sql.Composed:
    """One pass over the environment's raw events: each event lands in the partition of every table it matches.

    `predicates` are (table number, boolean SQL over raw_events e, event types it can match or ()).
    `partition` is the environment's own partition of raw_events. Events with xact_id in
    [%(since)s, %(until)s) are read (no lower bound for a rebuild); with `blocks` (first, next
    first or None), only those stored in that range of the partition's blocks (Builder.pass_parts).
    """
    where = [sql.SQL("true")]
    if lower_bound:  # new events only: a range of the (environment_id, xact_id) index
        where.append(sql.SQL("e.environment_id = %(environment_id)s AND e.xact_id >= %(since)s::xid8"))
    if blocks is not None:
        first, end = blocks
        where.append(sql.SQL("e.ctid >= {}::tid").format(sql.Literal(f"({first},0)")))
        if end is not None:
            where.append(sql.SQL("e.ctid < {}::tid").format(sql.Literal(f"({end},0)")))
    matched = sql.SQL(
        "SELECT * FROM (SELECT {columns}, e.xact_id, {tables} AS tables FROM {source} e WHERE {where} OFFSET 0)"
        " e WHERE cardinality(e.tables) > 0 AND e.xact_id < %(until)s::xid8"
    ).format(
        columns=_MATCHED_COLUMNS,
        tables=_matched_tables(predicates),
        source=sql.Identifier(partition),
        where=sql.SQL(" AND ").join(where),
    )
    return sql.SQL(
        # The inner OFFSET 0 is a planner fence: the predicates are evaluated exactly once per raw
        # event and never folded into the join (the planner picks bad plans once there are dozens
        # of them); only matching events reach it. A plain subquery rather than a MATERIALIZED
        # CTE, so the matching events stream into the insert instead of spilling to disk. The
        # table numbers are unnested in the select list (a ProjectSet, cheaper than a lateral
        # function scan). A bulk pass: hash join always (a range condition makes the planner
        # expect a few hundred events and probe the merge map's index once per event).
        "SET LOCAL enable_nestloop = off; "
        "INSERT INTO {parts} ({names}) SELECT unnest(e.tables), {select} FROM ({matched}) e "
        "LEFT JOIN {merge_map} m ON m.from_user_id = e.user_id"
    ).format(
        parts=sql.Identifier(stage, parent),
        names=sql.SQL(", ").join(sql.Identifier(name) for name in ["tbl", *STORED_NAMES]),
        select=sql.SQL(", ").join(sql.SQL(expression) for _, _, expression in STORED_EVENT_COLUMNS),
        matched=matched,
        merge_map=sql.Identifier(stage, "_merge_map"),
    )


def rebuild_table(
    stage: str,
    build: str,
    table: str,
    predicate: sql.Composable,
    types: tuple[str, ...],
    *,
    partition: str,
    workers: int,
) -> sql.Composed:
    """One table's stored rows from all history, as build.<table>: a `CREATE TABLE AS` filtering the raw events.

    For a rebuilt definition. One statement that PostgreSQL itself may run in parallel (its
    workers share the scan block by block and evaluate the predicate, the join included; the
    leader writes, by the bulk path of CREATE TABLE AS): measured faster than the partitioned
    pass's block ranges on two connections (bench/RESULTS.md, 2026-12-05), with up to `workers`
    parallel workers. Events with xact_id below %(until)s, of the declared `types` (any when
    empty), matching `predicate`.
    """
    where = sql.SQL("e.xact_id < %(until)s::xid8 AND ({})").format(predicate)
    if types:
        where = sql.SQL("e.type IN ({}) AND ").format(sql.SQL(", ").join(sql.Literal(t) for t in types)) + where
    return sql.SQL(
        "SET LOCAL enable_nestloop = off; SET LOCAL max_parallel_workers_per_gather = {workers}; "
        "CREATE TABLE {table} ({names}){no_autovacuum} AS SELECT {select} "
        "FROM (SELECT {columns} FROM {source} e WHERE {where}) e "
        "LEFT JOIN {merge_map} m ON m.from_user_id = e.user_id"
    ).format(
        workers=sql.Literal(workers),
        table=sql.Identifier(build, table),
        names=sql.SQL(", ").join(sql.Identifier(name) for name in STORED_NAMES),
        no_autovacuum=NO_AUTOVACUUM,
        # Cast to the stored types (raw `type` is a varchar), as the partitions of the pass declare them.
        select=sql.SQL(", ").join(
            sql.SQL("({})::{}").format(sql.SQL(expression), sql.SQL(type_))
            for _, type_, expression in STORED_EVENT_COLUMNS
        ),
        columns=_MATCHED_COLUMNS,
        source=sql.Identifier(partition),
        where=where,
        merge_map=sql.Identifier(stage, "_merge_map"),
    )


def stage_users(stage: str, *, only_changed: bool) -> list[sql.Composed]:
    """stage._users: one row per surviving user id, merged-away users folded into their target.

    Properties of merged users are combined, the target's own values winning over older merges.
    With only_changed, just the users changed by transactions from %(since)s on or touched by a changed merge.
    """
    affected = sql.SQL("")
    if only_changed:
        affected = sql.SQL(
            " AND coalesce(m.to_user_id, u.user_id) IN ("
            "   SELECT coalesce(m2.to_user_id, u2.user_id) FROM raw_users u2"
            "   LEFT JOIN {mm} m2 ON m2.from_user_id = u2.user_id"
            "   WHERE u2.environment_id = %(environment_id)s AND u2.xact_id >= %(since)s::xid8"
            "   UNION SELECT to_user_id FROM {mm} WHERE changed)"
        ).format(mm=sql.Identifier(stage, "_merge_map"))
    source = sql.SQL(
        "CREATE UNLOGGED TABLE {src}{no_autovacuum} AS "
        "SELECT coalesce(m.to_user_id, u.user_id) AS uid, m.to_user_id IS NULL AS is_self, m.time AS merged_at,"
        "  u.identity, u.joindate, u.last_modified, u.properties"
        " FROM raw_users u LEFT JOIN {mm} m ON m.from_user_id = u.user_id"
        " WHERE u.environment_id = %(environment_id)s{affected}"
    ).format(
        src=sql.Identifier(stage, "_users_src"),
        mm=sql.Identifier(stage, "_merge_map"),
        affected=affected,
        no_autovacuum=NO_AUTOVACUUM,
    )
    users = sql.SQL(
        "CREATE UNLOGGED TABLE {users}{no_autovacuum} AS "
        "WITH props AS ("
        "  SELECT src.uid,"
        "    jsonb_object_agg(kv.key, kv.value ORDER BY src.is_self, src.merged_at NULLS LAST) AS properties"
        "  FROM {src} src CROSS JOIN LATERAL jsonb_each(src.properties) kv GROUP BY src.uid"
        ") "
        "SELECT a.user_id, a.identity, props.properties ->> 'handle' AS handle,"
        "  props.properties ->> 'email' AS email, a.joindate, a.last_modified,"
        "  coalesce(props.properties, '{{}}'::jsonb) AS properties "
        "FROM (SELECT src.uid AS user_id,"
        "    coalesce(max(src.identity) FILTER (WHERE src.is_self), max(src.identity)) AS identity,"
        "    min(src.joindate) AS joindate, max(src.last_modified) AS last_modified"
        "  FROM {src} src GROUP BY src.uid) a "
        "LEFT JOIN props ON props.uid = a.user_id"
    ).format(
        users=sql.Identifier(stage, "_users"), src=sql.Identifier(stage, "_users_src"), no_autovacuum=NO_AUTOVACUUM
    )
    return [source, sql.SQL("ANALYZE {}").format(sql.Identifier(stage, "_users_src")), users]


def stage_sessions(stage: str, *, only_changed: bool) -> sql.Composed:
    """stage._sessions: warehouse session rows (user ids merged), all or those changed since the last run."""
    select = ["coalesce(m.to_user_id, s.user_id)" if name == "user_id" else f"s.{name}" for name, _ in SESSION_COLUMNS]
    changed = sql.SQL("")
    if only_changed:
        # Two index reads joined by UNION rather than an OR, which would read every session.
        changed = sql.SQL(
            " AND s.session_id IN ("
            "SELECT c.session_id FROM raw_sessions c"
            " WHERE c.environment_id = %(environment_id)s AND c.xact_id >= %(since)s::xid8 UNION "
            "SELECT c.session_id FROM raw_sessions c WHERE c.environment_id = %(environment_id)s"
            " AND c.user_id IN (SELECT from_user_id FROM {mm} WHERE changed))"
        ).format(mm=sql.Identifier(stage, "_merge_map"))
    return sql.SQL(
        "CREATE UNLOGGED TABLE {sessions}{no_autovacuum} AS SELECT {select}, s.properties "
        "FROM raw_sessions s LEFT JOIN {mm} m ON m.from_user_id = s.user_id "
        "WHERE s.environment_id = %(environment_id)s{changed}"
    ).format(
        sessions=sql.Identifier(stage, "_sessions"),
        no_autovacuum=NO_AUTOVACUUM,
        select=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(name))
            for expr, (name, _) in zip(select, SESSION_COLUMNS, strict=True)
        ),
        mm=sql.Identifier(stage, "_merge_map"),
        changed=changed,
    )


def create_index(schema: str, table: str, column: str, *, unique: bool = False) -> sql.Composed:
    return sql.SQL("CREATE {unique}INDEX {name} ON {table} ({column})").format(
        unique=sql.SQL("UNIQUE " if unique else ""),
        name=sql.Identifier(index_name(table, column)),
        table=sql.Identifier(schema, table),
        column=sql.Identifier(column),
    )


def index_name(table: str, column: str) -> str:
    """<table>_<column>; when that is over 63 bytes, a shortened table name plus a hash of the whole one."""
    name = f"{table}_{column}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    return f"{table.encode()[: 63 - len(column) - 10].decode(errors='ignore')}_{digest}_{column}"


# Indexed in every event table's stored rows (what analysts join and filter by; its view and
# all_events read through them).
EVENT_INDEXED_COLUMNS = ("user_id", "time")


def event_view(
    schema: str, data: str, table: str, builtin: list[str], properties: list[tuple[str, str, str]]
) -> sql.Composed:
    """DDL of the view schema.<table>: the contract's columns over the stored rows data.<table>.

    Session columns come from the warehouse `sessions` (an outer join on its unique session_id,
    which the planner leaves out of queries that use none of them); each property column is its
    (key, column, type) extracted from the stored properties.
    """
    expressions = dict(EVENT_COLUMNS)
    parts = [sql.SQL("{} AS {}").format(sql.SQL(expressions[name]), sql.Identifier(name)) for name in builtin]
    parts += [
        sql.SQL("{} AS {}").format(property_value(key, type_, "e"), sql.Identifier(column))
        for key, column, type_ in properties
    ]
    return sql.SQL("CREATE VIEW {} AS SELECT {} FROM {} e LEFT JOIN {} s ON s.session_id = e.session_id").format(
        sql.Identifier(schema, table),
        sql.SQL(", ").join(parts),
        sql.Identifier(data, table),
        sql.Identifier(schema, "sessions"),
    )


def all_events_view(schema: str, data: str, tables: list[str]) -> sql.Composed:
    """DDL of schema.all_events: the five shared columns of every event table, one UNION ALL branch each.

    It reads the stored rows (data.<table>) directly. event_table_name is a constant per branch, so
    `WHERE event_table_name = 'x'` plans away every other branch, and filters on user_id or time use
    each table's own index.
    """
    branches = [
        sql.SQL("SELECT event_id, user_id, session_id, time, {}::text AS event_table_name FROM {}").format(
            sql.Literal(table), sql.Identifier(data, table)
        )
        for table in tables
    ]
    return sql.SQL("CREATE VIEW {} AS {}").format(
        sql.Identifier(schema, "all_events"), sql.SQL(" UNION ALL ").join(branches)
    )


def column_types() -> sql.SQL:
    """(column, type) of %(schema)s.%(table)s, in column order."""
    return sql.SQL(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"
    )


def upper_bound() -> sql.SQL:
    """(xid8 bound, now): raw rows written by transactions below the bound can no longer appear or change.

    The bound is the oldest transaction still writing in THIS database (its 32-bit backend_xid
    widened to xid8 against the snapshot), or the snapshot's xmax when none is. Transactions of
    other databases on the cluster do not hold it back. Without the right to see other sessions'
    xids (pg_read_all_stats) it falls back to the cluster-wide pg_snapshot_xmin.
    """
    return sql.SQL(
        "WITH snap AS (SELECT pg_current_snapshot() AS s), "
        "bounds AS (SELECT pg_snapshot_xmin(s)::text::numeric AS xmin, pg_snapshot_xmax(s)::text::numeric AS xmax,"
        "  ARRAY(SELECT pg_snapshot_xip(s)::text::numeric) AS xip FROM snap), "
        "writers AS ("
        "  SELECT b.xmax - mod(mod(b.xmax, 4294967296) - a.backend_xid::text::numeric + 4294967296, 4294967296) AS xid"
        "  FROM pg_stat_activity a, bounds b"
        "  WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()"
        "  UNION ALL"
        "  SELECT b.xmax - mod(mod(b.xmax, 4294967296) - p.transaction::text::numeric + 4294967296, 4294967296)"
        "  FROM pg_prepared_xacts p, bounds b WHERE p.database = current_database()"
        ") "
        "SELECT CASE WHEN pg_has_role('pg_read_all_stats', 'USAGE')"
        "  THEN least(b.xmax, (SELECT min(w.xid) FROM writers w WHERE w.xid = ANY(b.xip)))"
        "  ELSE b.xmin END::text, now() "
        "FROM bounds b"
    )
