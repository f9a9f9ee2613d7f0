"""The supervisor behind `manage.py up`, with small Python children standing in for the servers."""

import os
import signal
import socket
import sys
import threading
import time

import psutil

from heapsite.processes import Child, listens_on, run_together

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_when_one_child_dies_the_others_are_stopped_and_the_exit_code_says_so():
    children = [Child("sleeper", SLEEPER), Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"])]
    messages = []

    assert run_together(children, log=messages.append) == 1

    assert messages[0] == "crasher exited with status 3; stopping the others"
    assert gone(children[0].process.pid)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period():
    children = [Child("stubborn", STUBBORN)]
    handler_before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    # Ctrl+C arrives at `up` once the child is running.
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

    assert run_together(children, grace_seconds=1, log=lambda message: None) == 0

    assert gone(children[0].process.pid)
    assert time.monotonic() - started < 10
    assert signal.getsignal(signal.SIGINT) is handler_before, "handlers are restored"


def test_ready_is_announced_only_while_every_child_runs():
    """Two `up` started at once: the one whose web server loses the race never says it is running."""
    said = []
    with socket.socket() as other_program:  # someone else answers on the port: that is not our server
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        loser = [Child("web server", [sys.executable, "-c", "import time; time.sleep(0.6); raise SystemExit(1)"])]
        code = run_together(
            loser, log=lambda *_: None, ready=lambda c: listens_on(c[0], port), on_ready=lambda: said.append("up")
        )
    assert code == 1 and said == []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    serve = f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {free})); s.listen(); time.sleep(1.5)"
    winner = [Child("web server", [sys.executable, "-c", serve])]
    run_together(
        winner, log=lambda *_: None, ready=lambda c: listens_on(c[0], free), on_ready=lambda: said.append("up")
    )
    assert said == ["up"]
