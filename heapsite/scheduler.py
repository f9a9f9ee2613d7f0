"""The periodic scheduler: every few seconds, let the sync decide what is due.

The decision lives in `warehouse.scheduling.tick()` (the sync's code); this loop only calls it,
survives its errors, and stops cleanly on SIGTERM / Ctrl+C.
"""

import importlib
import logging
import signal
import threading

from django.db import close_old_connections

logger = logging.getLogger("heapsite.scheduler")
TICK_MODULE = "warehouse.scheduling"


def _load_tick():
    try:
        module = importlib.import_module(TICK_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TICK_MODULE:
            raise
        return None
    return module.tick


def scheduler_run(*, interval_seconds: float, once: bool = False, stop: threading.Event | None = None) -> int:
    """Call tick() every interval until stopped; returns how many ticks ran."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    logger.info("scheduler started: a tick every %ss", interval_seconds)
    ticks = 0
    failed_in_a_row = 0
    said_unavailable = False
    while not stop.is_set():
        tick = _load_tick()
        if tick is None:
            if not said_unavailable:
                logger.warning("scheduling is not available (no %s module); periodic syncs are off", TICK_MODULE)
                said_unavailable = True
        else:
            # A connection PostgreSQL terminated (a restart, a failover) stays broken until closed:
            # close what is broken or too old before every tick, so the next one reconnects.
            close_old_connections()
            try:
                tick()
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
        stop.wait(interval_seconds)
    logger.info("scheduler stopped")
    return ticks
