"""The SQL of the warehouse sync, built with psycopg2.sql (identifiers) and named parameters (values).

Every statement runs inside PostgreSQL: raw rows never pass through Python. The engine
(warehouse/sync/engine.py) decides what to run; this module only knows how to spell it.
"""

import hashlib

from psycopg2 import sql

from warehouse import citus

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

# On Citus (warehouse/citus.py), how a table the sync creates is laid out: distributed by user_id
# (co-located with the raw store), or a reference table (a copy on every node); else a plain table.
DISTRIBUTED = "distributed"
REFERENCE = "reference"


def distribute(schema: str, table: str, layout: str) -> sql.Composed:
    """Make schema.table a Citus table of `layout` (DISTRIBUTED by user_id, or REFERENCE)."""
    relation = sql.SQL("(quote_ident({}) || '.' || quote_ident({}))::regclass").format(
        sql.Literal(schema), sql.Literal(table)
    )
    if layout == REFERENCE:
        return sql.SQL("SELECT create_reference_table({})").format(relation)
    return sql.SQL("SELECT create_distributed_table({}, {}, colocate_with => {})").format(
        relation, sql.Literal(citus.DISTRIBUTION_COLUMN), sql.Literal(citus.COLOCATE_WITH)
    )


def create_table_as(
    schema: str, table: str, query: sql.Composable, *, citus_layout: str | None, unlogged: bool = False
) -> sql.Composed:
    """CREATE [UNLOGGED] TABLE schema.table AS query, with autovacuum off.

    With `citus_layout` (on Citus only), the table is created empty, laid out, then filled by
    INSERT ... SELECT, which runs on the workers (shard by shard, or repartitioned when the rows
    change shard): CREATE TABLE AS would gather every row into a plain table on the coordinator.
    One string either way; its row count is the rows written.
    """
    create = sql.SQL("CREATE {}TABLE {}{} AS ").format(
        sql.SQL("UNLOGGED " if unlogged else ""), sql.Identifier(schema, table), NO_AUTOVACUUM
    )
    if citus_layout is None:
        return create + query
    return sql.SQL("; ").join(
        [
            create + query + sql.SQL(" WITH NO DATA"),
            distribute(schema, table, citus_layout),
            sql.SQL("INSERT INTO {} ").format(sql.Identifier(schema, table)) + query,
        ]
    )


def _identifier_list(names) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def value_class() -> sql.Composable:
    """The narrowest warehouse type of one jsonb property value `v` (inference happens in SQL)."""
    # Numbers double precision cannot hold (PostgreSQL refuses to cast 1e-400 or 1e400 to it, and the
    # raw store's jsonb keeps any) are text. No regex where a cheaper test decides (a regex costs ~1 µs a value): an integer is a number of
    # scale 0 with at most 18 digits (what its text `^-?[0-9]{1,18}$` says), and only a string of
    # an ISO date-time's length, with its `-` after the year, is tried against the pattern.
    return sql.SQL(
        "CASE jsonb_typeof(v) "
        "WHEN 'boolean' THEN 'boolean' "
        "WHEN 'number' THEN CASE WHEN scale(v::numeric) = 0 AND abs(v::numeric) < 1e18 THEN 'bigint' "
        "  WHEN abs(v::numeric) < 1e300 AND (abs(v::numeric) > 1e-300 OR v::numeric = 0) THEN 'double precision'"
        "  ELSE 'text' END "
        "WHEN 'string' THEN CASE WHEN octet_length(v #>> '{{}}') BETWEEN 16 AND 40 "
        "  AND substr(v #>> '{{}}', 5, 1) = '-' AND (v #>> '{{}}') ~ {iso} AND heapsite_is_timestamptz(v #>> '{{}}') "
        "  THEN 'timestamptz' ELSE 'text' END "
        "ELSE 'text' END"
    ).format(iso=sql.Literal(_ISO_TIMESTAMP))


