"""Statements of the apply transaction: everything that changes the environment's visible schema.

They run inside the single transaction of warehouse/sync/engine.py (after the relations they touch
were locked), so a reader sees either all of a run's changes or none of them.
"""

from django.conf import settings
from psycopg2 import sql

from warehouse.models import BuiltTable
from warehouse.sql import sync as q
from warehouse.sync.build import BuiltResult
from warehouse.sync.tables import SESSION_BUILTIN_COLUMNS, SESSIONS_KEY, USER_BUILTIN_COLUMNS, USERS_KEY, EventTable


class ApplySteps:
    """Mixed into the engine's run; needs self.schema, self.builder, self.environment and self.run."""

    def ident(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.schema, table)

    def stored(self, table: str) -> sql.Identifier:
        """An event table's stored rows, under its view (docs/warehouse.md, "Event tables are views")."""
        return sql.Identifier(self.builder.data, table)

    def _relations_in(self, cursor, schema: str, kinds: str) -> list[str]:
        """Names of the relations of the given pg_class.relkind letters in `schema` ('rp': tables, 'v': views)."""
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = ANY(%s) ORDER BY c.relname",
            [schema, list(kinds)],
        )
        return [row[0] for row in cursor.fetchall()]

    def _tables_in(self, cursor, schema: str) -> list[str]:
        return self._relations_in(cursor, schema, "rp")

    def _schema_exists(self, cursor, schema: str) -> bool:
        cursor.execute("SELECT to_regnamespace(%s) IS NOT NULL", [schema])
        return cursor.fetchone()[0]

    def _relkind(self, cursor, name: str) -> str | None:
        """pg_class.relkind of schema.<name> ('v' view, 'r' table, 'p' partitioned table), or None."""
        cursor.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            [self.schema, name],
        )
        row = cursor.fetchone()
        return row[0] if row else None

    def _move_in(self, cursor, name: str) -> None:
        """Replace schema.<name> (users, sessions, user_migrations) with the one the run built."""
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.ident(name)))
        cursor.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(self.builder.build, name), sql.Identifier(self.schema)
            )
        )
        autovacuum_on(cursor, self.ident(name))

    def _move_in_stored(self, cursor, name: str) -> None:
        """Move an event table's rebuilt stored rows into the data schema (the old ones are gone)."""
        cursor.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(self.builder.build, name), sql.Identifier(self.builder.data)
            )
        )
        autovacuum_on(cursor, self.stored(name))

    def _drop_views(self, cursor, names) -> None:
        """Drop the views (and what depends on them) in one statement."""
        if names:
            cursor.execute(sql.SQL("DROP VIEW IF EXISTS {} CASCADE").format(sql.SQL(", ").join(map(self.ident, names))))

    def _create_view(self, cursor, table: EventTable, columns: dict) -> None:
        """The event table's view over its stored rows, with its property columns {key: [column, type]}."""
        cursor.execute(self._view_sql(table, columns))

    def _view_sql(self, table: EventTable, columns: dict) -> sql.Composed:
        properties = [(key, column, type_) for key, (column, type_) in columns.items()]
        return q.event_view(self.schema, self.builder.data, table.table_name, table.builtin_columns, properties)

    def _rename(self, cursor, renames: dict[str, str]) -> None:
        """Rename stored event tables and their indexes without rebuilding them (the views are re-created)."""
        if renames:
            _rename_tables(cursor, self.builder.data, renames)
        for new in renames.values():
            self.run.tables[new] = {"rows": 0, "ms": 0, "action": "renamed"}

    def _add_columns(self, cursor, table: str, added: list) -> None:
        for _key, column, type_ in added:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    self.ident(table), sql.Identifier(column), sql.SQL(type_)
                )
            )

    def _insert_typed(
        self, cursor, table: str, builtin: list[str], columns: dict, source: str, unique: tuple[str, ...] = ()
    ) -> int:
        properties = [(key, column, type_) for key, (column, type_) in columns.items()]
        names = builtin + [column for _, column, _ in properties]
        select = q.typed_select(builtin, properties, sql.Identifier(self.builder.work, source), unique)
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) ").format(
                self.ident(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
            )
            + select
        )
        return cursor.rowcount

    def _append(self, cursor, tables: list[EventTable]) -> None:
        """Append what the incremental pass staged for each table to its stored rows (a hundred
        tables' statements per round trip; on Citus one by one)."""
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in q.STORED_NAMES)
        statements = [
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} e").format(
                self.stored(table.table_name), columns, columns, q.staged_rows(self.builder.work, "_inc", table.number)
            )
            for table in tables
        ]
        size = 1 if self.builder.citus else 100
        for start in range(0, len(statements), size):
            cursor.execute(sql.SQL("; ").join(statements[start : start + size]))

    def _index_grown(self, cursor, counts: dict[str, tuple[int, int]]) -> None:
        """Index the stored rows of the tables this run's appends took to SYNC_INDEX_MIN_ROWS rows ({table:
        (rows before, rows appended)}): a full sync leaves smaller ones without (Builder.event_tables)."""
        for name, (before, appended) in counts.items():
            if before < settings.SYNC_INDEX_MIN_ROWS <= before + appended:
                for column in q.EVENT_INDEXED_COLUMNS:
                    cursor.execute(q.create_index(self.builder.data, name, column, if_not_exists=True))

    def _apply_merges(self, cursor, event_tables: list[str]) -> None:
        work_map = sql.Identifier(self.builder.work, "_merge_map")
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE changed)").format(work_map))
        if not cursor.fetchone()[0]:
            return
        names = sql.SQL(", ").join(sql.Identifier(name) for name in q.STORED_NAMES)
        moved = sql.SQL(", ").join(
            sql.SQL("m.to_user_id AS {}" if name == "user_id" else "t.{0} AS {0}").format(sql.Identifier(name))
            for name in q.STORED_NAMES
        )
        for table in event_tables:
            # A merged user's rows move to their new user id: deleted and written again, rather than
            # an UPDATE of user_id, which Citus refuses (the rows move to another node).
            cursor.execute(
                sql.SQL(
                    "WITH moved AS (DELETE FROM {stored} t USING {map} m WHERE m.changed AND t.user_id = m.from_user_id"
                    " RETURNING {moved}) INSERT INTO {stored} ({names}) SELECT {names} FROM moved"
                ).format(stored=self.stored(table), map=work_map, moved=moved, names=names)
            )
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE from_user_id IN (SELECT from_user_id FROM {} WHERE changed)").format(
                self.ident("user_migrations"), work_map
            )
        )
        cursor.execute(
            sql.SQL("INSERT INTO {} SELECT from_user_id, to_user_id, time FROM {} WHERE changed").format(
                self.ident("user_migrations"), work_map
            )
        )

    def _apply_sessions(self, cursor, rebuilt: BuiltResult | None, added: list) -> None:
        """Changed sessions replace their rows; the event tables' views show the new values at once."""
        if rebuilt:
            self._move_in(cursor, "sessions")
            return
        work = sql.Identifier(self.builder.work, "_sessions")
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE session_id IN (SELECT session_id FROM {})").format(
                self.ident("sessions"), work
            )
        )
        self._add_columns(cursor, "sessions", added)
        columns = BuiltTable.objects.get(environment=self.environment, key=SESSIONS_KEY).columns
        columns.update({key: [column, type_] for key, column, type_ in added})
        self._insert_typed(cursor, "sessions", SESSION_BUILTIN_COLUMNS, columns, "_sessions", q.SESSION_UNIQUE)

    def _apply_users(self, cursor, rebuilt: BuiltResult | None, added: list) -> None:
        if rebuilt:
            self._move_in(cursor, "users")
            return
        cursor.execute(
            sql.SQL(
                "DELETE FROM {} WHERE user_id IN "
                "(SELECT user_id FROM {} UNION SELECT from_user_id FROM {} WHERE changed)"
            ).format(
                self.ident("users"),
                sql.Identifier(self.builder.work, "_users"),
                sql.Identifier(self.builder.work, "_merge_map"),
            )
        )
        self._add_columns(cursor, "users", added)
        columns = BuiltTable.objects.get(environment=self.environment, key=USERS_KEY).columns
        columns.update({key: [column, type_] for key, column, type_ in added})
        self._insert_typed(cursor, "users", USER_BUILTIN_COLUMNS, columns, "_users")


