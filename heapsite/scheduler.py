"""The periodic scheduler: every few seconds, let the sync decide what is due.

The decision lives in `warehouse.scheduling.tick()` (the sync's code), and between ticks in its
cheap `poll()` (environments with new data); this loop only calls them, survives their errors, and
stops cleanly on SIGTERM / Ctrl+C.
"""

import importlib
import logging
import signal
import threading
import time

from django.db import close_old_connections

logger = logging.getLogger("heapsite.scheduler")
TICK_MODULE = "warehouse.scheduling"
# Between ticks the module's poll() runs this often (at most): new data is noticed within about a second.
POLL_SECONDS = 1.0


def _load_tick_module():
    try:
        return importlib.import_module(TICK_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TICK_MODULE:
            raise
        return None


class _Poller:
    """Calls the module's poll() (if it has one) between ticks; logs a failure once, not every second."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, module) -> None:
        poll = getattr(module, "poll", None)
        if poll is None:
            return
        close_old_connections()
        try:
            poll()
        except Exception as error:
            if not self.failing:
                first_line = (str(error).strip().splitlines() or [""])[0]
                logger.error("scheduler poll failed (%s: %s); the ticks go on", type(error).__name__, first_line)
            self.failing = True
            close_old_connections()
        else:
            if self.failing:
                logger.info("scheduler poll succeeded again")
            self.failing = False


def scheduler_run(*, interval_seconds: float, once: bool = False, stop: threading.Event | None = None) -> int:
    """Call tick() every interval until stopped, and the module's poll() about every second in between
    (new data: warehouse.scheduling.poll); returns how many ticks ran."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    logger.info("scheduler started: a tick every %ss", interval_seconds)
    ticks = 0
    failed_in_a_row = 0
    said_unavailable = False
    poll = _Poller()
    poll_seconds = min(POLL_SECONDS, interval_seconds)
    while not stop.is_set():
        module = _load_tick_module()
        if module is None:
            if not said_unavailable:
                logger.warning("scheduling is not available (no %s module); periodic syncs are off", TICK_MODULE)
                said_unavailable = True
        else:
            # A connection PostgreSQL terminated (a restart, a failover) stays broken until closed:
            # close what is broken or too old before every tick, so the next one reconnects.
            close_old_connections()
            try:
                module.tick()
                ticks += 1
            except Exception as error:
                failed_in_a_row += 1
                first_line = (str(error).strip().splitlines() or [""])[0]
                logger.error(
                    "scheduler tick failed (%s: %s); trying again in %ss",
                    type(error).__name__,
                    first_line,
                    interval_seconds,
                )
                logger.debug("the failed tick", exc_info=True)
                close_old_connections()
            else:
                if failed_in_a_row:
                    logger.info("scheduler tick succeeded again after %s failed", failed_in_a_row)
                failed_in_a_row = 0
        if once:
            break
        next_tick = time.monotonic() + interval_seconds
        while not stop.wait(max(0.0, min(poll_seconds, next_tick - time.monotonic()))):
            if time.monotonic() >= next_tick:
                break
            if module is not None:
                poll(module)
    logger.info("scheduler stopped")
    return ticks
