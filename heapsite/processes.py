"""Run several long-lived commands in the foreground and stop them all together (`manage.py up`)."""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen | None = None


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if `up` itself is killed, so nothing is left behind.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_together(
    children: list[Child],
    *,
    grace_seconds: float = 10.0,
    log=print,
    ready: Callable[[list[Child]], bool] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Start every child; when one exits, or on Ctrl+C / SIGTERM, stop the rest. Returns an exit code.

    `on_ready` is called once, as soon as `ready(children)` is true while every child still runs (e.g. the web
    server listens): what it announces is then true, never said by a run that is about to fail."""
    stop_requested: list[int] = []

    def request_stop(signum, frame):
        if stop_requested:
            log("stopping now")
            _signal_all(children, signal.SIGKILL)
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    exit_code = 0
    try:
        for child in children:
            # Own session: Ctrl+C reaches only us, and we stop each child exactly once, in order.
            child.process = subprocess.Popen(child.args, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: S603
        announced = on_ready is None
        while not stop_requested:
            exited = next((c for c in children if c.process.poll() is not None), None)
            if exited is not None:
                log(f"{exited.name} exited with status {exited.process.returncode}; stopping the others")
                exit_code = 1
                break
            if not announced and (ready is None or ready(children)):
                on_ready()
                announced = True
            time.sleep(0.2)
        else:
            log("stopping (Ctrl+C again to force)...")
        _signal_all(children, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while any(c.process.poll() is None for c in children) and time.monotonic() < deadline:
            if len(stop_requested) > 1:
                break
            time.sleep(0.1)
        _signal_all(children, signal.SIGKILL)
        for child in children:
            child.process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code


def _signal_all(children: list[Child], signum: int) -> None:
    for child in children:
        if child.process is None:
            continue
        # The whole process group: RQ's work horse is the worker's child.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if signum == signal.SIGKILL or child.process.poll() is None:
                os.killpg(child.process.pid, signum)


def manage_py(*args: str) -> list[str]:
    from django.conf import settings

    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


def listens_on(child: Child, port: int) -> bool:
    """Whether the child itself (not another program on the machine) listens on the TCP port."""
    try:
        connections = psutil.Process(child.process.pid).net_connections(kind="tcp")
    except (psutil.Error, AttributeError):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)
