"""Reads of the warehouse app: what the sync status page shows."""

import statistics

from django.conf import settings
from django.utils import timezone

from warehouse.apievents.selectors import LIMIT, OFF, api_event_states
from warehouse.health import environment_sync_health, failing_tables
from warehouse.models import (
    FINISHED_STATUSES,
    ApiEvent,
    BuiltTable,
    Environment,
    EnvironmentSync,
    SyncRun,
    SyncStatus,
    TableChangeRequest,
)
from warehouse.registry import event_tables_for
from warehouse.services import environment_sync_state

CHART_WIDTH, CHART_HEIGHT = 600, 120
LIMIT_SHOWN = 200  # API events past the cap listed by name (the most frequent)


def sync_run_progress(*, run: SyncRun | None) -> dict:
    if run is None:
        return {"running": False}
    elapsed = (timezone.now() - run.started_at).total_seconds() if run.started_at else 0.0
    return {
        "running": run.status == SyncStatus.RUNNING,
        "run_id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "step": run.step,
        "table": run.current_table,
        "rows": run.rows_done,
        "progress": round(run.progress, 3),
        "percent": int(run.progress * 100),
        "elapsed": round(elapsed, 1),
    }


def sync_current_run(*, environment: Environment) -> SyncRun | None:
    return SyncRun.objects.filter(environment=environment, status=SyncStatus.RUNNING).order_by("-started_at").first()


def sync_live_progress(*, environment: Environment) -> dict:
    """What the status page polls: the running run, and how many wait (a run can start and finish between polls)."""
    queued = SyncRun.objects.filter(environment=environment, status=SyncStatus.QUEUED).count()
    return sync_run_progress(run=sync_current_run(environment=environment)) | {"queued": queued}


def sync_freshness(*, runs: list[SyncRun]) -> dict | None:
    """How stale the warehouse was when recent runs finished: for each finished run that picked up
    marked new data (warehouse/freshness.py), seconds from the arrival of its oldest new batch to the
    run's end. {"last", "median", "count"} of the given runs (newest first), or None without any."""
    waits = [
        (run.finished_at - run.new_data_at).total_seconds()
        for run in runs
        if run.new_data_at and run.finished_at and run.status != SyncStatus.FAILED
    ]
    if not waits:
        return None
    return {"last": max(waits[0], 0.0), "median": max(statistics.median(waits), 0.0), "count": len(waits)}


def _chart(runs: list[SyncRun]) -> dict:
    """Inline-SVG polylines of duration and rows per finished run, oldest first."""
    points = [(run.duration_seconds or 0.0, run.total_rows) for run in reversed(runs)]
    count = len(points)
    if not points:
        return {"duration_points": "", "rows_points": "", "max_duration": 0, "max_rows": 0, "count": 0}
    if count == 1:  # a polyline needs two points: draw the one run as a flat line across
        points = points * 2
    max_duration = max(p[0] for p in points) or 1.0
    max_rows = max(p[1] for p in points) or 1
    step = CHART_WIDTH / max(1, len(points) - 1)

    def line(values, top):
        return " ".join(
            f"{i * step:.1f},{CHART_HEIGHT - (value / top) * (CHART_HEIGHT - 10):.1f}" for i, value in enumerate(values)
        )

    return {
        "duration_points": line([p[0] for p in points], max_duration),
        "rows_points": line([p[1] for p in points], max_rows),
        "max_duration": round(max_duration, 1),
        "max_rows": max_rows,
        "count": count,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


def _pending_changes(environment: Environment, current: SyncRun | None) -> int:
    """Definition changes no run has taken up yet (the running sync applies those made before it started)."""
    changes = TableChangeRequest.objects.filter(environment=environment, handled_at__isnull=True)
    if current is not None and current.started_at is not None:
        changes = changes.filter(created_at__gt=current.started_at)
    return changes.count()


def run_steps(run: SyncRun | None) -> list[dict]:
    """The run's steps with how long each took (until the next began, the last until the run ended or now)."""
    if run is None or not run.steps:
        return []
    end = run.duration_seconds
    if end is None and run.started_at:
        end = (timezone.now() - run.started_at).total_seconds()
    steps = []
    for index, step in enumerate(run.steps):
        following = run.steps[index + 1]["at"] if index + 1 < len(run.steps) else end
        seconds = max(0.0, following - step["at"]) if following is not None else None
        steps.append(
            {
                **step,
                "seconds": seconds,
                "running": following is None or (index + 1 == len(run.steps) and run.finished_at is None),
            }
        )
    return steps


def _events_not_synced(environment: Environment) -> dict:
    """API events past the cap (most events first) and events switched off, defined or logged via the API."""
    registered = event_tables_for(environment.pk)
    events = ApiEvent.objects.filter(environment=environment).order_by("first_seen_id")
    states = api_event_states(events, registered=registered)
    limited = sorted((s for s in states if s.state == LIMIT), key=lambda s: (-s.event.event_count, s.event.name))
    return {
        "api_events_synced": sum(1 for s in states if s.synced),
        "api_events_total": len(states),
        "api_events_cap": settings.SYNC_API_EVENT_TABLES_MAX,
        "limit_reached": limited[:LIMIT_SHOWN],
        "limit_reached_more": max(0, len(limited) - LIMIT_SHOWN),
        "paused_api_events": [s for s in states if s.state == OFF],
        "paused_definitions": [spec for spec in registered if not spec.sync],
    }


def sync_status(*, environment: Environment) -> dict:
    state = environment_sync_state(environment=environment)
    runs = list(SyncRun.objects.filter(environment=environment).order_by("-created_at", "-id")[:50])
    finished = [run for run in runs if run.status in FINISHED_STATUSES][:40]
    current = next((run for run in runs if run.status == SyncStatus.RUNNING), None)
    shown = current or next((run for run in runs if run.status != SyncStatus.QUEUED), None)
    return {
        "steps_run": shown,
        "steps": run_steps(shown),
        "state": state,
        "current": current,
        "progress": sync_run_progress(run=current),
        "queued": [run for run in runs if run.status == SyncStatus.QUEUED],
        "history": [run for run in runs if run.status != SyncStatus.QUEUED],
        "pending_changes": _pending_changes(environment, current),
        "sync_health": environment_sync_health(environment=environment),
        "tables": list(BuiltTable.objects.filter(environment=environment).order_by("is_event_table", "table_name")),
        "chart": _chart(finished),
        "freshness": sync_freshness(runs=finished),
    } | _events_not_synced(environment)


def sync_table_failure(*, environment: Environment, key: str) -> dict | None:
    """Why the sync cannot build the table of this key (EventTableSpec.key), since when; None when it can."""
    failing = EnvironmentSync.objects.filter(environment=environment).values_list("failing_tables", flat=True).first()
    found = [failure for failure in failing_tables(failing or {}) if failure["key"] == key]
    return found[0] if found else None
