"""Running one sync of an environment: full rebuild, or incremental with definition changes.

Order of a run: take the environment's advisory lock; pick the upper bound (the lowest raw-store
batch still in flight, so no raw row can still appear below it: warehouse/sync/watermark.py); build everything that changes
under temporary names (warehouse/sync/build.py); then apply it in ONE transaction that waits for
readers with lock_timeout + retry. A worker killed before that commit changes nothing.
"""

import logging
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg2 import sql

from warehouse.models import (
    BuiltTable,
    Environment,
    EnvironmentSync,
    SyncKind,
    SyncRun,
    SyncStatus,
    TableChangeRequest,
)
from warehouse.roles import sql_role_grant_schema
from warehouse.sources.services import sources_grant
from warehouse.sql import sync as q
from warehouse.sync.apply import ApplySteps, autovacuum_on
from warehouse.sync.build import Builder, BuiltResult, column_names_for, widen
from warehouse.sync.deletions import deletions_apply, deletions_pending
from warehouse.sync.locking import ExclusiveLocks, atomic_with_lock_retry, environment_lock
from warehouse.sync.progress import Progress, checkpoint
from warehouse.sync.tables import (
    KEPT_TABLE_NAMES,
    SESSION_BUILTIN_COLUMNS,
    SESSIONS_KEY,
    USER_BUILTIN_COLUMNS,
    USERS_KEY,
    EventTable,
    environment_event_tables,
    legacy_all_events_schema,
)
from warehouse.sync.watermark import watermark_bound

logger = logging.getLogger(__name__)


def sync_run_execute(*, run_id: int, on_update=None) -> SyncRun:
    """Execute a recorded run (RQ job and `manage.py sync` both end here). A finished run is a no-op."""
    run = SyncRun.objects.select_related("environment").get(pk=run_id)
    progress = Progress(run, on_update=on_update)
    with environment_lock(run.environment_id):
        run.refresh_from_db()
        if run.status in (SyncStatus.SUCCEEDED, SyncStatus.FAILED):
            return run
        # We hold the lock, so any other "running" run belongs to a worker that died.
        SyncRun.objects.filter(environment_id=run.environment_id, status=SyncStatus.RUNNING).exclude(pk=run.pk).update(
            status=SyncStatus.FAILED, finished_at=timezone.now(), error="the worker stopped before finishing"
        )
        run.status, run.started_at, run.error, run.traceback = SyncStatus.RUNNING, timezone.now(), "", ""
        run.save(update_fields=["status", "started_at", "error", "traceback"])
        started = time.monotonic()
        builder = None
        try:
            with connection.cursor() as cursor:
                sync = _Sync(cursor=cursor, environment=run.environment, run=run, progress=progress)
                builder = sync.builder
                sync.execute()
        except Exception as error:
            run.status, run.finished_at = SyncStatus.FAILED, timezone.now()
            run.error, run.traceback = f"{type(error).__name__}: {error}", traceback.format_exc()
            run.save(update_fields=["status", "finished_at", "error", "traceback"])
            _record_failure(run)
            raise
        finally:
            if builder is not None:
                with connection.cursor() as cursor:
                    builder.cursor = cursor
                    builder.drop_private_schemas()
        run.status, run.finished_at, run.progress, run.step = SyncStatus.SUCCEEDED, timezone.now(), 1.0, "done"
        run.current_table = ""
        run.save(update_fields=["status", "finished_at", "progress", "step", "current_table", "tables"])
        logger.info("sync %s of %s finished in %.1fs", run.kind, run.environment, time.monotonic() - started)
    return run


def _record_failure(run: SyncRun) -> None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            schema = run.environment.warehouse_schema
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            _ensure_kept_tables(cursor, schema)
            cursor.execute(
                sql.SQL("INSERT INTO {} VALUES ('failed', %s, %s, %s, NULL)").format(
                    sql.Identifier(schema, "_sync_history")
                ),
                [run.started_at, run.finished_at, run.error],
            )
    except Exception:
        logger.exception("could not record the failed sync in _sync_history")