def property_classes(table: sql.Composable) -> sql.Composed:
    """(key, classes[]) for every property key present (not null) in `table`.properties, the most
    used first (rows with a value), then by key: the order in which keys get columns (docs/warehouse.md, "Property columns")."""
    return sql.SQL(
        "SELECT kv.key, array_agg(DISTINCT {cls}) FROM {table} p "
        "CROSS JOIN LATERAL jsonb_each(p.properties) AS kv(key, v) "
        "WHERE p.properties <> '{{}}'::jsonb AND jsonb_typeof(kv.v) <> 'null' GROUP BY kv.key "
        'ORDER BY count(*) DESC, kv.key COLLATE "C"'
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


def typed_select(
    columns: list[str],
    properties: list[tuple[str, str, str]],
    source: sql.Composable,
    unique: tuple[str, ...] = (),
) -> sql.Composed:
    """SELECT the built-in columns plus one typed column per (key, column, type) from `source` p.

    With `unique` columns, one row per value of them (the earliest by `time`): on
    Citus the columns must contain user_id, the distribution column, for the rows to stay on their node.
    """
    parts = [sql.SQL("p.{}").format(sql.Identifier(name)) for name in columns]
    parts += [
        sql.SQL("{} AS {}").format(property_value(key, type_), sql.Identifier(column))
        for key, column, type_ in properties
    ]
    distinct = sql.SQL("")
    order = sql.SQL("")
    if unique:
        keys = sql.SQL(", ").join(sql.SQL("p.{}").format(sql.Identifier(name)) for name in unique)
        distinct = sql.SQL("DISTINCT ON ({}) ").format(keys)
        order = sql.SQL(" ORDER BY {}, p.time").format(keys)
    return sql.SQL("SELECT {}{} FROM {} p{}").format(distinct, sql.SQL(", ").join(parts), source, order)


def merge_map(stage: str, *, citus: bool) -> sql.Composed:
    """stage._merge_map(from_user_id, to_user_id, time, changed): follow merge chains to the last id.

    `changed` is true when any merge on the chain was written at or after %(since)s (null: all).
    A reference table on Citus, as raw_identity_merges is: every node joins it locally.
    """
    query = sql.SQL(
        "WITH RECURSIVE chain AS ("
        "  SELECT m.from_user_id, m.to_user_id, m.time, 1 AS depth,"
        "    (%(since)s::bigint IS NULL OR m.batch >= %(since)s::bigint) AS changed"
        "  FROM raw_identity_merges m"
        "  WHERE m.environment_id = %(environment_id)s AND m.batch < %(until)s::bigint"
        "  UNION ALL"
        "  SELECT c.from_user_id, m.to_user_id, c.time, c.depth + 1,"
        "    c.changed OR %(since)s::bigint IS NULL OR m.batch >= %(since)s::bigint"
        "  FROM chain c JOIN raw_identity_merges m ON m.environment_id = %(environment_id)s"
        "    AND m.from_user_id = c.to_user_id AND m.batch < %(until)s::bigint"
        "  WHERE c.depth < 32 AND m.to_user_id <> c.from_user_id"
        ") "
        "SELECT DISTINCT ON (from_user_id) from_user_id, to_user_id, time, changed "
        "FROM chain ORDER BY from_user_id, depth DESC"
    )
    return create_table_as(stage, "_merge_map", query, citus_layout=REFERENCE if citus else None, unlogged=True)


def parts_parent(
    stage: str, parent: str, table_numbers: list[int], *, logged: bool, distributed: bool
) -> list[sql.Composed]:
    """DDL of stage.<parent>, LIST-partitioned by table number: one partition <parent><n> per event table.

    `distributed` (on Citus): the parent, and with it every partition, is distributed by user_id.
    """
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
    if distributed:
        statements.append(distribute(stage, parent, DISTRIBUTED))
    return statements


# Per-row features a gate (EventTableSpec.gates) can test, as SQL over the raw event `e`.
# path_prefix_<n>: the path through its n-th `/` (definitions.compiler.gates.path_prefix).
GATE_FEATURES = {
    "target_id": "e.target_id",
    "event_name": "e.event_name",
    "target_text": "e.target_text",
    "path": "e.path",
    "target_href": "e.target_href",
    "target_tag": "e.target_tag",
    "path_prefix_2": "split_part(e.path, '/', 1) || '/' || split_part(e.path, '/', 2) || '/'",
    "path_prefix_3": (
        "split_part(e.path, '/', 1) || '/' || split_part(e.path, '/', 2) || '/' || split_part(e.path, '/', 3) || '/'"
    ),
}
# target_class gates dispatch on each of the target's first CLASS_POSITIONS classes; targets with
# more classes evaluate every class-gated predicate of their type.
CLASS_POSITIONS = 4
# Values a dispatch tests one after the other at the bottom of its binary search.
_DISPATCH_LEAF = 3

Predicate = tuple[int, sql.Composable, tuple[str, ...], dict]


class _Text(sql.Composable):
    """A string literal safe inside a statement executed with parameters (its `%` doubled)."""

    def as_string(self, context) -> str:
        return sql.Literal(self._wrapped).as_string(context).replace("%", "%%")


def _tables_array(entries: list[tuple[int, sql.Composable]]) -> sql.Composed:
    """int[] of the numbers whose predicate is true (never NULL)."""
    if not entries:
        return sql.SQL("'{}'::int[]")
    if len(entries) == 1:
        number, predicate = entries[0]
        return sql.SQL("CASE WHEN ({}) THEN ARRAY[{}] ELSE '{{}}'::int[] END").format(predicate, sql.Literal(number))
    cases = sql.SQL(", ").join(
        sql.SQL("CASE WHEN ({}) THEN {} END").format(predicate, sql.Literal(number)) for number, predicate in entries
    )
    return sql.SQL("array_remove(ARRAY[{}]::int[], NULL)").format(cases)


def _dispatch(feature: sql.Composable, by_value: dict[str, list], *, position: int | None = None) -> sql.Composed:
    """int[] (or NULL) of the tables among `by_value`'s entries whose predicate is true, evaluating only
    the entries listed under the row's value of `feature`: a binary search over the values
    (compared byte-wise, COLLATE "C", as Python sorts UTF-8) ending in a few equality tests. With
    `position`, the feature is the target's class at that position, and a class already seen at an
    earlier position is not tested again."""
    values = sorted(by_value, key=lambda value: value.encode())

    def leaf(value: str) -> sql.Composed:
        test = sql.SQL("{} = {}").format(feature, _Text(value))
        if position is not None:
            test += sql.SQL(" AND array_position(e.target_classes, {}) = {}").format(
                _Text(value), sql.Literal(position)
            )
        return sql.SQL("WHEN {} THEN {}").format(test, _tables_array(by_value[value]))

    def search(part: list[str]) -> sql.Composed:
        if len(part) <= _DISPATCH_LEAF:
            return sql.SQL("CASE {} END").format(sql.SQL(" ").join(leaf(value) for value in part))
        middle = len(part) // 2
        return sql.SQL('CASE WHEN {} < {} COLLATE "C" THEN {} ELSE {} END').format(
            feature, _Text(part[middle]), search(part[:middle]), search(part[middle:])
        )

    return search(values)


def _type_tables(entries: list[tuple[int, sql.Composable, tuple[str, tuple[str, ...]] | None]]) -> sql.Composed:
    """int[] of the tables an event of one type belongs to: predicates without a usable gate are
    all evaluated; gated ones only when the event's feature has one of their values."""
    plain: list[tuple[int, sql.Composable]] = []
    gated: dict[str, dict[str, list]] = {}
    for number, predicate, gate in entries:
        feature, values = gate if gate else (None, ())
        usable = feature in GATE_FEATURES or (feature == "target_class" and len(values) == 1)
        if not usable:
            plain.append((number, predicate))
            continue
        for value in values:
            gated.setdefault(feature, {}).setdefault(value, []).append((number, predicate))
    parts = [_tables_array(plain)]
    for feature in sorted(gated):
        if feature == "target_class":
            continue
        parts.append(_dispatch(sql.SQL(GATE_FEATURES[feature]), gated[feature]))
    if "target_class" in gated:
        by_class = gated["target_class"]
        positions = sql.SQL(" || ").join(
            _dispatch(sql.SQL("e.target_classes[{}]").format(sql.Literal(n)), by_class, position=n)
            for n in range(1, CLASS_POSITIONS + 1)
        )
        every = _tables_array([entry for value in sorted(by_class) for entry in by_class[value]])
        parts.append(
            sql.SQL("CASE WHEN cardinality(e.target_classes) <= {} THEN {} ELSE {} END").format(
                sql.Literal(CLASS_POSITIONS), positions, every
            )
        )
    if len(parts) == 1:
        return parts[0]
    # array || NULL is the array: a dispatch that found no value adds nothing.
    return sql.SQL("({})").format(sql.SQL(" || ").join(parts))


def staging_table(stage: str, name: str) -> sql.Composed:
    """DDL of stage.<name>: the pass's rows for several tables in one (unlogged) table, `tbl` their table."""
    columns = [sql.SQL("tbl int")]
    columns += [
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(type_)) for column, type_, _ in STORED_EVENT_COLUMNS
    ]
    return sql.SQL("CREATE UNLOGGED TABLE {} ({}){}").format(
        sql.Identifier(stage, name), sql.SQL(", ").join(columns), NO_AUTOVACUUM
    )


