"""Building warehouse tables under temporary names, entirely inside PostgreSQL.

Intermediate tables go to a private work schema (UNLOGGED), finished tables to a private build
schema; the swap (warehouse/sync/engine.py) moves finished tables into the environment's schema.
Both private schemas are dropped and re-created at the start of every run, so a killed worker
leaves nothing that matters behind.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from psycopg2 import sql

from warehouse.naming import unique_identifier
from warehouse.sql import sync as q
from warehouse.sync.progress import Progress, checkpoint
from warehouse.sync.tables import (
    SESSION_BUILTIN_COLUMNS,
    USER_BUILTIN_COLUMNS,
    EventTable,
)

logger = logging.getLogger(__name__)

_TYPE_NAMES = {"timestamp with time zone": "timestamptz"}


def column_names_for(keys, reserved: set[str]) -> dict[str, str]:
    """Property key -> column name by the shared naming rules (warehouse/naming.py), keys in sorted order."""
    taken: set[str] = set()
    return {key: unique_identifier(key, taken=taken, reserved=reserved, empty="property") for key in sorted(keys)}


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


class Builder:
    def __init__(self, *, cursor, environment_id: int, progress: Progress) -> None:
        self.cursor = cursor
        self.environment_id = environment_id
        self.work = f"_hs_sync_work_{environment_id}"
        self.build = f"_hs_sync_build_{environment_id}"
        self.progress = progress

    def execute(self, statement: sql.Composable, params: dict | None = None) -> int:
        started = time.monotonic()
        self.cursor.execute(statement, params or {})
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
        for schema in (self.work, self.build):
            self.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            self.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.execute(sql.SQL("SET work_mem = {}").format(sql.Literal(settings.SYNC_WORK_MEM)))
        self.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(settings.SYNC_MAINTENANCE_WORK_MEM)))
        # JIT compiles the wide CASE/jsonb expressions for seconds per statement and gains nothing here.
        self.execute(sql.SQL("SET jit = off"))
        # Fresh tables get quick statistics (a smaller sample); autovacuum refines them later.
        self.execute(sql.SQL("SET default_statistics_target = 30"))

    def drop_private_schemas(self) -> None:
        for schema in (self.work, self.build):
            self.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        self.execute(sql.SQL("RESET work_mem"))
        self.execute(sql.SQL("RESET jit"))
        self.execute(sql.SQL("RESET maintenance_work_mem"))
        self.execute(sql.SQL("RESET default_statistics_target"))

    def merge_map(self, *, since: str | None, until: str) -> None:
        self.execute(q.merge_map(self.work), {"environment_id": self.environment_id, "since": since, "until": until})
        self.execute(sql.SQL("CREATE INDEX ON {} (from_user_id)").format(sql.Identifier(self.work, "_merge_map")))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_merge_map")))

    def infer(self, schema: str, table: str) -> dict[str, str]:
        self.cursor.execute(q.property_classes(sql.Identifier(schema, table)))
        return {key: widen(classes) for key, classes in self.cursor.fetchall()}

    def infer_partitions(self, parent: str) -> dict[int, dict[str, str]]:
        """{table number: {property key: type}} for every partition of work.<parent>, in one pass."""
        self.cursor.execute(q.property_classes_by_table(sql.Identifier(self.work, parent)))
        types: dict[int, dict[str, str]] = {}
        for number, key, classes in self.cursor.fetchall():
            types.setdefault(number, {})[key] = widen(classes)
        return types

    def property_columns(self, types: dict[str, str], reserved: list[str]) -> dict[str, list[str]]:
        names = column_names_for(list(types), set(reserved))
        return {key: [names[key], types[key]] for key in sorted(types)}

    def typed_table(
        self, *, source: str, name: str, builtin: list[str], columns: dict, indexes: list[str], unique: str = ""
    ) -> int:
        """CREATE build.<name> AS the built-in columns plus typed property columns of work.<source>."""
        properties = [(key, column, type_) for key, (column, type_) in columns.items()]
        select = q.typed_select(builtin, properties, sql.Identifier(self.work, source))
        rows = self.execute(sql.SQL("CREATE TABLE {} AS ").format(sql.Identifier(self.build, name)) + select)
        if unique:
            self.execute(q.create_index(self.build, name, unique, unique=True))
        for column in indexes:
            self.execute(q.create_index(self.build, name, column))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.build, name)))
        return rows

    def event_parts(self, tables: list[EventTable], *, parent: str, since: str | None, until: str) -> None:
        """One pass over the raw events filling one partition per table (predicates all evaluated together).

        Partitions of `_parts` are logged: a table without property columns becomes the finished
        table itself (detached, never copied); `_inc` partitions only feed appends.
        """
        numbers = [table.number for table in tables]
        for statement in q.parts_parent(self.work, parent, numbers, logged=parent == "_parts"):
            self.execute(statement)
        params = {"environment_id": self.environment_id, "since": since, "until": until}
        for table in tables:
            params.update(table.params)
        self.progress.begin("matching raw events")
        statement = q.fill_parts(
            self.work, parent, [(table.number, table.predicate) for table in tables], lower_bound=since is not None
        )
        rows = self.execute(statement, params)
        self.progress.finish_step(0)
        logger.info("sync env %s: %s event rows staged for %s tables", self.environment_id, rows, len(tables))

    def event_tables(self, tables: list[EventTable], *, with_all_events: bool) -> tuple[dict[str, BuiltResult], int]:
        """Finished event tables (and optionally all_events) in the build schema from work._parts."""
        types = self.infer_partitions("_parts")
        all_events_rows = self.all_events(tables) if with_all_events else 0
        if with_all_events:  # count from the narrow all_events rather than re-reading the partitions
            self.cursor.execute(
                sql.SQL("SELECT event_table_name, count(*) FROM {} GROUP BY 1").format(
                    sql.Identifier(self.build, "all_events")
                )
            )
            by_name = dict(self.cursor.fetchall())
            counts = {table.number: by_name.get(table.table_name, 0) for table in tables}
        else:
            self.cursor.execute(
                sql.SQL("SELECT tbl, count(*) FROM {} GROUP BY tbl").format(sql.Identifier(self.work, "_parts"))
            )
            counts = dict(self.cursor.fetchall())
        results = {}
        for position, table in enumerate(tables):
            started = time.monotonic()
            self.progress.begin("building table", table.table_name)
            partition = f"_parts{table.number}"
            columns = self.property_columns(types.get(table.number, {}), table.builtin_columns)
            if columns:
                rows = self.typed_table(
                    source=partition,
                    name=table.table_name,
                    builtin=table.builtin_columns,
                    columns=columns,
                    indexes=["user_id", "time"],
                )
            else:
                self.adopt_partition(partition, table)
                rows = counts.get(table.number, 0)
            results[table.key] = BuiltResult(rows, int((time.monotonic() - started) * 1000), columns)
            self.progress.finish_step(rows)
            if position == 0:
                checkpoint("mid-build")
        return results, all_events_rows

    def adopt_partition(self, partition: str, table: EventTable) -> None:
        """Turn a partition into the finished table without copying it (its extra columns are dropped)."""
        source = sql.Identifier(self.work, partition)
        self.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(sql.Identifier(self.work, "_parts"), source))
        extra = ["tbl", "properties"] + [name for name, _, _ in q.EVENT_COLUMNS if name not in table.builtin_columns]
        self.execute(
            sql.SQL("ALTER TABLE {} {}").format(
                source, sql.SQL(", ").join(sql.SQL("DROP COLUMN {}").format(sql.Identifier(name)) for name in extra)
            )
        )
        self.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(source, sql.Identifier(self.build)))
        self.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(self.build, partition), sql.Identifier(table.table_name)
            )
        )
        for column in ("user_id", "time"):
            self.execute(q.create_index(self.build, table.table_name, column))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.build, table.table_name)))

    def all_events(self, tables: list[EventTable]) -> int:
        names = sql.SQL(", ").join(
            sql.SQL("({}, {})").format(sql.Literal(table.number), sql.Literal(table.table_name)) for table in tables
        )
        self.progress.begin("building table", "all_events")
        rows = self.execute(
            sql.SQL(
                "CREATE TABLE {target} AS "
                "SELECT p.event_id, p.user_id, p.session_id, p.time, n.name AS event_table_name "
                "FROM {parts} p JOIN (VALUES {names}) AS n(tbl, name) ON n.tbl = p.tbl"
            ).format(
                target=sql.Identifier(self.build, "all_events"), parts=sql.Identifier(self.work, "_parts"), names=names
            )
        )
        for column in ("user_id", "time", "event_table_name"):
            self.execute(q.create_index(self.build, "all_events", column))
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.build, "all_events")))
        self.progress.finish_step(rows)
        return rows

    def user_migrations(self) -> int:
        rows = self.execute(
            sql.SQL("CREATE TABLE {} AS SELECT from_user_id, to_user_id, time FROM {}").format(
                sql.Identifier(self.build, "user_migrations"), sql.Identifier(self.work, "_merge_map")
            )
        )
        self.execute(q.create_index(self.build, "user_migrations", "to_user_id"))
        return rows

    def stage_users(self, *, only_changed: bool, modified_since=None) -> dict[str, str]:
        for table in ("_users_src", "_users"):
            self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.work, table)))
        for statement in q.stage_users(self.work, only_changed=only_changed):
            self.execute(statement, {"environment_id": self.environment_id, "modified_since": modified_since})
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_users")))
        types = self.infer(self.work, "_users")
        for key in q.USER_BUILTIN_PROPERTIES:
            types.pop(key, None)
        return types

    def stage_sessions(self, *, only_changed: bool, modified_since=None) -> dict[str, str]:
        self.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.work, "_sessions")))
        self.execute(
            q.stage_sessions(self.work, only_changed=only_changed),
            {"environment_id": self.environment_id, "modified_since": modified_since},
        )
        self.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.work, "_sessions")))
        return self.infer(self.work, "_sessions")

    def users(self, types: dict[str, str]) -> BuiltResult:
        started = time.monotonic()
        self.progress.begin("building table", "users")
        columns = self.property_columns(types, USER_BUILTIN_COLUMNS)
        rows = self.typed_table(
            source="_users",
            name="users",
            builtin=USER_BUILTIN_COLUMNS,
            columns=columns,
            indexes=["identity"],
            unique="user_id",
        )
        self.progress.finish_step(rows)
        return BuiltResult(rows, int((time.monotonic() - started) * 1000), columns)

    def sessions(self, types: dict[str, str]) -> BuiltResult:
        started = time.monotonic()
        self.progress.begin("building table", "sessions")
        columns = self.property_columns(types, SESSION_BUILTIN_COLUMNS)
        rows = self.typed_table(
            source="_sessions",
            name="sessions",
            builtin=SESSION_BUILTIN_COLUMNS,
            columns=columns,
            indexes=["user_id", "time"],
            unique="session_id",
        )
        self.progress.finish_step(rows)
        return BuiltResult(rows, int((time.monotonic() - started) * 1000), columns)