def autovacuum_on(cursor, table: sql.Identifier) -> None:
    """Let autovacuum at a table the sync built (built with it off: q.NO_AUTOVACUUM)."""
    cursor.execute(autovacuum_on_sql(table))


def autovacuum_on_sql(table: sql.Identifier) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(table)


def _rename_tables(cursor, schema: str, renames: dict[str, str]) -> None:
    """Rename tables and their user_id/time indexes in `schema`; two phases, so A->B with B->A works."""
    temporary = {old: f"_hs_rename_{position}" for position, old in enumerate(renames)}

    def rename(kind: str, old: str, new: str) -> None:
        cursor.execute(
            sql.SQL("ALTER {} IF EXISTS {} RENAME TO {}").format(
                sql.SQL(kind), sql.Identifier(schema, old), sql.Identifier(new)
            )
        )

    for old, temp in temporary.items():
        rename("TABLE", old, temp)
        for column in q.EVENT_INDEXED_COLUMNS:
            rename("INDEX", q.index_name(old, column), f"{temp}_{column}")
    for old, new in renames.items():
        temp = temporary[old]
        rename("TABLE", temp, new)
        for column in q.EVENT_INDEXED_COLUMNS:
            rename("INDEX", f"{temp}_{column}", q.index_name(new, column))