def staged_rows(stage: str, name: str, number: int) -> sql.Composed:
    """Table `number`'s rows in stage.<name> (staging_table), as a subquery of the stored columns."""
    return sql.SQL("(SELECT {} FROM {} WHERE tbl = {})").format(
        sql.SQL(", ").join(sql.Identifier(column) for column in STORED_NAMES),
        sql.Identifier(stage, name),
        sql.Literal(number),
    )


def _matched_tables(predicates: list[Predicate]) -> sql.Composed:
    """int[] of the tables an event `e` belongs to, evaluating only the predicates its type can match
    and, of those with a gate (EventTableSpec.gates), only the ones its features pass.

    Predicates are grouped by the event types they declare (`CASE WHEN e.type = 'click' THEN ...`),
    so a pageview never evaluates click predicates; those declaring no types go in every branch.
    Within a type, gated predicates are reached through a binary search on their feature
    (_dispatch): a click tests the few definitions of its target id, text or page, not hundreds.
    """
    untyped = [(number, predicate, None) for number, predicate, types, _ in predicates if not types]
    types = sorted({type_ for _, _, declared, _ in predicates for type_ in declared})
    if not types:
        return _type_tables(untyped)
    # A searched CASE (WHEN e.type = ...), not `CASE e.type WHEN ...`: Citus folds a predicate that
    # reads no column (e.g. `true`) into a constant before it deparses the query for the shards, and
    # the deparsed simple CASE then compares the type with that boolean.
    branches = [
        sql.SQL("WHEN e.type = {} THEN {}").format(
            sql.Literal(type_),
            _type_tables(
                [
                    (number, predicate, (gates or {}).get(type_))
                    for number, predicate, declared, gates in predicates
                    if not declared or type_ in declared
                ]
            ),
        )
        for type_ in types
    ]
    return sql.SQL("CASE {} ELSE {} END").format(
        sql.SQL(" ").join(branches), _tables_array([(n, p) for n, p, _ in untyped])
    )


