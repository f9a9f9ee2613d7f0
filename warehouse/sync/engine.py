"""Running one sync of an environment: full rebuild, or incremental with definition changes.

Order of a run: take the environment's advisory lock; pick the upper bound (the lowest raw-store
batch still in flight, so no raw row can still appear below it: warehouse/sync/watermark.py); build everything that changes
under temporary names (warehouse/sync/build.py); then apply it in ONE transaction that waits for
readers with lock_timeout + retry. A worker killed before that commit changes nothing.
"""

import contextlib
import json
import logging
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from warehouse.apievents.services import api_events_discover, api_events_record
from warehouse.freshness import new_data_take
from warehouse.models import (
    FINISHED_STATUSES,
    BuiltTable,
    Environment,
    EnvironmentSync,
    SyncKind,
    SyncRun,
    SyncStatus,
    TableChangeRequest,
)
from warehouse.roles import sql_role_grant_schema, sql_role_revoke_schema
from warehouse.sources.services import sources_grant
from warehouse.sql import sync as q
from warehouse.sync.apply import ApplySteps, autovacuum_on_sql
from warehouse.sync.budget import analyze_stale, raw_tables
from warehouse.sync.build import (
    Builder,
    BuiltResult,
    column_names_for,
    omitted_merge,
    property_column_limit,
    widen,
)
from warehouse.sync.deletions import deletions_apply, deletions_pending
from warehouse.sync.failures import TableFailure, TablesFailed, connection_lost, error_message
from warehouse.sync.history import (
    ensure_kept_tables,
    history_record,
    history_record_dead_runs,
    history_record_failure,
)
from warehouse.sync.locking import ExclusiveLocks, atomic_with_lock_retry, environment_lock
from warehouse.sync.progress import Progress, checkpoint, step_text
from warehouse.sync.recovery import sync_runs_reap, worker_name
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

# Builds of one run: each one after the first leaves out the tables whose statements failed in the last.
_BUILD_ATTEMPTS = 4


def sync_run_execute(*, run_id: int, on_update=None) -> SyncRun:
    """Execute a recorded run (RQ job and `manage.py sync` both end here). A finished run is a no-op."""
    run = SyncRun.objects.select_related("environment").get(pk=run_id)
    progress = Progress(run, on_update=on_update)
    with environment_lock(run.environment_id):
        run.refresh_from_db()
        if run.status in FINISHED_STATUSES:
            return run
        # We hold the lock, so any other "running" run belongs to a worker that died.
        sync_runs_reap(environment_id=run.environment_id, current_run_id=run.pk)
        run.status, run.started_at, run.error, run.traceback = SyncStatus.RUNNING, timezone.now(), "", ""
        run.worker = worker_name()
        run.save(update_fields=["status", "started_at", "error", "traceback", "worker"])
        started = time.monotonic()
        builder = sync = None
        try:
            with connection.cursor() as cursor:
                sync = _Sync(cursor=cursor, environment=run.environment, run=run, progress=progress)
                builder = sync.builder
                sync.execute()
        except Exception as error:
            _fail(run, error, traceback.format_exc(), progress)
            raise
        finally:
            if builder is not None:
                _drop_private_schemas(builder)
        progress.flush()
        run.status = SyncStatus.PARTIAL if sync.failures else SyncStatus.SUCCEEDED
        run.error = sync.failure_summary()
        run.tables.update(
            {
                failure.table_name: {"rows": 0, "ms": 0, "action": "failed", "error": failure.error, "key": key}
                for key, failure in sync.failures.items()
            }
        )
        run.finished_at, run.progress, run.step, run.current_table = timezone.now(), 1.0, "done", ""
        run.history_recorded = True
        run.save(
            update_fields=[
                "status",
                "error",
                "finished_at",
                "progress",
                "step",
                "current_table",
                "tables",
                "history_recorded",
            ]
        )
        logger.info("sync %s of %s %s in %.1fs", run.kind, run.environment, run.status, time.monotonic() - started)
    return run


