"""Building warehouse tables under temporary names, entirely inside PostgreSQL.

Intermediate tables go to a private work schema (UNLOGGED), finished tables to a private build
schema; the swap (warehouse/sync/engine.py) moves users, sessions and user_migrations into the
environment's schema and the event tables' stored rows into its private data schema, under the
views the environment's schema shows. The work and build schemas are dropped and re-created at
the start of every run, so a killed worker leaves nothing that matters behind.
"""

import copy
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from psycopg2 import sql

from warehouse.citus import citus_active
from warehouse.models.raw import raw_events_partition
from warehouse.naming import reserved_words, unique_identifier
from warehouse.sql import sync as q
from warehouse.sync.budget import StatementOverBudget, analyze_stale, over_budget, raw_tables, statement_budget_ms
from warehouse.sync.failures import TablesFailed, connection_lost, error_message
from warehouse.sync.parallel import Connections
from warehouse.sync.progress import Progress, checkpoint
from warehouse.sync.tables import (
    SESSION_BUILTIN_COLUMNS,
    SESSIONS_KEY,
    USER_BUILTIN_COLUMNS,
    USERS_KEY,
    EventTable,
    sync_private_schema,
)

logger = logging.getLogger(__name__)

# EVENT_TABLE_STATISTICS: unless settings.SYNC_ANALYZE_EVENT_TABLES, rebuilt event tables are
# not ANALYZEd by the sync (users and sessions, small, always are). Their row and
# page counts are exact as soon as they are swapped in (CREATE INDEX records them), so analysts'
# plans get the sizes right at once; the column statistics (distinct values, common values,
# histograms) come from autovacuum, which analyzes a table without statistics on its next round
# (autovacuum_naptime, 1 minute by default). Analyzing ~20 tables cost 1.5-2 s of a 1M-event full
# sync. Where autovacuum is off, set SYNC_ANALYZE_EVENT_TABLES.


# Sampled events of an environment below which its pass over raw events is not split (Builder.pass_parts).
_MIN_SAMPLE_TO_SPLIT = 200
# Parts of the pass per build connection: the cuts come from a sample, so parts are only roughly
# even; with two per connection, one that finishes early takes the next.
_PARTS_PER_CONNECTION = 2
# Catalog statements sent together (Builder.execute_batched): few enough that the locks one batch
# holds to its commit stay far below max_locks_per_transaction.
_DDL_BATCH = 200
# Stored rows below this size get both their indexes in one job (Builder.event_tables).
_SMALL_TABLE_BYTES = 8 << 20


# PostgreSQL limits the property columns stay inside, whatever the data (docs/warehouse.md,
# "Property columns"). A view (an event table) selects at most 1664 columns. A stored row (users,
# sessions) must fit in an 8 kB page: at most 8160 bytes, of which the tuple header with the null
# bitmap of up to 1600 columns takes 224; a column takes at most 24 bytes whatever its value (a
# varlena over 24 bytes is compressed or moved out of line behind an 18-byte pointer; an 8-byte
# value with its alignment padding takes 15).
_VIEW_COLUMNS = 1664
_ROW_PAYLOAD_BYTES = 8160 - 224
_COLUMN_WORST_BYTES = 24


def property_column_limit(builtin: list[str], *, stored_row: bool) -> int:
    """How many property columns a table with these built-in columns gets: SYNC_MAX_PROPERTY_COLUMNS,
    within what a view (event tables) or a stored row (users, sessions) can hold."""
    ceiling = _ROW_PAYLOAD_BYTES // _COLUMN_WORST_BYTES if stored_row else _VIEW_COLUMNS
    return max(0, min(settings.SYNC_MAX_PROPERTY_COLUMNS, ceiling - len(builtin)))


def columns_left_out(keys: list[str], limit: int) -> dict:
    """What a table records about the property keys that got no column (at most 100 named, the most used first)."""
    shown = keys[:_OMITTED_SHOWN]
    return {"count": len(keys), "keys": shown, "limit": limit} if keys else {}