# The raw event columns the pass reads (what STORED_EVENT_COLUMNS' expressions refer to as e).
_MATCHED_COLUMNS = sql.SQL(
    "e.id, e.user_id, e.session_id, e.time, e.type, e.domain, e.path, e.query, e.hash, e.title,"
    " e.target_href, e.target_text, nullif(e.properties, '{}'::jsonb) AS properties"
)


def fill_parts(
    stage: str,
    parent: str,
    predicates: list[Predicate],
    *,
    partition: str,
    lower_bound: bool,
    blocks: tuple[int, int | None] | None = None,
    citus: bool = False,
) -> sql.Composed:
    """One pass over the environment's raw events: each event lands in the partition of every table it matches.

    `predicates` are (table number, boolean SQL over raw_events e, event types it can match or (),
    gates {type: (feature, values)} or {}: see EventTableSpec).
    `partition` is the environment's own partition of raw_events. Events with batch in
    [%(since)s, %(until)s) are read (no lower bound for a rebuild); with `blocks` (first, next
    first or None), only those stored in that range of the partition's blocks (Builder.pass_parts).
    On Citus, without the planner fence (see below), which it cannot push down to the shards.
    """
    where = [sql.SQL("true")]
    if lower_bound:  # new events only: a range of the (environment_id, batch) index
        where.append(sql.SQL("e.environment_id = %(environment_id)s AND e.batch >= %(since)s::bigint"))
    if blocks is not None:
        first, end = blocks
        where.append(sql.SQL("e.ctid >= {}::tid").format(sql.Literal(f"({first},0)")))
        if end is not None:
            where.append(sql.SQL("e.ctid < {}::tid").format(sql.Literal(f"({end},0)")))
    if citus:
        # Every shard runs these (in parallel), without the fence (Citus would gather the fenced
        # subquery's rows on the coordinator): the predicates are evaluated once per raw event, in
        # the select list, and the unnest drops the events that match nothing (see _by_merge).
        where.append(sql.SQL("e.batch < %(until)s::bigint"))
        matched = sql.SQL("SELECT {columns}, {tables} AS tables FROM {source} e WHERE {where}").format(
            columns=_MATCHED_COLUMNS,
            tables=_matched_tables(predicates),
            source=sql.Identifier(partition),
            where=sql.SQL(" AND ").join(where),
        )
        inserts = [
            sql.SQL("INSERT INTO {parts} ({names}) SELECT unnest(e.tables), {select} FROM ({matched}) e {join}").format(
                parts=sql.Identifier(stage, parent),
                names=sql.SQL(", ").join(sql.Identifier(name) for name in ["tbl", *STORED_NAMES]),
                select=select,
                matched=matched,
                join=join,
            )
            for select, join in _by_merge(stage)
        ]
        return sql.SQL("SET LOCAL enable_nestloop = off; ") + sql.SQL("; ").join(inserts)
    matched = sql.SQL(
        "SELECT * FROM (SELECT {columns}, e.batch, {tables} AS tables FROM {source} e WHERE {where} OFFSET 0)"
        " e WHERE cardinality(e.tables) > 0 AND e.batch < %(until)s::bigint"
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
        select=_stored_select(),
        matched=matched,
        merge_map=sql.Identifier(stage, "_merge_map"),
    )


