"""`manage.py up` end to end: a real web server, RQ worker and scheduler in subprocesses."""

import http.cookiejar
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import redis
from django.core.management import get_commands
from rq import Queue

REPO = Path(__file__).resolve().parents[3]


class Up:
    """A running `manage.py up`, its output collected line by line."""

    def __init__(self, port: int, database_url: str, *extra: str) -> None:
        # As a newcomer's shell has it: no PYTHONUNBUFFERED, and the output goes to a pipe, not a terminal.
        unset = ("HEAPSITE_TEST_DB_NAME", "PYTHONUNBUFFERED")
        env = {k: v for k, v in os.environ.items() if k not in unset} | {"DATABASE_URL": database_url}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(port), *extra],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "up exited early:\n" + "".join(self.output)
                continue
            self.output.append(line)
            if text in line:
                return "".join(self.output)
        raise AssertionError(f"no {text!r} within {timeout}s:\n" + "".join(self.output))

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=60)
        self.reader.join(timeout=5)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        # Shown by pytest when the test fails.
        print(f"--- manage.py up output (exit {code}) ---\n" + "".join(self.output))
        return code


def get_until_up(url: str, opener=None, timeout: float = 30):
    opener = opener or urllib.request.build_opener()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return opener.open(url, timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def log_in(base: str, username: str, password: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = get_until_up(base + "/login/", opener).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(base + "/login/", data=data.encode(), headers={"Referer": base})  # noqa: S310
    return opener.open(request)


def all_gone(processes: list[psutil.Process]) -> bool:
    def gone(process):
        try:
            return process.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    return all(gone(p) for p in processes)


def test_up_serves_the_app_runs_jobs_and_ctrl_c_stops_everything(free_port, fresh_database_url):
    base = f"http://127.0.0.1:{free_port}"
    up = Up(free_port, fresh_database_url, "--demo-events", "300")
    try:
        output = up.wait_for(f"heapsite is running at {base}/")
        if "seed_demo" in get_commands():
            assert "Loading demo data (seed_demo)..." in output
        else:
            assert "the seed_demo command is not available" in output
        password = re.search(r"password: (\S+)", output).group(1)
        assert "user:     admin" in output
        assert re.search(r"Created environment main / production: app id \d+, server key hs_\S+", output)
        assert "Created environment main / development" in output

        page = log_in(base, "admin", password)
        assert page.status == 200 and page.url == base + "/"
        assert "Log out admin" in page.read().decode()

        jobs = Queue("default", connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
        job = jobs.enqueue("tests.heapsite.platform.jobs.add", 2, 3)
        deadline = time.monotonic() + 30
        while job.get_status(refresh=True) != "finished":
            assert time.monotonic() < deadline, f"the worker did not run the job (status {job.get_status()})"
            time.sleep(0.1)
        assert job.return_value() == 5
        if "scheduler started" not in "".join(up.output):  # it may start before "running at" is said
            up.wait_for("scheduler started")

        children = up.descendants()
        assert len(children) >= 3, "web server, worker and scheduler"
    finally:
        exit_code = up.stop(signal.SIGINT)  # what Ctrl+C sends
    assert exit_code == 0, "".join(up.output)
    assert all_gone(children), "Ctrl+C leaves no process behind"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", free_port)) != 0, "the port is released"

    # Second run: nothing is created again, the same login works, SIGTERM also stops everything.
    again = Up(free_port, fresh_database_url, "--no-demo")
    try:
        output = again.wait_for("heapsite is running at")
        assert "Created" not in output
        assert log_in(base, "admin", password).url == base + "/"
        children = again.descendants()
    finally:
        exit_code = again.stop(signal.SIGTERM)
    assert exit_code == 0
    assert all_gone(children)


def test_up_says_clearly_when_the_port_is_taken_and_suggests_one_that_is_free(free_port):
    with socket.socket() as taken, socket.socket() as next_taken:
        for sock, port in ((taken, free_port), (next_taken, free_port + 1)):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen()
        result = subprocess.run(
            [sys.executable, "manage.py", "up", "--port", str(free_port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {free_port} on 127.0.0.1 is already in use" in result.stderr
    # The next port is taken too: the suggestion skips it.
    suggested = int(re.search(r"--port (\d+)` \((\d+) is free now\)", result.stderr).group(1))
    assert suggested > free_port + 1
    assert "heapsite is running" not in result.stdout


def test_up_says_clearly_when_it_cannot_listen_on_the_host(free_port):
    result = subprocess.run(
        [sys.executable, "manage.py", "up", "--host", "192.0.2.1", "--port", str(free_port)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"cannot listen on 192.0.2.1:{free_port}: Cannot assign requested address" in result.stderr