def omitted_merge(previous: dict, keys: list[str], limit: int) -> dict:
    """`previous` (columns_left_out) plus keys an incremental run left out ("count" stops being exact past 100 keys)."""
    known = set(previous.get("keys", []))
    fresh = [key for key in keys if key not in known]
    if not fresh:
        return previous
    count = previous.get("count", 0) + len(fresh)
    return {"count": count, "keys": (previous.get("keys", []) + fresh)[:_OMITTED_SHOWN], "limit": limit}


_OMITTED_SHOWN = 100


def column_names_for(keys, reserved: set[str], kept: dict | None = None) -> dict[str, str]:
    """Property key -> column name by the shared naming rules (warehouse/naming.py), keys in sorted order.

    A key in `kept` ({key: [column, type]}, the table's columns before this build) keeps its
    column's name: a rebuild never renames a column, whatever the naming rules were then.
    """
    names = {key: column for key, (column, _) in (kept or {}).items() if key in keys}
    taken = set(names.values())
    for key in sorted(keys):
        if key not in names:
            names[key] = unique_identifier(key, taken=taken, reserved=reserved, empty="property")
    return {key: names[key] for key in sorted(keys)}


def widen(classes) -> str:
    """The narrowest type every class fits: bigint -> double precision -> text; mixed kinds -> text."""
    kinds = set(classes)
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {"bigint", "double precision"}:
        return "double precision"
    return "text"


@dataclass
class BuiltResult:
    rows: int
    ms: int
    columns: dict  # {property key: [column, type]}
    omitted: dict = field(default_factory=dict)  # property keys without a column (columns_left_out)


@dataclass
class Staged:
    """What a pass over the raw events staged (Builder.event_parts)."""

    rows: dict[int, int]  # {table number: rows in its partition}
    types: dict[int, dict[str, str]]  # {table number: {property key: type}} (keys seen only)
    side: dict  # {name: result} of the work run alongside the pass
    partitioned: bool = True  # rows in partitions of work._parts (else already build.<table name>)


