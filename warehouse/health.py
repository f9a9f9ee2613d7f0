"""Is the warehouse fresh? Per environment (stalled, failing tables) and for the processes behind it.

An environment is *stalled* when no run succeeded (fully or partly) for more than
SYNC_STALL_INTERVALS of its sync intervals, unless it is paused; the reason is the most specific
thing known (the last run's error, a run that has been running or queued for long, no worker, no
scheduler, Redis down). A table the last run could not build is reported as *failing* at once.
The environment and sync pages, `manage.py sync_status` and `/healthz` all read this module.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker

from warehouse import jobs
from warehouse.models import Environment, EnvironmentSync, SchedulerHeartbeat, SyncRun, SyncStatus
from warehouse.sync.progress import step_text


@dataclass
class Processes:
    """The services and processes a fresh warehouse needs; `problems` says what is wrong, in words."""

    database: bool = True
    redis: bool = True
    scheduler_ticked_at: datetime | None = None
    scheduler_problem: str = ""
    workers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class SyncHealth:
    environment: Environment
    paused: bool = False
    stalled: bool = False
    # The last successful (or partial) run's end, or when the environment was created if none.
    since: datetime | None = None
    reason: str = ""
    failing: list[dict] = field(default_factory=list)  # EnvironmentSync.failing_tables, with their keys

    @property
    def ok(self) -> bool:
        return not self.stalled and not self.failing


def _scheduler_stale_after() -> timedelta:
    return timedelta(seconds=max(60, 10 * settings.SCHEDULER_TICK_SECONDS))


def processes_health(*, now: datetime | None = None) -> Processes:
    """PostgreSQL, Redis, the scheduler's heartbeat and the workers listening to the sync queue."""
    now = now or timezone.now()
    found = Processes()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beat = SchedulerHeartbeat.objects.filter(name="scheduler").first()
    except Exception as error:
        found.database = False
        found.problems.append(f"PostgreSQL cannot be reached: {error}".strip())
        beat = None
    if found.database:
        if beat is None:
            found.problems.append("the scheduler has never run (start `manage.py scheduler`)")
        else:
            found.scheduler_ticked_at, found.scheduler_problem = beat.ticked_at, beat.problem
            if now - beat.ticked_at > _scheduler_stale_after():
                found.problems.append(f"the scheduler has not ticked since {beat.ticked_at:%Y-%m-%d %H:%M:%S %Z}")
    try:
        client = jobs.queue_connection()
        client.ping()
        found.workers = sum(1 for worker in Worker.all(connection=client) if jobs.QUEUE in worker.queue_names())
    except RedisError as error:
        found.redis = False
        found.problems.append(f"Redis cannot be reached: {error}")
    else:
        if not found.workers:
            found.problems.append(
                f"no worker is listening to the {jobs.QUEUE!r} queue (start `manage.py rqworker sync`)"
            )
    return found


def _last_good_run(environment):
    """When the environment's last successful (or partial) run finished (at most one value): `environment`
    an Environment, an id or an OuterRef."""
    return (
        SyncRun.objects.filter(environment=environment, status__in=[SyncStatus.SUCCEEDED, SyncStatus.PARTIAL])
        .exclude(finished_at__isnull=True)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)[:1]
    )


def environment_sync_health(
    *, environment: Environment, processes: Processes | None = None, now: datetime | None = None
) -> SyncHealth:
    """Whether the environment's warehouse is stalled or has failing tables, and why (when stalled, the
    processes are checked too, unless `processes` gives them)."""
    now = now or timezone.now()
    last_good = _last_good_run(environment)
    # One query for the schedule and the last good run's end (a second without a schedule row yet).
    state = EnvironmentSync.objects.filter(environment=environment).annotate(last_good=Subquery(last_good)).first()
    if state is None:
        state = _default_state(environment)
        state.last_good = last_good.first()
    return _health(environment, state, processes=processes, now=now, reasons=True)


def environments_sync_health(*, processes: Processes, now: datetime, reasons: bool) -> list[SyncHealth]:
    """environment_sync_health of every environment in one query (stall reasons cost one more per stalled
    environment: only with `reasons`). /healthz answers anyone: its cost must not grow per environment."""
    environments = Environment.objects.select_related("sync_state").annotate(
        last_good=Subquery(_last_good_run(OuterRef("pk")))
    )
    health = []
    for environment in environments:
        state = getattr(environment, "sync_state", None) or _default_state(environment)
        state.last_good = environment.last_good
        health.append(_health(environment, state, processes=processes, now=now, reasons=reasons))
    return health


