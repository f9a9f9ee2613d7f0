"""heapsite served by gunicorn for the benchmarks that measure a web process (bench/sql.py, bench/web_rss.py).

Not a benchmark itself (the leading underscore). Django must be set up before it is imported.
"""

import contextlib
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@contextlib.contextmanager
def gunicorn_worker(
    user, port: int, extra_env: dict[str, str], *, app: str | None = None
) -> Iterator[tuple[psutil.Process, dict[str, str]]]:
    """gunicorn with the shipped gunicorn.conf.py and one worker on 127.0.0.1:`port` (`app`, a module of
    bench/, instead of heapsite.wsgi); yields the worker and the cookies of a request as `user` (its
    session, and a CSRF token to send back as the form's csrfmiddlewaretoken or an X-CSRFToken header)."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", **extra_env)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    if app:
        command += ["--pythonpath", str(HERE), app]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        workers = psutil.Process(server.pid).children() or [psutil.Process(server.pid)]
        yield workers[0], {settings.SESSION_COOKIE_NAME: session.session_key, "csrftoken": secrets.token_hex(16)}
    finally:
        server.terminate()
        server.wait(30)
        session.delete()