def _stored_select(*, user_id: str | None = None, cast: bool = False) -> sql.Composed:
    """STORED_EVENT_COLUMNS' expressions over `e` and `m`, user_id's replaced by `user_id` if given;
    with `cast`, each cast to its stored type and named."""
    columns = []
    for name, type_, expression in STORED_EVENT_COLUMNS:
        column = sql.SQL(user_id if name == "user_id" and user_id else expression)
        if cast:
            column = sql.SQL("({})::{} AS {}").format(column, sql.SQL(type_), sql.Identifier(name))
        columns.append(column)
    return sql.SQL(", ").join(columns)


def _by_merge(stage: str, *, cast: bool = False) -> list[tuple[sql.Composed, sql.Composed]]:
    """(select list of STORED_EVENT_COLUMNS, join) for the raw events `e` of users not merged, then merged.

    On Citus a row is stored on its (merged) user's node. Rows of users not merged stay where their
    raw event is: with user_id taken as is, Citus runs the INSERT ... SELECT on each shard in place.
    Only merged users' rows move to another shard, and only they go through Citus's repartitioning.
    """
    merge_map = sql.Identifier(stage, "_merge_map")
    return [
        (
            _stored_select(user_id="e.user_id", cast=cast),
            sql.SQL("WHERE NOT EXISTS (SELECT 1 FROM {} m WHERE m.from_user_id = e.user_id)").format(merge_map),
        ),
        (
            _stored_select(user_id="m.to_user_id", cast=cast),
            sql.SQL("JOIN {} m ON m.from_user_id = e.user_id").format(merge_map),
        ),
    ]