def _default_state(environment: Environment) -> EnvironmentSync:
    """The schedule of an environment before its first sync wrote one."""
    return EnvironmentSync(environment=environment, interval_seconds=settings.SYNC_DEFAULT_INTERVAL_SECONDS)


def _health(environment, state, *, processes: Processes | None, now: datetime, reasons: bool) -> SyncHealth:
    health = SyncHealth(environment=environment, paused=state.paused, failing=failing_tables(state.failing_tables))
    if state.paused:
        return health
    health.since = state.last_good or environment.created_at
    allowed = timedelta(seconds=settings.SYNC_STALL_INTERVALS * state.interval_seconds)
    if now - health.since <= allowed:
        return health
    health.stalled = True
    if reasons:
        health.reason = _stall_reason(environment, processes or processes_health(now=now), now)
    return health


def failing_tables(failing: dict) -> list[dict]:
    """EnvironmentSync.failing_tables as a list (by key), each with its key and `since` as a datetime."""
    return [
        failure | {"key": key, "since": datetime.fromisoformat(failure["since"])}
        for key, failure in sorted(failing.items())
    ]


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _stall_reason(environment: Environment, processes: Processes, now: datetime) -> str:
    latest = SyncRun.objects.filter(environment=environment).order_by("-created_at", "-id").first()
    if latest is None:
        why = "no sync was ever requested"
    elif latest.status == SyncStatus.FAILED:
        why = f"run #{latest.pk} failed: {latest.error or 'no error recorded'}"
    elif latest.status == SyncStatus.RUNNING:
        step = step_text(latest.step, latest.current_table)
        why = f"run #{latest.pk} has been running for {_ago(latest.started_at or latest.created_at, now)}" + (
            f" ({step})" if step else ""
        )
    elif latest.status == SyncStatus.QUEUED:
        why = f"run #{latest.pk} has been queued for {_ago(latest.created_at, now)} and no worker took it"
    else:
        why = "no run was requested since"
    if processes.problems:
        why += "; " + "; ".join(processes.problems)
    return why


def health_report(*, names: set[str] | None, details: bool) -> dict:
    """What /healthz and `manage.py sync_status --json` answer. `names`: the environments (warehouse
    schemas) whose problems may be named (None: any); `details`: say what is wrong with the processes."""
    now = timezone.now()
    processes = processes_health(now=now)
    report: dict = {
        "database": {"ok": processes.database},
        "redis": {"ok": processes.redis},
        "scheduler": {
            "ok": processes.scheduler_ticked_at is not None
            and now - processes.scheduler_ticked_at <= _scheduler_stale_after(),
            "last_tick": processes.scheduler_ticked_at.isoformat() if processes.scheduler_ticked_at else None,
        },
        "workers": {"ok": processes.workers > 0, "count": processes.workers},
    }
    environments = []
    if processes.database:
        environments = environments_sync_health(processes=processes, now=now, reasons=bool(details or names))
    sync: dict = {
        "ok": processes.database and all(health.ok for health in environments),
        "environments": len(environments),
        "stalled": sum(health.stalled for health in environments),
        "failing_tables": sum(len(health.failing) for health in environments),
    }
    if details or names:
        sync["problems"] = [
            {
                "environment": health.environment.warehouse_schema,
                "stalled_since": health.since.isoformat() if health.stalled else None,
                "reason": health.reason,
                "failing_tables": [
                    {"table": f["table"], "error": f["error"], "since": f["since"].isoformat()} for f in health.failing
                ],
            }
            for health in environments
            if not health.ok and (names is None or health.environment.warehouse_schema in names)
        ]
    if details:
        report["problems"] = processes.problems
        # The scheduler's last error names schemas, relations and hosts: staff only.
        report["scheduler"]["problem"] = processes.scheduler_problem
    report["sync"] = sync
    report["ok"] = all(check["ok"] for check in report.values() if isinstance(check, dict))
    return report


@dataclass(frozen=True)
class Heartbeat:
    """The scheduler's last tick, as the sync page shows it (RQ's dashboard only knows RQ's own cron
    schedulers and says "No running cron schedulers" about heapsite's)."""

    ticked_at: datetime | None
    problem: str = ""

    @property
    def alive(self) -> bool:
        return self.ticked_at is not None and timezone.now() - self.ticked_at <= _scheduler_stale_after()


def scheduler_heartbeat() -> Heartbeat:
    beat = SchedulerHeartbeat.objects.filter(name="scheduler").first()
    return Heartbeat(ticked_at=beat.ticked_at, problem=beat.problem) if beat else Heartbeat(ticked_at=None)