def _ensure_kept_tables(cursor, schema: str) -> None:
    cursor.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (event_table_name text, sync_started timestamptz, sync_ended timestamptz,"
            " synced_to_time timestamptz, inserted_row_count bigint)"
        ).format(sql.Identifier(schema, "_sync_info"))
    )
    cursor.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (status text, start_time timestamptz, finish_time timestamptz,"
            " error text, next_scheduled_sync_at timestamptz)"
        ).format(sql.Identifier(schema, "_sync_history"))
    )


def _reconcile_columns(existing: dict, types: dict[str, str], reserved: list[str]):
    """Property columns {key: [column, type]} after a run saw `types`: (merged mapping, added [(key,
    column, type)], widened). New keys get columns; a type that no longer fits every value widens.
    An event table's view just casts to the wider type; users and sessions are rebuilt."""
    merged = {
        key: [column, widen({type_, types[key]}) if key in types else type_]
        for key, (column, type_) in existing.items()
    }
    widened = any(merged[key][1] != type_ for key, (_, type_) in existing.items())
    new_keys = [key for key in types if key not in merged]
    names = column_names_for(new_keys, set(reserved) | {column for column, _ in merged.values()})
    added = [(key, names[key], types[key]) for key in sorted(new_keys)]
    merged.update({key: [column, type_] for key, column, type_ in added})
    return merged, added, widened