def rebuild_table(
    stage: str,
    build: str,
    table: str,
    predicate: sql.Composable,
    types: tuple[str, ...],
    *,
    partition: str,
    workers: int,
    citus: bool = False,
) -> sql.Composed:
    """One table's stored rows from all history, as build.<table>: a `CREATE TABLE AS` filtering the raw events.

    For a rebuilt definition. One statement that PostgreSQL itself may run in parallel (its
    workers share the scan block by block and evaluate the predicate, the join included; the
    leader writes, by the bulk path of CREATE TABLE AS): measured faster than the partitioned
    pass's block ranges on two connections (bench/RESULTS.md, 2026-12-05), with up to `workers`
    parallel workers. Events with batch below %(until)s, of the declared `types` (any when
    empty), matching `predicate`. On Citus, a table distributed by user_id that every shard of
    the raw events fills (create_table_as), merged users' rows apart (_by_merge).
    """
    where = sql.SQL("e.batch < %(until)s::bigint AND ({})").format(predicate)
    if types:
        where = sql.SQL("e.type IN ({}) AND ").format(sql.SQL(", ").join(sql.Literal(t) for t in types)) + where
    source = sql.SQL("(SELECT {columns} FROM {source} e WHERE {where}) e").format(
        columns=_MATCHED_COLUMNS, source=sql.Identifier(partition), where=where
    )
    if citus:
        (unmerged, not_merged), (merged, join) = _by_merge(stage, cast=True)
        create = sql.SQL("{}; INSERT INTO {} SELECT {} FROM {} {}").format(
            create_table_as(
                build,
                table,
                sql.SQL("SELECT {} FROM {} {}").format(unmerged, source, not_merged),
                citus_layout=DISTRIBUTED,
            ),
            sql.Identifier(build, table),
            merged,
            source,
            join,
        )
    else:
        query = sql.SQL("SELECT {select} FROM {source} LEFT JOIN {merge_map} m ON m.from_user_id = e.user_id").format(
            # Cast to the stored types (raw `type` is a varchar), as the partitions of the pass declare them.
            select=_stored_select(cast=True),
            source=source,
            merge_map=sql.Identifier(stage, "_merge_map"),
        )
        create = create_table_as(build, table, query, citus_layout=None)
    return sql.SQL(
        "SET LOCAL enable_nestloop = off; SET LOCAL max_parallel_workers_per_gather = {workers}; {create}"
    ).format(workers=sql.Literal(workers), create=create)


def probe_predicate(
    partition: str, predicate: sql.Composable, types: tuple[str, ...], *, lower_bound: bool
) -> sql.Composed:
    """Evaluate one table's predicate on the raw events a pass evaluates it on (to find the one that fails).

    The events of the declared `types` in the environment's partition, from %(since)s on when
    `lower_bound` (an incremental pass); the pass checks the upper bound only after matching.
    """
    where = [sql.SQL("e.environment_id = %(environment_id)s AND e.batch >= %(since)s::bigint")] if lower_bound else []
    if types:
        where.append(sql.SQL("e.type IN ({})").format(sql.SQL(", ").join(sql.Literal(t) for t in types)))
    where.append(sql.SQL("({})").format(predicate))
    return sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} e WHERE {} OFFSET 0) e").format(
        sql.Identifier(partition), sql.SQL(" AND ").join(where)
    )


