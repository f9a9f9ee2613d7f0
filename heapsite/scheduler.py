"""The periodic scheduler: every few seconds, let the sync decide what is due.

The decision lives in `warehouse.scheduling.tick()` (the sync's code); this loop only calls it,
survives its errors, and stops cleanly on SIGTERM / Ctrl+C.
"""

import importlib
import logging
import signal
import threading

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


def _heartbeat() -> None:
    """Tell the sync page the scheduler is alive (warehouse/heartbeat.py), where that module exists."""
    try:
        from warehouse.heartbeat import scheduler_heartbeat_record
    except ImportError:
        return
    scheduler_heartbeat_record()


def scheduler_run(*, interval_seconds: float, once: bool = False, stop: threading.Event | None = None) -> int:
    """Call tick() every interval until stopped; returns how many ticks ran."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    logger.info("scheduler started: a tick every %ss", interval_seconds)
    ticks = 0
    said_unavailable = False
    while not stop.is_set():
        tick = _load_tick()
        if tick is None:
            if not said_unavailable:
                logger.warning("scheduling is not available (no %s module); periodic syncs are off", TICK_MODULE)
                said_unavailable = True
        else:
            try:
                tick()
                ticks += 1
                _heartbeat()
            except Exception:
                logger.exception("scheduler tick failed; trying again in %ss", interval_seconds)
        if once:
            break
        stop.wait(interval_seconds)
    logger.info("scheduler stopped")
    return ticks
