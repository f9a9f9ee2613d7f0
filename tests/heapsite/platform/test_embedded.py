"""Embedded PostgreSQL/Redis (heapsite/embedded.py), driven in subprocesses like manage.py uses them.

The tests share one data directory and run in file order: the first one creates the cluster, the
later ones reuse it (initdb is the only slow step).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[3]
PROBE = "tests.heapsite.platform.embedded_probe"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedded") / "var"


def probe_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "HEAPSITE_TEST_DB_NAME"}}
    return env | {"HEAPSITE_DATA_DIR": str(data_dir)}


def run_probe(data_dir: Path) -> tuple[dict, str]:
    result = subprocess.run(
        [sys.executable, "-m", PROBE], cwd=REPO, env=probe_env(data_dir), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0]), result.stderr


def start_holding_probe(data_dir: Path) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", PROBE, "hold"], cwd=REPO, env=probe_env(data_dir), stdout=subprocess.PIPE, text=True
    )
    report = json.loads(process.stdout.readline())
    assert process.stdout.readline().strip() == "ready"
    return process, report


def server_pids(data_dir: Path) -> dict[str, int]:
    """Live (non-zombie) server processes for this data directory."""
    pids = {}
    for name, pid_file, process_name in [
        ("postgres", data_dir / "postgres" / "postmaster.pid", "postgres"),
        ("redis", data_dir / "redis" / "redis.pid", "redis-server"),
    ]:
        try:
            pid = int(pid_file.read_text().split()[0])
            process = psutil.Process(pid)
            if process.name() == process_name and process.status() != psutil.STATUS_ZOMBIE:
                pids[name] = pid
        except (FileNotFoundError, ValueError, IndexError, psutil.NoSuchProcess):
            pass
    return pids


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} survived SIGKILL")


def test_start_from_nothing_then_stop_on_exit(data_dir):
    report, stderr = run_probe(data_dir)

    assert "first start: creating the embedded PostgreSQL cluster" in stderr
    assert "PostgreSQL ready" in stderr and "Redis ready" in stderr
    assert report["rows"] == 1 and report["counter"] == 1
    assert report["io_method"] == "sync", "PostgreSQL 18's I/O workers cost the scans CPU (heapsite/embedded.py)"
    assert report["database_url"].startswith("postgres://postgres@") and report["database_url"].endswith("/heapsite")
    assert report["redis_url"].startswith("unix://")
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert server_pids(data_dir) == {}, "the process that started the servers stops them when it exits"
    assert "stopped the embedded PostgreSQL and Redis" in stderr


def test_second_run_reuses_the_data(data_dir):
    report, stderr = run_probe(data_dir)

    assert "first start" not in stderr
    assert report["rows"] == 2 and report["counter"] == 2
    assert server_pids(data_dir) == {}


def test_recovers_from_a_killed_run(data_dir):
    holder, report = start_holding_probe(data_dir)
    assert report["rows"] == 3
    servers = server_pids(data_dir)
    assert set(servers) == {"postgres", "redis"}

    kill(holder.pid)
    holder.wait()
    for pid in servers.values():
        kill(pid)
    # What a SIGKILL leaves behind: postmaster.pid, the socket lock files, Redis' pidfile.
    assert (data_dir / "postgres" / "postmaster.pid").exists()
    assert (data_dir / "redis" / "redis.pid").exists()

    report, stderr = run_probe(data_dir)

    assert report["rows"] == 4
    assert report["counter"] >= 3  # appendfsync everysec: at most the last second is lost
    assert "starting embedded PostgreSQL" in stderr
    assert server_pids(data_dir) == {}


def test_servers_orphaned_by_a_killed_run_are_adopted(data_dir):
    holder, _ = start_holding_probe(data_dir)
    servers = server_pids(data_dir)
    kill(holder.pid)
    holder.wait()
    assert server_pids(data_dir) == servers, "the servers outlive the killed process"

    report, stderr = run_probe(data_dir)

    assert report["rows"] == 6
    assert "starting" not in stderr, "running servers are reused, not restarted"
    assert server_pids(data_dir) == {}, "the adopting process stops them when it exits"


def test_servers_stay_up_while_another_process_uses_them(data_dir):
    holder, _ = start_holding_probe(data_dir)
    try:
        servers = server_pids(data_dir)
        report, _ = run_probe(data_dir)
        assert report["rows"] == 8
        assert server_pids(data_dir) == servers
    finally:
        holder.send_signal(signal.SIGTERM)
        assert holder.wait(timeout=30) == 128 + signal.SIGTERM
    assert server_pids(data_dir) == {}, "SIGTERM still stops the servers cleanly"


def test_given_urls_start_nothing(tmp_path):
    data_dir = tmp_path / "var"
    env = probe_env(data_dir) | {"DATABASE_URL": "postgres://db.example/x", "REDIS_URL": "redis://cache.example/0"}
    code = "import os; from heapsite.embedded import ensure_services; ensure_services(); print(os.environ['REDIS_URL'])"

    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://cache.example/0"
    assert result.stderr == ""
    assert not data_dir.exists()


def test_sockets_move_to_a_short_path_when_the_data_dir_is_deep(tmp_path):
    from heapsite.embedded import MAX_SOCKET_PATH, socket_dir

    deep = tmp_path / ("d" * 60) / ("e" * 60)

    assert socket_dir(tmp_path) == tmp_path / "run"
    assert len(str(socket_dir(deep) / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH
    assert socket_dir(deep) == socket_dir(deep), "stable, so later runs find the running servers"
    assert socket_dir(deep) != socket_dir(deep / "other")