def stage_users(stage: str, *, only_changed: bool, distributed: bool) -> list[sql.Composed]:
    """stage._users: one row per surviving user id, merged-away users folded into their target.

    Properties of merged users are combined, the target's own values winning over older merges.
    With only_changed, just the users written by batches from %(since)s on or touched by a changed merge.
    `distributed` (on Citus): both tables are distributed by the surviving user id.
    """
    layout = DISTRIBUTED if distributed else None
    affected = sql.SQL("")
    if only_changed:
        affected = sql.SQL(
            " AND coalesce(m.to_user_id, u.user_id) IN ("
            "   SELECT coalesce(m2.to_user_id, u2.user_id) FROM raw_users u2"
            "   LEFT JOIN {mm} m2 ON m2.from_user_id = u2.user_id"
            "   WHERE u2.environment_id = %(environment_id)s AND u2.batch >= %(since)s::bigint"
            "   UNION SELECT to_user_id FROM {mm} WHERE changed)"
        ).format(mm=sql.Identifier(stage, "_merge_map"))
    source = sql.SQL(
        "SELECT coalesce(m.to_user_id, u.user_id) AS user_id, m.to_user_id IS NULL AS is_self, m.time AS merged_at,"
        "  u.identity, u.joindate, u.last_modified, u.properties"
        " FROM raw_users u LEFT JOIN {mm} m ON m.from_user_id = u.user_id"
        " WHERE u.environment_id = %(environment_id)s{affected}"
    ).format(mm=sql.Identifier(stage, "_merge_map"), affected=affected)
    users = sql.SQL(
        "WITH props AS ("
        "  SELECT src.user_id,"
        "    jsonb_object_agg(kv.key, kv.value ORDER BY src.is_self, src.merged_at NULLS LAST) AS properties"
        "  FROM {src} src CROSS JOIN LATERAL jsonb_each(src.properties) kv GROUP BY src.user_id"
        ") "
        "SELECT a.user_id, a.identity, props.properties ->> 'handle' AS handle,"
        "  props.properties ->> 'email' AS email, a.joindate, a.last_modified,"
        "  coalesce(props.properties, '{{}}'::jsonb) AS properties "
        "FROM (SELECT src.user_id,"
        "    coalesce(max(src.identity) FILTER (WHERE src.is_self), max(src.identity)) AS identity,"
        "    min(src.joindate) AS joindate, max(src.last_modified) AS last_modified"
        "  FROM {src} src GROUP BY src.user_id) a "
        "LEFT JOIN props ON props.user_id = a.user_id"
    ).format(src=sql.Identifier(stage, "_users_src"))
    return [
        create_table_as(stage, "_users_src", source, citus_layout=layout, unlogged=True),
        sql.SQL("ANALYZE {}").format(sql.Identifier(stage, "_users_src")),
        create_table_as(stage, "_users", users, citus_layout=layout, unlogged=True),
    ]


def stage_sessions(stage: str, *, only_changed: bool, distributed: bool) -> sql.Composed:
    """stage._sessions: warehouse session rows (user ids merged), all or those changed since the last run.

    All the raw rows of a changed session id are staged (the apply replaces sessions by id). Two raw
    sessions with one id whose users merge into one become one row when typed (SESSION_UNIQUE).
    `distributed` (on Citus): distributed by the merged user id.
    """
    select = ["coalesce(m.to_user_id, s.user_id)" if name == "user_id" else f"s.{name}" for name, _ in SESSION_COLUMNS]
    changed = sql.SQL("")
    if only_changed:
        # Two index reads joined by UNION rather than an OR, which would read every session.
        changed = sql.SQL(
            " AND s.session_id IN ("
            "SELECT c.session_id FROM raw_sessions c"
            " WHERE c.environment_id = %(environment_id)s AND c.batch >= %(since)s::bigint UNION "
            "SELECT c.session_id FROM raw_sessions c WHERE c.environment_id = %(environment_id)s"
            " AND c.user_id IN (SELECT from_user_id FROM {mm} WHERE changed))"
        ).format(mm=sql.Identifier(stage, "_merge_map"))
    query = sql.SQL(
        "SELECT {select}, s.properties "
        "FROM raw_sessions s LEFT JOIN {mm} m ON m.from_user_id = s.user_id "
        "WHERE s.environment_id = %(environment_id)s{changed}"
    ).format(
        select=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(name))
            for expr, (name, _) in zip(select, SESSION_COLUMNS, strict=True)
        ),
        mm=sql.Identifier(stage, "_merge_map"),
        changed=changed,
    )
    return create_table_as(stage, "_sessions", query, citus_layout=DISTRIBUTED if distributed else None, unlogged=True)