def _fail(run: SyncRun, error: Exception, trace: str, progress: Progress) -> None:
    """Record why the run failed, also when the cause is the database connection itself."""
    step = step_text(progress.step, progress.table) or "starting"
    if connection_lost(error):
        # A connection PostgreSQL terminated (or lost) stays broken: record the failure on a new one.
        connection.close()
        reason = f"the database connection was lost while the run was {step}: {error_message(error)}"
    else:
        reason = error_message(error)
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")  # the run's budget is not the bookkeeping's
    try:
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncStatus.FAILED, finished_at=timezone.now(), error=reason, traceback=trace
        )
    except Exception as again:
        logger.error(
            "sync run %s failed (%s) and could not be recorded (%s); the scheduler will", run.pk, reason, again
        )
        return
    history_record_failure(run)


def _drop_private_schemas(builder: Builder) -> None:
    try:
        with connection.cursor() as cursor:
            builder.cursor = cursor
            builder.drop_private_schemas()
    except Exception as error:  # the next run drops them anyway (Builder.reset)
        logger.warning("could not drop the sync's private schemas: %s", error)


def _reconcile_columns(
    existing: dict, types: dict[str, str], reserved: list[str], *, omitted: dict, stored_row: bool = False
):
    """Property columns {key: [column, type]} after a run saw `types` (most used first): (merged
    mapping, added [(key, column, type)], widened, `omitted` with the keys left out this time). New
    keys get columns while the table has fewer than its limit (existing columns always stay); a type
    that no longer fits every value widens. An event table's view just casts to the wider type;
    users and sessions are rebuilt."""
    merged = {
        key: [column, widen({type_, types[key]}) if key in types else type_]
        for key, (column, type_) in existing.items()
    }
    widened = any(merged[key][1] != type_ for key, (_, type_) in existing.items())
    new_keys = [key for key in types if key not in merged]
    limit = property_column_limit(reserved, stored_row=stored_row)
    room = max(0, limit - len(merged))
    new_keys, left_out = new_keys[:room], new_keys[room:]
    names = column_names_for(new_keys, set(reserved) | {column for column, _ in merged.values()})
    added = [(key, names[key], types[key]) for key in sorted(new_keys)]
    merged.update({key: [column, type_] for key, column, type_ in added})
    return merged, added, widened, omitted_merge(omitted, left_out, limit)


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
        # Before anything is planned: statistics of the raw tables that describe what they hold now.
        self.progress.begin("analyzing raw tables")
        analyze_stale(self.cursor, raw_tables(self.environment.id))
        # Taken before the watermark: every batch whose new-data mark this run removes is in its snapshot.
        new_data_at = new_data_take(environment_id=self.environment.id)
        if new_data_at is not None and self.run.new_data_at is None:
            self.run.new_data_at = new_data_at
            self.run.save(update_fields=["new_data_at"])
        until, self.snapshot_time = watermark_bound(self.cursor)
        if state.events_xmin and int(state.events_xmin) > int(until):
            until = state.events_xmin
        self.until = until
        # Raw rows deleted (user deletions, retention) by transactions below the bound: their
        # warehouse rows go in this run's apply transaction (warehouse/sync/deletions.py).
        self.deletions = deletions_pending(self.cursor, environment_id=self.environment.id, until=until)
        # Custom event names first seen in this run's new events join the API events, whose tables
        # are among the event tables (warehouse/apievents/).
        self.discovered = api_events_discover(
            cursor=self.cursor,
            environment_id=self.environment.id,
            since=state.events_xmin,
            until=until,
            recount=bool(self.deletions),
        )
        tables, failures = environment_event_tables(self.environment.id)
        # Tables that cannot be built this run (their spec, then their statements): each keeps its last
        # good version; the run is partial (docs/warehouse.md, "Isolation").
        self.failures: dict[str, TableFailure] = {failure.key: failure for failure in failures}
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
        names = {table.key: (table.table_name, table.label) for table in tables}
        names |= {USERS_KEY: ("users", "Users"), SESSIONS_KEY: ("sessions", "Sessions")}
        for attempt in range(1, _BUILD_ATTEMPTS + 1):
            live = [table for table in tables if table.key not in self.failures]
            self.builder.reset()
            self.builder.kept_columns = {key: table.columns for key, table in built.items()}
            try:
                if full:
                    self.full(state, live, built)
                else:
                    self.incremental(state, live, built)
                self._grant_sources()
                return
            except TablesFailed as failed:
                if attempt == _BUILD_ATTEMPTS:
                    raise
                for key, error in failed.errors.items():
                    name, label = names[key]
                    self.failures[key] = TableFailure(key, name, label, error)
                logger.warning(
                    "sync of %s: building again without %s", self.environment, ", ".join(sorted(failed.errors))
                )

    def _grant_sources(self) -> None:
        """After the swap: read access to tables other tools made in the uploads and attached schemas
        (default privileges may not cover them). Not inside the swap, where it waited for a CSV load's
        whole transaction while readers waited on the swap."""
        try:
            sources_grant(environment=self.environment)
        except Exception as error:
            if connection_lost(error):
                raise
            logger.warning("sync of %s: the data sources' grants wait for the next run: %s", self.environment, error)

    def frozen(self, built: dict[str, BuiltTable], live: list[EventTable]) -> list[tuple[EventTable, dict]]:
        """The failing event tables that keep their last good version: (table as built, its property columns)."""
        taken = {table.table_name for table in live}
        kept = []
        for key in self.failures:
            row = built.get(key)
            if row is None or not row.is_event_table or row.table_name in taken:
                continue
            table = EventTable(-1, key, row.table_name, row.version, row.label, sql.SQL("false"))
            kept.append((table, row.columns))
        return kept

    # -- full ------------------------------------------------------------------------------------

    def full(self, state: EnvironmentSync, tables: list[EventTable], built: dict[str, BuiltTable]) -> None:
        b = self.builder
        frozen = self.frozen(built, tables)
        self.progress.plan(len(tables) + 5)
        self.progress.begin("resolving identity merges")
        b.merge_map(since=None, until=self.until)
        self.progress.finish_step()
        # Users and sessions are built side by side with the pass over the raw events (unless failing:
        # then they keep their last version).
        side = {
            "sessions": lambda x: x.sessions(x.stage_sessions(only_changed=False)),
            "users": lambda x: x.users(x.stage_users(only_changed=False)),
        }
        side = {name: work for name, work in side.items() if f"builtin:{name}" not in self.failures}
        if SESSIONS_KEY in self.failures and SESSIONS_KEY not in built:
            raise RuntimeError(f"sessions cannot be built: {self.failures[SESSIONS_KEY].error}")
        staged = b.event_parts(tables, parent="_parts", since=None, until=self.until, alongside=side)
        sessions, users = staged.side.get("sessions"), staged.side.get("users")
        for name, result in (("sessions", sessions), ("users", users)):
            self.progress.begin("building table", name)
            self.progress.finish_step(result.rows if result else 0)
        results = b.event_tables(tables, staged)
        all_events_rows = sum(result.rows for result in results.values())
        b.user_migrations()
        checkpoint("before-swap")
        self.progress.begin("swapping in new tables")
        locks = ExclusiveLocks()
        moved_in = ["user_migrations"] + [name for name, result in (("users", users), ("sessions", sessions)) if result]

        def swap(cursor):
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            ensure_kept_tables(cursor, self.schema)
            # Everything the run replaces: the views (all_events first), then the tables (users,
            # sessions, user_migrations, and event tables from before they were views), then
            # the stored rows under the views. A failing users or sessions keeps its table.
            views = sorted(self._relations_in(cursor, self.schema, "v"), key=lambda name: name != "all_events")
            kept = KEPT_TABLE_NAMES | ({"users", "sessions"} - set(moved_in))
            replaced = [name for name in self._tables_in(cursor, self.schema) if name not in kept]
            stored = self._tables_in(cursor, b.data)
            locks.take(
                cursor,
                [(self.schema, name) for name in views + replaced] + [(b.data, name) for name in stored],
            )
            self._drop_views(cursor, views)
            for name in replaced:
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.ident(name)))
            # Failing tables keep their stored rows: into the build schema, which becomes the data schema.
            still_there = [(table, columns) for table, columns in frozen if table.table_name in stored]
            for table, _ in still_there:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                        self.stored(table.table_name), sql.Identifier(b.build)
                    )
                )
            # The stored rows replaced go under another name, dropped once this transaction has
            # committed (Builder.drop_private_schemas): dropping them here unlinked their files at the
            # commit (~1,000 at 500 tables), while readers waited. Not when this run applies
            # deletions (users', retention's): their rows go in the transaction that marks them done.
            if self.deletions:
                cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(b.data)))
            elif self._schema_exists(cursor, b.data):
                cursor.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(b.data), sql.Identifier(b.replaced))
                )
                if b.citus:  # the only case where the SQL role reads the stored rows (warehouse/roles.py)
                    sql_role_revoke_schema(cursor=cursor, environment=self.environment, schema=b.replaced)
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(legacy_all_events_schema(self.environment.id))
                )
            )
            for name in moved_in:
                self._move_in(cursor, name)
            # What is left in the build schema are the event tables' stored rows: it becomes the data schema.
            cursor.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(b.build), sql.Identifier(b.data))
            )
            # One round trip for hundreds of tables' statements (they run in this transaction either way).
            batch = []
            for table in tables:
                batch.append(autovacuum_on_sql(self.stored(table.table_name)))
                batch.append(self._view_sql(table, results[table.key].columns))
            batch += [self._view_sql(table, columns) for table, columns in still_there]
            size = 1 if b.citus else 400  # on Citus one by one (each DDL propagates to the workers)
            for start in range(0, len(batch), size):
                cursor.execute(sql.SQL("; ").join(batch[start : start + size]))
            shown = [table.table_name for table in tables] + [table.table_name for table, _ in still_there]
            cursor.execute(q.all_events_view(self.schema, b.data, shown))
            checkpoint("mid-swap")
            # The rebuilt tables hold no deleted rows: this marks the deletions applied (and clears a kept table).
            self._apply_deletions(cursor)
            keep = [table.key for table, _ in still_there]
            keep += [key for key, result in ((USERS_KEY, users), (SESSIONS_KEY, sessions)) if not result]
            BuiltTable.objects.filter(environment=self.environment).exclude(key__in=keep).delete()
            if users:
                self._save_built(USERS_KEY, "users", "users", "", users, is_event_table=False)
            if sessions:
                self._save_built(SESSIONS_KEY, "sessions", "sessions", "", sessions, is_event_table=False)
            self._save_built_many(
                [(table.key, table.table_name, table.label, table.version, results[table.key]) for table in tables]
            )
            inserted = {table.table_name: results[table.key].rows for table in tables}
            inserted["all_events"] = all_events_rows
            self._finish(cursor, state, inserted, full=True)

        atomic_with_lock_retry(
            swap,
            lock_timeout_ms=settings.SYNC_LOCK_TIMEOUT_MS,
            attempts=settings.SYNC_SWAP_ATTEMPTS,
            on_retry=self._on_retry,
        )
        checkpoint("after-swap")
        self.progress.finish_step()
        self.run.tables.update(
            {name: _entry(result, "built") for name, result in (("users", users), ("sessions", sessions)) if result}
            | {table.table_name: _entry(results[table.key], "built") for table in tables}
            | {"all_events": {"rows": all_events_rows, "ms": 0, "action": "view"}}
        )

    # -- incremental -----------------------------------------------------------------------------

    def incremental(self, state: EnvironmentSync, tables: list[EventTable], built: dict[str, BuiltTable]) -> None:
        b = self.builder
        since = state.events_xmin
        # Failing tables are not dropped: they keep their last good version, under their last name.
        frozen = self.frozen(built, tables)
        current = {table.key for table in tables} | set(self.failures)
        drops = [bt for key, bt in built.items() if bt.is_event_table and key not in current]
        # A table that failed in an earlier run missed the events since: it is built again from all history.
        rebuild = [
            t
            for t in tables
            if t.key not in built or built[t.key].version != t.version or t.key in state.failing_tables
        ]
        appends = [t for t in tables if t not in rebuild]
        renames = {built[t.key].table_name: t.table_name for t in appends if built[t.key].table_name != t.table_name}
        self.progress.plan(len(rebuild) + 7)
        self.progress.begin("resolving identity merges")
        b.merge_map(since=since, until=self.until)
        self.progress.finish_step()
        columns: dict[str, dict] = {table.key: built[table.key].columns for table in appends}
        omitted: dict[str, dict] = {table.key: built[table.key].omitted_properties for table in appends}
        # Tables whose view changes shape: a new property key adds a column, a value that no longer
        # fits its column widens it. Their stored rows stay as they are (the view casts the values).
        reshaped: set[str] = set()
        # Nothing new (a quiet environment's scheduled run, or one that only applies an edit): no pass.
        appending = bool(appends) and b.any_events(since=since, until=self.until)
        new_rows: dict[int, int] = {}  # {table number: rows the pass staged for it}
        if appending:
            staged_new = b.event_parts(appends, parent="_inc", since=since, until=self.until)
            inferred, new_rows = staged_new.types, staged_new.rows
            for table in appends:
                types = inferred.get(table.number, {})
                merged, added, widened, omitted[table.key] = _reconcile_columns(
                    columns[table.key], types, table.builtin_columns, omitted=omitted[table.key]
                )
                if added or widened:
                    columns[table.key] = merged
                    reshaped.add(table.key)
        # Changed users and sessions, staged side by side with the rebuild's pass if there is one (a
        # failing one is left as it is, and rebuilt by a later run).
        side = {
            "users": lambda x: self._stage_changed(
                state, built[USERS_KEY], x.stage_users, x.users, USER_BUILTIN_COLUMNS
            ),
            "sessions": lambda x: self._stage_changed(
                state, built[SESSIONS_KEY], x.stage_sessions, x.sessions, SESSION_BUILTIN_COLUMNS
            ),
        }
        side = {name: work for name, work in side.items() if f"builtin:{name}" not in self.failures}
        results: dict[str, BuiltResult] = {}
        if rebuild:
            staged = b.event_parts(rebuild, parent="_parts", since=None, until=self.until, alongside=side)
            side = staged.side
            results = b.event_tables(rebuild, staged)
        else:
            side = b.run_isolated(side)
        unchanged = {
            key: (None, built[key].columns, [], built[key].omitted_properties) for key in (USERS_KEY, SESSIONS_KEY)
        }
        users_rebuilt, users_merged, users_added, users_omitted = side.get("users", unchanged[USERS_KEY])
        sessions_rebuilt, sessions_merged, sessions_added, sessions_omitted = side.get(
            "sessions", unchanged[SESSIONS_KEY]
        )
        columns.update({table.key: results[table.key].columns for table in rebuild})
        columns.update({table.key: kept for table, kept in frozen})
        shown = tables + [table for table, _ in frozen]
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
                recreated = {t.key for t in shown}
            old_views = [t.table_name for t in drops]
            old_views += [built[t.key].table_name for t in shown if t.key in recreated and t.key in built]
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
            # Only tables the new events reached, and what the pass staged for each is what it gets.
            self._append(cursor, [table for table in appends if new_rows.get(table.number)])
            self._index_grown(
                cursor, {t.table_name: (built[t.key].row_count, new_rows.get(t.number, 0)) for t in appends}
            )
            for table in appends:
                rows = new_rows.get(table.number, 0)
                inserted[table.table_name] = rows
                entry = {"rows": rows, "ms": 0, "action": "appended"}
                if table.table_name in renamed_from:
                    entry.update(action="renamed", renamed_from=renamed_from[table.table_name])
                self.run.tables[table.table_name] = entry
            inserted["all_events"] = sum(inserted.values())
            self._apply_merges(cursor, [t.table_name for t in appends])
            if "sessions" in side:
                self._apply_sessions(cursor, sessions_rebuilt, sessions_added)
            if "users" in side:
                self._apply_users(cursor, users_rebuilt, users_added)
            deleted = self._apply_deletions(cursor)
            for table in shown:
                if table.key in recreated:
                    self._create_view(cursor, table, columns[table.key])
            if recreate_all_events:
                cursor.execute(q.all_events_view(self.schema, b.data, [table.table_name for table in shown]))
            for table in drops:
                table.delete()
            for table in rebuild:
                result = results[table.key]
                BuiltTable.objects.filter(environment=self.environment, key=table.key).delete()
                self._save_built(table.key, table.table_name, table.label, table.version, result)
            # One UPDATE for every appended table's record (Django's bulk_update spelled hundreds of
            # tables as CASE expressions: seconds).
            cursor.execute(
                sql.SQL(
                    "UPDATE {built} b SET table_name = v.table_name, label = v.label, columns = v.columns::jsonb,"
                    " omitted_properties = v.omitted::jsonb, row_count = b.row_count + v.delta, built_at = now()"
                    " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[])"
                    " AS v(id, table_name, label, columns, omitted, delta) WHERE b.id = v.id"
                ).format(built=sql.Identifier(BuiltTable._meta.db_table)),
                [
                    [built[table.key].pk for table in appends],
                    [table.table_name for table in appends],
                    [table.label for table in appends],
                    [json.dumps(columns[table.key]) for table in appends],
                    [json.dumps(omitted[table.key]) for table in appends],
                    [inserted[table.table_name] - deleted.get(table.table_name, 0) for table in appends],
                ],
            )
            for key, rebuilt, merged, left_out in (
                (USERS_KEY, users_rebuilt, users_merged, users_omitted),
                (SESSIONS_KEY, sessions_rebuilt, sessions_merged, sessions_omitted),
            ):
                BuiltTable.objects.filter(environment=self.environment, key=key).update(
                    columns=rebuilt.columns if rebuilt else merged, omitted_properties=left_out
                )
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
        """Stage changed users/sessions; if a property no longer fits its column, rebuild the whole table.

        (rebuilt result or None, property columns, added columns, keys left out)."""
        types = stage(only_changed=True, since=state.events_xmin)
        merged, added, widened, omitted = _reconcile_columns(
            built_table.columns, types, reserved, omitted=built_table.omitted_properties, stored_row=True
        )
        # A table that failed in an earlier run missed the changes since: rebuilt from all users/sessions.
        if not widened and built_table.key not in state.failing_tables:
            return None, merged, added, omitted
        result = build(stage(only_changed=False))
        return result, result.columns, [], result.omitted

    # -- bookkeeping -----------------------------------------------------------------------------

    def _save_built(self, key, name, label, version, result: BuiltResult, *, is_event_table: bool = True) -> None:
        self._built_row(key, name, label, version, result, is_event_table=is_event_table).save(force_insert=True)

    def _save_built_many(self, entries: list[tuple[str, str, str, str, BuiltResult]]) -> None:
        """BuiltTable rows of event tables, one INSERT for all of them."""
        BuiltTable.objects.bulk_create([self._built_row(*entry) for entry in entries], batch_size=500)

    def _built_row(self, key, name, label, version, result: BuiltResult, *, is_event_table: bool = True) -> BuiltTable:
        return BuiltTable(
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
            omitted_properties=result.omitted,
        )

    def _finish(self, cursor, state: EnvironmentSync, inserted: dict[str, int], *, full: bool) -> None:
        """Last statements of the apply transaction: sync tables, watermark, grants."""
        now = timezone.now()
        built_names = dict(
            BuiltTable.objects.filter(environment=self.environment, is_event_table=True).values_list(
                "key", "table_name"
            )
        )
        self._write_sync_info(cursor, built_names, inserted, now)
        next_at = None
        if not state.paused:
            next_at = now + timedelta(seconds=state.interval_seconds)
        history_record(
            cursor,
            self.schema,
            status=SyncStatus.PARTIAL if self.failures else SyncStatus.SUCCEEDED,
            started=self.run.started_at,
            finished=now,
            error=self.failure_summary() or None,
            next_at=next_at,
        )
        history_record_dead_runs(cursor, self.environment)
        # With its row: a run that dies between this commit and its own record is not written twice.
        SyncRun.objects.filter(pk=self.run.pk).update(history_recorded=True)
        previous = state.failing_tables
        state.failing_tables = {
            key: failure.as_dict() | {"since": previous.get(key, {}).get("since", now.isoformat())}
            for key, failure in self.failures.items()
        }
        state.events_xmin = self.until
        state.synced_to_time = self.snapshot_time
        update_fields = ["events_xmin", "synced_to_time", "failing_tables"]
        if full:
            state.last_full_sync_at = now
            update_fields.append("last_full_sync_at")
        state.save(update_fields=update_fields)
        api_events_record(cursor=cursor, discovered=self.discovered)
        TableChangeRequest.objects.filter(
            environment=self.environment, handled_at__isnull=True, created_at__lte=self.run.started_at
        ).update(handled_at=now, handled_by=self.run)
        sql_role_grant_schema(cursor=cursor, environment=self.environment)

    def _write_sync_info(self, cursor, built_names: dict[str, str], inserted: dict[str, int], now) -> None:
        """One row per event table and all_events; a failing table keeps its last times, with the error."""
        info = self.ident("_sync_info")
        failing = {
            built_names.get(key, failure.table_name): failure.error
            for key, failure in self.failures.items()
            if key not in (USERS_KEY, SESSIONS_KEY)
        }
        cursor.execute(
            sql.SQL(
                "SELECT event_table_name, sync_started, sync_ended, synced_to_time FROM {}"
                " WHERE event_table_name = ANY(%s)"
            ).format(info),
            [list(failing)],
        )
        last = {row[0]: row[1:] for row in cursor.fetchall()}
        names = sorted(set(built_names.values()) | set(failing)) + ["all_events"]
        times = [
            last.get(name, (None, None, None)) if name in failing else (self.run.started_at, now, self.snapshot_time)
            for name in names
        ]
        cursor.execute(sql.SQL("DELETE FROM {}").format(info))
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (event_table_name, sync_started, sync_ended, synced_to_time, inserted_row_count, error)"
                " SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[],"
                " %s::bigint[], %s::text[])"
            ).format(info),
            [
                names,
                [t[0] for t in times],
                [t[1] for t in times],
                [t[2] for t in times],
                [inserted.get(name, 0) for name in names],
                [failing.get(name) for name in names],
            ],
        )

    def failure_summary(self) -> str:
        """The tables this run could not build, for the run record and _sync_history ("" when none)."""
        if not self.failures:
            return ""
        parts = [f"{f.table_name} ({f.label}): {f.error}" for f in self.failures.values()]
        count = len(parts)
        return f"{count} table{'s' if count > 1 else ''} could not be built and kept their last version: " + "; ".join(
            parts
        )

    def _on_retry(self, attempt: int) -> None:
        self.progress.begin(f"waiting for readers (attempt {attempt + 1})")


def _entry(result: BuiltResult, action: str) -> dict:
    return {"rows": result.rows, "ms": result.ms, "action": action}
