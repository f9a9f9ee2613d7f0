"""`manage.py up`: prepare the database on first run, then run web server, worker and scheduler."""

import errno
import io
import os
import socket

from django.core.management import call_command, get_commands
from django.core.management.base import CommandError, OutputWrapper
from django.urls import Resolver404, resolve

from heapsite.processes import Child, listens_on, manage_py, run_together
from heapsite.services import admin_user_ensure, demo_environments_ensure
from warehouse.models import RawEvent

WORKER_QUEUES = ["default", "sync"]


def _bind_error(host: str, port: int) -> OSError | None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like runserver: connections of a previous run in TIME_WAIT do not make the port "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None


def free_port_after(host: str, port: int, *, tries: int = 20) -> int | None:
    """The first port after `port` that one could listen on now, or None."""
    return next(
        (candidate for candidate in range(port + 1, port + 1 + tries) if not _bind_error(host, candidate)), None
    )


def port_check(host: str, port: int) -> None:
    """Fail early, and say what to do, when the web server could not listen there."""
    error = _bind_error(host, port)
    if error is None:
        return
    if error.errno == errno.EADDRINUSE:
        other = free_port_after(host, port)
        advice = (
            f"Pick another one: `make run PORT={other}` or `python manage.py up --port {other}` ({other} is free now)."
            if other
            else "No port in the next 20 is free either: stop what uses them or pick another with PORT=."
        )
        raise CommandError(f"port {port} on {host} is already in use (is heapsite already running?). {advice}")
    raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}")


def _serves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def first_run_setup(
    *, out: OutputWrapper, demo: bool, demo_events: int | None = None, notes: OutputWrapper | None = None
) -> None:
    """Migrate; on a fresh install create the admin login and the demo environments and data.

    What the person running it must see once (the generated password and server keys) goes to
    `notes` (default `out`): `up` shows it last, next to the address, not lost above the migrations.
    """
    notes = notes or out
    call_command("migrate", interactive=False, verbosity=1)
    password = admin_user_ensure()
    if password:
        notes.write(
            "Created the admin login (shown only this once; change it under /admin/):\n"
            f"    user:     admin\n    password: {password}"
        )
    for environment, key in demo_environments_ensure():
        notes.write(
            f"Created environment {environment.project.name} / {environment.name}: app id {environment.app_id}, "
            f"server key {key}  (shown only this once)"
        )
    if demo and not RawEvent.objects.exists():
        if "seed_demo" in get_commands():
            out.write("Loading demo data (seed_demo)...")
            call_command("seed_demo", **({"events": demo_events} if demo_events else {}))
        else:
            notes.write("No demo data: the seed_demo command is not available.")


def up(*, host: str, port: int, demo: bool, demo_events: int | None, out: OutputWrapper) -> int:
    port_check(host, port)
    notes = io.StringIO()
    first_run_setup(out=out, demo=demo, demo_events=demo_events, notes=OutputWrapper(notes))
    # up prints where the app is; Django's "development server" banner would only add noise.
    os.environ["DJANGO_RUNSERVER_HIDE_WARNING"] = "true"
    children = [
        Child("web server", manage_py("runserver", f"{host}:{port}", "--noreload", "--insecure")),
        Child("worker", manage_py("rqworker", *WORKER_QUEUES)),
        Child("scheduler", manage_py("scheduler")),
    ]
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    out.write("\n" + notes.getvalue(), ending="")

    def announce() -> None:
        # Only once our web server listens: two `up` started at once both pass port_check, and the one whose
        # server loses the race must not say it is running (another program answering the port is not ours).
        if _serves("/demo/"):
            out.write(f"Demo shop carrying the snippet: {base}/demo/")
        out.write(f"heapsite is running at {base}/  (web server, RQ worker and scheduler)")
        out.write("Press Ctrl+C to stop everything.\n")

    return run_together(children, log=out.write, ready=lambda started: listens_on(started[0], port), on_ready=announce)
