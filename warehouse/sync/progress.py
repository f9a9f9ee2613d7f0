"""Progress of a running sync: the run record, the RQ job's meta, an optional terminal callback.

Also the named pause points that failure tests use to SIGKILL a worker at a known moment.
"""

import os
import time
from collections.abc import Callable

from django.utils import timezone

from warehouse.models import SyncRun

PAUSE_AT_ENV = "HEAPSITE_SYNC_PAUSE_AT"
PAUSE_FILE_ENV = "HEAPSITE_SYNC_PAUSE_FILE"
MAX_RECORDED_STEPS = 500
# Within one step (e.g. "building table" for table after table), the run record is written at most
# this often: hundreds of tables made hundreds of writes of the growing step list (a quarter of a
# 500-table sync on this machine). A new step is always written; flush() writes what is pending.
PUBLISH_EVERY_SECONDS = 0.25


def checkpoint(name: str) -> None:
    """Test hook: when HEAPSITE_SYNC_PAUSE_AT names this point, announce it in a file and wait to be
    killed, or to go on once the test removes the file."""
    if os.environ.get(PAUSE_AT_ENV) != name:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        with open(marker, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not marker or os.path.exists(marker)):
        time.sleep(0.05)


def step_text(step: str, table: str) -> str:
    """ "building table pageviews": what a run is doing, for messages about it ("" before its first step)."""
    return " ".join(part for part in (step, table) if part)


class Progress:
    """Steps are counted up front; `fraction` moves as each finishes."""

    def __init__(self, run: SyncRun, *, on_update: Callable[["Progress"], None] | None = None) -> None:
        self.run = run
        self.total_steps = 1
        self.done_steps = 0
        self.step = ""
        self.table = ""
        self.rows = 0
        self.started = time.monotonic()
        self.on_update = on_update
        # Every step with when it began (seconds into the run), kept on the run after it ends: the sync page
        # shows the last run's steps even when the whole run took a fraction of a second.
        self.steps: list[dict] = []
        self._published: tuple[str, float] | None = None  # (step, when) of the last write
        self._pending = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_steps / max(1, self.total_steps))

    def plan(self, steps: int) -> None:
        self.total_steps = max(1, steps)
        self.done_steps = 0

    def begin(self, step: str, table: str = "") -> None:
        self.step, self.table = step, table
        entry = {"step": step, "table": table, "at": round(time.monotonic() - self.started, 3), "rows": 0}
        previous = self.steps[-1] if self.steps else None
        if previous and previous["step"].split(" (")[0] == step.split(" (")[0] and previous["table"] == table:
            previous["step"] = step  # another attempt of the same step (waiting for readers): one line
        elif len(self.steps) < MAX_RECORDED_STEPS:
            self.steps.append(entry)
        self._publish()

    def finish_step(self, rows: int = 0) -> None:
        self.done_steps += 1
        self.rows += rows
        if self.steps:
            self.steps[-1]["rows"] += rows
        self._publish()

    def _publish(self) -> None:
        now = time.monotonic()
        if self._published and self._published[0] == self.step and now - self._published[1] < PUBLISH_EVERY_SECONDS:
            self._pending = True
            if self.on_update:
                self.on_update(self)
            return
        self._published, self._pending = (self.step, now), False
        self._write()

    def flush(self) -> None:
        """Write what throttled updates left unwritten."""
        if self._pending:
            self._published, self._pending = (self.step, time.monotonic()), False
            self._write()

    def _write(self) -> None:
        SyncRun.objects.filter(pk=self.run.pk).update(
            step=self.step, current_table=self.table, rows_done=self.rows, progress=self.fraction, steps=self.steps
        )
        _publish_job_meta(
            {
                "run_id": self.run.pk,
                "step": self.step,
                "table": self.table,
                "rows": self.rows,
                "progress": self.fraction,
                "updated_at": timezone.now().isoformat(),
            }
        )
        if self.on_update:
            self.on_update(self)


def _publish_job_meta(meta: dict) -> None:
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return
    job.meta.update(meta)
    job.save_meta()
