"""Bookkeeping of the warehouse sync: per-environment state and schedule, built tables, runs.

The warehouse tables themselves live in the environment's schema; these app tables remember what
was built from which definition version and how far the raw store has been synced.
"""

from django.db import models

from .api_events import KEY_PREFIX as API_EVENT_KEY_PREFIX
from .environments import Environment


class SyncKind(models.TextChoices):
    FULL = "full"
    INCREMENTAL = "incremental"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule"
    DEFINITION = "definition change"
    MANUAL = "manual"
    PRIVACY = "privacy"  # a user deletion or a retention run removed raw rows
    NEW_DATA = "new data"  # ingestion marked the environment (warehouse/freshness.py)


class SyncStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    # Finished, but some tables could not be built: they kept their last good version (run.tables
    # names them with their errors; EnvironmentSync.failing_tables has them until they build again).
    PARTIAL = "partial"
    FAILED = "failed"


# Statuses of a run that is over.
FINISHED_STATUSES = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)


class EnvironmentSync(models.Model):
    """Schedule and watermarks of one environment's warehouse (one row per environment)."""

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="sync_state")
    interval_seconds = models.PositiveIntegerField(default=60)
    paused = models.BooleanField(default=False)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)
    # The watermark: raw events, users, sessions and merges written by batches below this number
    # were synced (None: never synced; warehouse/sync/watermark.py).
    events_xmin = models.CharField(max_length=24, null=True, blank=True)
    # Event time of the newest event synced, for _sync_info.synced_to_time.
    synced_to_time = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    # Tables the last run could not build (they keep their last good version; every run tries them
    # again): {table key: {"table", "label", "error", "since" (ISO time of the first failure)}}.
    failing_tables = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "warehouse_environment_sync"


class BuiltTable(models.Model):
    """A table the sync built in an environment's schema, keyed by EventTableSpec.key (or a built-in name)."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    table_name = models.CharField(max_length=63)
    version = models.CharField(max_length=200, blank=True, default="")
    label = models.CharField(max_length=200, blank=True, default="")
    is_event_table = models.BooleanField(default=True)
    row_count = models.BigIntegerField(default=0)
    built_at = models.DateTimeField()
    last_duration_ms = models.PositiveIntegerField(default=0)
    # Property columns: {property key: [column name, type]}, kept stable across incremental syncs.
    columns = models.JSONField(default=dict, blank=True)
    # Property keys that got no column (the table is at its limit): {"count", "keys" (the first 100,
    # most used first), "limit"}; empty when every key has one.
    omitted_properties = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "warehouse_built_table"
        ordering = ["table_name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "key"], name="built_table_env_key"),
        ]

    def __str__(self) -> str:
        return self.table_name

    @property
    def is_api_event(self) -> bool:
        """The table of an event logged via the API (warehouse/apievents/), not of a definition."""
        return self.key.startswith(API_EVENT_KEY_PREFIX)


class TableChangeRequest(models.Model):
    """A definition change waiting for the sync; the next run of the environment handles it."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    change = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        db_table = "warehouse_table_change_request"
        indexes = [models.Index(fields=["environment", "handled_at"], name="table_change_env_handled")]


class SyncRun(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    trigger = models.CharField(max_length=24, choices=SyncTrigger.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    rq_job_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress, updated while running: step name, table being built, rows written so far, fraction done.
    step = models.CharField(max_length=64, blank=True, default="")
    current_table = models.CharField(max_length=63, blank=True, default="")
    rows_done = models.BigIntegerField(default=0)
    progress = models.FloatField(default=0.0)
    # {table_name: {"rows": int, "ms": int, "action": "built|appended|renamed|dropped"}}
    tables = models.JSONField(default=dict, blank=True)
    # The run's steps in order, kept after it ends: [{"step", "table", "at" (seconds after the start), "ms", "rows"}].
    steps = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    # host:pid of the process that ran it (named when that process dies mid-run).
    worker = models.CharField(max_length=200, blank=True, default="")
    # When the oldest raw batch this run was the first to pick up arrived, as ingestion marked it
    # (warehouse/freshness.py): finished_at minus it is how stale the warehouse was. None: no mark.
    new_data_at = models.DateTimeField(null=True, blank=True)
    # Whether the environment's _sync_history has this run's row (a run killed with its worker or its
    # connection gets it from the next run).
    history_recorded = models.BooleanField(default=False)

    class Meta:
        db_table = "warehouse_sync_run"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "status"], name="sync_run_env_status")]

    def __str__(self) -> str:
        return f"{self.kind} sync #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def total_rows(self) -> int:
        """Rows the run wrote (all_events, a view over the event tables, adds none of its own)."""
        return sum(int(entry.get("rows", 0)) for entry in self.tables.values() if entry.get("action") != "view")


class SchedulerHeartbeat(models.Model):
    """The scheduler's last tick (one row): a health check tells a stopped scheduler from a quiet one."""

    name = models.CharField(max_length=32, primary_key=True, default="scheduler")
    ticked_at = models.DateTimeField()
    # host:pid of the scheduler process.
    process = models.CharField(max_length=200, blank=True, default="")
    # What went wrong in the last tick (e.g. Redis unavailable), "" when nothing did.
    problem = models.TextField(blank=True, default="")

    class Meta:
        db_table = "warehouse_scheduler_heartbeat"