class Builder:
    def __init__(self, *, cursor, environment_id: int, progress: Progress) -> None:
        self.cursor = cursor
        self.environment_id = environment_id
        self.work = sync_private_schema("work", environment_id)
        self.build = sync_private_schema("build", environment_id)
        self.data = sync_private_schema("data", environment_id)
        # What a full sync's swap replaced, dropped after its commit (and by the next run, should a worker die first).
        self.replaced = sync_private_schema("replaced", environment_id)
        self.progress = progress
        self.connections: Connections | None = None
        # {table key: its property columns before this run}: rebuilt tables keep their columns' names.
        self.kept_columns: dict[str, dict] = {}
        self.budget_ms = settings.SYNC_STATEMENT_TIMEOUT_MS
        # On Citus the sync's tables are distributed (or reference) tables: warehouse/citus.py. What
        # an incremental run stages (new events, changed users and sessions) stays on the
        # coordinator: it is little, and making distributed tables of it would cost more than
        # bringing it there (a partitioned table per event table; bench/citus.py).
        self.citus = citus_active()

    def on(self, cursor) -> "Builder":
        """This builder with its statements sent to `cursor` (work run on one of self.connections)."""
        clone = copy.copy(self)
        clone.cursor = cursor
        return clone

    def execute(self, statement: sql.Composable, params: dict | None = None) -> int:
        """Run one build statement; over its time budget, ANALYZE the raw tables and try once more."""
        started = time.monotonic()
        try:
            self.cursor.execute(statement, params or {})
        except Exception as error:
            if not over_budget(error, ran_ms=(time.monotonic() - started) * 1000, budget_ms=self.budget_ms):
                raise
            text = statement.as_string(self.cursor.connection)
            logger.warning(
                "sync env %s: a statement went over its %g s budget; analyzing the raw tables and trying again: %s",
                self.environment_id,
                self.budget_ms / 1000,
                text[:200],
            )
            analyze_stale(self.cursor, raw_tables(self.environment_id), force=True)
            retried = time.monotonic()
            try:
                self.cursor.execute(statement, params or {})
            except Exception as again:
                if not over_budget(again, ran_ms=(time.monotonic() - retried) * 1000, budget_ms=self.budget_ms):
                    raise
                raise StatementOverBudget(
                    f"a statement went over its time budget of {self.budget_ms / 1000:g} s twice (the second time"
                    f" on fresh statistics): {text[:300]}"
                ) from again
        elapsed = time.monotonic() - started
        if elapsed > 0.5:
            logger.info(
                "sync env %s: %.2fs, %s rows: %s",
                self.environment_id,
                elapsed,
                self.cursor.rowcount,
                statement.as_string(self.cursor.connection)[:120],
            )
        return self.cursor.rowcount

    def reset(self) -> None:
        if self.connections is not None:  # a build started again without the tables that failed
            self.connections.close()
        self.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.replaced)))
        for schema in (self.work, self.build):
            self.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            self.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.cursor.execute("SHOW TimeZone")
        time_zone = self.cursor.fetchone()[0]
        self.budget_ms = statement_budget_ms(self.cursor, raw_tables(self.environment_id))
        logger.info("sync env %s: each statement's time budget is %g s", self.environment_id, self.budget_ms / 1000)

        def configure(cursor) -> None:
            cursor.execute(sql.SQL("SET work_mem = {}").format(sql.Literal(settings.SYNC_WORK_MEM)))
            cursor.execute(
                sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(settings.SYNC_MAINTENANCE_WORK_MEM))
            )
            # JIT compiles the wide CASE/jsonb expressions for seconds per statement and gains nothing here.
            cursor.execute("SET jit = off")
            # Fresh tables get quick statistics (a smaller sample); autovacuum refines them later.
            cursor.execute("SET default_statistics_target = 30")
            # A killed worker's backends stop within a second instead of finishing their statement.
            cursor.execute("SET client_connection_check_interval = 1000")
            cursor.execute(sql.SQL("SET TimeZone = {}").format(sql.Literal(time_zone)))
            # No statement runs unbounded (warehouse/sync/budget.py).
            cursor.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(self.budget_ms)))

        def configure_build_connection(cursor) -> None:
            configure(cursor)
            # Build connections only write the private schemas, which every run re-creates: their
            # commits need not wait for the WAL to reach disk. The apply transaction, on the
            # worker's own connection with synchronous commits, flushes the WAL up to its commit
            # record, so what it swaps in is durable once it returns.
            cursor.execute("SET synchronous_commit = off")

        configure(self.cursor)
        # Column names depend on the server's reserved words: read them here, on the worker's own
        # connection, not first on a build thread (whose Django connection nobody would close).
        reserved_words()
        self.connections = Connections(
            cursor=self.cursor, size=settings.SYNC_PARALLELISM, setup=configure_build_connection
        )

    def drop_private_schemas(self) -> None:
        if self.connections is not None:
            self.connections.close()
            self.connections = None
        for schema in (self.replaced, self.work, self.build):
            self.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        self.execute(sql.SQL("RESET work_mem"))
        self.execute(sql.SQL("RESET jit"))
        self.execute(sql.SQL("RESET maintenance_work_mem"))
        self.execute(sql.SQL("RESET default_statistics_target"))
        self.execute(sql.SQL("RESET client_connection_check_interval"))
        self.execute(sql.SQL("RESET statement_timeout"))

    def merge_map(self, *, since: str | None, until: str) -> None:
        self.execute(
            q.merge_map(self.work, citus=self.citus),
            {"environment_id": self.environment_id, "since": since, "until": until},
        )
        self.execute(sql.SQL("CREATE INDEX ON {} (from_user_id)").format(sql.Identifier(self.work, "_merge_map")))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_merge_map")))

    def layout(self, layout: str) -> str | None:
        """A Citus layout (q.DISTRIBUTED, q.REFERENCE) for q.create_table_as on Citus; None elsewhere."""
        return layout if self.citus else None

    def infer(self, schema: str, table: str | sql.Composable) -> dict[str, str]:
        """{property key: type} of schema.table's properties (`table` may be a subquery: schema is then unused)."""
        source = sql.Identifier(schema, table) if isinstance(table, str) else table
        self.cursor.execute(q.property_classes(source))
        return {key: widen(classes) for key, classes in self.cursor.fetchall()}

    def property_columns(
        self, types: dict[str, str], reserved: list[str], table_key: str, *, stored_row: bool = False
    ) -> tuple[dict[str, list[str]], dict]:
        """({key: [column, type]}, columns_left_out) for the keys of `types` (most used first) that fit
        the limit; a key the table had before keeps its column's name."""
        limit = property_column_limit(reserved, stored_row=stored_row)
        keys = list(types)
        kept = keys[:limit]
        names = column_names_for(kept, set(reserved), self.kept_columns.get(table_key))
        return {key: [names[key], types[key]] for key in sorted(kept)}, columns_left_out(keys[limit:], limit)

    def typed_table(
        self,
        *,
        source: str,
        name: str,
        builtin: list[str],
        columns: dict,
        indexes: list[str],
        unique: tuple[str, ...],
        dedupe: bool = False,
    ) -> int:
        """CREATE build.<name> AS the built-in columns plus typed property columns of work.<source>, ANALYZEd.

        `unique` columns get a unique index; with `dedupe`, rows with the same values are kept once.
        """
        properties = [(key, column, type_) for key, (column, type_) in columns.items()]
        select = q.typed_select(builtin, properties, sql.Identifier(self.work, source), unique if dedupe else ())
        rows = self.execute(q.create_table_as(self.build, name, select, citus_layout=self.layout(q.DISTRIBUTED)))
        if unique:
            self.execute(q.create_index(self.build, name, unique[0], unique=True, also=unique[1:]))
        for column in indexes:
            self.execute(q.create_index(self.build, name, column))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.build, name)))
        return rows

    def any_events(self, *, since: str, until: str) -> bool:
        """Whether any raw event of the environment was written by a batch in [since, until)."""
        self.cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM raw_events e WHERE e.environment_id = %(environment_id)s"
            " AND e.batch >= %(since)s::bigint AND e.batch < %(until)s::bigint)",
            {"environment_id": self.environment_id, "since": since, "until": until},
        )
        return self.cursor.fetchone()[0]

    def event_parts(
        self, tables: list[EventTable], *, parent: str, since: str | None, until: str, alongside: dict | None = None
    ) -> Staged:
        """One pass over the raw events filling one partition per table (predicates all evaluated together).

        Partitions of `_parts` are logged: each becomes a finished table's stored rows (detached,
        never copied); `_inc` (one table, rows by table number) only feeds appends. One table from all history (a rebuilt
        definition), or several an index finds the rows of (EventTable.selective), are built by a
        statement each instead, straight into the build schema (q.rebuild_table). `alongside`:
        {name: work(builder)} independent of the pass (users,
        sessions), run side by side with it on the build connections; their results are returned
        by name, with each table's rows and property types, read from what the pass wrote once
        it is done (Builder.survey).
        """
        params = {"environment_id": self.environment_id, "since": since, "until": until}
        for table in tables:
            params.update(table.params)
        partition = raw_events_partition(self.environment_id)
        # One table, or only tables an index finds the rows of (API events first seen in an
        # incremental run): a statement each, costing its own rows rather than all history.
        rebuilt_alone = since is None and (len(tables) == 1 or all(table.selective for table in tables))
        if rebuilt_alone:
            # As many processes as the build has connections: this one and its parallel workers.
            workers = max(0, self.connections.size - 1) if len(tables) == 1 else 0
            parts = [
                q.rebuild_table(
                    self.work,
                    self.build,
                    table.table_name,
                    table.predicate,
                    table.event_types,
                    partition=partition,
                    workers=workers,
                    citus=self.citus,
                )
                for table in tables
            ]
            written = {table.number: (self.build, table.table_name) for table in tables}
            ddl = []
        else:
            numbers = [table.number for table in tables]
            if parent == "_parts":  # partitions, each to become a table's stored rows
                ddl = q.parts_parent(self.work, parent, numbers, logged=True, distributed=self.citus)
            else:  # new rows to append: one table, read by table number (no DDL per table)
                ddl = [q.staging_table(self.work, parent)]
            if self.citus or not alongside:
                self.execute_batched(ddl)
                ddl = []
            predicates = [(table.number, table.predicate, table.event_types, table.gates) for table in tables]
            if since is not None:  # new events only: one statement over the (environment, batch) index
                parts = [
                    q.fill_parts(self.work, parent, predicates, partition=partition, lower_bound=True, citus=self.citus)
                ]
            else:  # all history: in parts, one statement per part, side by side
                count = self.connections.size * _PARTS_PER_CONNECTION if self.connections.size > 1 else 1
                if self.citus:  # one statement, which Citus runs on every shard at once
                    count = 1
                parts = [
                    q.fill_parts(
                        self.work, parent, predicates, partition=partition, lower_bound=False, citus=self.citus, **part
                    )
                    for part in self.pass_parts(count)
                ]
            if parent == "_parts":
                written = {number: (self.work, f"{parent}{number}") for number in numbers}
            else:
                written = {number: (self.work, q.staged_rows(self.work, parent, number)) for number in numbers}
        self.progress.begin("matching raw events")
        # The short side tasks first: the parts' uneven ends then overlap nothing else. The parts'
        # tables (a partition per table: 1.5 s of catalog work at 500 tables) are created meanwhile,
        # a job of their own on one connection while the side tasks use the others; the parts wait
        # for them. Not on Citus, where both would distribute tables at once.
        jobs = [("ddl", ddl)] if ddl else []
        jobs += [("side", name) for name in alongside or {}] + [("part", statement) for statement in parts]
        created, ddl_failed = threading.Event(), []

        def run(cursor, job):
            kind, what = job
            builder = self.on(cursor)
            if kind == "ddl":
                try:
                    return builder.execute_batched(what)
                except BaseException:
                    ddl_failed.append(True)
                    raise
                finally:
                    created.set()
            if kind == "side":
                return alongside[what](builder)
            if ddl:
                created.wait()
                if ddl_failed:  # raised as the ddl job's error
                    return None
            return builder.execute(what, params)

        staged = Staged(rows={}, types={}, side={}, partitioned=not rebuilt_alone)
        results, failed = self._map_isolated(run, jobs)
        for (kind, _), error in failed:
            if kind == "ddl":
                raise error
        for (kind, what), result in results:
            if kind == "side":
                staged.side[what] = result
        # A side task failing is its table's failure; a part failing is one of the predicates'.
        errors = {f"builtin:{what}": error for (kind, what), error in failed if kind == "side"}
        part_errors = [error for (kind, _), error in failed if kind == "part"]
        if part_errors:
            culprits = {tables[0].key: part_errors[0]} if len(tables) == 1 else self.diagnose(tables, params, since)
            if not culprits:
                raise part_errors[0]
            errors.update(culprits)
        if errors:
            raise TablesFailed({key: error_message(error) for key, error in errors.items()})
        if not rebuilt_alone and parent != "_parts":  # the appends read it table by table
            self.execute(sql.SQL("CREATE INDEX ON {} (tbl)").format(sql.Identifier(self.work, parent)))
            self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, parent)))
        numbers = {table.number: table.key for table in tables}
        if staged.partitioned:
            # One read of the parent for every partition's counts (hundreds of tables, one statement);
            # then the property types of the tables that have rows with properties only.
            shares = [list(numbers)[i :: self.connections.size] for i in range(self.connections.size)]
            counted_parts, failed = self._map_isolated(
                lambda cursor, share: self.on(cursor).counts(parent, share), shares
            )
            if failed:
                raise failed[0][1]
            counted = {number: value for _, part in counted_parts for number, value in part.items()}
            written = {number: written[number] for number in numbers if counted.get(number, (0, 0))[1]}
            surveyed, failed = self._map_isolated(
                lambda cursor, item: (counted[item[0]][0], self.on(cursor).infer(*item[1])), written.items()
            )
            surveyed += [
                ((number, None), (counted.get(number, (0, 0))[0], {})) for number in numbers if number not in written
            ]
        else:
            surveyed, failed = self._map_isolated(
                lambda cursor, item: self.on(cursor).survey(*item[1]), written.items()
            )
        if failed:
            raise TablesFailed({numbers[number]: error_message(error) for (number, _), error in failed})
        for (number, _), (rows, types) in surveyed:
            staged.rows[number], staged.types[number] = rows, types
        self.progress.finish_step(0)
        logger.info(
            "sync env %s: %s event rows staged for %s tables",
            self.environment_id,
            sum(staged.rows.values()),
            len(tables),
        )
        return staged

    def _each_isolated(self, work, items) -> Iterator[tuple[Any, Any, BaseException | None]]:
        """self.connections.map(work, items), a failing item not stopping the others: (item, result,
        error) as each finishes. A lost connection is no item's fault: it is raised."""

        def guarded(cursor, item):
            try:
                return work(cursor, item), None
            except Exception as error:
                if connection_lost(error):
                    raise
                logger.warning("sync env %s: %s", self.environment_id, error_message(error))
                return None, error

        for item, (result, error) in self.connections.map(guarded, items):
            yield item, result, error

    def run_isolated(self, tasks: dict) -> dict:
        """{name: work(builder)} for every task, on this builder's cursor; a failing task is its
        table's (`builtin:<name>`) failure."""
        results, errors = {}, {}
        for name, work in tasks.items():
            try:
                results[name] = work(self)
            except Exception as error:
                if connection_lost(error):
                    raise
                errors[f"builtin:{name}"] = error_message(error)
        if errors:
            raise TablesFailed(errors)
        return results

    def _map_isolated(self, work, items) -> tuple[list, list]:
        """([(item, result)], [(item, error)]) of _each_isolated."""
        results, failed = [], []
        for item, result, error in self._each_isolated(work, items):
            if error is None:
                results.append((item, result))
            else:
                failed.append((item, error))
        return results, failed

    def diagnose(self, tables: list[EventTable], params: dict, since: str | None) -> dict[str, BaseException]:
        """After a pass over several tables failed: the tables whose predicate fails on its own, with its error.

        One probe per table over the events the pass read (in the failure case only: a scan each).
        """
        partition = raw_events_partition(self.environment_id)

        def probe(cursor, table: EventTable) -> int:
            statement = q.probe_predicate(partition, table.predicate, table.event_types, lower_bound=since is not None)
            return self.on(cursor).execute(statement, params)

        self.progress.begin("finding the tables that fail")
        return {table.key: error for table, _, error in self._each_isolated(probe, tables) if error is not None}

    def counts(self, parent: str, numbers: list[int]) -> dict[int, tuple[int, int]]:
        """{table number: (rows, rows with properties)} of what the pass wrote into these partitions of
        work.<parent> (one statement for many: the others are pruned)."""
        if not numbers:
            return {}
        self.cursor.execute(
            sql.SQL("SELECT tbl, count(*), count(properties) FROM {} WHERE tbl IN ({}) GROUP BY tbl").format(
                sql.Identifier(self.work, parent), sql.SQL(", ").join(map(sql.Literal, numbers))
            )
        )
        return {number: (rows, with_properties) for number, rows, with_properties in self.cursor.fetchall()}

    def survey(self, schema: str, table: str) -> tuple[int, dict[str, str]]:
        """(rows, {property key: type}) of what the pass wrote for one table.

        Read back rather than returned by the pass (RETURNING): a second, narrow read of the rows
        costs a fraction of what returning every row did (22% of a full pass, bench/RESULTS.md). The
        property types take a second read, of the tables that have rows with properties only.
        """
        self.cursor.execute(sql.SQL("SELECT count(*), count(properties) FROM {}").format(sql.Identifier(schema, table)))
        rows, with_properties = self.cursor.fetchone()
        return rows, self.infer(schema, table) if with_properties else {}

    def pass_parts(self, count: int) -> list[dict]:
        """How `count` statements side by side share the pass over all history: fill_parts() arguments.

        The environment's raw events are a partition of their own (raw_events_<id>). A sample of
        ~500 of its blocks (TABLESAMPLE SYSTEM, milliseconds) gives the quantiles of its rows'
        block numbers: each statement reads its own range of blocks, in order. The first range
        starts at block 0 and the last is open-ended, so no event falls outside however rough the
        sample; a partition too small to show in the sample is read by one statement.

        Also measured and dropped, before raw_events was partitioned: ranges of ids (the planner
        judged one environment's range by the whole table's statistics), of writers' transaction
        ids (exact on the (environment_id, xact_id) index, but every part read its pages in index
        order) and hash shares of the ids (every share read all of the environment's pages).
        """
        if count < 2:
            return [{}]
        partition = sql.Identifier(raw_events_partition(self.environment_id))
        self.cursor.execute(
            sql.SQL(
                "SELECT count(*), percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY (e.ctid::text::point)[0])"
                " FROM {} e TABLESAMPLE SYSTEM (least(100, 50000.0 / greatest(1, pg_relation_size(%s::regclass)"
                " / current_setting('block_size')::bigint)))"
            ).format(partition),
            [[part / count for part in range(1, count)], partition.string],
        )
        sampled, cuts = self.cursor.fetchone()
        if sampled < _MIN_SAMPLE_TO_SPLIT:
            return [{}]
        starts = sorted({0, *(int(cut) for cut in cuts or [] if cut)})
        bounds = [*starts, None]
        return [{"blocks": (start, end)} for start, end in zip(bounds[:-1], bounds[1:], strict=True)]

    def event_tables(self, tables: list[EventTable], staged: Staged) -> dict[str, BuiltResult]:
        """Finished event tables' stored rows in the build schema, from what the pass `staged`.

        Each partition of work._parts is detached and moved (a catalog change, no copy; a table
        rebuilt alone is there already); then each index of each table of SYNC_INDEX_MIN_ROWS rows or
        more is built, as tasks side by side on self.connections, the largest tables first. The
        views over them, and all_events, are created by the apply transaction (docs/warehouse.md,
        "Event tables are views"). A result's `ms` is the time from the start to that table's last index.
        """
        self.cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.relnamespace = %s::regnamespace",
            [self.work],
        )
        sizes = dict(self.cursor.fetchall())
        ordered = sorted(tables, key=lambda table: -sizes.get(f"_parts{table.number}", 0))
        started = time.monotonic()
        if staged.partitioned:
            self.execute_batched(
                [statement for table in ordered for statement in self.adopt_partition(f"_parts{table.number}", table)]
            )

        def index(cursor, job) -> None:
            table, columns = job
            self.on(cursor).execute(
                sql.SQL("; ").join(q.create_index(self.build, table.table_name, column) for column in columns)
            )

        # A large table's indexes are jobs of their own (built side by side); a small one's are one
        # job, one round trip (hundreds of small tables). On Citus, one each (DDL propagates).
        # Tables under SYNC_INDEX_MIN_ROWS get none: a scan reads a few dozen pages, as quick as an
        # index, and the indexes were most of what a sync spent per table (with 500 definitions, two
        # thirds of the tables hold fewer rows). An incremental run that takes a table past it
        # indexes it (ApplySteps._index_grown).
        indexed = [table for table in ordered if staged.rows[table.number] >= settings.SYNC_INDEX_MIN_ROWS]
        jobs = [
            (table, columns)
            for table in indexed
            for columns in (
                [(column,) for column in q.EVENT_INDEXED_COLUMNS]
                if self.citus or sizes.get(f"_parts{table.number}", _SMALL_TABLE_BYTES) >= _SMALL_TABLE_BYTES
                else [q.EVENT_INDEXED_COLUMNS]
            )
        ]
        pending = dict.fromkeys((table.number for table in indexed), len(q.EVENT_INDEXED_COLUMNS))

        def finished():
            """(table, columns, error) per index job as it ends, after the tables that need none."""
            yield from ((table, (), None) for table in ordered if table.number not in pending)
            for (table, columns), _, error in self._each_isolated(index, jobs):
                yield table, columns, error

        results = {}
        failed = {}
        for table, columns, error in finished():
            if error is not None:
                failed[table.key] = error_message(error)
            if error is not None or table.key in failed:
                continue
            pending[table.number] = pending.get(table.number, 0) - len(columns)
            if pending[table.number]:
                continue
            rows = staged.rows[table.number]
            columns, omitted = self.property_columns(
                staged.types.get(table.number, {}), table.builtin_columns, table.key
            )
            results[table.key] = BuiltResult(rows, int((time.monotonic() - started) * 1000), columns, omitted)
            self.progress.begin("building table", table.table_name)
            self.progress.finish_step(rows)
            if len(results) == 1:
                checkpoint("mid-build")
        if failed:
            raise TablesFailed(failed)
        if settings.SYNC_ANALYZE_EVENT_TABLES:
            for table in tables:
                self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.build, table.table_name)))
        return results

    def adopt_partition(self, partition: str, table: EventTable) -> list[sql.Composed]:
        """The statements that turn a partition into a finished table's stored rows without copying them."""
        source = sql.Identifier(self.work, partition)
        return [
            sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(sql.Identifier(self.work, "_parts"), source),
            sql.SQL("ALTER TABLE {} DROP COLUMN tbl").format(source),
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(source, sql.Identifier(self.build)),
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(self.build, partition), sql.Identifier(table.table_name)
            ),
        ]

    def execute_batched(self, statements: list[sql.Composable]) -> None:
        """Run catalog statements (DDL of the private schemas) a batch per round trip and per commit.

        Hundreds of tables made thousands of statements, each its own round trip and commit: a third
        of a 500-table sync on this machine. On Citus, one by one (each DDL propagates to the workers).
        """
        if self.citus:
            for statement in statements:
                self.execute(statement)
            return
        for start in range(0, len(statements), _DDL_BATCH):
            self.execute(sql.SQL("; ").join(statements[start : start + _DDL_BATCH]))

    def user_migrations(self) -> int:
        query = sql.SQL("SELECT from_user_id, to_user_id, time FROM {}").format(sql.Identifier(self.work, "_merge_map"))
        rows = self.execute(
            q.create_table_as(self.build, "user_migrations", query, citus_layout=self.layout(q.REFERENCE))
        )
        self.execute(q.create_index(self.build, "user_migrations", "to_user_id"))
        return rows

    def stage_users(self, *, only_changed: bool, since: str | None = None) -> dict[str, str]:
        for table in ("_users_src", "_users"):
            self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.work, table)))
        distributed = self.citus and not only_changed
        for statement in q.stage_users(self.work, only_changed=only_changed, distributed=distributed):
            self.execute(statement, {"environment_id": self.environment_id, "since": since})
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_users")))
        types = self.infer(self.work, "_users")
        for key in q.USER_BUILTIN_PROPERTIES:
            types.pop(key, None)
        return types

    def stage_sessions(self, *, only_changed: bool, since: str | None = None) -> dict[str, str]:
        self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.work, "_sessions")))
        self.execute(
            q.stage_sessions(self.work, only_changed=only_changed, distributed=self.citus and not only_changed),
            {"environment_id": self.environment_id, "since": since},
        )
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_sessions")))
        return self.infer(self.work, "_sessions")

    def users(self, types: dict[str, str]) -> BuiltResult:
        """build.users from work._users (no progress reported: it may run on a build connection)."""
        started = time.monotonic()
        columns, omitted = self.property_columns(types, USER_BUILTIN_COLUMNS, USERS_KEY, stored_row=True)
        rows = self.typed_table(
            source="_users",
            name="users",
            builtin=USER_BUILTIN_COLUMNS,
            columns=columns,
            indexes=["identity"],
            unique=("user_id",),
        )
        return BuiltResult(rows, int((time.monotonic() - started) * 1000), columns, omitted)

    def sessions(self, types: dict[str, str]) -> BuiltResult:
        """build.sessions from work._sessions (no progress reported: it may run on a build connection)."""
        started = time.monotonic()
        columns, omitted = self.property_columns(types, SESSION_BUILTIN_COLUMNS, SESSIONS_KEY, stored_row=True)
        rows = self.typed_table(
            source="_sessions",
            name="sessions",
            builtin=SESSION_BUILTIN_COLUMNS,
            columns=columns,
            indexes=["user_id", "time"],
            unique=q.SESSION_UNIQUE,
            dedupe=True,
        )
        return BuiltResult(rows, int((time.monotonic() - started) * 1000), columns, omitted)