class _Sync(ApplySteps):
    def __init__(self, *, cursor, environment: Environment, run: SyncRun, progress: Progress) -> None:
        self.cursor = cursor
        self.environment = environment
        self.schema = environment.warehouse_schema
        self.run = run
        self.progress = progress
        self.builder = Builder(cursor=cursor, environment_id=environment.id, progress=progress)

    def execute(self) -> None:
        state, _ = EnvironmentSync.objects.get_or_create(environment=self.environment)
        until, self.snapshot_time = watermark_bound(self.cursor)
        if state.events_xmin and int(state.events_xmin) > int(until):
            until = state.events_xmin
        self.until = until
        # Raw rows deleted (user deletions, retention) by transactions below the bound: their
        # warehouse rows go in this run's apply transaction (warehouse/sync/deletions.py).
        self.deletions = deletions_pending(self.cursor, environment_id=self.environment.id, until=until)
        tables, problems = environment_event_tables(self.environment.id)
        for problem in problems:
            self.run.tables[f"(skipped) {problem.split(':')[0]}"] = {"rows": 0, "ms": 0, "action": problem}
        # A warehouse missing, or built before its event tables and all_events were views: build it all again.
        layout_current = (
            self._relkind(self.cursor, "pageviews") == "v" and self._relkind(self.cursor, "all_events") == "v"
        )
        built = {table.key: table for table in BuiltTable.objects.filter(environment=self.environment)}
        full = (
            self.run.kind == SyncKind.FULL
            or state.events_xmin is None
            or not layout_current
            or USERS_KEY not in built
            or SESSIONS_KEY not in built
        )
        self.builder.reset()
        if full:
            self.full(state, tables)
        else:
            self.incremental(state, tables, built)

    # -- full ------------------------------------------------------------------------------------

    def full(self, state: EnvironmentSync, tables: list[EventTable]) -> None:
        b = self.builder
        self.progress.plan(len(tables) + 5)
        self.progress.begin("resolving identity merges")
        b.merge_map(since=None, until=self.until)
        self.progress.finish_step()
        # Users and sessions are built side by side with the pass over the raw events.
        staged = b.event_parts(
            tables,
            parent="_parts",
            since=None,
            until=self.until,
            alongside={
                "sessions": lambda x: x.sessions(x.stage_sessions(only_changed=False)),
                "users": lambda x: x.users(x.stage_users(only_changed=False)),
            },
        )
        sessions, users = staged.side["sessions"], staged.side["users"]
        for name, result in (("sessions", sessions), ("users", users)):
            self.progress.begin("building table", name)
            self.progress.finish_step(result.rows)
        results = b.event_tables(tables, staged)
        all_events_rows = sum(result.rows for result in results.values())
        b.user_migrations()
        checkpoint("before-swap")
        self.progress.begin("swapping in new tables")
        locks = ExclusiveLocks()

        def swap(cursor):
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            _ensure_kept_tables(cursor, self.schema)
            # Everything the run replaces: the views (all_events first), then the tables (users,
            # sessions, user_migrations, and event tables from before they were views), then
            # the stored rows under the views.
            views = sorted(self._relations_in(cursor, self.schema, "v"), key=lambda name: name != "all_events")
            replaced = [name for name in self._tables_in(cursor, self.schema) if name not in KEPT_TABLE_NAMES]
            stored = self._tables_in(cursor, b.data)
            locks.take(
                cursor,
                [(self.schema, name) for name in views + replaced] + [(b.data, name) for name in stored],
            )
            self._drop_views(cursor, views)
            for name in replaced:
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.ident(name)))
            for schema in (b.data, legacy_all_events_schema(self.environment.id)):
                cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            for name in ("users", "sessions", "user_migrations"):
                self._move_in(cursor, name)
            # What is left in the build schema are the event tables' stored rows: it becomes the data schema.
            cursor.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(b.build), sql.Identifier(b.data))
            )
            for table in tables:
                autovacuum_on(cursor, self.stored(table.table_name))
                self._create_view(cursor, table, results[table.key].columns)
            cursor.execute(q.all_events_view(self.schema, b.data, [table.table_name for table in tables]))
            checkpoint("mid-swap")
            # The rebuilt tables hold no deleted rows: this marks the deletions applied (and clears a kept table).
            self._apply_deletions(cursor)
            BuiltTable.objects.filter(environment=self.environment).delete()
            self._save_built(USERS_KEY, "users", "users", "", users, is_event_table=False)
            self._save_built(SESSIONS_KEY, "sessions", "sessions", "", sessions, is_event_table=False)
            for table in tables:
                self._save_built(table.key, table.table_name, table.label, table.version, results[table.key])
            inserted = {table.table_name: results[table.key].rows for table in tables}
            inserted["all_events"] = all_events_rows
            self._finish(cursor, state, inserted, full=True)

        atomic_with_lock_retry(
            swap,
            lock_timeout_ms=settings.SYNC_LOCK_TIMEOUT_MS,
            attempts=settings.SYNC_SWAP_ATTEMPTS,
            on_retry=self._on_retry,
        )
        self.progress.finish_step()
        self.run.tables.update(
            {"users": _entry(users, "built"), "sessions": _entry(sessions, "built")}
            | {table.table_name: _entry(results[table.key], "built") for table in tables}
            | {"all_events": {"rows": all_events_rows, "ms": 0, "action": "view"}}
        )

    # -- incremental -----------------------------------------------------------------------------

    def incremental(self, state: EnvironmentSync, tables: list[EventTable], built: dict[str, BuiltTable]) -> None:
        b = self.builder
        since = state.events_xmin
        current = {table.key: table for table in tables}
        drops = [bt for key, bt in built.items() if bt.is_event_table and key not in current]
        rebuild = [t for t in tables if t.key not in built or built[t.key].version != t.version]
        appends = [t for t in tables if t not in rebuild]
        renames = {built[t.key].table_name: t.table_name for t in appends if built[t.key].table_name != t.table_name}
        self.progress.plan(len(rebuild) + 7)
        self.progress.begin("resolving identity merges")
        b.merge_map(since=since, until=self.until)
        self.progress.finish_step()
        columns: dict[str, dict] = {table.key: built[table.key].columns for table in appends}
        # Tables whose view changes shape: a new property key adds a column, a value that no longer
        # fits its column widens it. Their stored rows stay as they are (the view casts the values).
        reshaped: set[str] = set()
        # Nothing new (a quiet environment's scheduled run, or one that only applies an edit): no pass.
        appending = bool(appends) and b.any_events(since=since, until=self.until)
        if appending:
            inferred = b.event_parts(appends, parent="_inc", since=since, until=self.until).types
            for table in appends:
                types = inferred.get(table.number, {})
                merged, added, widened = _reconcile_columns(columns[table.key], types, table.builtin_columns)
                if added or widened:
                    columns[table.key] = merged
                    reshaped.add(table.key)
        # Changed users and sessions, staged side by side with the rebuild's pass if there is one.
        side = {
            "users": lambda x: self._stage_changed(
                state, built[USERS_KEY], x.stage_users, x.users, USER_BUILTIN_COLUMNS
            ),
            "sessions": lambda x: self._stage_changed(
                state, built[SESSIONS_KEY], x.stage_sessions, x.sessions, SESSION_BUILTIN_COLUMNS
            ),
        }
        results: dict[str, BuiltResult] = {}
        if rebuild:
            staged = b.event_parts(rebuild, parent="_parts", since=None, until=self.until, alongside=side)
            side = staged.side
            results = b.event_tables(rebuild, staged)
        else:
            side = {name: work(b) for name, work in side.items()}
        users_rebuilt, users_merged, users_added = side["users"]
        sessions_rebuilt, sessions_merged, sessions_added = side["sessions"]
        columns.update({table.key: results[table.key].columns for table in rebuild})
        checkpoint("before-swap")
        self.progress.begin("applying changes")
        locks = ExclusiveLocks()

        def apply(cursor):
            inserted: dict[str, int] = {}
            renamed_from = {new: old for old, new in renames.items()}
            # all_events is a view over the stored rows: re-created when the set of tables changes.
            recreate_all_events = bool(drops or rebuild or renames)
            # The views this run (re)creates: those of rebuilt and renamed tables and of tables whose
            # columns changed, or all of them when a wider session property replaces `sessions`
            # (every view reads it). Their current ones go first, under their current names.
            recreated = {t.key for t in rebuild} | reshaped | {t.key for t in appends if t.table_name in renamed_from}
            if sessions_rebuilt:
                recreated = {t.key for t in tables}
            old_views = [t.table_name for t in drops]
            old_views += [built[t.key].table_name for t in tables if t.key in recreated and t.key in built]
            views_held = sorted(set(old_views) & set(self._relations_in(cursor, self.schema, "v")))
            replaced = [t.table_name for t in drops] + [built[t.key].table_name for t in rebuild if t.key in built]
            stored_held = sorted(set(replaced + list(renames)) & set(self._tables_in(cursor, b.data)))
            tables_held = ["users"] * bool(users_rebuilt or users_added)
            tables_held += ["sessions"] * bool(sessions_rebuilt or sessions_added)
            locks.take(
                cursor,
                [(self.schema, "all_events")] * recreate_all_events
                + [(self.schema, name) for name in views_held]
                + [(b.data, name) for name in stored_held]
                + [(self.schema, name) for name in tables_held],
            )
            if recreate_all_events:
                self._drop_views(cursor, ["all_events"])
            self._drop_views(cursor, views_held)
            for name in replaced:
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.stored(name)))
            for table in drops:
                self.run.tables[table.table_name] = {"rows": 0, "ms": 0, "action": "dropped"}
            self._rename(cursor, renames)
            checkpoint("mid-swap")
            for table in rebuild:
                self._move_in_stored(cursor, table.table_name)
                inserted[table.table_name] = results[table.key].rows
                self.run.tables[table.table_name] = _entry(results[table.key], "rebuilt")
            for table in appends:
                rows = self._append(cursor, table) if appending else 0
                inserted[table.table_name] = rows
                entry = {"rows": rows, "ms": 0, "action": "appended"}
                if table.table_name in renamed_from:
                    entry.update(action="renamed", renamed_from=renamed_from[table.table_name])
                self.run.tables[table.table_name] = entry
            inserted["all_events"] = sum(inserted.values())
            self._apply_merges(cursor, [t.table_name for t in appends])
            self._apply_sessions(cursor, sessions_rebuilt, sessions_added)
            self._apply_users(cursor, users_rebuilt, users_added)
            deleted = self._apply_deletions(cursor)
            for table in tables:
                if table.key in recreated:
                    self._create_view(cursor, table, columns[table.key])
            if recreate_all_events:
                cursor.execute(q.all_events_view(self.schema, b.data, [table.table_name for table in tables]))
            for table in drops:
                table.delete()
            for table in rebuild:
                result = results[table.key]
                BuiltTable.objects.filter(environment=self.environment, key=table.key).delete()
                self._save_built(table.key, table.table_name, table.label, table.version, result)
            appended = [built[table.key] for table in appends]
            for table, row in zip(appends, appended, strict=True):
                row.table_name, row.label, row.columns = table.table_name, table.label, columns[table.key]
                row.row_count += inserted[table.table_name] - deleted.get(table.table_name, 0)
                row.built_at = timezone.now()
            BuiltTable.objects.bulk_update(appended, ["table_name", "label", "columns", "row_count", "built_at"])
            for key, rebuilt, merged in (
                (USERS_KEY, users_rebuilt, users_merged),
                (SESSIONS_KEY, sessions_rebuilt, sessions_merged),
            ):
                columns_now = rebuilt.columns if rebuilt else merged
                BuiltTable.objects.filter(environment=self.environment, key=key).update(columns=columns_now)
            self._finish(cursor, state, inserted, full=False)

        atomic_with_lock_retry(
            apply,
            lock_timeout_ms=settings.SYNC_LOCK_TIMEOUT_MS,
            attempts=settings.SYNC_SWAP_ATTEMPTS,
            on_retry=self._on_retry,
        )
        self.progress.finish_step()

    def _apply_deletions(self, cursor) -> dict[str, int]:
        """Remove the warehouse rows of the pending deletions; noted on the run's tables."""
        deleted = deletions_apply(
            cursor,
            environment_id=self.environment.id,
            schema=self.schema,
            data_schema=self.builder.data,
            stored_tables=self._tables_in(cursor, self.builder.data),
            pending=self.deletions,
        )
        for table, rows in deleted.items():
            self.run.tables.setdefault(table, {"rows": 0, "ms": 0, "action": "deleted"})["deleted"] = rows
        return deleted

    def _stage_changed(self, state, built_table, stage, build, reserved):
        """Stage changed users/sessions; if a property no longer fits its column, rebuild the whole table."""
        types = stage(only_changed=True, since=state.events_xmin)
        merged, added, widened = _reconcile_columns(built_table.columns, types, reserved)
        if not widened:
            return None, merged, added
        result = build(stage(only_changed=False))
        return result, result.columns, []

    # -- bookkeeping -----------------------------------------------------------------------------

    def _save_built(self, key, name, label, version, result: BuiltResult, *, is_event_table: bool = True) -> None:
        BuiltTable.objects.create(
            environment=self.environment,
            key=key,
            table_name=name,
            label=label,
            version=version,
            is_event_table=is_event_table,
            row_count=result.rows,
            built_at=timezone.now(),
            last_duration_ms=result.ms,
            columns=result.columns,
        )

    def _finish(self, cursor, state: EnvironmentSync, inserted: dict[str, int], *, full: bool) -> None:
        """Last statements of the apply transaction: sync tables, watermark, grants."""
        now = timezone.now()
        info = self.ident("_sync_info")
        names = list(
            BuiltTable.objects.filter(environment=self.environment, is_event_table=True).values_list(
                "table_name", flat=True
            )
        ) + ["all_events"]
        cursor.execute(sql.SQL("DELETE FROM {}").format(info))
        cursor.execute(
            sql.SQL("INSERT INTO {} SELECT n, %s, %s, %s, r FROM unnest(%s::text[], %s::bigint[]) AS t(n, r)").format(
                info
            ),
            [self.run.started_at, now, self.snapshot_time, names, [inserted.get(name, 0) for name in names]],
        )
        next_at = None
        if not state.paused:
            next_at = now + timedelta(seconds=state.interval_seconds)
        cursor.execute(
            sql.SQL("INSERT INTO {} VALUES ('succeeded', %s, %s, NULL, %s)").format(self.ident("_sync_history")),
            [self.run.started_at, now, next_at],
        )
        state.events_xmin = self.until
        state.synced_to_time = self.snapshot_time
        update_fields = ["events_xmin", "synced_to_time"]
        if full:
            state.last_full_sync_at = now
            update_fields.append("last_full_sync_at")
        state.save(update_fields=update_fields)
        TableChangeRequest.objects.filter(
            environment=self.environment, handled_at__isnull=True, created_at__lte=self.run.started_at
        ).update(handled_at=now, handled_by=self.run)
        sql_role_grant_schema(cursor=cursor, environment=self.environment)
        # Tables other tools made in attached schemas, which default privileges may not cover.
        sources_grant(environment=self.environment)

    def _on_retry(self, attempt: int) -> None:
        self.progress.begin(f"waiting for readers (attempt {attempt + 1})")


def _entry(result: BuiltResult, action: str) -> dict:
    return {"rows": result.rows, "ms": result.ms, "action": action}