# The warehouse `sessions` key: a session is its user's (raw sessions are keyed by both, and on
# Citus a unique key must contain user_id). Typed rows keep one row per key (typed_select).
SESSION_UNIQUE = ("session_id", "user_id")


def create_index(
    schema: str,
    table: str,
    column: str,
    *,
    unique: bool = False,
    also: tuple[str, ...] = (),
    if_not_exists: bool = False,
) -> sql.Composed:
    """CREATE INDEX <table>_<column> on (column, *also)."""
    return sql.SQL("CREATE {unique}INDEX {maybe}{name} ON {table} ({columns})").format(
        unique=sql.SQL("UNIQUE " if unique else ""),
        maybe=sql.SQL("IF NOT EXISTS " if if_not_exists else ""),
        name=sql.Identifier(index_name(table, column)),
        table=sql.Identifier(schema, table),
        columns=_identifier_list([column, *also]),
    )


def index_name(table: str, column: str) -> str:
    """<table>_<column>; when that is over 63 bytes, a shortened table name plus a hash of the whole one."""
    name = f"{table}_{column}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    return f"{table.encode()[: 63 - len(column) - 10].decode(errors='ignore')}_{digest}_{column}"


# Indexed in every event table's stored rows of SYNC_INDEX_MIN_ROWS rows or more
# (what analysts join and filter by; its view and all_events read through them).
EVENT_INDEXED_COLUMNS = ("user_id", "time")


def event_view(
    schema: str, data: str, table: str, builtin: list[str], properties: list[tuple[str, str, str]]
) -> sql.Composed:
    """DDL of the view schema.<table>: the contract's columns over the stored rows data.<table>.

    Session columns come from the warehouse `sessions` (an outer join on its unique (session_id,
    user_id), which the planner leaves out of queries that use none of them; on Citus the join on
    the distribution column stays on each node); each property column is its (key, column, type)
    extracted from the stored properties.
    """
    expressions = dict(EVENT_COLUMNS)
    parts = [sql.SQL("{} AS {}").format(sql.SQL(expressions[name]), sql.Identifier(name)) for name in builtin]
    parts += [
        sql.SQL("{} AS {}").format(property_value(key, type_, "e"), sql.Identifier(column))
        for key, column, type_ in properties
    ]
    return sql.SQL(
        "CREATE VIEW {} AS SELECT {} FROM {} e LEFT JOIN {} s ON s.session_id = e.session_id AND s.user_id = e.user_id"
    ).format(
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


# The advisory locks of heapsite_raw_batch() (migration raw_store_batches_and_citus): keys
# BATCH_LOCKS + n as pg_locks shows a bigint key (classid: its upper 32 bits, objid: its lower, objsubid 1).
BATCH_LOCK_CLASSID = 0x48530000


def raw_batches_held() -> sql.Composed:
    """(transaction, batch) of every raw-store writer's lock in this database, but this session's.

    batch 0 is the gate a writer holds from before it takes its number; n > 0 marks batch n in
    flight. Transactions are told apart by virtual transaction id (a pooled connection runs many).
    """
    return sql.SQL(
        "SELECT l.virtualtransaction, ((l.classid::bigint - {base}) << 32) + l.objid::bigint FROM pg_locks l "
        "WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid::bigint BETWEEN {base} AND {last} "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.pid IS DISTINCT FROM pg_backend_pid()"
    ).format(base=sql.Literal(BATCH_LOCK_CLASSID), last=sql.Literal(BATCH_LOCK_CLASSID + 0xFFFF))
